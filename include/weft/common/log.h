// Leveled logging to stderr, one line per event: "<ts> <level> <module>: <text>".
// Thread-safe; the level can change at run time (admin API, later weftctl).
#pragma once

#include <atomic>
#include <fmt/format.h>
#include <optional>
#include <string_view>

namespace weft::log {

enum class Level { kTrace = 0, kDebug, kInfo, kWarn, kError, kOff };

std::optional<Level> parseLevel(std::string_view name);
std::string_view levelName(Level level);

void setLevel(Level level);
Level level();

inline bool enabled(Level l) { return l >= level() && l != Level::kOff; }

void write(Level level, std::string_view module, std::string_view text);

template <class... Args>
void at(Level l, std::string_view module, fmt::format_string<Args...> fmt, Args&&... args) {
  if (enabled(l)) write(l, module, fmt::format(fmt, std::forward<Args>(args)...));
}

template <class... Args>
void debug(std::string_view m, fmt::format_string<Args...> f, Args&&... a) { at(Level::kDebug, m, f, std::forward<Args>(a)...); }
template <class... Args>
void info(std::string_view m, fmt::format_string<Args...> f, Args&&... a) { at(Level::kInfo, m, f, std::forward<Args>(a)...); }
template <class... Args>
void warn(std::string_view m, fmt::format_string<Args...> f, Args&&... a) { at(Level::kWarn, m, f, std::forward<Args>(a)...); }
template <class... Args>
void error(std::string_view m, fmt::format_string<Args...> f, Args&&... a) { at(Level::kError, m, f, std::forward<Args>(a)...); }

}  // namespace weft::log

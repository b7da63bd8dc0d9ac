#include "weft/common/log.h"

#include <chrono>
#include <cstdio>
#include <mutex>

namespace weft::log {
namespace {

std::atomic<Level> gLevel{Level::kInfo};
std::mutex gWriteMutex;  // keeps lines from interleaving across threads

}  // namespace

std::optional<Level> parseLevel(std::string_view name) {
  if (name == "trace") return Level::kTrace;
  if (name == "debug") return Level::kDebug;
  if (name == "info") return Level::kInfo;
  if (name == "warn" || name == "warning") return Level::kWarn;
  if (name == "error") return Level::kError;
  if (name == "off") return Level::kOff;
  return std::nullopt;
}

std::string_view levelName(Level l) {
  switch (l) {
    case Level::kTrace: return "trace";
    case Level::kDebug: return "debug";
    case Level::kInfo: return "info";
    case Level::kWarn: return "warn";
    case Level::kError: return "error";
    case Level::kOff: return "off";
  }
  return "?";
}

void setLevel(Level l) { gLevel.store(l, std::memory_order_relaxed); }
Level level() { return gLevel.load(std::memory_order_relaxed); }

void write(Level l, std::string_view module, std::string_view text) {
  using namespace std::chrono;
  auto now = system_clock::now();
  auto secs = time_point_cast<seconds>(now);
  auto micros = duration_cast<microseconds>(now - secs).count();
  std::time_t t = system_clock::to_time_t(secs);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char stamp[32];
  std::strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &tm);
  std::lock_guard lock(gWriteMutex);
  std::fprintf(stderr, "%s.%06ldZ %-5.*s %.*s: %.*s\n", stamp, static_cast<long>(micros),
               static_cast<int>(levelName(l).size()), levelName(l).data(),
               static_cast<int>(module.size()), module.data(), static_cast<int>(text.size()), text.data());
}

}  // namespace weft::log

// weft-trace's command line, parsed and checked into a plain struct (CLI11
// stays in options.cpp) so that the parsing is unit-tested.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>

#include "weft-trace/event_filter.h"
#include "weft-trace/formatting.h"
#include "weft/common/socket_address.h"

namespace weft::trace {

inline constexpr int kExitFailure = 1;  // no pinned maps, admin unreachable, ...
inline constexpr int kExitUsage = 2;

struct TraceOptions {
  std::filesystem::path bpffsDir;  // the agent's pin directory
  SocketAddress admin;             // the agent's admin API
  bool kernelOnly = false;         // no admin API: no pod names, no L7 events
  EventFilter filter;
  OutputFormat format = OutputFormat::kTable;
  std::optional<std::uint64_t> count;    // stop after this many events shown
  std::optional<double> durationSeconds;  // stop after this long
};

struct ParsedCommandLine {
  std::optional<TraceOptions> options;
  int exitCode = 0;      // without options: 0 after --help, kExitUsage on error
  std::string helpText;  // --help output, for stdout
  std::string error;
};

// `hostName` gives the default pin directory (the agent's default node name).
[[nodiscard]] ParsedCommandLine parseCommandLine(int argc, const char* const* argv, const std::string& hostName);

}  // namespace weft::trace

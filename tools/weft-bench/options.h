// weft-bench's command line: one subcommand per kind of run, parsed and
// validated into plain structs (CLI11 stays in options.cpp), so that the
// commands get checked values and the parsing is unit-tested.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "weft/common/error.h"
#include "weft/common/socket_address.h"

namespace weft::bench {

// Flags every client subcommand takes.
struct ClientOptions {
  std::string connect;  // as typed, for messages
  SocketAddress address;
  std::int64_t connectTimeoutMs = 5000;
  std::int64_t ioTimeoutMs = 10000;  // a connection making no progress this long fails
  double deadlineSeconds = 0;        // 0: derived from the command's own bounds
  unsigned threads = 0;              // 0: min(connections, cores)
  std::uint64_t seed = 0;
  bool seedGiven = false;  // otherwise the command draws one and reports it
};

struct ServeOptions {
  std::string listen;
  SocketAddress address;
  unsigned threads = 0;  // 0: one per core
  std::uint64_t httpBodySize = 64;
};

struct BulkOptions {
  ClientOptions client;
  std::uint64_t bytes = 0;  // total over all streams
  unsigned streams = 1;
  bool down = false;        // false: client -> server (sink), true: server -> client (source)
  std::uint64_t chunkSize = 256 * 1024;
};

struct RrOptions {
  ClientOptions client;
  unsigned connections = 1;
  double durationSeconds = 0;  // exactly one of duration and requests is nonzero
  std::uint64_t requests = 0;
  std::uint32_t requestSize = 64;
  std::uint32_t responseSize = 64;
  double rate = 0;             // requests/s over all connections; 0: closed loop
  double warmupSeconds = 0;
};

struct ChurnOptions {
  ClientOptions client;
  unsigned connections = 1;  // connections in flight at once
  double durationSeconds = 5;
  std::uint32_t requestSize = 64;
  std::uint32_t responseSize = 64;
};

struct IdleOptions {
  ClientOptions client;
  unsigned connections = 1;
  double holdSeconds = 0;
};

struct ExpectRefusedOptions {
  ClientOptions client;
};

using Command = std::variant<ServeOptions, BulkOptions, RrOptions, ChurnOptions, IdleOptions, ExpectRefusedOptions>;

struct ParsedCommandLine {
  std::optional<Command> command;
  std::string subcommand;  // for the "mode" of a usage error report
  std::string logLevel = "info";
  int exitCode = 0;        // without a command: 0 after --help, kExitUsage on error
  std::string helpText;    // --help output, for stdout
  std::string error;       // the usage error, for stderr and the report
};

[[nodiscard]] ParsedCommandLine parseCommandLine(int argc, const char* const* argv);

// "1000", "64K", "256MiB", "1G": binary multiples, because buffer and
// transfer sizes are thought of in powers of two.
[[nodiscard]] Result<std::uint64_t> parseSize(std::string_view text);

}  // namespace weft::bench

#include "weft-bench/options.h"

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cctype>
#include <charconv>
#include <fmt/format.h>
#include <sstream>
#include <thread>

#include "weft-bench/run_error.h"
#include "weft-bench/wire.h"

namespace weft::bench {
namespace {

CLI::Option* addClientFlags(CLI::App& sub, ClientOptions& o) {
  sub.add_option("--connect", o.connect, "server address, ip:port or [ipv6]:port")->required();
  sub.add_option("--connect-timeout-ms", o.connectTimeoutMs, "fail a connect that takes longer")
      ->capture_default_str();
  sub.add_option("--io-timeout-ms", o.ioTimeoutMs, "fail a connection that makes no progress this long")
      ->capture_default_str();
  sub.add_option("--deadline-s", o.deadlineSeconds, "overall deadline (default: derived from the run's bounds)");
  sub.add_option("--threads", o.threads, "client threads (default: min(connections, cores))");
  return sub.add_option("--seed", o.seed, "seed for the data and tags (default: random, reported)");
}

// Sizes are typed as text so that suffixes work; converted after parsing.
struct SizeFlags {
  std::string bytes;
  std::string requestSize = "64";
  std::string responseSize = "64";
  std::string chunkSize = "256K";
  std::string httpBodySize = "64";
};

Status checkClient(ClientOptions& o) {
  auto address = parseSocketAddress(o.connect);
  if (!address) return std::unexpected(address.error());
  if (address->port() == 0) return fail(ErrorCode::kInvalidArgument, "--connect: port 0 cannot be connected to");
  o.address = *address;
  if (o.connectTimeoutMs <= 0 || o.ioTimeoutMs <= 0)
    return fail(ErrorCode::kInvalidArgument, "--connect-timeout-ms and --io-timeout-ms must be positive");
  if (o.deadlineSeconds < 0) return fail(ErrorCode::kInvalidArgument, "--deadline-s must not be negative");
  return {};
}

Result<std::uint32_t> messageSize(std::string_view flag, const std::string& text) {
  auto size = parseSize(text);
  if (!size) return fail(ErrorCode::kInvalidArgument, fmt::format("{}: {}", flag, size.error().message));
  if (*size == 0 || *size > kMaxMessageSize)
    return fail(ErrorCode::kInvalidArgument, fmt::format("{} must be 1..{}", flag, kMaxMessageSize));
  return static_cast<std::uint32_t>(*size);
}

// Validates what CLI11 cannot express: addresses, sizes, ranges.
Status finish(Command& command, const SizeFlags& sizes) {
  return std::visit(
      [&](auto& o) -> Status {
        using T = std::decay_t<decltype(o)>;
        if constexpr (std::is_same_v<T, ServeOptions>) {
          auto address = parseSocketAddress(o.listen);
          if (!address) return std::unexpected(address.error());
          o.address = *address;
          auto body = parseSize(sizes.httpBodySize);
          if (!body) return std::unexpected(body.error());
          o.httpBodySize = *body;
          if (o.threads == 0) o.threads = std::max(1u, std::thread::hardware_concurrency());
          return {};
        } else {
          if (auto ok = checkClient(o.client); !ok) return ok;
          if constexpr (std::is_same_v<T, BulkOptions>) {
            auto bytes = parseSize(sizes.bytes);
            if (!bytes) return fail(ErrorCode::kInvalidArgument, "--bytes: " + bytes.error().message);
            o.bytes = *bytes;
            auto chunk = parseSize(sizes.chunkSize);
            if (!chunk || *chunk == 0 || *chunk > (64u << 20))
              return fail(ErrorCode::kInvalidArgument, "--chunk-size must be 1..64MiB");
            o.chunkSize = *chunk;
            if (o.streams == 0) return fail(ErrorCode::kInvalidArgument, "--streams must be at least 1");
          }
          if constexpr (std::is_same_v<T, RrOptions> || std::is_same_v<T, ChurnOptions>) {
            auto request = messageSize("--request-size", sizes.requestSize);
            if (!request) return std::unexpected(request.error());
            auto response = messageSize("--response-size", sizes.responseSize);
            if (!response) return std::unexpected(response.error());
            o.requestSize = *request;
            o.responseSize = *response;
            if (o.connections == 0) return fail(ErrorCode::kInvalidArgument, "--connections must be at least 1");
            if (o.durationSeconds < 0) return fail(ErrorCode::kInvalidArgument, "--duration must not be negative");
          }
          if constexpr (std::is_same_v<T, RrOptions>) {
            if (o.requests == 0 && o.durationSeconds == 0) o.durationSeconds = 5;
            if (o.rate < 0 || o.warmupSeconds < 0)
              return fail(ErrorCode::kInvalidArgument, "--rate and --warmup must not be negative");
          }
          if constexpr (std::is_same_v<T, ChurnOptions>) {
            if (o.durationSeconds == 0) return fail(ErrorCode::kInvalidArgument, "--duration must be positive");
          }
          if constexpr (std::is_same_v<T, IdleOptions>) {
            if (o.connections == 0) return fail(ErrorCode::kInvalidArgument, "--connections must be at least 1");
            if (o.holdSeconds < 0) return fail(ErrorCode::kInvalidArgument, "--hold must not be negative");
          }
          return {};
        }
      },
      command);
}

}  // namespace

Result<std::uint64_t> parseSize(std::string_view text) {
  std::uint64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc{} || end == text.data())
    return fail(ErrorCode::kInvalidArgument, fmt::format("size '{}': expected a number with an optional K, M or G suffix", text));
  std::string_view suffix(end, text.data() + text.size() - end);
  int shift = 0;
  if (!suffix.empty()) {
    switch (suffix.front()) {
      case 'k': case 'K': shift = 10; break;
      case 'm': case 'M': shift = 20; break;
      case 'g': case 'G': shift = 30; break;
      case 't': case 'T': shift = 40; break;
      default: shift = -1;
    }
    std::string rest(suffix.substr(1));
    for (char& ch : rest) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    if (shift < 0 || !(rest.empty() || rest == "i" || rest == "ib" || rest == "b"))
      return fail(ErrorCode::kInvalidArgument, fmt::format("size '{}': unknown suffix '{}'", text, suffix));
  }
  if (shift > 0 && value > (UINT64_MAX >> shift))
    return fail(ErrorCode::kInvalidArgument, fmt::format("size '{}' is too large", text));
  return value << shift;
}

ParsedCommandLine parseCommandLine(int argc, const char* const* argv) {
  ParsedCommandLine result;
  CLI::App app{"weft-bench: load generator and verifier for weft's tests and benchmarks.\n"
               "Client subcommands print one JSON object on stdout; progress and errors go to stderr.\n"
               "Exit status: 0 ok, 1 verification failed, 2 usage, 3 refused or reset, 4 timeout,\n"
               "5 other network error, 6 closed early by the peer (EOF).",
               "weft-bench"};
  app.require_subcommand(1);
  app.add_option("--log-level", result.logLevel, "trace, debug, info, warn, error")->capture_default_str();

  ServeOptions serve;
  BulkOptions bulk;
  RrOptions rr;
  ChurnOptions churn;
  IdleOptions idle;
  ExpectRefusedOptions refused;
  SizeFlags sizes;
  std::string direction = "up";
  std::int64_t refusedTimeoutMs = 0;
  std::vector<std::pair<CLI::Option*, ClientOptions*>> seeds;

  auto* serveCmd = app.add_subcommand("serve", "answer every client mode (and HTTP/1.1) on one address");
  serveCmd->add_option("--listen", serve.listen, "ip:port to listen on (port 0: any, reported on stderr)")->required();
  serveCmd->add_option("--threads", serve.threads, "worker threads, each with its own SO_REUSEPORT listener");
  serveCmd->add_option("--http-body-size", sizes.httpBodySize, "HTTP response body size (override: ?size=N)")
      ->capture_default_str();

  auto* bulkCmd = app.add_subcommand("bulk", "transfer N bytes of a seeded stream and verify them");
  seeds.emplace_back(addClientFlags(*bulkCmd, bulk.client), &bulk.client);
  bulkCmd->add_option("--bytes", sizes.bytes, "total bytes over all streams (suffixes K, M, G)")->required();
  bulkCmd->add_option("--streams", bulk.streams, "parallel connections")->capture_default_str();
  bulkCmd->add_option("--direction", direction, "up: client to server; down: server to client")
      ->check(CLI::IsMember({"up", "down"}))
      ->capture_default_str();
  bulkCmd->add_option("--chunk-size", sizes.chunkSize, "bytes per write or read")->capture_default_str();

  auto* rrCmd = app.add_subcommand("rr", "request/response load, closed loop or at a fixed rate");
  seeds.emplace_back(addClientFlags(*rrCmd, rr.client), &rr.client);
  rrCmd->add_option("--connections", rr.connections, "connections")->capture_default_str();
  auto* duration = rrCmd->add_option("--duration", rr.durationSeconds, "seconds of measured load (default 5)");
  auto* requests = rrCmd->add_option("--requests", rr.requests, "total requests instead of a duration");
  duration->excludes(requests);
  rrCmd->add_option("--request-size", sizes.requestSize, "request bytes")->capture_default_str();
  rrCmd->add_option("--response-size", sizes.responseSize, "response bytes")->capture_default_str();
  rrCmd->add_option("--rate", rr.rate, "open loop: requests/s over all connections, latency from the intended send time");
  rrCmd->add_option("--warmup", rr.warmupSeconds, "seconds of unmeasured load first");

  auto* churnCmd = app.add_subcommand("churn", "a new connection per request");
  seeds.emplace_back(addClientFlags(*churnCmd, churn.client), &churn.client);
  churnCmd->add_option("--connections", churn.connections, "connections in flight at once")->capture_default_str();
  churnCmd->add_option("--duration", churn.durationSeconds, "seconds")->capture_default_str();
  churnCmd->add_option("--request-size", sizes.requestSize, "request bytes")->capture_default_str();
  churnCmd->add_option("--response-size", sizes.responseSize, "response bytes")->capture_default_str();

  auto* idleCmd = app.add_subcommand("idle", "open N connections, verify them, hold them idle, verify again");
  seeds.emplace_back(addClientFlags(*idleCmd, idle.client), &idle.client);
  idleCmd->add_option("--connections", idle.connections, "connections")->required();
  idleCmd->add_option("--hold", idle.holdSeconds, "seconds to hold (SIGTERM/SIGINT ends the hold early)")->required();

  auto* refusedCmd = app.add_subcommand("expect-refused", "succeed only if the connection is refused or reset");
  seeds.emplace_back(addClientFlags(*refusedCmd, refused.client), &refused.client);
  refusedCmd->add_option("--timeout-ms", refusedTimeoutMs, "connect and I/O timeout (sets both)");

  std::vector<std::pair<CLI::App*, std::string>> names = {
      {serveCmd, "serve"}, {bulkCmd, "bulk"}, {rrCmd, "rr"}, {churnCmd, "churn"}, {idleCmd, "idle"},
      {refusedCmd, "expect-refused"}};
  auto chosen = [&]() -> std::string {
    for (auto& [cmd, name] : names)
      if (cmd->parsed()) return name;
    return "";
  };
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    result.subcommand = chosen();
    std::ostringstream out, err;
    result.exitCode = app.exit(e, out, err);
    result.helpText = out.str();
    if (result.exitCode != 0) {
      result.exitCode = kExitUsage;
      result.error = e.what();
    }
    return result;
  }
  result.subcommand = chosen();
  for (auto& [option, client] : seeds) client->seedGiven = option->count() > 0;
  Command command;
  if (serveCmd->parsed()) command = serve;
  if (bulkCmd->parsed()) {
    bulk.down = direction == "down";
    command = bulk;
  }
  if (rrCmd->parsed()) command = rr;
  if (churnCmd->parsed()) command = churn;
  if (idleCmd->parsed()) command = idle;
  if (refusedCmd->parsed()) {
    if (refusedTimeoutMs != 0) refused.client.connectTimeoutMs = refused.client.ioTimeoutMs = refusedTimeoutMs;
    command = refused;
  }
  if (auto ok = finish(command, sizes); !ok) {
    result.exitCode = kExitUsage;
    result.error = ok.error().message;
    return result;
  }
  result.command = std::move(command);
  return result;
}

}  // namespace weft::bench

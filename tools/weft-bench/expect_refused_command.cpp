// expect-refused: succeeds when the server refuses the connection (RST to the
// SYN) or resets it on the first exchange, as a mesh does when it denies a
// connection it has already accepted. Anything else fails with its own exit
// status: answered (1), closed cleanly (6), timed out (4), so a test can tell
// "refused" from "hung" from "allowed".
#include <cmath>
#include <fmt/format.h>

#include "weft-bench/blocking_connection.h"
#include "weft-bench/command_support.h"
#include "weft-bench/commands.h"
#include "weft-bench/prng_stream.h"
#include "weft-bench/report.h"
#include "weft-bench/wire.h"

namespace weft::bench {

int runExpectRefused(const ExpectRefusedOptions& o) {
  const std::string_view mode = "expect-refused";
  const ClientOptions& c = o.client;
  armDeadline(std::string(mode), overallDeadline(c, nsToSeconds(millis(c.connectTimeoutMs + 2 * c.ioTimeoutMs))));
  constexpr std::uint32_t kSize = 64;
  Nanos start = nowNs();
  Report report{{"mode", mode}};
  auto elapsedMs = [&] { return std::round(nsToSeconds(nowNs() - start) * 1e6) / 1e3; };
  auto refused = [&](const RunError& error) {
    report["refused"] = true;
    report["phase"] = error.phase;
    report["errno_name"] = errnoName(error.err);
    report["ms"] = elapsedMs();
    return emitReport(report, kExitOk);
  };
  auto failed = [&](const RunError& error) {
    report["refused"] = false;
    report["ms"] = elapsedMs();
    addErrorFields(report, error);
    return emitReport(report, exitCodeFor(error.kind));
  };
  auto isRefusal = [](const RunError& e) { return e.kind == FailureKind::kRefused || e.kind == FailureKind::kReset; };

  auto conn = BlockingConnection::open(c.address, millis(c.connectTimeoutMs), millis(c.ioTimeoutMs));
  if (!conn) return isRefusal(conn.error()) ? refused(conn.error()) : failed(conn.error());

  // Accepted: a denying proxy resets on the first exchange. One rr round trip.
  std::vector<std::uint8_t> request(kHeaderSize + kSize);
  auto header = encodeHeader({.mode = Mode::kRr, .flags = kFlagOneShot, .requestSize = kSize, .responseSize = kSize});
  std::copy(header.begin(), header.end(), request.begin());
  PrngStream(kBodySeed).fill(0, {request.data() + kHeaderSize, kSize});
  std::vector<std::uint8_t> response(kSize);
  Outcome<void> exchanged = conn->sendAll(request);
  if (exchanged) exchanged = conn->receiveExact(response, "the response");
  if (!exchanged) return isRefusal(exchanged.error()) ? refused(exchanged.error()) : failed(exchanged.error());
  return failed(verifyFailure(fmt::format("{} accepted the connection and answered; expected a refusal", conn->peer())));
}

}  // namespace weft::bench

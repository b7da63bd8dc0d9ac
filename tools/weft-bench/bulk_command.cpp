// bulk: K streams each move their share of N bytes of PrngStream, verified
// end to end: up, the sink's byte count and XXH64 against ours (after our
// half-close, which the reply therefore proves was carried); down, every
// received byte against the stream, so a corruption is reported by offset.
#include <atomic>
#include <fmt/format.h>
#include <latch>
#include <optional>
#include <thread>
#include <vector>

#include "weft-bench/blocking_connection.h"
#include "weft-bench/command_support.h"
#include "weft-bench/commands.h"
#include "weft-bench/prng_stream.h"
#include "weft-bench/report.h"
#include "weft-bench/stream_hash.h"
#include "weft-bench/wire.h"
#include "weft/common/log.h"

namespace weft::bench {
namespace {

struct StreamResult {
  std::optional<RunError> error;
  Nanos start = 0;
  Nanos end = 0;
};

Outcome<void> sendUp(BlockingConnection& conn, std::uint64_t bytes, std::uint64_t seed, std::size_t chunkSize) {
  PrngStream stream(seed);
  StreamHash hash;
  std::vector<std::uint8_t> chunk(chunkSize);
  for (std::uint64_t offset = 0; offset < bytes;) {
    std::size_t n = std::min<std::uint64_t>(chunkSize, bytes - offset);
    std::span<std::uint8_t> data(chunk.data(), n);
    stream.fill(offset, data);
    hash.update(data);
    if (auto ok = conn.sendAll(data); !ok) return ok;
    offset += n;
  }
  if (auto ok = conn.shutdownWrite(); !ok) return ok;
  std::array<std::uint8_t, kSinkReplySize> replyBytes;
  if (auto ok = conn.receiveExact(replyBytes, "the sink's reply"); !ok) return ok;
  SinkReply reply = decodeSinkReply(replyBytes);
  if (reply.byteCount != bytes || reply.hash != hash.digest())
    return std::unexpected(verifyFailure(fmt::format(
        "{} received {} bytes with XXH64 {:016x}; sent {} bytes with XXH64 {:016x}", conn.peer(), reply.byteCount,
        reply.hash, bytes, hash.digest())));
  return conn.expectEof("the sink's reply");
}

Outcome<void> receiveDown(BlockingConnection& conn, std::uint64_t bytes, std::uint64_t seed, std::size_t chunkSize) {
  // Our half-close travels while the data flows the other way.
  if (auto ok = conn.shutdownWrite(); !ok) return ok;
  PrngStream stream(seed);
  std::vector<std::uint8_t> buffer(chunkSize);
  std::uint64_t offset = 0;
  for (;;) {
    auto n = conn.receiveSome(buffer);
    if (!n) return std::unexpected(n.error());
    if (*n == 0) break;
    std::span<const std::uint8_t> data(buffer.data(), *n);
    if (offset + *n > bytes)
      return std::unexpected(verifyFailure(fmt::format("{} sent more than the {} bytes asked for", conn.peer(), bytes)));
    if (auto bad = stream.firstMismatch(offset, data))
      return std::unexpected(verifyFailure(fmt::format("{}: byte {} of the stream is corrupted", conn.peer(), *bad)));
    offset += *n;
  }
  if (offset < bytes)
    return std::unexpected(eofFailure("read", fmt::format("{} closed the stream (EOF) after {} of {} bytes",
                                                          conn.peer(), offset, bytes)));
  return {};
}

}  // namespace

int runBulk(const BulkOptions& o) {
  const std::string_view mode = "bulk";
  const ClientOptions& c = o.client;
  std::uint64_t seed = chooseSeed(c);
  armDeadline(std::string(mode), overallDeadline(c, 0));
  log::info("bulk", "{} bytes {} {} in {} stream(s)", o.bytes, o.down ? "from" : "to", c.connect, o.streams);

  auto shares = splitEvenly(o.bytes, o.streams);
  std::vector<StreamResult> results(o.streams);
  std::latch connected(o.streams);
  std::atomic<bool> connectFailed{false};
  std::vector<std::thread> threads;
  for (unsigned i = 0; i < o.streams; ++i) {
    threads.emplace_back([&, i] {
      StreamResult& result = results[i];
      auto conn = BlockingConnection::open(c.address, millis(c.connectTimeoutMs), millis(c.ioTimeoutMs));
      if (!conn) connectFailed = true;
      connected.count_down();
      connected.wait();  // streams start together, so their rates add up
      if (!conn) {
        result.error = conn.error();
        return;
      }
      if (connectFailed) return;
      result.start = nowNs();
      Header header{.mode = o.down ? Mode::kSource : Mode::kSink, .byteCount = shares[i], .seed = seed + i};
      auto headerBytes = encodeHeader(header);
      Outcome<void> done = conn->sendAll(headerBytes);
      if (done) done = o.down ? receiveDown(*conn, shares[i], seed + i, o.chunkSize)
                              : sendUp(*conn, shares[i], seed + i, o.chunkSize);
      result.end = nowNs();
      if (!done) result.error = done.error();
    });
  }
  for (auto& t : threads) t.join();

  Report report{{"mode", mode}, {"direction", o.down ? "down" : "up"}, {"bytes", o.bytes},
                        {"streams", o.streams}, {"seed", seed}};
  const RunError* error = nullptr;
  Nanos start = INT64_MAX, end = 0;
  for (auto& r : results) {
    if (r.error && !error) error = &*r.error;
    if (r.start) start = std::min(start, r.start);
    end = std::max(end, r.end);
  }
  double seconds = end > start ? nsToSeconds(end - start) : 0;
  report["seconds"] = seconds;
  // A failed transfer has no throughput worth comparing.
  report["gbps"] = seconds > 0 && !error ? static_cast<double>(o.bytes) * 8 / seconds / 1e9 : 0.0;
  report["verified"] = error == nullptr;
  report["early_eagain"] = earlyEagainCount();
  if (error) log::error("bulk", "{}", error->message);
  return emitOutcome(report, error);
}

}  // namespace weft::bench

#include <doctest/doctest.h>

#include <random>
#include <string>
#include <vector>

#include "weft-bench/prng_stream.h"
#include "weft-bench/server_session.h"
#include "weft-bench/stream_hash.h"
#include "weft-bench/wire.h"

using namespace weft::bench;
using Next = ServerSession::Next;

namespace {

using Bytes = std::vector<std::uint8_t>;

Bytes headerFor(const Header& h) {
  auto b = encodeHeader(h);
  return {b.begin(), b.end()};
}

// Feeds `in` in random chunk sizes, as reads from a socket would deliver it.
void feedChunked(ServerSession& s, const Bytes& in, std::mt19937_64& rng) {
  std::size_t pos = 0;
  while (pos < in.size()) {
    std::size_t n = std::min<std::size_t>(1 + rng() % 50, in.size() - pos);
    s.onData({in.data() + pos, n});
    pos += n;
  }
}

// Takes everything the session has to send, in odd-sized pieces.
Bytes drain(ServerSession& s, std::size_t piece = 1000) {
  Bytes out;
  for (auto pending = s.pendingOutput(); !pending.empty(); pending = s.pendingOutput()) {
    std::size_t n = std::min(piece, pending.size());
    out.insert(out.end(), pending.begin(), pending.begin() + static_cast<std::ptrdiff_t>(n));
    s.consumeOutput(n);
  }
  return out;
}

Bytes rrRequest(std::uint64_t tag, std::uint32_t size) {
  Bytes request(size);
  PrngStream(kBodySeed).fill(0, request);
  std::uint8_t tagBytes[8];
  storeLe64(tagBytes, tag);
  std::copy(tagBytes, tagBytes + std::min<std::size_t>(8, size), request.begin());
  return request;
}

}  // namespace

TEST_CASE("bench: sink session replies with count and hash after the client's EOF") {
  std::mt19937_64 rng(5);
  Bytes data(200'001);
  for (auto& b : data) b = static_cast<std::uint8_t>(rng());
  Bytes in = headerFor({.mode = Mode::kSink});
  in.insert(in.end(), data.begin(), data.end());
  ServerSession s(64);
  feedChunked(s, in, rng);
  CHECK(s.protocolName() == "sink");
  CHECK(s.pendingOutput().empty());
  CHECK(s.next() == Next::kContinue);
  s.onPeerEof();
  Bytes reply = drain(s);
  REQUIRE(reply.size() == kSinkReplySize);
  SinkReply r = decodeSinkReply(std::span<const std::uint8_t, kSinkReplySize>(reply.data(), kSinkReplySize));
  CHECK(r.byteCount == data.size());
  CHECK(r.hash == StreamHash::of(data));
  CHECK(s.next() == Next::kClose);
}

TEST_CASE("bench: source session sends exactly the seeded stream / then half-closes") {
  ServerSession s(64);
  const std::uint64_t n = 3 * ServerSession::kSourceChunk + 12345;
  s.onData(headerFor({.mode = Mode::kSource, .byteCount = n, .seed = 99}));
  Bytes out = drain(s, 77'777);
  REQUIRE(out.size() == n);
  CHECK_FALSE(PrngStream(99).firstMismatch(0, out).has_value());
  CHECK(s.next() == Next::kShutdownWrite);
  CHECK(s.wantsInput());  // waits for the client's EOF
  s.onPeerEof();
  CHECK(s.next() == Next::kClose);
}

TEST_CASE("bench: source session keeps sending after an early client EOF") {
  ServerSession s(64);
  s.onData(headerFor({.mode = Mode::kSource, .byteCount = 1000, .seed = 1}));
  s.onPeerEof();
  CHECK(s.next() == Next::kContinue);
  CHECK(drain(s).size() == 1000);
  CHECK(s.next() == Next::kClose);
}

TEST_CASE("bench: echo session returns every byte and applies backpressure") {
  ServerSession s(64);
  Bytes in = headerFor({.mode = Mode::kEcho});
  Bytes payload(ServerSession::kMaxQueuedOutput + 10, 0xAB);
  s.onData(in);
  s.onData(payload);
  CHECK_FALSE(s.wantsInput());
  CHECK(drain(s) == payload);
  CHECK(s.wantsInput());
  s.onPeerEof();
  CHECK(s.next() == Next::kClose);
}

TEST_CASE("bench: rr session answers each request with its tag and the body stream") {
  std::mt19937_64 rng(8);
  const std::uint32_t requestSize = 100, responseSize = 300;
  Bytes in = headerFor({.mode = Mode::kRr, .requestSize = requestSize, .responseSize = responseSize});
  for (std::uint64_t tag = 1000; tag < 1010; ++tag) {
    Bytes r = rrRequest(tag, requestSize);
    in.insert(in.end(), r.begin(), r.end());
  }
  ServerSession s(64);
  feedChunked(s, in, rng);
  Bytes out = drain(s);
  REQUIRE(out.size() == 10 * responseSize);
  Bytes body(responseSize);
  PrngStream(kBodySeed).fill(0, body);
  for (std::uint64_t i = 0; i < 10; ++i) {
    const std::uint8_t* response = out.data() + i * responseSize;
    CHECK(loadLe64(response) == 1000 + i);
    CHECK(std::equal(body.begin() + 8, body.end(), response + 8));
  }
  CHECK(s.next() == Next::kContinue);
  s.onPeerEof();
  CHECK(s.next() == Next::kClose);
}

TEST_CASE("bench: rr one-shot closes after the first response - tiny messages echo a partial tag") {
  ServerSession s(64);
  Bytes in = headerFor({.mode = Mode::kRr, .flags = kFlagOneShot, .requestSize = 3, .responseSize = 5});
  Bytes r = rrRequest(0xABCDEF, 3);
  in.insert(in.end(), r.begin(), r.end());
  s.onData(in);
  Bytes out = drain(s);
  REQUIRE(out.size() == 5);
  CHECK(out[0] == 0xEF);
  CHECK(out[2] == 0xAB);
  Bytes body(5);
  PrngStream(kBodySeed).fill(0, body);
  CHECK(out[3] == body[3]);
  CHECK(s.next() == Next::kClose);
}

TEST_CASE("bench: sessions reset clients that break the protocol") {
  SUBCASE("garbage") {
    ServerSession s(64);
    s.onData(Bytes{0x16, 0x03, 0x01, 0x00});
    CHECK(s.next() == Next::kAbort);
  }
  SUBCASE("bad version") {
    Bytes in = headerFor({.mode = Mode::kSink});
    in[4] = 9;
    ServerSession s(64);
    s.onData(in);
    CHECK(s.next() == Next::kAbort);
    CHECK(s.abortReason().find("version") != std::string::npos);
  }
  SUBCASE("corrupted rr request body") {
    Bytes in = headerFor({.mode = Mode::kRr, .requestSize = 64, .responseSize = 64});
    Bytes r = rrRequest(1, 64);
    r[40] ^= 0xFF;
    in.insert(in.end(), r.begin(), r.end());
    ServerSession s(64);
    s.onData(in);
    CHECK(s.next() == Next::kAbort);
    CHECK(s.abortReason().find("byte 40") != std::string::npos);
    CHECK(s.pendingOutput().empty());
  }
}

TEST_CASE("bench: a session that starts with an HTTP method speaks HTTP") {
  std::mt19937_64 rng(2);
  std::string request = "GET /?size=3 HTTP/1.1\r\nHost: x\r\n\r\nGET / HTTP/1.1\r\nConnection: close\r\n\r\n";
  ServerSession s(5);
  feedChunked(s, Bytes(request.begin(), request.end()), rng);
  CHECK(s.protocolName() == "http");
  Bytes out = drain(s);
  std::string text(out.begin(), out.end());
  CHECK(text.find("Content-Length: 3\r\n\r\nxxx") != std::string::npos);
  CHECK(text.find("Content-Length: 5\r\n") != std::string::npos);
  CHECK(s.next() == Next::kClose);
}

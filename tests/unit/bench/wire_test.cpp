#include <doctest/doctest.h>

#include <string_view>

#include "weft-bench/wire.h"

using namespace weft::bench;

namespace {

std::span<const std::uint8_t> bytes(std::string_view s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

}  // namespace

TEST_CASE("bench: header round-trips and has a fixed little-endian layout") {
  Header h{.mode = Mode::kRr, .flags = kFlagOneShot, .requestSize = 0x01020304, .responseSize = 64,
           .byteCount = 0x1122334455667788ULL, .seed = 42};
  HeaderBytes b = encodeHeader(h);
  CHECK(b[0] == 'W');
  CHECK(b[3] == 'B');
  CHECK(b[4] == kWireVersion);
  CHECK(b[5] == 4);
  CHECK(b[6] == 1);
  CHECK(b[8] == 0x04);
  CHECK(b[11] == 0x01);
  CHECK(b[16] == 0x88);
  CHECK(b[23] == 0x11);
  CHECK(b[24] == 42);
  auto decoded = decodeHeader(b);
  REQUIRE(decoded.has_value());
  CHECK(*decoded == h);
  for (Mode m : {Mode::kSink, Mode::kSource, Mode::kEcho}) {
    Header other{.mode = m, .byteCount = 1 << 20, .seed = 7};
    auto again = decodeHeader(encodeHeader(other));
    REQUIRE(again.has_value());
    CHECK(*again == other);
  }
}

TEST_CASE("bench: header decoding rejects what a server must not act on") {
  Header rr{.mode = Mode::kRr, .requestSize = 64, .responseSize = 64};
  auto mutate = [&](std::size_t at, std::uint8_t value) {
    HeaderBytes b = encodeHeader(rr);
    b[at] = value;
    return decodeHeader(b);
  };
  CHECK_FALSE(mutate(0, 'X').has_value());  // magic
  CHECK_FALSE(mutate(4, 2).has_value());    // version
  CHECK_FALSE(mutate(5, 0).has_value());    // mode
  CHECK_FALSE(mutate(5, 9).has_value());
  CHECK_FALSE(mutate(7, 0x80).has_value());  // unknown flag
  CHECK_FALSE(decodeHeader(encodeHeader({.mode = Mode::kRr, .requestSize = 0, .responseSize = 1})).has_value());
  CHECK_FALSE(
      decodeHeader(encodeHeader({.mode = Mode::kRr, .requestSize = 1, .responseSize = kMaxMessageSize + 1})).has_value());
}

TEST_CASE("bench: sink reply round-trips") {
  auto b = encodeSinkReply({123456789, 0xDEADBEEFCAFEF00DULL});
  CHECK(b[0] == 0x15);
  SinkReply r = decodeSinkReply(b);
  CHECK(r.byteCount == 123456789);
  CHECK(r.hash == 0xDEADBEEFCAFEF00DULL);
}

TEST_CASE("bench: protocol sniffing tells the bench header from HTTP") {
  CHECK(sniffProtocol({}) == Protocol::kNeedMore);
  CHECK(sniffProtocol(bytes("W")) == Protocol::kNeedMore);
  CHECK(sniffProtocol(bytes("WFT")) == Protocol::kNeedMore);
  CHECK(sniffProtocol(bytes("WFTB")) == Protocol::kBench);
  CHECK(sniffProtocol(bytes("GE")) == Protocol::kNeedMore);
  CHECK(sniffProtocol(bytes("GET ")) == Protocol::kHttp);
  CHECK(sniffProtocol(bytes("OPTIONS * HTTP/1.1")) == Protocol::kHttp);
  CHECK(sniffProtocol(bytes("DELETE /x")) == Protocol::kHttp);
  CHECK(sniffProtocol(bytes("get / HTTP/1.1")) == Protocol::kUnknown);
  CHECK(sniffProtocol(bytes("\x16\x03\x01")) == Protocol::kUnknown);  // a TLS ClientHello
  CHECK(sniffProtocol(bytes("GO ")) == Protocol::kUnknown);
  CHECK(sniffProtocol(bytes("ABCDEFGHI")) == Protocol::kUnknown);
}

TEST_CASE("bench: a response echoes at most 8 tag bytes") {
  CHECK(echoedTagSize(64, 64) == 8);
  CHECK(echoedTagSize(3, 64) == 3);
  CHECK(echoedTagSize(64, 5) == 5);
}

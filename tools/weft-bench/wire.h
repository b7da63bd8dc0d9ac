// The bench protocol. A client opens every connection with a fixed 32-byte
// header naming the mode and its parameters, so one `serve` process answers
// every kind of test; HTTP clients (curl, wrk) are told apart by their first
// bytes, which are a method name instead of the magic.
//
//   offset size field (little-endian)
//    0     4   magic "WFTB"
//    4     1   version (1)
//    5     1   mode: 1 sink, 2 source, 3 echo, 4 rr
//    6     2   flags: bit 0 one-shot (rr: the server closes after the first response)
//    8     4   request size (rr)
//   12     4   response size (rr)
//   16     8   byte count (source; informational for sink)
//   24     8   seed (source; informational for sink)
//
// sink:   the client sends any bytes and shuts its write side; the server
//         answers 16 bytes (byte count, XXH64 seed 0) and closes.
// source: the server sends `byte count` bytes of PrngStream(seed), shuts its
//         write side, and closes when the client does.
// echo:   the server sends back every byte until EOF.
// rr:     repeated request (request size bytes) / response (response size
//         bytes). Request byte j is the request's tag (a little-endian u64) for
//         j < 8, else PrngStream(kBodySeed) byte j; a response starts with the
//         first min(8, request, response) bytes of its request, the rest is
//         PrngStream(kBodySeed) likewise. The tag lets the client catch a
//         response delivered to the wrong connection or out of order.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "weft/common/error.h"

namespace weft::bench {

inline constexpr std::array<std::uint8_t, 4> kMagic = {'W', 'F', 'T', 'B'};
inline constexpr std::uint8_t kWireVersion = 1;
inline constexpr std::size_t kHeaderSize = 32;
inline constexpr std::size_t kSinkReplySize = 16;
inline constexpr std::size_t kTagSize = 8;
inline constexpr std::uint16_t kFlagOneShot = 1;
// Bounds a single rr message, so that a corrupt header cannot make the server
// queue gigabytes for one connection.
inline constexpr std::uint32_t kMaxMessageSize = 64u << 20;

enum class Mode : std::uint8_t { kSink = 1, kSource = 2, kEcho = 3, kRr = 4 };

std::string_view modeName(Mode mode);

struct Header {
  Mode mode = Mode::kRr;
  std::uint16_t flags = 0;
  std::uint32_t requestSize = 0;
  std::uint32_t responseSize = 0;
  std::uint64_t byteCount = 0;
  std::uint64_t seed = 0;

  bool operator==(const Header&) const = default;
};

using HeaderBytes = std::array<std::uint8_t, kHeaderSize>;

[[nodiscard]] HeaderBytes encodeHeader(const Header& header);
// Checks magic, version, mode and sizes.
[[nodiscard]] Result<Header> decodeHeader(std::span<const std::uint8_t, kHeaderSize> bytes);

struct SinkReply {
  std::uint64_t byteCount = 0;
  std::uint64_t hash = 0;
};

[[nodiscard]] std::array<std::uint8_t, kSinkReplySize> encodeSinkReply(const SinkReply& reply);
[[nodiscard]] SinkReply decodeSinkReply(std::span<const std::uint8_t, kSinkReplySize> bytes);

// What the first bytes of a connection say it speaks.
enum class Protocol { kNeedMore, kBench, kHttp, kUnknown };
[[nodiscard]] Protocol sniffProtocol(std::span<const std::uint8_t> prefix);

// The number of leading bytes a response copies from its request.
[[nodiscard]] constexpr std::size_t echoedTagSize(std::uint32_t requestSize, std::uint32_t responseSize) {
  std::size_t n = kTagSize;
  if (requestSize < n) n = requestSize;
  if (responseSize < n) n = responseSize;
  return n;
}

void storeLe64(std::uint8_t* out, std::uint64_t value);
[[nodiscard]] std::uint64_t loadLe64(const std::uint8_t* in);

}  // namespace weft::bench

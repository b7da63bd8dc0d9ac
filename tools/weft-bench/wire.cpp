#include "weft-bench/wire.h"

#include <algorithm>
#include <fmt/format.h>

namespace weft::bench {
namespace {

void storeLe32(std::uint8_t* out, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) out[i] = static_cast<std::uint8_t>(v >> (8 * i));
}
void storeLe16(std::uint8_t* out, std::uint16_t v) {
  out[0] = static_cast<std::uint8_t>(v);
  out[1] = static_cast<std::uint8_t>(v >> 8);
}
std::uint32_t loadLe32(const std::uint8_t* in) {
  std::uint32_t v = 0;
  for (int i = 3; i >= 0; --i) v = (v << 8) | in[i];
  return v;
}
std::uint16_t loadLe16(const std::uint8_t* in) { return static_cast<std::uint16_t>(in[0] | (in[1] << 8)); }

// The longest method name an HTTP client sends first ("OPTIONS", "CONNECT").
constexpr std::size_t kMaxMethod = 7;

}  // namespace

void storeLe64(std::uint8_t* out, std::uint64_t v) {
  for (int i = 0; i < 8; ++i) out[i] = static_cast<std::uint8_t>(v >> (8 * i));
}

std::uint64_t loadLe64(const std::uint8_t* in) {
  std::uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | in[i];
  return v;
}

std::string_view modeName(Mode mode) {
  switch (mode) {
    case Mode::kSink: return "sink";
    case Mode::kSource: return "source";
    case Mode::kEcho: return "echo";
    case Mode::kRr: return "rr";
  }
  return "?";
}

HeaderBytes encodeHeader(const Header& h) {
  HeaderBytes out{};
  std::copy(kMagic.begin(), kMagic.end(), out.begin());
  out[4] = kWireVersion;
  out[5] = static_cast<std::uint8_t>(h.mode);
  storeLe16(&out[6], h.flags);
  storeLe32(&out[8], h.requestSize);
  storeLe32(&out[12], h.responseSize);
  storeLe64(&out[16], h.byteCount);
  storeLe64(&out[24], h.seed);
  return out;
}

Result<Header> decodeHeader(std::span<const std::uint8_t, kHeaderSize> in) {
  if (!std::equal(kMagic.begin(), kMagic.end(), in.begin()))
    return fail(ErrorCode::kParse, "bench header: bad magic");
  if (in[4] != kWireVersion)
    return fail(ErrorCode::kUnsupported, fmt::format("bench header: version {}, this server speaks {}", in[4], kWireVersion));
  Header h;
  std::uint8_t mode = in[5];
  if (mode < static_cast<std::uint8_t>(Mode::kSink) || mode > static_cast<std::uint8_t>(Mode::kRr))
    return fail(ErrorCode::kParse, fmt::format("bench header: unknown mode {}", mode));
  h.mode = static_cast<Mode>(mode);
  h.flags = loadLe16(&in[6]);
  h.requestSize = loadLe32(&in[8]);
  h.responseSize = loadLe32(&in[12]);
  h.byteCount = loadLe64(&in[16]);
  h.seed = loadLe64(&in[24]);
  if (h.flags & ~kFlagOneShot) return fail(ErrorCode::kParse, fmt::format("bench header: unknown flags {:#x}", h.flags));
  if (h.mode == Mode::kRr) {
    if (h.requestSize == 0 || h.responseSize == 0 || h.requestSize > kMaxMessageSize ||
        h.responseSize > kMaxMessageSize)
      return fail(ErrorCode::kParse, fmt::format("bench header: rr sizes {}/{} outside 1..{}", h.requestSize,
                                                 h.responseSize, kMaxMessageSize));
  }
  return h;
}

std::array<std::uint8_t, kSinkReplySize> encodeSinkReply(const SinkReply& reply) {
  std::array<std::uint8_t, kSinkReplySize> out{};
  storeLe64(&out[0], reply.byteCount);
  storeLe64(&out[8], reply.hash);
  return out;
}

SinkReply decodeSinkReply(std::span<const std::uint8_t, kSinkReplySize> in) {
  return {loadLe64(&in[0]), loadLe64(&in[8])};
}

Protocol sniffProtocol(std::span<const std::uint8_t> prefix) {
  if (prefix.empty()) return Protocol::kNeedMore;
  std::size_t magicSeen = std::min(prefix.size(), kMagic.size());
  if (std::equal(prefix.begin(), prefix.begin() + static_cast<std::ptrdiff_t>(magicSeen), kMagic.begin()))
    return magicSeen == kMagic.size() ? Protocol::kBench : Protocol::kNeedMore;
  // An HTTP/1.x request line starts with an upper-case method and a space.
  for (std::size_t i = 0; i < prefix.size() && i <= kMaxMethod; ++i) {
    std::uint8_t c = prefix[i];
    if (c == ' ') return i >= 3 ? Protocol::kHttp : Protocol::kUnknown;
    if (c < 'A' || c > 'Z') return Protocol::kUnknown;
  }
  return prefix.size() <= kMaxMethod ? Protocol::kNeedMore : Protocol::kUnknown;
}

}  // namespace weft::bench

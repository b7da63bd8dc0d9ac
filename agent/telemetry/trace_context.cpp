#include "weft/telemetry/trace_context.h"

#include <sys/random.h>
#include <unistd.h>

#include <chrono>
#include <thread>

namespace weft::telemetry {
namespace {

constexpr std::size_t kTraceparentLength = 55;  // version 00; later versions may append "-..."
constexpr char kHexDigits[] = "0123456789abcdef";

// A header's value when it appears exactly once.
struct Lookup {
  std::optional<std::string_view> value;
  bool repeated = false;
};

Lookup findHeader(const HeaderList& headers, std::string_view name) {
  Lookup found;
  for (const auto& [key, value] : headers) {
    if (key != name) continue;
    if (found.value) {
      found.repeated = true;
      return found;
    }
    found.value = value;
  }
  return found;
}

std::optional<std::string_view> singleHeader(const HeaderList& headers, std::string_view name) {
  Lookup found = findHeader(headers, name);
  if (found.repeated) return std::nullopt;
  return found.value;
}

// HTTP allows a list header in several fields; tracestate is one.
std::string joinedHeader(const HeaderList& headers, std::string_view name) {
  std::string out;
  for (const auto& [key, value] : headers) {
    if (key != name || value.empty()) continue;
    if (!out.empty()) out += ',';
    out += value;
  }
  return out;
}

std::optional<TraceContext> parseTraceparent(std::string_view text) {
  if (text.size() < kTraceparentLength) return std::nullopt;
  std::uint8_t version = 0;
  if (!parseLowerHex(text.substr(0, 2), {&version, 1}) || version == 0xff) return std::nullopt;
  if (version == 0 && text.size() != kTraceparentLength) return std::nullopt;
  // A later version keeps the first four fields; what follows starts with '-'.
  if (text.size() > kTraceparentLength && text[kTraceparentLength] != '-') return std::nullopt;
  if (text[2] != '-' || text[35] != '-' || text[52] != '-') return std::nullopt;
  TraceContext context;
  std::uint8_t flags = 0;
  if (!parseLowerHex(text.substr(3, 32), context.traceId) ||
      !parseLowerHex(text.substr(36, 16), context.parentSpanId) || !parseLowerHex(text.substr(53, 2), {&flags, 1}))
    return std::nullopt;
  if (isZero(context.traceId) || isZero(context.parentSpanId)) return std::nullopt;
  context.sampled = (flags & 0x01) != 0;
  context.formats.w3c = true;
  return context;
}

// B3 trace ids are 64 or 128 bits; a 64-bit one is the low half.
bool parseB3TraceId(std::string_view text, TraceId& out) {
  out = {};
  if (text.size() == 32) return parseLowerHex(text, out);
  if (text.size() == 16) return parseLowerHex(text, std::span(out).subspan(8));
  return false;
}

bool parseB3Ids(std::string_view traceText, std::string_view spanText, TraceContext& context) {
  return parseB3TraceId(traceText, context.traceId) && parseLowerHex(spanText, context.parentSpanId) &&
         !isZero(context.traceId) && !isZero(context.parentSpanId);
}

// "0", "1" or "d" (debug, which implies sampled).
bool parseB3Sampling(std::string_view text, TraceContext& context) {
  if (text == "0" || text == "1") {
    context.sampled = text == "1";
    return true;
  }
  if (text == "d") {
    context.sampled = true;
    context.debug = true;
    return true;
  }
  return false;
}

// {traceid}-{spanid}[-{sampling}[-{parentspanid}]], or the sampling state alone.
std::optional<TraceContext> parseB3Single(std::string_view text) {
  TraceContext context;
  context.formats.b3Single = true;
  if (text.size() == 1) {
    if (!parseB3Sampling(text, context)) return std::nullopt;
    return context;
  }
  std::array<std::string_view, 4> fields;
  std::size_t count = 0;
  for (std::size_t start = 0;;) {
    if (count == fields.size()) return std::nullopt;
    std::size_t dash = text.find('-', start);
    fields[count++] = text.substr(start, dash == std::string_view::npos ? std::string_view::npos : dash - start);
    if (dash == std::string_view::npos) break;
    start = dash + 1;
  }
  if (count < 2 || !parseB3Ids(fields[0], fields[1], context)) return std::nullopt;
  if (count >= 3 && !parseB3Sampling(fields[2], context)) return std::nullopt;
  SpanId grandparent{};
  if (count == 4 && !parseLowerHex(fields[3], grandparent)) return std::nullopt;
  return context;
}

std::optional<TraceContext> parseB3Multi(const HeaderList& headers) {
  TraceContext context;
  context.formats.b3Multi = true;
  // An unknown sampling value is ignored like an absent one: the decision
  // falls to this hop.
  if (auto sampled = singleHeader(headers, "x-b3-sampled")) {
    if (*sampled == "1" || *sampled == "true") context.sampled = true;
    if (*sampled == "0" || *sampled == "false") context.sampled = false;
  }
  if (singleHeader(headers, "x-b3-flags") == "1") {
    context.debug = true;
    context.sampled = true;
  }
  Lookup traceId = findHeader(headers, "x-b3-traceid");
  Lookup spanId = findHeader(headers, "x-b3-spanid");
  if (!traceId.value && !spanId.value) {
    if (!context.sampled) return std::nullopt;
    return context;
  }
  if (traceId.repeated || spanId.repeated || !traceId.value || !spanId.value ||
      !parseB3Ids(*traceId.value, *spanId.value, context))
    return std::nullopt;
  return context;
}

std::string formatB3TraceId(const TraceId& traceId) {
  // Written back in 64 bits when that is all it has, as a 64-bit Zipkin app sent it.
  auto high = std::span(traceId).first(8);
  return isZero(high) ? toHex(std::span(traceId).subspan(8)) : toHex(traceId);
}

struct Xoshiro256 {
  std::array<std::uint64_t, 4> state{};

  Xoshiro256() {
    if (::getrandom(state.data(), sizeof state, 0) != static_cast<ssize_t>(sizeof state)) {
      // No entropy source (ancient kernel, seccomp): still distinct per thread and process.
      std::uint64_t seed = static_cast<std::uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count()) ^
                           (static_cast<std::uint64_t>(::getpid()) << 32) ^
                           std::hash<std::thread::id>{}(std::this_thread::get_id());
      for (auto& word : state) word = splitMix(seed);
    }
    if ((state[0] | state[1] | state[2] | state[3]) == 0)
      state[0] = 1;  // the one state xoshiro cannot leave
  }

  static std::uint64_t splitMix(std::uint64_t& x) {
    std::uint64_t z = (x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }

  static std::uint64_t rotl(std::uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

  std::uint64_t next() {
    const std::uint64_t result = rotl(state[1] * 5, 7) * 9;
    const std::uint64_t t = state[1] << 17;
    state[2] ^= state[0];
    state[3] ^= state[1];
    state[1] ^= state[2];
    state[0] ^= state[3];
    state[2] ^= t;
    state[3] = rotl(state[3], 45);
    return result;
  }

  void fill(std::span<std::uint8_t> out) {
    do {
      for (std::size_t i = 0; i < out.size(); i += 8) {
        std::uint64_t word = next();
        for (std::size_t j = 0; j < 8 && i + j < out.size(); ++j)
          out[i + j] = static_cast<std::uint8_t>(word >> (8 * j));
      }
    } while (isZero(out));
  }
};

Xoshiro256& threadGenerator() {
  thread_local Xoshiro256 generator;
  return generator;
}

}  // namespace

bool TraceContext::hasIds() const { return !isZero(traceId); }

std::optional<TraceContext> extractTraceContext(const HeaderList& headers) {
  std::optional<TraceContext> w3c;
  if (auto traceparent = singleHeader(headers, "traceparent")) w3c = parseTraceparent(*traceparent);
  std::optional<TraceContext> b3Single;
  if (auto b3 = singleHeader(headers, "b3")) b3Single = parseB3Single(*b3);
  std::optional<TraceContext> b3Multi = parseB3Multi(headers);

  // B3 with ids beats B3 with a sampling state alone, whichever form has them.
  auto withIds = [](const std::optional<TraceContext>& c) { return c && c->hasIds(); };
  std::optional<TraceContext> context = w3c                 ? w3c
                                        : withIds(b3Single) ? b3Single
                                        : withIds(b3Multi)  ? b3Multi
                                        : b3Single          ? b3Single
                                                            : b3Multi;
  if (!context) return std::nullopt;
  context->formats = {.w3c = w3c.has_value(), .b3Multi = b3Multi.has_value(), .b3Single = b3Single.has_value()};
  // tracestate means nothing without the traceparent it belongs to.
  if (w3c) context->tracestate = joinedHeader(headers, "tracestate");
  return context;
}

TraceId TraceIds::newTraceId() {
  TraceId id;
  threadGenerator().fill(id);
  return id;
}

SpanId TraceIds::newSpanId() {
  SpanId id;
  threadGenerator().fill(id);
  return id;
}

bool isReplacedTraceHeader(std::string_view name) {
  return name == "traceparent" || name == "tracestate" || name == "b3" || name.starts_with("x-b3-");
}

TracePropagation propagateTrace(const std::optional<TraceContext>& incoming, const SpanId& spanId,
                                bool sampleNewTrace) {
  TracePropagation out;
  out.spanId = spanId;
  if (incoming && incoming->hasIds()) {
    out.traceId = incoming->traceId;
    out.parentSpanId = incoming->parentSpanId;
  } else {
    out.traceId = TraceIds::newTraceId();
  }
  out.sampled = incoming && incoming->sampled ? *incoming->sampled : sampleNewTrace;
  const bool debug = out.sampled && incoming && incoming->debug;
  const bool hasParent = !isZero(out.parentSpanId);

  out.headers.emplace_back("traceparent", formatTraceparent(out.traceId, out.spanId, out.sampled));
  if (!incoming) return out;
  if (!incoming->tracestate.empty()) out.headers.emplace_back("tracestate", incoming->tracestate);
  if (incoming->formats.b3Multi) {
    out.headers.emplace_back("x-b3-traceid", formatB3TraceId(out.traceId));
    out.headers.emplace_back("x-b3-spanid", toHex(out.spanId));
    if (hasParent) out.headers.emplace_back("x-b3-parentspanid", toHex(out.parentSpanId));
    // Debug implies sampled; B3 says not to send both.
    if (debug)
      out.headers.emplace_back("x-b3-flags", "1");
    else
      out.headers.emplace_back("x-b3-sampled", out.sampled ? "1" : "0");
  }
  if (incoming->formats.b3Single) {
    std::string b3 = formatB3TraceId(out.traceId) + '-' + toHex(out.spanId) + '-';
    b3 += debug ? 'd' : out.sampled ? '1' : '0';
    if (hasParent) b3 += '-' + toHex(out.parentSpanId);
    out.headers.emplace_back("b3", std::move(b3));
  }
  return out;
}

TracePropagation propagateTrace(const HeaderList& requestHeaders, bool sampleNewTrace) {
  return propagateTrace(extractTraceContext(requestHeaders), TraceIds::newSpanId(), sampleNewTrace);
}

std::string toHex(std::span<const std::uint8_t> bytes) {
  std::string out(bytes.size() * 2, '0');
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    out[2 * i] = kHexDigits[bytes[i] >> 4];
    out[2 * i + 1] = kHexDigits[bytes[i] & 0x0f];
  }
  return out;
}

bool parseLowerHex(std::string_view text, std::span<std::uint8_t> out) {
  if (text.size() != out.size() * 2) return false;
  auto digit = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
  };
  for (std::size_t i = 0; i < out.size(); ++i) {
    int high = digit(text[2 * i]);
    int low = digit(text[2 * i + 1]);
    if (high < 0 || low < 0) return false;
    out[i] = static_cast<std::uint8_t>(high << 4 | low);
  }
  return true;
}

bool isZero(std::span<const std::uint8_t> bytes) {
  for (std::uint8_t b : bytes)
    if (b != 0) return false;
  return true;
}

std::string formatTraceparent(const TraceId& traceId, const SpanId& spanId, bool sampled) {
  return "00-" + toHex(traceId) + '-' + toHex(spanId) + (sampled ? "-01" : "-00");
}

}  // namespace weft::telemetry

// Distributed tracing's context on the wire: reading the caller's trace from a
// request's headers (W3C Trace Context, Zipkin B3 in either form), making
// trace and span ids, and writing the headers a hop forwards upstream so that
// the next service continues the same trace with this hop's span as parent.
//
// The proxy is one hop of the trace: a server span per request, child of the
// caller's span, whose id it forwards so that the app's own calls become its
// children (when the app passes the headers on: the app's part in every mesh).
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace weft::telemetry {

using TraceId = std::array<std::uint8_t, 16>;
using SpanId = std::array<std::uint8_t, 8>;

// The shape of http::RequestHead::headers: lower-case names, values trimmed.
using HeaderList = std::vector<std::pair<std::string, std::string>>;

// Which propagation formats a request carried (valid ones only): the hop
// answers in the same ones, so an app instrumented for Zipkin keeps working.
struct TraceFormats {
  bool w3c = false;       // traceparent (+ tracestate)
  bool b3Multi = false;   // x-b3-traceid, x-b3-spanid, x-b3-sampled, x-b3-flags
  bool b3Single = false;  // b3
  bool operator==(const TraceFormats&) const = default;
};

struct TraceContext {
  TraceId traceId{};
  SpanId parentSpanId{};  // the caller's span: the parent of the span this hop makes
  // nullopt: B3 left the decision to the receiver (no sampling state sent).
  std::optional<bool> sampled;
  bool debug = false;     // B3 debug (x-b3-flags: 1, b3 sampling "d"); implies sampled
  std::string tracestate; // W3C only, forwarded unchanged
  TraceFormats formats;

  // B3 may carry a sampling decision alone ("b3: 0", "x-b3-sampled: 0"):
  // then the ids are zero and the hop starts a trace that obeys it.
  [[nodiscard]] bool hasIds() const;
  bool operator==(const TraceContext&) const = default;
};

// A valid traceparent takes precedence; otherwise the b3 header, otherwise
// the x-b3-* headers. An invalid header counts as absent (W3C: restart the
// trace), and so does one that appears twice (which of them would be meant?).
// nullopt: no usable context, the hop starts a trace.
[[nodiscard]] std::optional<TraceContext> extractTraceContext(const HeaderList& headers);

// Ids from a per-thread PRNG seeded from getrandom(): a few nanoseconds per id
// and no lock, for the data path. Not for secrets.
class TraceIds {
 public:
  [[nodiscard]] static TraceId newTraceId();  // never all zero
  [[nodiscard]] static SpanId newSpanId();    // never zero
};

// What a hop does with a request's trace: its span's ids and decision, and
// the trace headers to forward in place of the ones that came in.
struct TracePropagation {
  TraceId traceId{};
  SpanId spanId{};        // this hop's span
  SpanId parentSpanId{};  // zero when this hop starts the trace
  bool sampled = false;
  HeaderList headers;     // always traceparent; tracestate and B3 as they came
};

// The request headers that the forwarded ones replace: a filter removes every
// header for which isReplacedTraceHeader() holds, then appends
// TracePropagation::headers.
inline constexpr std::array<std::string_view, 8> kReplacedTraceHeaders = {
    "traceparent", "tracestate", "b3", "x-b3-traceid", "x-b3-spanid", "x-b3-parentspanid", "x-b3-sampled",
    "x-b3-flags"};
[[nodiscard]] bool isReplacedTraceHeader(std::string_view lowerCaseName);  // any x-b3-* as well

// `sampleNewTrace` decides only where the caller did not: a new trace, or B3
// without a sampling state.
[[nodiscard]] TracePropagation propagateTrace(const std::optional<TraceContext>& incoming, const SpanId& spanId,
                                              bool sampleNewTrace);
// One call per request head: extract, make this hop's span id, propagate.
[[nodiscard]] TracePropagation propagateTrace(const HeaderList& requestHeaders, bool sampleNewTrace);

// Lower-case hex, the form of ids in both header formats and in OTLP JSON.
[[nodiscard]] std::string toHex(std::span<const std::uint8_t> bytes);
// Exactly 2 * out.size() lower-case hex digits; false otherwise (out undefined).
[[nodiscard]] bool parseLowerHex(std::string_view text, std::span<std::uint8_t> out);
[[nodiscard]] bool isZero(std::span<const std::uint8_t> bytes);

// "00-<trace>-<span>-<flags>"
[[nodiscard]] std::string formatTraceparent(const TraceId& traceId, const SpanId& spanId, bool sampled);

}  // namespace weft::telemetry

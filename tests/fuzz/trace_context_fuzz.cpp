// Fuzz target: trace context extraction from request headers. The input is
// lines of "name:value" (a line without ':' is a traceparent value). Whatever
// extracts must hold the context's invariants, print back as a traceparent
// that extracts to the same ids, and propagate to headers that extract as
// this hop's child in the same formats.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "weft/telemetry/trace_context.h"

namespace {

using namespace weft::telemetry;

HeaderList parseInput(std::string_view text) {
  HeaderList headers;
  while (!text.empty()) {
    std::size_t end = text.find('\n');
    std::string_view line = text.substr(0, end);
    std::size_t colon = line.find(':');
    if (colon == std::string_view::npos)
      headers.emplace_back("traceparent", std::string(line));
    else
      headers.emplace_back(std::string(line.substr(0, colon)), std::string(line.substr(colon + 1)));
    text = end == std::string_view::npos ? std::string_view() : text.substr(end + 1);
  }
  return headers;
}

void check(bool condition) {
  if (!condition) std::abort();
}

void checkContext(const TraceContext& context) {
  check(context.formats.w3c || context.formats.b3Multi || context.formats.b3Single);
  check(context.tracestate.empty() || context.formats.w3c);
  check(!context.debug || context.sampled == true);
  if (context.hasIds()) {
    check(!isZero(context.traceId) && !isZero(context.parentSpanId));
    // Printed back as W3C, the ids come back unchanged.
    bool sampled = context.sampled.value_or(false);
    auto again = extractTraceContext({{"traceparent", formatTraceparent(context.traceId, context.parentSpanId, sampled)}});
    check(again && again->traceId == context.traceId && again->parentSpanId == context.parentSpanId &&
          again->sampled == sampled);
  } else {
    // B3's sampling state alone: no ids at all, and never from W3C.
    check(isZero(context.parentSpanId) && context.sampled.has_value() && !context.formats.w3c);
  }
}

void checkPropagation(const std::optional<TraceContext>& incoming, bool sampleNewTrace) {
  SpanId span = TraceIds::newSpanId();
  check(!isZero(span));
  TracePropagation out = propagateTrace(incoming, span, sampleNewTrace);
  check(!isZero(out.traceId) && out.spanId == span);
  if (incoming && incoming->hasIds()) check(out.traceId == incoming->traceId && out.parentSpanId == incoming->parentSpanId);
  else check(isZero(out.parentSpanId));
  if (incoming && incoming->sampled) check(out.sampled == *incoming->sampled);
  for (const auto& [name, value] : out.headers) check(isReplacedTraceHeader(name) && !value.empty());
  auto next = extractTraceContext(out.headers);
  check(next.has_value());
  check(next->traceId == out.traceId && next->parentSpanId == out.spanId && next->sampled == out.sampled);
  check(next->formats.w3c);
  check(next->formats.b3Multi == (incoming && incoming->formats.b3Multi));
  check(next->formats.b3Single == (incoming && incoming->formats.b3Single));
  check(next->tracestate == (incoming ? incoming->tracestate : std::string()));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  HeaderList headers = parseInput(std::string_view(reinterpret_cast<const char*>(data), size));
  auto context = extractTraceContext(headers);
  if (context) checkContext(*context);
  checkPropagation(context, size % 2 == 0);
  return 0;
}

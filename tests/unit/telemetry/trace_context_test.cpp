// Trace context from headers (W3C Trace Context, B3 single and multi) and the
// headers a hop forwards: the W3C specification's examples, its rules for
// invalid and future versions, B3's forms, and propagation for each way a
// request can arrive.
#include <doctest/doctest.h>

#include <set>
#include <thread>

#include "weft/telemetry/trace_context.h"

namespace {

using namespace weft::telemetry;

constexpr std::string_view kTrace = "0af7651916cd43dd8448eb211c80319c";
constexpr std::string_view kSpan = "b7ad6b7169203331";

TraceId traceId(std::string_view hex) {
  TraceId id{};
  if (hex.size() == 16) {
    REQUIRE(parseLowerHex(hex, std::span(id).subspan(8)));
  } else {
    REQUIRE(parseLowerHex(hex, id));
  }
  return id;
}

SpanId spanId(std::string_view hex) {
  SpanId id{};
  REQUIRE(parseLowerHex(hex, id));
  return id;
}

std::optional<TraceContext> fromTraceparent(std::string value) {
  return extractTraceContext({{"traceparent", std::move(value)}});
}

std::optional<std::string> header(const HeaderList& headers, std::string_view name) {
  for (const auto& [key, value] : headers)
    if (key == name) return value;
  return std::nullopt;
}

std::set<std::string> names(const HeaderList& headers) {
  std::set<std::string> out;
  for (const auto& entry : headers) out.insert(entry.first);
  return out;
}

}  // namespace

TEST_CASE("traceparent: valid values from the W3C specification and future versions") {
  struct Case {
    std::string value;
    std::string_view trace;
    std::string_view span;
    bool sampled;
  };
  const std::vector<Case> cases = {
      {"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01", kTrace, kSpan, true},
      {"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", "4bf92f3577b34da6a3ce929d0e0e4736",
       "00f067aa0ba902b7", true},
      {"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00", "4bf92f3577b34da6a3ce929d0e0e4736",
       "00f067aa0ba902b7", false},
      // Only bit 0 is "sampled"; the others do not change it.
      {"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-09", kTrace, kSpan, true},
      {"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-02", kTrace, kSpan, false},
      // A later version: the first four fields as in 00, then the end or '-'.
      {"cc-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01", kTrace, kSpan, true},
      {"cc-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01-what-the-future-will-be-like", kTrace, kSpan, true},
      {"01-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00-", kTrace, kSpan, false},
  };
  for (const auto& c : cases) {
    CAPTURE(c.value);
    auto context = fromTraceparent(c.value);
    REQUIRE(context.has_value());
    CHECK(context->traceId == traceId(c.trace));
    CHECK(context->parentSpanId == spanId(c.span));
    CHECK(context->sampled == c.sampled);
    CHECK(context->formats == TraceFormats{.w3c = true});
    CHECK(context->hasIds());
    CHECK_FALSE(context->debug);
  }
}

TEST_CASE("traceparent: invalid values are ignored as if absent") {
  const std::vector<std::string> cases = {
      "",
      "00",
      "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-1",         // 54 characters
      "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01-",       // version 00 is exactly 55
      "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01-extra",
      "ff-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",        // version ff is invalid
      "cc-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01.",       // a later version, then not '-'
      "cc-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01x-y",
      "00-00000000000000000000000000000000-b7ad6b7169203331-01",        // all-zero trace id
      "00-0af7651916cd43dd8448eb211c80319c-0000000000000000-01",        // all-zero parent id
      "00-0AF7651916CD43DD8448EB211C80319C-b7ad6b7169203331-01",        // upper case
      "00-0af7651916cd43dd8448eb211c80319c-B7AD6B7169203331-01",
      "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-0A",
      "0A-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
      "00-0af7651916cd43dd8448eb211c80319g-b7ad6b7169203331-01",        // not hex
      "00-0af7651916cd43dd8448eb211c80319c-b7ad6b716920333z-01",
      "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-0x",
      "0x-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
      "00_0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",        // separators
      "00-0af7651916cd43dd8448eb211c80319c_b7ad6b7169203331-01",
      "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331_01",
      "00-0af7651916cd43dd8448eb211c8031-9cb7ad6b7169203331-01",        // fields of the wrong width
      " 00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
      "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01 ",
  };
  for (const auto& value : cases) {
    CAPTURE(value);
    CHECK_FALSE(fromTraceparent(value).has_value());
  }
  // Two traceparent fields: which one would be meant?
  CHECK_FALSE(extractTraceContext({{"traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"},
                                   {"traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"}})
                  .has_value());
  CHECK_FALSE(extractTraceContext({}).has_value());
  CHECK_FALSE(extractTraceContext({{"tracestate", "congo=t61rcWkgMzE"}}).has_value());
}

TEST_CASE("tracestate is kept with a valid traceparent only and its fields are joined") {
  const std::string traceparent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
  auto context = extractTraceContext(
      {{"traceparent", traceparent}, {"tracestate", "rojo=00f067aa0ba902b7"}, {"tracestate", "congo=t61rcWkgMzE"}});
  REQUIRE(context.has_value());
  CHECK(context->tracestate == "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE");

  // An invalid traceparent takes its tracestate with it, even when B3 gives the ids.
  context = extractTraceContext({{"traceparent", "00-zz"},
                                 {"tracestate", "rojo=00f067aa0ba902b7"},
                                 {"b3", "80f198ee56343ba864fe8b2a57d3eff7-e457b5a2e4d86bd1-1"}});
  REQUIRE(context.has_value());
  CHECK(context->tracestate.empty());
  CHECK(context->formats == TraceFormats{.b3Single = true});
}

TEST_CASE("b3 single header: valid and invalid forms") {
  struct Valid {
    std::string value;
    std::string_view trace;  // empty: sampling state only
    std::string_view span;
    std::optional<bool> sampled;
    bool debug;
  };
  const std::vector<Valid> valid = {
      {"80f198ee56343ba864fe8b2a57d3eff7-e457b5a2e4d86bd1-1-05e3ac9a4f6e3b90", "80f198ee56343ba864fe8b2a57d3eff7",
       "e457b5a2e4d86bd1", true, false},
      {"80f198ee56343ba864fe8b2a57d3eff7-e457b5a2e4d86bd1-0", "80f198ee56343ba864fe8b2a57d3eff7", "e457b5a2e4d86bd1",
       false, false},
      {"80f198ee56343ba864fe8b2a57d3eff7-e457b5a2e4d86bd1", "80f198ee56343ba864fe8b2a57d3eff7", "e457b5a2e4d86bd1",
       std::nullopt, false},
      {"64fe8b2a57d3eff7-e457b5a2e4d86bd1-d", "64fe8b2a57d3eff7", "e457b5a2e4d86bd1", true, true},
      {"0", "", "", false, false},
      {"1", "", "", true, false},
      {"d", "", "", true, true},
  };
  for (const auto& c : valid) {
    CAPTURE(c.value);
    auto context = extractTraceContext({{"b3", c.value}});
    REQUIRE(context.has_value());
    CHECK(context->formats == TraceFormats{.b3Single = true});
    CHECK(context->sampled == c.sampled);
    CHECK(context->debug == c.debug);
    CHECK(context->hasIds() == !c.trace.empty());
    if (!c.trace.empty()) {
      CHECK(context->traceId == traceId(c.trace));
      CHECK(context->parentSpanId == spanId(c.span));
    }
  }
  const std::vector<std::string> invalid = {
      "",
      "2",
      "-",
      "true",
      "80f198ee56343ba864fe8b2a57d3eff7",
      "80f198ee56343ba864fe8b2a57d3eff7-",
      "80f198ee56343ba864fe8b2a57d3eff7-e457b5a2e4d86bd1-",
      "80f198ee56343ba864fe8b2a57d3eff7-e457b5a2e4d86bd1-2",
      "80f198ee56343ba864fe8b2a57d3eff7-e457b5a2e4d86bd1-1-",
      "80f198ee56343ba864fe8b2a57d3eff7-e457b5a2e4d86bd1-1-05e3ac9a4f6e3b9",
      "80f198ee56343ba864fe8b2a57d3eff7-e457b5a2e4d86bd1-1-05e3ac9a4f6e3b90-1",
      "80F198EE56343BA864FE8B2A57D3EFF7-e457b5a2e4d86bd1-1",
      "80f198ee56343ba864fe8b2a-e457b5a2e4d86bd1-1",  // 24 hex digits
      "80f198ee56343ba864fe8b2a57d3eff7-e457b5a2e4d86b-1",
      "00000000000000000000000000000000-e457b5a2e4d86bd1-1",
      "80f198ee56343ba864fe8b2a57d3eff7-0000000000000000-1",
      "0000000000000000-e457b5a2e4d86bd1",
  };
  for (const auto& value : invalid) {
    CAPTURE(value);
    CHECK_FALSE(extractTraceContext({{"b3", value}}).has_value());
  }
}

TEST_CASE("b3 multiple headers: ids of 64 and 128 bits with sampled and debug") {
  auto context = extractTraceContext({{"x-b3-traceid", "80f198ee56343ba864fe8b2a57d3eff7"},
                                      {"x-b3-spanid", "e457b5a2e4d86bd1"},
                                      {"x-b3-parentspanid", "05e3ac9a4f6e3b90"},
                                      {"x-b3-sampled", "1"}});
  REQUIRE(context.has_value());
  CHECK(context->traceId == traceId("80f198ee56343ba864fe8b2a57d3eff7"));
  CHECK(context->parentSpanId == spanId("e457b5a2e4d86bd1"));
  CHECK(context->sampled == true);
  CHECK(context->formats == TraceFormats{.b3Multi = true});

  // 64 bits are the low half of a 128-bit id.
  context = extractTraceContext({{"x-b3-traceid", "a3ce929d0e0e4736"}, {"x-b3-spanid", "e457b5a2e4d86bd1"}});
  REQUIRE(context.has_value());
  CHECK(toHex(context->traceId) == "0000000000000000a3ce929d0e0e4736");
  CHECK_FALSE(context->sampled.has_value());

  struct Sampling {
    HeaderList extra;
    std::optional<bool> sampled;
    bool debug;
  };
  const std::vector<Sampling> sampling = {
      {{{"x-b3-sampled", "1"}}, true, false},       {{{"x-b3-sampled", "0"}}, false, false},
      {{{"x-b3-sampled", "true"}}, true, false},    {{{"x-b3-sampled", "false"}}, false, false},
      {{{"x-b3-sampled", "yes"}}, std::nullopt, false},  // unknown: as if absent
      {{{"x-b3-flags", "1"}}, true, true},
      {{{"x-b3-flags", "1"}, {"x-b3-sampled", "0"}}, true, true},  // debug implies sampled
      {{{"x-b3-flags", "0"}}, std::nullopt, false},
  };
  for (const auto& c : sampling) {
    HeaderList headers = {{"x-b3-traceid", "a3ce929d0e0e4736"}, {"x-b3-spanid", "e457b5a2e4d86bd1"}};
    headers.insert(headers.end(), c.extra.begin(), c.extra.end());
    CAPTURE(c.extra.front().first);
    CAPTURE(c.extra.front().second);
    context = extractTraceContext(headers);
    REQUIRE(context.has_value());
    CHECK(context->sampled == c.sampled);
    CHECK(context->debug == c.debug);
  }

  // The sampling state alone is a context without ids.
  context = extractTraceContext({{"x-b3-sampled", "0"}});
  REQUIRE(context.has_value());
  CHECK_FALSE(context->hasIds());
  CHECK(context->sampled == false);

  const std::vector<HeaderList> invalid = {
      {{"x-b3-traceid", "a3ce929d0e0e4736"}},
      {{"x-b3-spanid", "e457b5a2e4d86bd1"}, {"x-b3-sampled", "1"}},
      {{"x-b3-traceid", "a3ce929d0e0e473"}, {"x-b3-spanid", "e457b5a2e4d86bd1"}},
      {{"x-b3-traceid", "A3CE929D0E0E4736"}, {"x-b3-spanid", "e457b5a2e4d86bd1"}},
      {{"x-b3-traceid", "a3ce929d0e0e4736"}, {"x-b3-spanid", "0000000000000000"}},
      {{"x-b3-traceid", "a3ce929d0e0e4736"}, {"x-b3-spanid", "e457b5a2e4d86bd1"}, {"x-b3-spanid", "e457b5a2e4d86bd2"}},
      {{"x-b3-sampled", "maybe"}},
  };
  for (const auto& headers : invalid) {
    CAPTURE(headers.front().second);
    CHECK_FALSE(extractTraceContext(headers).has_value());
  }
}

TEST_CASE("trace formats: traceparent wins over b3 and b3 over x-b3 while every valid form is noted") {
  const HeaderList all = {{"traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00"},
                          {"b3", "80f198ee56343ba864fe8b2a57d3eff7-e457b5a2e4d86bd1-1"},
                          {"x-b3-traceid", "a3ce929d0e0e4736"},
                          {"x-b3-spanid", "05e3ac9a4f6e3b90"}};
  auto context = extractTraceContext(all);
  REQUIRE(context.has_value());
  CHECK(context->traceId == traceId(kTrace));
  CHECK(context->sampled == false);
  CHECK(context->formats == TraceFormats{.w3c = true, .b3Multi = true, .b3Single = true});

  HeaderList b3Only(all.begin() + 1, all.end());
  context = extractTraceContext(b3Only);
  REQUIRE(context.has_value());
  CHECK(context->traceId == traceId("80f198ee56343ba864fe8b2a57d3eff7"));
  CHECK(context->formats == TraceFormats{.b3Multi = true, .b3Single = true});

  HeaderList badSingle = {{"b3", "nonsense"}, all[2], all[3]};
  context = extractTraceContext(badSingle);
  REQUIRE(context.has_value());
  CHECK(context->traceId == traceId("a3ce929d0e0e4736"));
  CHECK(context->formats == TraceFormats{.b3Multi = true});

  // A b3 header with a sampling state alone does not hide the ids of x-b3.
  context = extractTraceContext({{"b3", "1"}, all[2], all[3]});
  REQUIRE(context.has_value());
  CHECK(context->traceId == traceId("a3ce929d0e0e4736"));
  CHECK(context->formats == TraceFormats{.b3Multi = true, .b3Single = true});
}

TEST_CASE("propagation without an incoming trace starts one with traceparent only") {
  const SpanId span = spanId("1111111111111111");
  for (bool sample : {true, false}) {
    auto out = propagateTrace(std::nullopt, span, sample);
    CHECK_FALSE(isZero(out.traceId));
    CHECK(isZero(out.parentSpanId));
    CHECK(out.spanId == span);
    CHECK(out.sampled == sample);
    REQUIRE(out.headers.size() == 1);
    CHECK(out.headers[0].first == "traceparent");
    CHECK(out.headers[0].second == "00-" + toHex(out.traceId) + "-1111111111111111-" + (sample ? "01" : "00"));
  }
  // Each new trace has its own id.
  CHECK(propagateTrace(std::nullopt, span, true).traceId != propagateTrace(std::nullopt, span, true).traceId);
}

TEST_CASE("propagation of a W3C trace keeps its id and decision and makes this hop the parent") {
  auto incoming = extractTraceContext({{"traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"},
                                       {"tracestate", "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE"}});
  auto out = propagateTrace(incoming, spanId("00f067aa0ba902b7"), false);
  CHECK(out.traceId == traceId(kTrace));
  CHECK(out.parentSpanId == spanId(kSpan));
  CHECK(out.sampled);  // the caller decided; sampleNewTrace does not apply
  CHECK(names(out.headers) == std::set<std::string>{"traceparent", "tracestate"});
  CHECK(header(out.headers, "traceparent") == "00-0af7651916cd43dd8448eb211c80319c-00f067aa0ba902b7-01");
  CHECK(header(out.headers, "tracestate") == "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE");

  // Not sampled upstream stays not sampled here.
  incoming = extractTraceContext({{"traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00"}});
  out = propagateTrace(incoming, spanId("00f067aa0ba902b7"), true);
  CHECK_FALSE(out.sampled);
  CHECK(header(out.headers, "traceparent") == "00-0af7651916cd43dd8448eb211c80319c-00f067aa0ba902b7-00");
  CHECK(names(out.headers) == std::set<std::string>{"traceparent"});
}

TEST_CASE("propagation of a B3 multi-header trace answers in B3 and W3C") {
  auto incoming = extractTraceContext({{"x-b3-traceid", "80f198ee56343ba864fe8b2a57d3eff7"},
                                       {"x-b3-spanid", "e457b5a2e4d86bd1"},
                                       {"x-b3-parentspanid", "05e3ac9a4f6e3b90"},
                                       {"x-b3-sampled", "1"}});
  auto out = propagateTrace(incoming, spanId("00f067aa0ba902b7"), false);
  CHECK(out.parentSpanId == spanId("e457b5a2e4d86bd1"));
  CHECK(out.sampled);
  CHECK(names(out.headers) ==
        std::set<std::string>{"traceparent", "x-b3-traceid", "x-b3-spanid", "x-b3-parentspanid", "x-b3-sampled"});
  CHECK(header(out.headers, "traceparent") == "00-80f198ee56343ba864fe8b2a57d3eff7-00f067aa0ba902b7-01");
  CHECK(header(out.headers, "x-b3-traceid") == "80f198ee56343ba864fe8b2a57d3eff7");
  CHECK(header(out.headers, "x-b3-spanid") == "00f067aa0ba902b7");
  CHECK(header(out.headers, "x-b3-parentspanid") == "e457b5a2e4d86bd1");
  CHECK(header(out.headers, "x-b3-sampled") == "1");

  // A 64-bit trace id goes on in 64 bits; debug goes on as x-b3-flags alone.
  incoming = extractTraceContext(
      {{"x-b3-traceid", "a3ce929d0e0e4736"}, {"x-b3-spanid", "e457b5a2e4d86bd1"}, {"x-b3-flags", "1"}});
  out = propagateTrace(incoming, spanId("00f067aa0ba902b7"), false);
  CHECK(header(out.headers, "x-b3-traceid") == "a3ce929d0e0e4736");
  CHECK(header(out.headers, "traceparent") == "00-0000000000000000a3ce929d0e0e4736-00f067aa0ba902b7-01");
  CHECK(header(out.headers, "x-b3-flags") == "1");
  CHECK_FALSE(header(out.headers, "x-b3-sampled").has_value());

  // No sampling state: this hop decides, and says so.
  incoming = extractTraceContext({{"x-b3-traceid", "a3ce929d0e0e4736"}, {"x-b3-spanid", "e457b5a2e4d86bd1"}});
  CHECK(header(propagateTrace(incoming, spanId("00f067aa0ba902b7"), true).headers, "x-b3-sampled") == "1");
  CHECK(header(propagateTrace(incoming, spanId("00f067aa0ba902b7"), false).headers, "x-b3-sampled") == "0");
}

TEST_CASE("propagation of a B3 single-header trace answers in the same form") {
  auto incoming = extractTraceContext({{"b3", "80f198ee56343ba864fe8b2a57d3eff7-e457b5a2e4d86bd1-1-05e3ac9a4f6e3b90"}});
  auto out = propagateTrace(incoming, spanId("00f067aa0ba902b7"), false);
  CHECK(names(out.headers) == std::set<std::string>{"traceparent", "b3"});
  CHECK(header(out.headers, "b3") == "80f198ee56343ba864fe8b2a57d3eff7-00f067aa0ba902b7-1-e457b5a2e4d86bd1");
  CHECK(header(out.headers, "traceparent") == "00-80f198ee56343ba864fe8b2a57d3eff7-00f067aa0ba902b7-01");

  incoming = extractTraceContext({{"b3", "a3ce929d0e0e4736-e457b5a2e4d86bd1-d"}});
  out = propagateTrace(incoming, spanId("00f067aa0ba902b7"), false);
  CHECK(header(out.headers, "b3") == "a3ce929d0e0e4736-00f067aa0ba902b7-d-e457b5a2e4d86bd1");
}

TEST_CASE("propagation of b3 0 starts an unsampled trace whatever the local decision") {
  auto incoming = extractTraceContext({{"b3", "0"}});
  auto out = propagateTrace(incoming, spanId("00f067aa0ba902b7"), true);
  CHECK_FALSE(out.sampled);
  CHECK_FALSE(isZero(out.traceId));
  CHECK(isZero(out.parentSpanId));
  CHECK(header(out.headers, "traceparent") == "00-" + toHex(out.traceId) + "-00f067aa0ba902b7-00");
  CHECK(header(out.headers, "b3") == toHex(out.traceId) + "-00f067aa0ba902b7-0");
}

TEST_CASE("propagated headers extract again as the child of this hop") {
  const std::vector<HeaderList> inputs = {
      {},
      {{"traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"}},
      {{"b3", "a3ce929d0e0e4736-e457b5a2e4d86bd1"}},
      {{"x-b3-traceid", "a3ce929d0e0e4736"}, {"x-b3-spanid", "e457b5a2e4d86bd1"}, {"x-b3-sampled", "0"}},
  };
  for (const auto& headers : inputs) {
    auto out = propagateTrace(headers, true);
    auto next = extractTraceContext(out.headers);
    REQUIRE(next.has_value());
    CHECK(next->traceId == out.traceId);
    CHECK(next->parentSpanId == out.spanId);
    CHECK(next->sampled == out.sampled);
    for (const auto& [name, value] : out.headers) CHECK(isReplacedTraceHeader(name));
  }
}

TEST_CASE("replaced trace headers are the W3C and B3 ones and nothing else") {
  for (auto name : kReplacedTraceHeaders) CHECK(isReplacedTraceHeader(name));
  CHECK(isReplacedTraceHeader("x-b3-anything"));
  CHECK_FALSE(isReplacedTraceHeader("x-request-id"));
  CHECK_FALSE(isReplacedTraceHeader("b3x"));
  CHECK_FALSE(isReplacedTraceHeader("traceparent2"));
  CHECK_FALSE(isReplacedTraceHeader("x-b3"));
}

TEST_CASE("trace ids are non-zero and distinct within and across threads") {
  constexpr int kPerThread = 20000;
  auto collect = [](std::set<std::string>& out) {
    for (int i = 0; i < kPerThread; ++i) {
      TraceId trace = TraceIds::newTraceId();
      SpanId span = TraceIds::newSpanId();
      if (isZero(trace) || isZero(span)) return;
      out.insert(toHex(trace));
      out.insert(toHex(span));
    }
  };
  std::set<std::string> a, b;
  std::thread other([&] { collect(b); });
  collect(a);
  other.join();
  CHECK(a.size() == 2 * kPerThread);
  CHECK(b.size() == 2 * kPerThread);
  std::set<std::string> both = a;
  both.insert(b.begin(), b.end());
  CHECK(both.size() == 4 * kPerThread);
}

TEST_CASE("hex helpers accept lower-case digits of the exact width only") {
  std::array<std::uint8_t, 2> bytes{};
  CHECK(parseLowerHex("0aff", bytes));
  CHECK(bytes == std::array<std::uint8_t, 2>{0x0a, 0xff});
  CHECK(toHex(bytes) == "0aff");
  CHECK_FALSE(parseLowerHex("0aFF", bytes));
  CHECK_FALSE(parseLowerHex("0af", bytes));
  CHECK_FALSE(parseLowerHex("0aff0", bytes));
  CHECK_FALSE(parseLowerHex("0a:f", bytes));
  CHECK(formatTraceparent(traceId(kTrace), spanId(kSpan), true) == "00-" + std::string(kTrace) + "-" +
                                                                        std::string(kSpan) + "-01");
}

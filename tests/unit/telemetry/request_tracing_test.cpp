// Tracing in a connection's telemetry: the hop's trace context in place of
// the caller's, and the span it reports for a finished request.
#include <doctest/doctest.h>

#include "flow_ends_fixture.h"
#include "weft/telemetry/flow_telemetry.h"
#include "weft/telemetry/request_span.h"

namespace {

using namespace weft::telemetry;

FlowEnds meshEnds() { return weft::test::meshFlowEnds(false, true); }

std::string header(const weft::http::RequestHead& head, std::string_view name) {
  for (const auto& [n, v] : head.headers)
    if (n == name) return v;
  return "";
}

}  // namespace

TEST_CASE("flow telemetry: no collector means no trace header is touched") {
  auto t = Telemetry::create({}, 1).value();
  FlowTelemetry flow(t->worker(0), meshEnds());
  weft::http::RequestHead head;
  head.headers = {{"traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"}};
  weft::http::RequestRecord record;
  CHECK_FALSE(flow.onRequestHead(record, head));
  CHECK(head.headers.size() == 1);
  CHECK_FALSE(record.traceSampled);
}

TEST_CASE("flow telemetry: the caller's trace continues with this hop's span in its place") {
  TelemetryOptions options;
  options.tracing.collector = "http://127.0.0.1:9/v1/traces";  // never reached: nothing is finished here
  options.tracing.sample = 0;  // the caller's decision wins over the local rate
  auto t = Telemetry::create(options, 1).value();
  FlowTelemetry flow(t->worker(0), meshEnds());
  weft::http::RequestHead head;
  head.headers = {{"host", "echo"},
                  {"traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"},
                  {"x-b3-traceid", "80f198ee56343ba864fe8b2a57d3eff7"},
                  {"x-b3-spanid", "e457b5a2e4d86bd1"}};
  weft::http::RequestRecord record;
  REQUIRE(flow.onRequestHead(record, head));
  CHECK(record.traceSampled);
  CHECK(toHex(record.traceId) == "0af7651916cd43dd8448eb211c80319c");
  CHECK(toHex(record.parentSpanId) == "b7ad6b7169203331");
  CHECK(header(head, "traceparent") == "00-0af7651916cd43dd8448eb211c80319c-" + toHex(record.spanId) + "-01");
  CHECK(header(head, "host") == "echo");
  // W3C won, so the B3 the caller also sent is not passed on stale.
  CHECK(header(head, "x-b3-spanid") != "e457b5a2e4d86bd1");
  CHECK(std::count_if(head.headers.begin(), head.headers.end(),
                      [](const auto& h) { return h.first == "traceparent"; }) == 1);
}

TEST_CASE("request span: ids, timing, status and the workloads as attributes") {
  weft::http::RequestRecord r;
  r.protocol = "HTTP/2";
  r.method = "POST";
  r.path = "/weft.Echo/Say";
  r.authority = "echo:50051";
  r.grpc = true;
  r.status = 200;
  r.grpcStatus = 14;
  r.denied = false;
  r.policy = "b/allow-a";
  r.traceId = TraceIds::newTraceId();
  r.spanId = TraceIds::newSpanId();
  r.start = std::chrono::steady_clock::now();
  r.end = r.start + std::chrono::milliseconds(7);
  Span span = requestSpan(r, meshEnds(), "n2");
  CHECK(span.traceId == r.traceId);
  CHECK(span.spanId == r.spanId);
  CHECK(isZero(span.parentSpanId));
  CHECK(span.name == "POST /weft.Echo/Say");
  CHECK(span.kind == SpanKind::kServer);
  CHECK(span.endUnixNano - span.startUnixNano == 7'000'000);
  CHECK(span.status == SpanStatus::kError);  // grpc-status 14 is the server's failure
  CHECK(span.service == "echo-svc.b");
  CHECK(span.node == "n2");
  auto attribute = [&](std::string_view key) -> AttributeValue {
    for (const auto& a : span.attributes)
      if (a.key == key) return a.value;
    return std::string("absent");
  };
  CHECK(attribute("rpc.grpc.status_code") == AttributeValue(std::int64_t{14}));
  CHECK(attribute("network.protocol.version") == AttributeValue(std::string("2")));
  CHECK(attribute("weft.policy") == AttributeValue(std::string("b/allow-a")));
  CHECK(attribute("source.principal") == AttributeValue(std::string("spiffe://cluster.local/ns/a/sa/client")));
  CHECK(attribute("weft.security") == AttributeValue(std::string("mutual_tls")));
}

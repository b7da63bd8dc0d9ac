#include "weft/telemetry/request_span.h"

#include <algorithm>

namespace weft::telemetry {

Span requestSpan(const http::RequestRecord& r, const FlowEnds& ends, std::string_view node) {
  Span span;
  span.traceId = r.traceId;
  span.spanId = r.spanId;
  span.parentSpanId = r.parentSpanId;
  span.kind = SpanKind::kServer;
  span.name = spanName(r.method.empty() ? std::string_view("HTTP") : std::string_view(r.method), r.path);
  // Steady time measured the exchange; the wall clock places it.
  std::uint64_t now = unixNanoNow();
  auto took = std::chrono::duration_cast<std::chrono::nanoseconds>(r.end - r.start).count();
  span.endUnixNano = now;
  span.startUnixNano = now - static_cast<std::uint64_t>(std::max<std::int64_t>(0, took));
  auto [status, message] = spanStatus(r.status, r.grpc && r.grpcStatus >= 0 ? std::optional(r.grpcStatus) : std::nullopt);
  span.status = status;
  span.statusMessage = std::move(message);
  const Peer& dst = ends.destination;
  span.service = dst.canonicalService + "." + dst.namespace_;
  span.node = std::string(node);

  span.attribute("http.request.method", r.method);
  span.attribute("url.path", r.path);
  span.attribute("server.address", r.authority);
  span.attribute("http.response.status_code", r.status);
  if (r.grpc) span.attribute("rpc.grpc.status_code", r.grpcStatus);
  span.attribute("network.protocol.name", r.grpc ? "grpc" : "http");
  span.attribute("network.protocol.version", r.protocol == "HTTP/2" ? "2" : "1.1");
  if (!r.userAgent.empty()) span.attribute("user_agent.original", r.userAgent);
  if (!r.requestId.empty()) span.attribute("weft.request_id", r.requestId);
  span.attribute("weft.verdict", r.denied ? "deny" : "allow");
  if (!r.policy.empty()) span.attribute("weft.policy", r.policy);
  span.attribute("weft.response_flags", r.flags.empty() ? std::string_view("-") : std::string_view(r.flags));
  span.attribute("weft.reporter", "destination");
  span.attribute("weft.security", ends.mutualTls ? "mutual_tls" : "none");
  span.attribute("source.workload", ends.source.workload);
  span.attribute("source.namespace", ends.source.namespace_);
  span.attribute("source.principal", ends.source.principal);
  span.attribute("destination.workload", dst.workload);
  span.attribute("destination.namespace", dst.namespace_);
  span.attribute("destination.principal", dst.principal);
  if (ends.sourceAddress) span.attribute("client.address", ends.sourceAddress->toString());
  span.attribute("weft.node", std::string(node));
  return span;
}

}  // namespace weft::telemetry

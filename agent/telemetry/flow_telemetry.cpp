#include "weft/telemetry/flow_telemetry.h"

#include <fmt/format.h>

#include "weft/telemetry/json_line.h"
#include "weft/telemetry/request_span.h"
#include "weft/telemetry/trace_context.h"

namespace weft::telemetry {

namespace {

void peerLabels(std::string& out, std::string_view side, const Peer& p, bool destination, std::string_view cluster) {
  auto label = [&](std::string_view name, std::string_view value) {
    appendLabel(out, fmt::format("{}_{}", side, name), value);
  };
  label("workload", p.workload);
  label("workload_namespace", p.namespace_);
  label("principal", p.principal);
  label("app", p.app);
  label("version", p.version);
  if (destination) {
    label("service", p.service);
    label("service_name", p.serviceName);
    label("service_namespace", p.serviceNamespace);
  }
  label("canonical_service", p.canonicalService);
  label("canonical_revision", p.canonicalRevision);
  label("cluster", cluster);
}

double millis(std::chrono::steady_clock::duration d) {
  return static_cast<double>(std::chrono::duration_cast<std::chrono::microseconds>(d).count()) / 1000.0;
}

void endFields(JsonLine& j, std::string_view name, const Peer& p, std::string_view address, bool destination) {
  j.beginObject(name)
      .field("address", address)
      .field("workload", p.workload)
      .field("namespace", p.namespace_)
      .field("principal", p.principal)
      .field("pod", p.pod);
  if (destination) j.field("service", p.service);
  j.endObject();
}

std::string_view reporterName(const FlowEnds& e) {
  if (e.reportsSource && e.reportsDestination) return "both";
  return e.reportsDestination ? "destination" : "source";
}

}  // namespace

std::string flowLabels(Reporter reporter, const FlowEnds& ends, std::string_view protocol, std::string_view clusterId) {
  std::string out;
  appendLabel(out, "reporter", reporter == Reporter::kSource ? "source" : "destination");
  peerLabels(out, "source", ends.source, false, clusterId);
  peerLabels(out, "destination", ends.destination, true, clusterId);
  appendLabel(out, "request_protocol", protocol);
  // Istio: what the destination saw; a source cannot tell, so "unknown".
  appendLabel(out, "connection_security_policy",
              reporter == Reporter::kSource ? "unknown" : (ends.mutualTls ? "mutual_tls" : "none"));
  return out;
}

FlowTelemetry::FlowTelemetry(WorkerTelemetry& worker, FlowEnds ends)
    : worker_(worker), ends_(std::move(ends)), start_(std::chrono::steady_clock::now()) {
  Peer& d = ends_.destination;
  for (const PortService& s : d.portServices)
    if (s.port == ends_.destinationAddress.port()) {
      d.service = s.service;
      d.serviceName = s.name;
      d.serviceNamespace = s.namespace_;
      break;
    }
  if (MetricsShard* shard = worker_.metrics()) {
    const std::string& cluster = worker_.options().clusterId;
    if (ends_.reportsSource) series_[0] = &shard->tcp(flowLabels(Reporter::kSource, ends_, "tcp", cluster));
    if (ends_.reportsDestination) series_[1] = &shard->tcp(flowLabels(Reporter::kDestination, ends_, "tcp", cluster));
    for (TcpSeries* s : series_)
      if (s) s->opened.add();
  }
}

FlowTelemetry::~FlowTelemetry() {
  for (TcpSeries* s : series_)
    if (s) s->closed.add();
  if (worker_.logging() || worker_.streaming()) logConnection();
}

void FlowTelemetry::fromClient(std::uint64_t bytes) {
  fromClient_ += bytes;
  for (TcpSeries* s : series_)
    if (s) s->received.add(bytes);
}

void FlowTelemetry::fromServer(std::uint64_t bytes) {
  fromServer_ += bytes;
  for (TcpSeries* s : series_)
    if (s) s->sent.add(bytes);
}

void FlowTelemetry::describe(nlohmann::json& out) const {
  auto end = [](const Peer& p) {
    return nlohmann::json{{"workload", p.workload}, {"namespace", p.namespace_}, {"principal", p.principal}, {"pod", p.pod}};
  };
  out["source"] = end(ends_.source);
  out["destinationWorkload"] = end(ends_.destination);
  out["security"] = ends_.mutualTls ? "mutual_tls" : "none";
  out["ageMs"] = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start_).count();
  out["bytesFromClient"] = fromClient_;
  out["bytesFromServer"] = fromServer_;
  out["requests"] = requests_;
  if (!flags_.empty()) out["responseFlags"] = flags_;
}

void FlowTelemetry::flag(std::string_view code) {
  if (flags_.find(code) != std::string::npos) return;
  if (!flags_.empty()) flags_ += ',';
  flags_ += code;
}

HttpSeries& FlowTelemetry::httpSeries(const http::RequestRecord& r) {
  for (const HttpKey& k : httpSeries_)
    if (k.grpc == r.grpc && k.status == r.status && k.grpcStatus == r.grpcStatus && k.flags == r.flags)
      return *k.series;
  std::string labels = flowLabels(Reporter::kDestination, ends_, r.grpc ? "grpc" : "http", worker_.options().clusterId);
  appendLabel(labels, "response_code", std::to_string(r.status));
  appendLabel(labels, "grpc_response_status", r.grpcStatus >= 0 ? std::to_string(r.grpcStatus) : "");
  appendLabel(labels, "response_flags", r.flags.empty() ? "-" : r.flags);
  HttpSeries& series = worker_.metrics()->http(labels);
  httpSeries_.push_back({r.grpc, r.status, r.grpcStatus, r.flags, &series});
  return series;
}

bool FlowTelemetry::onRequestHead(http::RequestRecord& record, http::RequestHead& head) {
  if (!worker_.spans()) return false;
  TracePropagation trace = propagateTrace(head.headers, worker_.traceSampled());
  record.traceId = trace.traceId;
  record.spanId = trace.spanId;
  record.parentSpanId = trace.parentSpanId;
  record.traceSampled = trace.sampled;
  std::erase_if(head.headers, [](const auto& field) { return isReplacedTraceHeader(field.first); });
  for (auto& field : trace.headers) head.headers.push_back(std::move(field));
  return true;
}

void FlowTelemetry::onRequest(http::RequestRecord& r) {
  ++requests_;
  if (r.traceSampled && worker_.spans()) worker_.spans()->submit(requestSpan(r, ends_, worker_.options().node));
  if (worker_.metrics()) {
    HttpSeries& s = httpSeries(r);
    s.requests.add();
    auto us = std::chrono::duration_cast<std::chrono::microseconds>(r.end - r.start).count();
    s.durationUs.observe(static_cast<std::uint64_t>(us < 0 ? 0 : us), kDurationBucketsMs, 1000);
    s.requestBytes.observe(r.requestBodyBytes, kSizeBuckets);
    s.responseBytes.observe(r.responseBodyBytes, kSizeBuckets);
  }
  bool failed = !r.flags.empty() || r.denied || r.status == 0 || r.status >= 500;
  bool log = worker_.logging() && (failed || worker_.sampled());
  bool stream = worker_.streaming();
  if (!log && !stream) return;
  JsonLine j(worker_.beginLine());
  j.field("time", worker_.timestamp())
      .field("kind", "http")
      .field("reporter", "destination")
      .field("protocol", r.protocol)
      .field("method", r.method)
      .field("authority", r.authority)
      .field("path", r.path)
      .field("status", r.status);
  if (r.grpc) j.field("grpc_status", r.grpcStatus);
  j.field("duration_ms", millis(r.end - r.start))
      .field("request_bytes", r.requestBodyBytes)
      .field("response_bytes", r.responseBodyBytes)
      .field("response_flags", r.flags.empty() ? std::string_view("-") : std::string_view(r.flags))
      .field("verdict", r.denied ? "deny" : "allow")
      .field("policy", r.policy)
      .field("user_agent", r.userAgent)
      .field("request_id", r.requestId)
      .field("traceparent", r.traceparent);
  writeEnds(j);
  j.finish();
  worker_.endLine(log, stream);
}

void FlowTelemetry::writeEnds(JsonLine& j) {
  if (destinationAddressText_.empty()) {
    if (ends_.sourceAddress) sourceAddressText_ = ends_.sourceAddress->toString();
    destinationAddressText_ = ends_.destinationAddress.toString();
  }
  endFields(j, "source", ends_.source, sourceAddressText_, false);
  endFields(j, "destination", ends_.destination, destinationAddressText_, true);
  j.field("security", ends_.mutualTls ? "mutual_tls" : "none");
}

void FlowTelemetry::logConnection() {
  bool log = worker_.logging() && (!flags_.empty() || worker_.sampled());
  bool stream = worker_.streaming();
  if (!log && !stream) return;
  JsonLine j(worker_.beginLine());
  j.field("time", worker_.timestamp())
      .field("kind", "tcp")
      .field("reporter", reporterName(ends_))
      .field("duration_ms", millis(std::chrono::steady_clock::now() - start_))
      .field("bytes_received", fromClient_)
      .field("bytes_sent", fromServer_)
      .field("requests", requests_)
      .field("response_flags", flags_.empty() ? std::string_view("-") : std::string_view(flags_));
  writeEnds(j);
  j.finish();
  worker_.endLine(log, stream);
}

}  // namespace weft::telemetry

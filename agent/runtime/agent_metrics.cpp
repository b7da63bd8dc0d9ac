#include "agent_metrics.h"

namespace weft::runtime {

namespace {

// A number at a /-separated path of the stats, 0 when absent.
double at(const nlohmann::json& j, const char* path) {
  nlohmann::json::json_pointer pointer(path);
  if (!j.contains(pointer)) return 0;
  const auto& v = j.at(pointer);
  return v.is_number() ? v.get<double>() : 0;
}

class Samples {
 public:
  void add(std::string name, std::string type, std::string help, double value, std::string labels = {}) {
    out_.push_back({std::move(name), std::move(type), std::move(help), std::move(labels), value});
  }
  static std::string label(std::string_view name, std::string_view value) {
    std::string out;
    telemetry::appendLabel(out, name, value);
    return out;
  }
  std::vector<telemetry::SelfSample> take() { return std::move(out_); }

 private:
  std::vector<telemetry::SelfSample> out_;
};

}  // namespace

std::vector<telemetry::SelfSample> agentMetrics(const AgentMetricSources& src) {
  Samples s;
  const nlohmann::json empty = nlohmann::json::object();
  const nlohmann::json& stats = src.stats ? *src.stats : empty;

  if (stats.contains("capture")) {
    const char* help = "Connects seen by the cgroup connect hook, by what it did.";
    for (const char* event : {"connectSeen", "redirected", "notEnrolled", "excludedPort", "localDestination", "notTcp",
                              "noProxy"})
      s.add("capture_connects_total", "counter", help, at(stats, (std::string("/capture/") + event).c_str()),
            Samples::label("event", event));
  }
  if (stats.contains("proxy")) {
    s.add("proxy_connections_accepted_total", "counter", "Connections the node proxy accepted.",
          at(stats, "/proxy/connections/accepted"));
    s.add("proxy_connections_active", "gauge", "Connections the node proxy relays now.",
          at(stats, "/proxy/connections/active"));
    for (const char* reason : {"refused", "timeout", "unreachable", "other"})
      s.add("proxy_connect_failures_total", "counter", "Upstream connects that failed, by reason.",
            at(stats, (std::string("/proxy/connectFailures/") + reason).c_str()), Samples::label("reason", reason));
    s.add("proxy_buffer_waits_total", "counter", "Receives that waited for a free buffer of the worker's pool.",
          at(stats, "/proxy/io/bufferWaits"));
    s.add("io_uring_cq_overflows_total", "counter",
          "Completions the kernel could not post to a worker's full completion queue.",
          at(stats, "/proxy/io/ringOverflows"));
    s.add("tunnels_opened_total", "counter", "mTLS tunnels to other nodes, by direction.",
          at(stats, "/proxy/tunnelsOpened"), Samples::label("direction", "outbound"));
    s.add("tunnels_opened_total", "counter", "mTLS tunnels to other nodes, by direction.",
          at(stats, "/proxy/tunnelsAccepted"), Samples::label("direction", "inbound"));
    s.add("tunnel_handshake_failures_total", "counter", "Tunnel TLS handshakes that failed.",
          at(stats, "/proxy/tunnelHandshakeFailures"));
    s.add("tunnel_peers_rejected_total", "counter", "Tunnel peers with valid TLS but the wrong SPIFFE identity.",
          at(stats, "/proxy/tunnelPeerRejected"));
    for (auto [event, key] : {std::pair{"opened", "streamsOpened"}, std::pair{"accepted", "streamsAccepted"},
                              std::pair{"reset", "streamsReset"}, std::pair{"refused", "streamsRefused"},
                              std::pair{"denied", "streamsDenied"}})
      s.add("tunnel_streams_total", "counter", "CONNECT streams inside tunnels, by event.",
            at(stats, (std::string("/proxy/") + key).c_str()), Samples::label("event", event));
  }
  if (stats.contains("authorization")) {
    for (auto [verdict, key] : {std::pair{"allow", "allowed"}, std::pair{"deny", "denied"},
                                std::pair{"audit", "audited"}})
      s.add("authorization_decisions_total", "counter", "AuthorizationPolicy decisions, by verdict.",
            at(stats, (std::string("/authorization/") + key).c_str()), Samples::label("verdict", verdict));
    s.add("authorization_policies_rejected", "gauge", "AuthorizationPolicies of the current config not enforced.",
          static_cast<double>(stats["authorization"].value("rejected", nlohmann::json::array()).size()));
  }
  if (stats.contains("peerAuthentication")) {
    for (auto [outcome, key] : {std::pair{"dropped", "strictDropped"}, std::pair{"from_proxy", "strictAllowed"},
                                std::pair{"from_node", "strictNodeAllowed"}})
      s.add("strict_syns_total", "counter",
            "TCP SYNs to STRICT pods, by outcome: dropped (plaintext from outside the mesh), or let in from the node "
            "proxy or from the node itself (kubelet probes).",
            at(stats, (std::string("/peerAuthentication/") + key).c_str()), Samples::label("outcome", outcome));
    s.add("permissive_plaintext_intercepted_total", "counter",
          "Plaintext connections to PERMISSIVE pods taken into the inbound listener.",
          at(stats, "/peerAuthentication/intercepted"));
  }
  s.add("config_objects_rejected", "gauge", "Objects of the current config directory that were rejected.",
        static_cast<double>(src.configObjectsRejected));
  for (const auto& m : src.maps)
    s.add("bpf_map_entries", "gauge", "Entries in the agent's BPF maps.", static_cast<double>(m.entries),
          Samples::label("map", m.name));
  for (const auto& m : src.maps)
    s.add("bpf_map_capacity", "gauge", "Capacity (max_entries) of the agent's BPF maps.",
          static_cast<double>(m.capacity), Samples::label("map", m.name));
  for (const auto& [identity, notAfter] : src.certificateExpiries)
    s.add("certificate_expiry_timestamp_seconds", "gauge", "When each workload certificate expires (Unix time).",
          static_cast<double>(std::chrono::duration_cast<std::chrono::seconds>(notAfter.time_since_epoch()).count()),
          Samples::label("identity", identity));
  if (stats.contains("tracing")) {
    s.add("spans_exported_total", "counter", "Spans the trace collector accepted.", at(stats, "/tracing/exportedSpans"));
    const char* help = "Spans lost: the collector failed or refused them, or the export queue was full.";
    s.add("spans_lost_total", "counter", help, at(stats, "/tracing/failedSpans"), Samples::label("reason", "collector"));
    s.add("spans_lost_total", "counter", help, at(stats, "/tracing/droppedSpans"), Samples::label("reason", "queue_full"));
    s.add("span_batches_retried_total", "counter",
          "Span batches sent again after the collector could not take them (no connection, 429, 502, 503, 504).",
          at(stats, "/tracing/retriedBatches"));
  }
  s.add("access_log_entries_total", "counter", "Access-log entries written (after sampling).",
        static_cast<double>(src.accessLogEntries));
  s.add("access_log_write_errors_total", "counter", "Access-log buffers lost to a failed write.",
        static_cast<double>(src.accessLogWriteErrors));
  return s.take();
}

}  // namespace weft::runtime

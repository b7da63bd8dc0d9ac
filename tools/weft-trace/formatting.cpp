#include "weft-trace/formatting.h"

#include <ctime>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace weft::trace {
namespace {

using Json = nlohmann::ordered_json;

constexpr std::string_view kTableLayout = "{:<15} {:<16} {:<30} {:<30} {:<5} {:<7} {}\n";

std::tm utc(std::int64_t wallNs) {
  std::time_t seconds = static_cast<std::time_t>(wallNs / 1'000'000'000);
  std::tm parts{};
  ::gmtime_r(&seconds, &parts);
  return parts;
}

long micros(std::int64_t wallNs) { return static_cast<long>((wallNs % 1'000'000'000) / 1000); }

Json peerJson(const Peer& peer) {
  Json out = Json::object();
  if (!peer.address.empty()) out["address"] = peer.address;
  if (peer.port != 0) out["port"] = peer.port;
  if (!peer.pod.empty()) out["pod"] = peer.pod;
  if (!peer.ns.empty()) out["namespace"] = peer.ns;
  if (!peer.workload.empty()) out["workload"] = peer.workload;
  if (!peer.principal.empty()) out["principal"] = peer.principal;
  return out;
}

template <class T>
void put(Json& out, const char* key, const std::optional<T>& value) {
  if (value) out[key] = *value;
}

void put(Json& out, const char* key, const std::string& value) {
  if (!value.empty()) out[key] = value;
}

void kernelFields(const FlowEvent& e, Json& out) {
  if (e.netnsCookie) out["netns_cookie"] = e.netnsCookie;
  if (e.socketCookie) out["socket_cookie"] = e.socketCookie;
  if (e.proxySocket) out["proxy_socket"] = true;
  put(out, "reason_code", e.reasonCode);
  put(out, "reason", e.reason);
  switch (e.type) {
    case EventType::kConnectCaptured:
      out["pid"] = e.pid;
      put(out, "comm", e.comm);
      break;
    case EventType::kStrictDrop:
      out["mark"] = e.mark;
      out["ifindex"] = e.ifindex;
      break;
    case EventType::kTcpState:
      out["old_state"] = e.oldState;
      out["new_state"] = e.newState;
      break;
    case EventType::kTcpRetransmit:
      out["state"] = e.newState;
      break;
    default:
      break;
  }
}

void agentFields(const FlowEvent& e, Json& out) {
  put(out, "reporter", e.reporter);
  put(out, "http_protocol", e.httpProtocol);
  put(out, "method", e.method);
  put(out, "authority", e.authority);
  put(out, "path", e.path);
  put(out, "status", e.status);
  put(out, "grpc_status", e.grpcStatus);
  put(out, "duration_ms", e.durationMs);
  put(out, "request_bytes", e.requestBytes);
  put(out, "response_bytes", e.responseBytes);
  put(out, "bytes_sent", e.bytesSent);
  put(out, "bytes_received", e.bytesReceived);
  put(out, "requests", e.requests);
  put(out, "response_flags", e.responseFlags);
  put(out, "policy", e.policy);
  put(out, "security", e.security);
}

std::string milliseconds(double ms) { return ms < 10 ? fmt::format("{:.1f}ms", ms) : fmt::format("{:.0f}ms", ms); }

std::string httpDetails(const FlowEvent& e) {
  std::string out = e.method.empty() ? std::string("?") : e.method;
  out += " " + (e.path.empty() ? std::string("?") : e.path) + " -> ";
  out += e.status ? std::to_string(*e.status) : std::string("no response");
  if (e.grpcStatus) out += fmt::format(" grpc-status {}", *e.grpcStatus);
  if (e.durationMs) out += " " + milliseconds(*e.durationMs);
  if (!e.policy.empty()) out += " policy " + e.policy;
  if (!e.responseFlags.empty() && e.responseFlags != "-") out += " flags " + e.responseFlags;
  return out;
}

std::string connectionDetails(const FlowEvent& e) {
  std::string out = fmt::format("sent {} B, received {} B", e.bytesSent.value_or(0), e.bytesReceived.value_or(0));
  if (e.durationMs) out += ", " + milliseconds(*e.durationMs);
  if (e.requests && *e.requests) out += fmt::format(", {} requests", *e.requests);
  if (!e.policy.empty()) out += ", policy " + e.policy;
  if (!e.responseFlags.empty() && e.responseFlags != "-") out += ", flags " + e.responseFlags;
  if (!e.reporter.empty()) out += " (" + e.reporter + ")";
  return out;
}

}  // namespace

std::string clockTime(std::int64_t wallNs) {
  std::tm t = utc(wallNs);
  return fmt::format("{:02}:{:02}:{:02}.{:06}", t.tm_hour, t.tm_min, t.tm_sec, micros(wallNs));
}

std::string isoTime(std::int64_t wallNs) {
  std::tm t = utc(wallNs);
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:06}Z", t.tm_year + 1900, t.tm_mon + 1, t.tm_mday, t.tm_hour,
                     t.tm_min, t.tm_sec, micros(wallNs));
}

std::string endName(const Peer& peer) {
  std::string name = !peer.pod.empty() ? peer.pod : peer.address;
  if (name.empty()) return "-";
  if (peer.port != 0) name += fmt::format(":{}", peer.port);
  return name;
}

std::string details(const FlowEvent& e) {
  const std::string proxy = e.proxySocket ? " (proxy socket)" : "";
  switch (e.type) {
    case EventType::kConnectCaptured:
      return fmt::format("captured to the proxy: {} (pid {})", e.comm.empty() ? "?" : e.comm, e.pid);
    case EventType::kFastpathPaired:
      return e.reason + proxy;
    case EventType::kStrictDrop:
      return fmt::format("STRICT drop: {}{}", e.reason, e.mark ? fmt::format(", mark {:#x}", e.mark) : "");
    case EventType::kTcpState:
      return e.oldState + " -> " + e.newState + proxy;
    case EventType::kTcpRetransmit:
      return "retransmit in " + e.newState + proxy;
    case EventType::kHttp:
      return httpDetails(e);
    case EventType::kConnection:
      return connectionDetails(e);
  }
  return {};
}

std::string tableHeader() {
  return fmt::format(fmt::runtime(kTableLayout), "TIME", "TYPE", "SOURCE", "DESTINATION", "PROTO", "VERDICT",
                     "DETAILS");
}

std::string formatEvent(const FlowEvent& e, OutputFormat format) {
  if (format == OutputFormat::kTable)
    return fmt::format(fmt::runtime(kTableLayout), clockTime(e.timeNs), typeName(e.type), endName(e.src),
                       endName(e.dst), protocolName(e.protocol), verdictName(e.verdict), details(e));
  Json out;
  out["time"] = isoTime(e.timeNs);
  out["type"] = typeName(e.type);
  out["source"] = originName(e.origin);
  out["verdict"] = verdictName(e.verdict);
  out["protocol"] = protocolName(e.protocol);
  out["src"] = peerJson(e.src);
  out["dst"] = peerJson(e.dst);
  if (e.origin == Origin::kKernel) kernelFields(e, out);
  else agentFields(e, out);
  return out.dump(-1, ' ', false, Json::error_handler_t::replace) + "\n";
}

std::string formatLost(Origin origin, std::uint64_t count, OutputFormat format) {
  if (format == OutputFormat::kTable) return fmt::format("LOST {} {} events\n", count, originName(origin));
  Json out;
  out["type"] = "lost";
  out["source"] = originName(origin);
  out["count"] = count;
  return out.dump() + "\n";
}

}  // namespace weft::trace

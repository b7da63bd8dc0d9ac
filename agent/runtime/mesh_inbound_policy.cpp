#include "mesh_inbound_policy.h"

#include <charconv>
#include <cstring>
#include <map>
#include <unordered_map>

#include "weft/common/log.h"
#include "weft/http/detecting_filter.h"
#include "weft/http/http1_filter.h"
#include "weft/http/http2_filter.h"
#include "weft/http/protocol_detection.h"
#include "weft/policy/authorization.h"
#include "weft/policy/path_normalization.h"
#include "service_selection.h"

namespace weft::runtime {

struct MeshInboundPolicy::Rules {
  std::shared_ptr<const policy::Authorization> authorization;
  std::vector<policy::PolicyRejection> rejected;
  // "namespace/name" -> the pod's declared port protocols.
  std::unordered_map<std::string, std::map<std::uint16_t, http::PortProtocol>> ports;
  policy::PathNormalization normalization;
};

namespace {

std::optional<std::uint16_t> numericPort(std::string_view text) {
  unsigned port = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), port);
  if (ec != std::errc() || end != text.data() + text.size() || port == 0 || port > 65535) return std::nullopt;
  return static_cast<std::uint16_t>(port);
}

// Each pod port's protocol from the Services that select the pod. A named
// targetPort needs the pod's container ports, which the agent does not
// keep: such a port stays undeclared (and is detected when enforced).
void collectPorts(const config::Snapshot& snapshot, MeshInboundPolicy::Rules& rules) {
  for (const auto& service : snapshot.services)
    for (const auto& pod : snapshot.pods) {
      if (!serviceSelects(service, pod)) continue;
      auto& ports = rules.ports[pod.meta.namespace_ + "/" + pod.meta.name];
      for (const auto& port : service.ports) {
        auto target = port.targetPort.empty() ? std::optional(port.port) : numericPort(port.targetPort);
        http::PortProtocol protocol = http::portProtocol(port.appProtocol, port.name);
        if (target && protocol != http::PortProtocol::kUndeclared) ports.try_emplace(*target, protocol);
      }
    }
}

in6_addr mapped(const SocketAddress& address) {
  if (address.family() == AF_INET6) return reinterpret_cast<const sockaddr_in6*>(address.get())->sin6_addr;
  return v4Mapped(reinterpret_cast<const sockaddr_in*>(address.get())->sin_addr);
}

// What a decision needs of one connection, owned by the filters that use it.
struct ConnectionFacts {
  std::string principal;
  std::optional<in6_addr> source;
  in6_addr destination{};
  std::uint16_t port = 0;
  std::string description;  // "client -> workload", for logs

  [[nodiscard]] policy::RequestAttributes attributes() const {
    policy::RequestAttributes a;
    a.principal = principal;
    a.sourceIp = source;
    a.destinationIp = destination;
    a.destinationPort = port;
    return a;
  }
};

void count(MeshInboundPolicy::Counters& counters, const policy::Decision& d) {
  (d.allowed ? counters.allowed : counters.denied).fetch_add(1, std::memory_order_relaxed);
  if (!d.audits.empty()) counters.audited.fetch_add(1, std::memory_order_relaxed);
}

std::string denialReason(const policy::Decision& d) {
  return d.policy.empty() ? "no ALLOW policy matches" : "denied by " + d.policy;
}

}  // namespace

MeshInboundPolicy::MeshInboundPolicy() { update(config::Snapshot{}, {}); }
MeshInboundPolicy::~MeshInboundPolicy() = default;

void MeshInboundPolicy::update(const config::Snapshot& snapshot, std::string_view rootNamespace,
                               policy::PathNormalization normalization) {
  auto rules = std::make_shared<Rules>();
  rules->normalization = normalization;
  rules->authorization = policy::Authorization::compile(snapshot, rootNamespace, &rules->rejected);
  for (const auto& r : rules->rejected)
    log::warn("authz", "AuthorizationPolicy {} not enforced: {}", r.policy, r.reason);
  collectPorts(snapshot, *rules);
  rules_.store(std::move(rules));
}

proxy::InboundPlan MeshInboundPolicy::plan(const proxy::InboundConnection& connection) const {
  std::shared_ptr<const Rules> rules = rules_.load();
  const std::string& pod = connection.workload->name;
  http::PortProtocol protocol = http::PortProtocol::kUndeclared;
  if (auto it = rules->ports.find(pod); it != rules->ports.end())
    if (auto port = it->second.find(connection.destination.port()); port != it->second.end()) protocol = port->second;
  const policy::CompiledPolicies* set = rules->authorization->forPod(pod);

  proxy::InboundPlan plan;
  if (!set) {
    // Nothing to enforce: a declared HTTP port is still spoken by the proxy
    // (HTTP/1.1's smuggling defences, nghttp2's checks of RFC 9113), so the
    // pod only sees well-formed messages; everything else keeps the L4 path.
    if (protocol == http::PortProtocol::kHttp1) plan.filter = http::makeHttp1Filter({}, {}, connection.observer);
    if (protocol == http::PortProtocol::kHttp2) plan.filter = http::makeHttp2Filter({}, {}, connection.observer);
    return plan;
  }

  auto facts = std::make_shared<ConnectionFacts>();
  if (connection.sourceIdentity) facts->principal = connection.sourceIdentity->uri();
  if (connection.source) facts->source = mapped(*connection.source);
  facts->destination = mapped(connection.destination);
  facts->port = connection.destination.port();
  facts->description = (connection.source ? connection.source->toString() : std::string("?")) + " (" +
                       (facts->principal.empty() ? "plaintext" : facts->principal) + ") -> " + pod;
  auto counters = counters_;

  // The L4 decision: for TCP ports and opaque bytes on undeclared ports
  // (Istio's TCP semantics: ALLOW rules with HTTP fields do not match, DENY
  // rules apply to the connection).
  auto admitL4 = [rules, set, facts, counters] {
    policy::Decision d = policy::decide(*set, facts->attributes());
    count(*counters, d);
    if (!d.allowed) log::info("authz", "connection {} refused: {}", facts->description, denialReason(d));
    return d.allowed;
  };
  auto authorizer = [rules, set, facts, counters](http::RequestHead& head) {
    auto normal = policy::normalizePath(head.path, rules->normalization);
    if (!normal) {
      counters->denied.fetch_add(1, std::memory_order_relaxed);
      log::info("authz", "{} {} from {} refused: {}", head.method, head.path, facts->description,
                normal.error().message);
      return http::Verdict::kDeny;
    }
    head.path = std::move(*normal);
    policy::RequestAttributes a = facts->attributes();
    a.http = true;
    a.host = head.authority;
    a.method = head.method;
    a.path = head.path;
    a.headers = &head.headers;
    policy::Decision d = policy::decide(*set, a);
    count(*counters, d);
    if (!d.allowed)
      log::info("authz", "{} {} from {} refused: {}", head.method, head.path, facts->description, denialReason(d));
    head.policy = std::move(d.policy);
    return d.allowed ? http::Verdict::kAllow : http::Verdict::kDeny;
  };

  http::RequestObserver* observer = connection.observer;
  switch (protocol) {
    case http::PortProtocol::kHttp1: plan.filter = http::makeHttp1Filter(authorizer, {}, observer); break;
    case http::PortProtocol::kHttp2: plan.filter = http::makeHttp2Filter(authorizer, {}, observer); break;
    case http::PortProtocol::kUndeclared:
      plan.filter = http::makeDetectingFilter({.http1 = [authorizer, observer] { return http::makeHttp1Filter(authorizer, {}, observer); },
                                               .http2 = [authorizer, observer] { return http::makeHttp2Filter(authorizer, {}, observer); },
                                               .admitOpaque = admitL4});
      break;
    case http::PortProtocol::kTcp:
      if (!admitL4()) {
        plan.admitted = false;
        plan.reason = "refused by AuthorizationPolicy at L4";
      }
      break;
  }
  return plan;
}

nlohmann::json MeshInboundPolicy::toJson() const {
  std::shared_ptr<const Rules> rules = rules_.load();
  nlohmann::json rejected = nlohmann::json::array();
  for (const auto& r : rules->rejected) rejected.push_back({{"policy", r.policy}, {"reason", r.reason}});
  return {{"policies", rules->authorization ? rules->authorization->policyCount() : 0},
          {"rejected", std::move(rejected)},
          {"allowed", counters_->allowed.load(std::memory_order_relaxed)},
          {"denied", counters_->denied.load(std::memory_order_relaxed)},
          {"audited", counters_->audited.load(std::memory_order_relaxed)}};
}

}  // namespace weft::runtime

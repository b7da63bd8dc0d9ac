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

// One request's decision, as the proxy's authorizer and `policy check` both
// take it: the path normalised first (a path that cannot be is refused, and
// `refusal` says why), then the rules. The head's path becomes the
// normalised one, which the filter forwards.
policy::Decision decideRequest(const MeshInboundPolicy::Rules& rules, const policy::CompiledPolicies& set,
                               policy::RequestAttributes a, http::RequestHead& head, std::string& refusal) {
  auto normal = policy::normalizePath(head.path, rules.normalization);
  if (!normal) {
    refusal = normal.error().message;
    return {.allowed = false};
  }
  head.path = std::move(*normal);
  a.http = true;
  a.host = head.authority;
  a.method = head.method;
  a.path = head.path;
  a.headers = &head.headers;
  return policy::decide(set, a);
}

http::PortProtocol portProtocolOf(const MeshInboundPolicy::Rules& rules, const std::string& pod, std::uint16_t port) {
  if (auto it = rules.ports.find(pod); it != rules.ports.end())
    if (auto found = it->second.find(port); found != it->second.end()) return found->second;
  return http::PortProtocol::kUndeclared;
}

std::string_view protocolName(http::PortProtocol protocol) {
  switch (protocol) {
    case http::PortProtocol::kHttp1: return "http";
    case http::PortProtocol::kHttp2: return "http2";
    case http::PortProtocol::kTcp: return "tcp";
    case http::PortProtocol::kUndeclared: break;
  }
  return "undeclared";
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
  http::PortProtocol protocol = portProtocolOf(*rules, pod, connection.destination.port());
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
    std::string refusal;
    policy::Decision d = decideRequest(*rules, *set, facts->attributes(), head, refusal);
    count(*counters, d);
    if (!d.allowed)
      log::info("authz", "{} {} from {} refused: {}", head.method, head.path, facts->description,
                refusal.empty() ? denialReason(d) : refusal);
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

PolicyAnswer MeshInboundPolicy::check(const PolicyQuestion& question) const {
  std::shared_ptr<const Rules> rules = rules_.load();
  PolicyAnswer answer;
  http::PortProtocol protocol = portProtocolOf(*rules, question.pod, question.port);
  answer.portProtocol = protocolName(protocol);
  // What plan() does with such a connection: a tcp port is decided at L4
  // whatever is sent; other ports parse HTTP when the client speaks it.
  answer.layer = question.http && protocol != http::PortProtocol::kTcp ? "http" : "tcp";
  const policy::CompiledPolicies* set = rules->authorization->forPod(question.pod);
  if (!set) {
    answer.reason = "no AuthorizationPolicy selects " + question.pod;
    return answer;
  }
  answer.selecting = policy::policyNames(*set);
  policy::RequestAttributes a;
  a.principal = question.principal;
  a.sourceIp = question.sourceIp;
  a.destinationIp = question.destinationIp;
  a.destinationPort = question.port;
  policy::Decision d;
  if (answer.layer == "http") {
    http::RequestHead head{.method = question.method, .authority = question.host, .path = question.path,
                           .headers = question.headers};
    std::string refusal;
    d = decideRequest(*rules, *set, a, head, refusal);
    answer.path = head.path;
    if (!refusal.empty()) {
      answer.allowed = false;
      answer.reason = "the path cannot be normalised: " + refusal;
      return answer;
    }
  } else {
    d = policy::decide(*set, a);
  }
  answer.allowed = d.allowed;
  answer.policy = d.policy;
  answer.audits = d.audits;
  if (!d.allowed && !d.policy.empty()) answer.reason = "DENY policy " + d.policy + " matches";
  else if (!d.allowed) answer.reason = "ALLOW policies select " + question.pod + " and none of their rules matches";
  else if (!d.policy.empty()) answer.reason = "ALLOW policy " + d.policy + " matches";
  else answer.reason = "no DENY policy matches and no ALLOW policy selects " + question.pod;
  return answer;
}

std::vector<std::string> MeshInboundPolicy::policiesFor(const std::string& pod) const {
  std::shared_ptr<const Rules> rules = rules_.load();
  const policy::CompiledPolicies* set = rules->authorization->forPod(pod);
  return set ? policy::policyNames(*set) : std::vector<std::string>{};
}

std::string MeshInboundPolicy::portProtocol(const std::string& pod, std::uint16_t port) const {
  return std::string(protocolName(portProtocolOf(*rules_.load(), pod, port)));
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

#include "admin_views.h"

#include <arpa/inet.h>

#include <charconv>
#include <map>
#include <set>

#include "weft/identity/spiffe_id.h"
#include "weft/redirect/enrollment.h"
#include "workload_peer.h"

namespace weft::runtime {
namespace {

std::string podKey(const config::Pod& pod) { return pod.meta.namespace_ + "/" + pod.meta.name; }

std::optional<in6_addr> parseIp(std::string_view text) {
  std::string ip(text);
  in_addr v4{};
  if (inet_pton(AF_INET, ip.c_str(), &v4) == 1) return v4Mapped(v4);
  in6_addr v6{};
  if (inet_pton(AF_INET6, ip.c_str(), &v6) == 1) return v6;
  return std::nullopt;
}

std::optional<in6_addr> firstAddress(const config::Pod& pod) {
  auto addresses = redirect::podAddresses(pod);
  if (addresses.empty()) return std::nullopt;
  return addresses.front();
}

int hexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// application/x-www-form-urlencoded, as curl --data-urlencode and weftctl write it.
std::string formDecode(std::string_view text) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '+') {
      out += ' ';
    } else if (text[i] == '%' && i + 2 < text.size() && hexValue(text[i + 1]) >= 0 && hexValue(text[i + 2]) >= 0) {
      out += static_cast<char>(hexValue(text[i + 1]) * 16 + hexValue(text[i + 2]));
      i += 2;
    } else {
      out += text[i];
    }
  }
  return out;
}

std::multimap<std::string, std::string> parseQuery(std::string_view query) {
  std::multimap<std::string, std::string> out;
  while (!query.empty()) {
    auto amp = query.find('&');
    std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    if (pair.empty()) continue;
    auto eq = pair.find('=');
    out.emplace(formDecode(pair.substr(0, eq)), eq == std::string_view::npos ? "" : formDecode(pair.substr(eq + 1)));
  }
  return out;
}

// "namespace/name", or a name that only one pod has.
Result<const config::Pod*> findPod(const config::Snapshot& snapshot, std::string_view wanted) {
  const config::Pod* found = nullptr;
  bool qualified = wanted.find('/') != std::string_view::npos;
  for (const auto& pod : snapshot.pods) {
    if (qualified ? podKey(pod) != wanted : pod.meta.name != wanted) continue;
    if (found) return fail(ErrorCode::kInvalidArgument, "pod name '" + std::string(wanted) +
                                                            "' is in more than one namespace: write namespace/name");
    found = &pod;
  }
  if (!found) return fail(ErrorCode::kNotFound, "no pod '" + std::string(wanted) + "' in the configuration");
  return found;
}

bool inMesh(const config::Snapshot& snapshot, const config::Pod& pod) {
  for (const config::Pod* p : redirect::meshPods(snapshot))
    if (p == &pod) return true;
  return false;
}

}  // namespace

nlohmann::json workloadsJson(const config::Snapshot& snapshot, std::string_view node, std::string_view trustDomain,
                             const nlohmann::json& enrolledWorkloads, const MeshInboundPolicy* policies) {
  std::map<std::string, nlohmann::json> enrolled;  // "namespace/name" -> the enrollment's entry
  for (const auto& w : enrolledWorkloads)
    enrolled[w.value("namespace", "") + "/" + w.value("name", "")] = w;
  std::set<const config::Pod*> mesh;
  for (const config::Pod* p : redirect::meshPods(snapshot)) mesh.insert(p);

  nlohmann::json list = nlohmann::json::array();
  for (const auto& pod : snapshot.pods) {
    std::string key = podKey(pod);
    nlohmann::json entry{{"pod", key},
                         {"name", pod.meta.name},
                         {"namespace", pod.meta.namespace_},
                         {"node", pod.nodeName},
                         {"onThisNode", pod.nodeName == node},
                         {"ips", pod.podIPs},
                         {"serviceAccount", pod.serviceAccount},
                         {"inMesh", mesh.contains(&pod)},
                         {"workload", workloadName(pod)}};
    if (auto id = identity::workloadSpiffeId(trustDomain, pod.meta.namespace_, pod.serviceAccount)) {
      if (mesh.contains(&pod)) entry["identity"] = id->uri();
      telemetry::Peer peer = workloadPeer(pod, snapshot, *id);
      entry["app"] = peer.app;
      entry["version"] = peer.version;
      entry["canonicalService"] = peer.canonicalService;
      entry["service"] = peer.service;
    }
    if (auto it = enrolled.find(key); it != enrolled.end()) {
      entry["enrolled"] = true;
      entry["netnsCookie"] = it->second.value("netnsCookie", std::uint64_t{0});
      entry["netns"] = it->second.value("netns", "");
    } else {
      entry["enrolled"] = false;
    }
    if (policies && pod.nodeName == node) entry["policies"] = policies->policiesFor(key);
    list.push_back(std::move(entry));
  }
  return list;
}

nlohmann::json policiesJson(const config::Snapshot& snapshot, std::string_view node,
                            const MeshInboundPolicy& policies) {
  nlohmann::json dump = config::toJson(snapshot);
  nlohmann::json enforced = policies.toJson();
  std::map<std::string, std::string> notEnforced;
  for (const auto& r : enforced["rejected"]) notEnforced[r.value("policy", "")] = r.value("reason", "");
  // Which pods of this node each policy selects, from the compiled rules.
  std::map<std::string, std::vector<std::string>> selects;
  for (const auto& pod : snapshot.pods) {
    if (pod.nodeName != node) continue;
    for (const auto& name : policies.policiesFor(podKey(pod))) selects[name].push_back(podKey(pod));
  }
  auto named = [](nlohmann::json& object) {
    const auto& meta = object["meta"];
    std::string name = meta.value("namespace", "") + "/" + meta.value("name", "");
    object["name"] = name;
    object["source"] = meta["source"];
    return name;
  };
  nlohmann::json authorization = nlohmann::json::array();
  for (auto& policy : dump["authorizationPolicies"]) {
    std::string name = named(policy);
    policy["ruleCount"] = policy["rules"].size();
    if (auto it = notEnforced.find(name); it != notEnforced.end()) {
      policy["enforced"] = false;
      policy["reason"] = it->second;
    } else {
      policy["enforced"] = true;
    }
    policy["selectsOnThisNode"] = selects[name];
    policy.erase("meta");
    authorization.push_back(std::move(policy));
  }
  nlohmann::json peer = nlohmann::json::array();
  for (auto& pa : dump["peerAuthentications"]) {
    named(pa);
    pa.erase("meta");
    peer.push_back(std::move(pa));
  }
  return {{"authorizationPolicies", std::move(authorization)},
          {"peerAuthentications", std::move(peer)},
          {"rejected", dump["rejected"]},
          {"decisions", {{"allowed", enforced["allowed"]}, {"denied", enforced["denied"]}, {"audited", enforced["audited"]}}}};
}

nlohmann::json bpfMapsJson(const bpf::CaptureHooks& hooks) {
  nlohmann::json maps = nlohmann::json::array();
  for (const auto& m : hooks.mapOccupancy())
    maps.push_back({{"name", m.name}, {"entries", m.entries}, {"capacity", m.capacity}});
  nlohmann::json out{{"pinDir", hooks.options().pinDir.string()}, {"maps", std::move(maps)}};
  if (auto cookies = hooks.enrolledCookies()) out["enrolledNetnsCookies"] = *cookies;
  else out["enrolledNetnsCookies"] = {{"error", cookies.error().describe()}};
  if (auto pods = hooks.localPods()) {
    nlohmann::json list = nlohmann::json::array();
    char text[INET6_ADDRSTRLEN] = {};
    for (const auto& a : *pods) {
      if (auto v4 = v4Unmapped(a)) inet_ntop(AF_INET, &*v4, text, sizeof text);
      else inet_ntop(AF_INET6, &a, text, sizeof text);
      list.push_back(text);
    }
    out["localPodAddresses"] = std::move(list);
  } else {
    out["localPodAddresses"] = {{"error", pods.error().describe()}};
  }
  return out;
}

Result<PolicyQuestion> policyQuestion(std::string_view query, const config::Snapshot& snapshot,
                                      std::string_view trustDomain) {
  auto params = parseQuery(query);
  auto one = [&](const char* key) -> std::optional<std::string> {
    auto it = params.find(key);
    return it == params.end() ? std::nullopt : std::optional(it->second);
  };
  auto to = one("to");
  auto from = one("from");
  if (!to || !from) return fail(ErrorCode::kInvalidArgument, "policy check needs from= and to=");
  PolicyQuestion q;
  auto destination = findPod(snapshot, *to);
  if (!destination) return fail(destination.error().code, "to: " + destination.error().message);
  q.pod = podKey(**destination);
  q.destinationIp = firstAddress(**destination);

  if (from->starts_with("spiffe://")) {
    auto id = identity::parseSpiffeId(*from);
    if (!id) return fail(ErrorCode::kInvalidArgument, "from: " + id.error().message);
    q.principal = id->uri();
  } else if (auto ip = parseIp(*from)) {
    q.sourceIp = ip;  // plaintext from outside the mesh
  } else {
    auto source = findPod(snapshot, *from);
    if (!source) return fail(source.error().code, "from: " + source.error().message);
    q.sourceIp = firstAddress(**source);
    // A mesh pod's connections carry its identity; any other pod's are plaintext.
    if (inMesh(snapshot, **source))
      if (auto id = identity::workloadSpiffeId(trustDomain, (*source)->meta.namespace_, (*source)->serviceAccount))
        q.principal = id->uri();
  }

  auto port = one("port");
  if (!port) return fail(ErrorCode::kInvalidArgument, "policy check needs port=");
  unsigned value = 0;
  auto [end, ec] = std::from_chars(port->data(), port->data() + port->size(), value);
  if (ec != std::errc() || end != port->data() + port->size() || value == 0 || value > 65535)
    return fail(ErrorCode::kInvalidArgument, "port '" + *port + "' is not a port number");
  q.port = static_cast<std::uint16_t>(value);
  q.http = one("tcp").value_or("") != "1" && one("tcp").value_or("") != "true";
  if (auto method = one("method")) q.method = *method;
  if (auto path = one("path")) {
    auto question = path->find('?');  // the rules see the path without its query
    q.path = path->substr(0, question);
  }
  q.host = one("host").value_or(std::string(q.pod.substr(q.pod.find('/') + 1)) + ":" + *port);
  for (auto [it, last] = params.equal_range("header"); it != last; ++it) {
    auto colon = it->second.find(':');
    if (colon == std::string::npos)
      return fail(ErrorCode::kInvalidArgument, "header '" + it->second + "' is not name:value");
    std::string name = it->second.substr(0, colon);
    for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    std::string_view value = std::string_view(it->second).substr(colon + 1);
    while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
    q.headers.emplace_back(std::move(name), std::string(value));
  }
  return q;
}

nlohmann::json policyAnswerJson(const PolicyQuestion& question, const PolicyAnswer& answer) {
  nlohmann::json out{{"verdict", answer.allowed ? "allow" : "deny"},
                     {"policy", answer.policy},
                     {"reason", answer.reason},
                     {"layer", answer.layer},
                     {"portProtocol", answer.portProtocol},
                     {"selectingPolicies", answer.selecting},
                     {"audits", answer.audits},
                     {"destination", question.pod},
                     {"port", question.port},
                     {"principal", question.principal}};
  if (answer.layer == "http") {
    out["method"] = question.method;
    out["path"] = answer.path.empty() ? question.path : answer.path;
    out["host"] = question.host;
  }
  return out;
}

}  // namespace weft::runtime

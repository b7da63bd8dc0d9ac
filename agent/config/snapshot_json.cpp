// The snapshot as JSON for /config_dump and weftctl. Every field is written,
// also when empty, so that consumers can rely on the shape; objects keep the
// order in which they were loaded, maps come out sorted.
#include <string>

#include <fmt/format.h>

#include "validation.h"
#include "weft/config/snapshot.h"

namespace weft::config {
namespace {

using nlohmann::json;

// Manifests may carry any bytes; json::dump throws on invalid UTF-8, and a
// config dump must never fail.
json text(std::string_view value) { return json(detail::utf8Safe(value)); }

json textList(const std::vector<std::string>& values) {
  json array = json::array();
  for (const auto& v : values) array.push_back(text(v));
  return array;
}

json labels(const Labels& map) {
  json object = json::object();
  for (const auto& [key, value] : map) object[detail::utf8Safe(key)] = text(value);
  return object;
}

json source(const SourceLocation& location) {
  if (location.line <= 0) return text(location.file);
  return text(fmt::format("{}:{}", location.file, location.line));
}

json meta(const ObjectMeta& m) {
  return json{{"name", text(m.name)},
              {"namespace", text(m.namespace_)},
              {"labels", labels(m.labels)},
              {"annotations", labels(m.annotations)},
              {"source", source(m.source)}};
}

json selector(const std::optional<WorkloadSelector>& s) {
  if (!s) return nullptr;
  return json{{"matchLabels", labels(s->matchLabels)}};
}

std::string_view actionName(AuthzAction action) {
  switch (action) {
    case AuthzAction::kAllow: return "ALLOW";
    case AuthzAction::kDeny: return "DENY";
    case AuthzAction::kAudit: return "AUDIT";
  }
  return "ALLOW";
}

// Istio's spelling: {"paths": [...], "notPaths": [...]}.
void addMatchList(json& into, std::string_view positive, std::string_view negative, const MatchList& list) {
  into[std::string(positive)] = textList(list.values);
  into[std::string(negative)] = textList(list.notValues);
}

json rule(const AuthzRule& r) {
  json from = json::array();
  for (const auto& s : r.from) {
    json src = json::object();
    addMatchList(src, "principals", "notPrincipals", s.principals);
    addMatchList(src, "namespaces", "notNamespaces", s.namespaces);
    addMatchList(src, "ipBlocks", "notIpBlocks", s.ipBlocks);
    from.push_back(json{{"source", std::move(src)}});
  }
  json to = json::array();
  for (const auto& o : r.to) {
    json op = json::object();
    addMatchList(op, "hosts", "notHosts", o.hosts);
    addMatchList(op, "ports", "notPorts", o.ports);
    addMatchList(op, "methods", "notMethods", o.methods);
    addMatchList(op, "paths", "notPaths", o.paths);
    to.push_back(json{{"operation", std::move(op)}});
  }
  json when = json::array();
  for (const auto& c : r.when)
    when.push_back(json{{"key", text(c.key)}, {"values", textList(c.values)}, {"notValues", textList(c.notValues)}});
  return json{{"from", std::move(from)}, {"to", std::move(to)}, {"when", std::move(when)}};
}

}  // namespace

json toJson(const Snapshot& snapshot) {
  json out = json::object();
  out["generation"] = snapshot.generation;
  out["sourceDir"] = text(snapshot.sourceDir);

  json namespaces = json::array();
  for (const auto& n : snapshot.namespaces) namespaces.push_back(json{{"meta", meta(n.meta)}});
  out["namespaces"] = std::move(namespaces);

  json pods = json::array();
  for (const auto& p : snapshot.pods)
    pods.push_back(json{{"meta", meta(p.meta)},
                        {"nodeName", text(p.nodeName)},
                        {"serviceAccount", text(p.serviceAccount)},
                        {"podIPs", textList(p.podIPs)},
                        {"hostIP", text(p.hostIP)},
                        {"netnsPath", text(p.netnsPath)}});
  out["pods"] = std::move(pods);

  json services = json::array();
  for (const auto& s : snapshot.services) {
    json ports = json::array();
    for (const auto& p : s.ports)
      ports.push_back(json{{"name", text(p.name)},
                           {"port", p.port},
                           {"targetPort", text(p.targetPort)},
                           {"protocol", text(p.protocol)},
                           {"appProtocol", text(p.appProtocol)}});
    services.push_back(json{{"meta", meta(s.meta)},
                            {"clusterIPs", textList(s.clusterIPs)},
                            {"selector", labels(s.selector)},
                            {"ports", std::move(ports)}});
  }
  out["services"] = std::move(services);

  json peerAuthentications = json::array();
  for (const auto& pa : snapshot.peerAuthentications) {
    json portLevel = json::object();
    for (const auto& [port, mode] : pa.portLevelMtls) portLevel[std::to_string(port)] = mtlsModeName(mode);
    peerAuthentications.push_back(json{{"meta", meta(pa.meta)},
                                       {"selector", selector(pa.selector)},
                                       {"mode", mtlsModeName(pa.mode)},
                                       {"portLevelMtls", std::move(portLevel)}});
  }
  out["peerAuthentications"] = std::move(peerAuthentications);

  json authorizationPolicies = json::array();
  for (const auto& ap : snapshot.authorizationPolicies) {
    json rules = json::array();
    for (const auto& r : ap.rules) rules.push_back(rule(r));
    authorizationPolicies.push_back(json{{"meta", meta(ap.meta)},
                                         {"selector", selector(ap.selector)},
                                         {"action", actionName(ap.action)},
                                         {"rules", std::move(rules)}});
  }
  out["authorizationPolicies"] = std::move(authorizationPolicies);

  json others = json::array();
  for (const auto& g : snapshot.otherResources)
    others.push_back(json{{"apiVersion", text(g.apiVersion)},
                          {"kind", text(g.kind)},
                          {"meta", meta(g.meta)},
                          {"spec", g.spec}});
  out["otherResources"] = std::move(others);

  json rejected = json::array();
  for (const auto& r : snapshot.rejected)
    rejected.push_back(json{{"source", source(r.source)},
                            {"kind", text(r.kind)},
                            {"name", text(r.name)},
                            {"reason", text(r.reason)}});
  out["rejected"] = std::move(rejected);
  return out;
}

std::string_view mtlsModeName(MtlsMode mode) {
  switch (mode) {
    case MtlsMode::kUnset: return "UNSET";
    case MtlsMode::kStrict: return "STRICT";
    case MtlsMode::kPermissive: return "PERMISSIVE";
    case MtlsMode::kDisable: return "DISABLE";
  }
  return "UNSET";
}

}  // namespace weft::config

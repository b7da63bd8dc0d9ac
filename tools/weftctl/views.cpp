#include "views.h"

#include <fmt/format.h>

#include "table.h"

namespace weft::ctl {
namespace {

using nlohmann::json;

// A field as text: strings as they are, absent or null as "-", others as JSON.
std::string text(const json& object, const char* key) {
  if (!object.is_object() || !object.contains(key) || object[key].is_null()) return "-";
  const json& v = object[key];
  if (v.is_string()) return v.get<std::string>().empty() ? "-" : v.get<std::string>();
  if (v.is_boolean()) return v.get<bool>() ? "yes" : "no";
  return v.dump();
}

std::string joined(const json& list, const char* separator = ",") {
  if (!list.is_array() || list.empty()) return "-";
  std::string out;
  for (const auto& item : list) {
    if (!out.empty()) out += separator;
    out += item.is_string() ? item.get<std::string>() : item.dump();
  }
  return out;
}

std::string selectorText(const json& selector) {
  if (!selector.is_object() || !selector.contains("matchLabels") || selector["matchLabels"].empty())
    return "(namespace)";
  std::string out;
  for (const auto& [key, value] : selector["matchLabels"].items()) {
    if (!out.empty()) out += ",";
    out += key + "=" + value.get<std::string>();
  }
  return out;
}

std::uint64_t number(const json& object, std::initializer_list<const char*> path) {
  const json* at = &object;
  for (const char* key : path) {
    if (!at->is_object() || !at->contains(key)) return 0;
    at = &(*at)[key];
  }
  return at->is_number() ? at->get<std::uint64_t>() : 0;
}

}  // namespace

std::string statusView(const json& stats, bool ready) {
  std::string out;
  auto line = [&](std::string_view key, const std::string& value) { out += fmt::format("{:<22}{}\n", key, value); };
  line("node:", text(stats, "node"));
  line("ready:", ready ? "yes" : "no");
  line("config generation:", text(stats, "configGeneration"));
  line("pods enrolled:", std::to_string(number(stats, {"enrollment", "enrolled"})));
  if (stats.contains("proxy")) {
    const json& p = stats["proxy"];
    line("proxy workers:", text(p, "workers"));
    for (const auto& [key, value] : p.items())
      if (key.starts_with("connections") || key.starts_with("tunnels") || key.starts_with("streams"))
        line(key + ":", value.dump());
  }
  if (stats.contains("authorization")) {
    const json& a = stats["authorization"];
    line("policies enforced:", text(a, "policies"));
    line("policies rejected:", std::to_string(a.value("rejected", json::array()).size()));
    line("requests allowed:", text(a, "allowed"));
    line("requests denied:", text(a, "denied"));
  }
  if (stats.contains("peerAuthentication")) {
    line("STRICT drops:", text(stats["peerAuthentication"], "strictDropped"));
  }
  line("connects captured:", std::to_string(number(stats, {"capture", "redirected"})));
  auto failures = stats.value("enrollment", json::object()).value("failures", json::array());
  for (const auto& f : failures) out += "enrollment failure:   " + f.get<std::string>() + "\n";
  return out;
}

std::string workloadsView(const json& workloads, bool onlyThisNode) {
  Table t({"POD", "NODE", "IP", "MESH", "ENROLLED", "WORKLOAD", "IDENTITY", "POLICIES"});
  for (const auto& w : workloads) {
    if (onlyThisNode && !w.value("onThisNode", false)) continue;
    t.add({text(w, "pod"), text(w, "node"), joined(w.value("ips", json::array())), text(w, "inMesh"),
           text(w, "enrolled"), text(w, "workload"), text(w, "identity"), joined(w.value("policies", json::array()))});
  }
  return t.render();
}

std::string policiesView(const json& policies) {
  std::string out;
  Table authz({"AUTHORIZATION POLICY", "ACTION", "SELECTOR", "RULES", "ENFORCED", "SELECTS ON THIS NODE"});
  for (const auto& p : policies.value("authorizationPolicies", json::array())) {
    std::string enforced = p.value("enforced", true) ? "yes" : "no: " + text(p, "reason");
    authz.add({text(p, "name"), text(p, "action"), selectorText(p.value("selector", json())), text(p, "ruleCount"),
               enforced, joined(p.value("selectsOnThisNode", json::array()))});
  }
  out += authz.render();
  Table peer({"PEER AUTHENTICATION", "MODE", "SELECTOR", "PORTS"});
  for (const auto& p : policies.value("peerAuthentications", json::array())) {
    std::string ports;
    for (const auto& [port, mode] : p.value("portLevelMtls", json::object()).items())
      ports += (ports.empty() ? "" : ",") + port + "=" + mode.get<std::string>();
    peer.add({text(p, "name"), text(p, "mode"), selectorText(p.value("selector", json())), ports.empty() ? "-" : ports});
  }
  out += "\n" + peer.render();
  auto rejected = policies.value("rejected", json::array());
  if (!rejected.empty()) {
    Table r({"REJECTED", "KIND", "WHERE", "REASON"});
    for (const auto& x : rejected) r.add({text(x, "name"), text(x, "kind"), text(x, "source"), text(x, "reason")});
    out += "\n" + r.render();
  }
  return out;
}

std::string certsView(const json& certs) {
  Table t({"IDENTITY", "SERIAL", "NOT BEFORE", "NOT AFTER", "RENEW AT", "LAST ERROR"});
  for (const auto& c : certs.value("certificates", json::array()))
    t.add({text(c, "identity"), text(c, "serial"), text(c, "notBefore"), text(c, "notAfter"), text(c, "renewAt"),
           text(c, "lastError")});
  return "trust domain: " + text(certs, "trustDomain") + "\n" + t.render();
}

std::string connectionsView(const json& connections) {
  Table t({"KIND", "CLIENT", "DESTINATION", "SOURCE", "DESTINATION WORKLOAD", "SECURITY", "BYTES IN/OUT", "REQUESTS",
           "IDLE"});
  for (const auto& c : connections.value("connections", json::array())) {
    std::string kind = text(c, "kind");
    if (c.contains("direction")) kind += "/" + text(c, "direction");
    std::string source = c.contains("source") ? text(c["source"], "pod") : "-";
    std::string destination = c.contains("destinationWorkload") ? text(c["destinationWorkload"], "pod") : "-";
    t.add({kind, c.contains("client") ? text(c, "client") : text(c, "peer"), text(c, "destination"), source,
           destination, text(c, "security"),
           fmt::format("{}/{}", number(c, {"bytesFromClient"}), number(c, {"bytesFromServer"})), text(c, "requests"),
           fmt::format("{}ms", number(c, {"idleMs"}))});
  }
  std::string out = t.render();
  if (number(connections, {"workersNotAnswering"}) > 0)
    out += fmt::format("{} worker(s) did not answer in time\n", number(connections, {"workersNotAnswering"}));
  return out;
}

std::string tunnelsView(const json& tunnels) {
  Table t({"DIRECTION", "PEER", "LOCAL IDENTITY", "PEER IDENTITY", "STREAMS", "TOTAL", "WORKER"});
  for (const auto& x : tunnels.value("tunnels", json::array()))
    t.add({text(x, "direction"), text(x, "peer"), text(x, "localIdentity"), text(x, "peerIdentity"), text(x, "streams"),
           text(x, "streamsTotal"), text(x, "worker")});
  return t.render();
}

std::string policyCheckView(const json& a) {
  std::string verdict = a.value("verdict", "") == "allow" ? "ALLOW" : "DENY";
  std::string out = verdict;
  if (!a.value("policy", "").empty()) out += " by " + a["policy"].get<std::string>();
  out += "\n";
  auto line = [&](std::string_view key, const std::string& value) { out += fmt::format("  {:<20}{}\n", key, value); };
  line("why:", text(a, "reason"));
  std::string request = a.value("layer", "") == "http"
                            ? fmt::format("{} {} (host {})", text(a, "method"), text(a, "path"), text(a, "host"))
                            : "a TCP connection (L4 fields only)";
  line("request:", request);
  line("to:", fmt::format("{} port {} ({})", text(a, "destination"), text(a, "port"), text(a, "portProtocol")));
  line("from principal:", a.value("principal", "").empty() ? "none (plaintext)" : text(a, "principal"));
  line("policies selecting:", joined(a.value("selectingPolicies", json::array()), ", "));
  if (!a.value("audits", json::array()).empty()) line("audited by:", joined(a["audits"], ", "));
  return out;
}

}  // namespace weft::ctl

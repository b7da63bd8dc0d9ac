// weftctl: the operator's view of one node's agent, through its admin API
// (127.0.0.1:15000 on the node). Every command prints a table, or with
// -o json the agent's own JSON. `policy check` puts a request to the
// proxy's own rules and exits 0 when they allow it, 1 when they deny it.
#include <cstdio>
#include <cstdlib>
#include <iostream>

#include <CLI/CLI.hpp>

#include "admin_client.h"
#include "views.h"

namespace {

using weft::ctl::AdminClient;
using nlohmann::json;

constexpr int kFailed = 2;  // the agent could not be asked (1 is policy check's "deny")

int failWith(const weft::Error& error) {
  std::fprintf(stderr, "weftctl: %s\n", error.message.c_str());
  return kFailed;
}

// Fetches `target`, then prints it as JSON or through `view`.
template <class View>
int show(const AdminClient& client, const std::string& target, bool asJson, View view) {
  auto body = client.getJson(target);
  if (!body) return failWith(body.error());
  std::cout << (asJson ? body->dump(2) + "\n" : view(*body));
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"weftctl: inspect and question the weft agent of this node"};
  app.require_subcommand(1);
  const char* fromEnvironment = std::getenv("WEFT_ADMIN");
  std::string admin = fromEnvironment ? fromEnvironment : "127.0.0.1:15000";
  std::string output = "table";
  app.add_option("--admin", admin, "The agent's admin API (env WEFT_ADMIN)")->capture_default_str();
  app.add_option("-o,--output", output, "table or json")
      ->check(CLI::IsMember({"table", "json"}))
      ->capture_default_str();

  auto* status = app.add_subcommand("status", "Is the agent ready; what it enrolls, proxies and enforces");
  bool allNodes = false;
  auto* workloads = app.add_subcommand("workloads", "Pods the agent knows: mesh membership, identity, policies");
  workloads->add_flag("--all-nodes", allNodes, "Also pods of other nodes");
  auto* policies = app.add_subcommand("policies", "AuthorizationPolicies and PeerAuthentications, as enforced");
  auto* certs = app.add_subcommand("certs", "Workload certificates (SVIDs) of this node");
  auto* configDump = app.add_subcommand("config-dump", "The agent's whole configuration snapshot (JSON)");
  auto* connections = app.add_subcommand("connections", "The proxy's live connections");
  auto* tunnels = app.add_subcommand("tunnels", "mTLS tunnels to and from other nodes");
  std::string level;
  auto* logLevel = app.add_subcommand("log-level", "Change the agent's log level");
  logLevel->add_option("level", level, "trace, debug, info, warn, error or off")->required();

  auto* policy = app.add_subcommand("policy", "Questions about policy");
  policy->require_subcommand(1);
  auto* check = policy->add_subcommand("check", "Would the proxy allow this request? Exit 0 allow, 1 deny");
  std::string from, to, method = "GET", path = "/", host;
  unsigned port = 0;
  std::vector<std::string> headers;
  bool tcp = false;
  check->add_option("--from", from, "Source: a pod (namespace/name), an IP (plaintext) or a SPIFFE ID")->required();
  check->add_option("--to", to, "Destination pod (namespace/name)")->required();
  check->add_option("--port", port, "Destination port")->required()->check(CLI::Range(1, 65535));
  check->add_option("--method", method, "HTTP method")->capture_default_str();
  check->add_option("--path", path, "HTTP path (a query is ignored, as the rules ignore it)")->capture_default_str();
  check->add_option("--host", host, "Host / :authority (default: the pod name and port)");
  check->add_option("--header", headers, "A request header, name:value (repeatable)");
  check->add_flag("--tcp", tcp, "A TCP connection, not an HTTP request");

  CLI11_PARSE(app, argc, argv);
  AdminClient client(admin);
  bool asJson = output == "json";

  if (*status) {
    auto stats = client.getJson("/stats");
    if (!stats) return failWith(stats.error());
    auto ready = client.request("GET", "/healthz/ready");
    bool isReady = ready && ready->status == 200;
    if (asJson) {
      (*stats)["ready"] = isReady;
      std::cout << stats->dump(2) << "\n";
    } else {
      std::cout << weft::ctl::statusView(*stats, isReady);
    }
    return isReady ? 0 : 1;
  }
  if (*workloads)
    return show(client, "/workloads", asJson, [&](const json& j) { return weft::ctl::workloadsView(j, !allNodes); });
  if (*policies) return show(client, "/policies", asJson, weft::ctl::policiesView);
  if (*certs) return show(client, "/certs", asJson, weft::ctl::certsView);
  if (*connections) return show(client, "/connections", asJson, weft::ctl::connectionsView);
  if (*tunnels) return show(client, "/tunnels", asJson, weft::ctl::tunnelsView);
  if (*configDump) return show(client, "/config_dump", true, [](const json& j) { return j.dump(2) + "\n"; });
  if (*logLevel) {
    auto reply = client.request("POST", "/logging?level=" + weft::ctl::urlEncode(level));
    if (!reply) return failWith(reply.error());
    std::cout << reply->body;
    return reply->status == 200 ? 0 : kFailed;
  }
  if (*check) {
    using weft::ctl::urlEncode;
    std::string target = "/policy/check?from=" + urlEncode(from) + "&to=" + urlEncode(to) +
                         "&port=" + std::to_string(port) + "&method=" + urlEncode(method) + "&path=" + urlEncode(path);
    if (!host.empty()) target += "&host=" + urlEncode(host);
    for (const auto& h : headers) target += "&header=" + urlEncode(h);
    if (tcp) target += "&tcp=1";
    auto answer = client.getJson(target);
    if (!answer) return failWith(answer.error());
    std::cout << (asJson ? answer->dump(2) + "\n" : weft::ctl::policyCheckView(*answer));
    return answer->value("verdict", "") == "allow" ? 0 : 1;
  }
  return kFailed;
}

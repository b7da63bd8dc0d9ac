#include "weft/admin/agent_routes.h"

#include "weft/common/log.h"

namespace weft::admin {

void registerReadinessRoute(AdminServer& server, const AgentView& view) {
  server.route("GET", "/healthz/ready", [ready = view.ready, replaced = view.replaced](const http::Request&) {
    if (replaced && replaced()) return Response::text("not ready: a successor agent took this node over\n", 503);
    return ready->load() ? Response::text("ready\n") : Response::text("not ready\n", 503);
  });
}

void registerAgentRoutes(AdminServer& server, AgentView view) {
  registerReadinessRoute(server, view);
  server.route("GET", "/config_dump", [view](const http::Request&) {
    return Response::json(config::toJson(*view.snapshots->current()).dump(2) + "\n");
  });
  server.route("GET", "/stats", [view](const http::Request&) {
    nlohmann::json body = view.stats ? view.stats() : nlohmann::json::object();
    body["node"] = view.nodeName;
    body["configGeneration"] = view.snapshots->current()->generation;
    return Response::json(body.dump(2) + "\n");
  });
  // The mesh's identities and tunnels; 404 when the agent runs without the
  // mesh (or without the proxy, for connections).
  for (auto [path, provider] : {std::pair{"/certs", view.certificates}, {"/tunnels", view.tunnels},
                                {"/policies", view.policies}, {"/connections", view.connections}}) {
    server.route("GET", path, [provider, path](const http::Request&) {
      if (!provider)
        return Response::text(std::string("not on this agent (start it with --proxy-addr and --node-ip): ") + path + "\n",
                              404);
      return Response::json(provider().dump(2) + "\n");
    });
  }
  for (auto [path, provider] : {std::pair{"/workloads", view.workloads}, {"/bpf", view.bpfMaps}})
    if (provider)
      server.route("GET", path, [provider](const http::Request&) { return Response::json(provider().dump(2) + "\n"); });
  server.route("GET", "/policy/check", [check = view.policyCheck](const http::Request& request) {
    if (!check) return Response::text("no policies on this agent (start it with --node-ip)\n", 404);
    auto answer = check(request.query());
    if (!answer) return Response::json(nlohmann::json{{"error", answer.error().message}}.dump(2) + "\n",
                                       answer.error().code == ErrorCode::kNotFound ? 404 : 400);
    return Response::json(answer->dump(2) + "\n");
  });
  if (view.events) server.stream("/events", view.events);
  server.route("POST", "/logging", [](const http::Request& request) {
    std::string_view query = request.query();
    constexpr std::string_view kKey = "level=";
    if (!query.starts_with(kKey)) return Response::text("usage: POST /logging?level=trace|debug|info|warn|error|off\n", 400);
    auto level = log::parseLevel(query.substr(kKey.size()));
    if (!level) return Response::text("unknown log level '" + std::string(query.substr(kKey.size())) + "'\n", 400);
    log::setLevel(*level);
    log::info("admin", "log level set to {}", log::levelName(*level));
    return Response::text("log level " + std::string(log::levelName(*level)) + "\n");
  });
}

}  // namespace weft::admin

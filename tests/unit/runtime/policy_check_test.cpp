// `weftctl policy check` in the agent: the question as the admin API takes
// it, and the answer from the same rules and code the proxy's authorizer uses.
#include <doctest/doctest.h>

#include "runtime/admin_views.h"
#include "runtime/mesh_inbound_policy.h"
#include "weft/config/manifest_loader.h"
#include "weft/redirect/peer_authentication.h"

using namespace weft;

namespace {

constexpr const char* kManifests = R"(
apiVersion: v1
kind: Namespace
metadata: {name: shop, labels: {weft.dev/mesh: enabled}}
---
apiVersion: v1
kind: Pod
metadata: {name: web, namespace: shop, labels: {app: web}}
spec: {nodeName: n1, serviceAccountName: web}
status: {podIP: 10.0.1.2, hostIP: 192.0.2.1}
---
apiVersion: v1
kind: Pod
metadata: {name: client, namespace: shop, labels: {app: client}}
spec: {nodeName: n2, serviceAccountName: client}
status: {podIP: 10.0.2.2, hostIP: 192.0.2.2}
---
apiVersion: v1
kind: Pod
metadata: {name: web, namespace: other}
spec: {nodeName: n2}
status: {podIP: 10.0.2.3}
---
apiVersion: v1
kind: Service
metadata: {name: db, namespace: shop}
spec:
  selector: {app: web}
  ports: [{name: tcp-db, port: 5432}]
---
apiVersion: weft.dev/v1alpha1
kind: AuthorizationPolicy
metadata: {name: deny-admin, namespace: shop}
spec:
  selector: {matchLabels: {app: web}}
  action: DENY
  rules: [{to: [{operation: {paths: ["/admin/*"]}}]}]
---
apiVersion: weft.dev/v1alpha1
kind: AuthorizationPolicy
metadata: {name: allow-client, namespace: shop}
spec:
  selector: {matchLabels: {app: web}}
  action: ALLOW
  rules: [{from: [{source: {principals: ["cluster.local/ns/shop/sa/client"]}}]}]
)";

config::Snapshot snapshot() {
  config::Snapshot s;
  config::loadManifestText(kManifests, "test.yaml", s);
  REQUIRE(s.rejected.empty());
  return s;
}

runtime::PolicyAnswer ask(const config::Snapshot& s, const runtime::MeshInboundPolicy& policy, std::string query) {
  auto question = runtime::policyQuestion(query, s, "cluster.local");
  REQUIRE_MESSAGE(question.has_value(), query);
  return policy.check(*question);
}

}  // namespace

TEST_CASE("policy question: sources and destinations by name and the errors that name the cause") {
  auto s = snapshot();
  auto q = runtime::policyQuestion("from=shop/client&to=shop/web&port=8080&method=POST&path=/a%20b%3Fx&header=X-Team:%20blue",
                                   s, "cluster.local");
  REQUIRE(q.has_value());
  CHECK(q->pod == "shop/web");
  CHECK(q->principal == "spiffe://cluster.local/ns/shop/sa/client");
  CHECK(q->method == "POST");
  CHECK(q->path == "/a b");  // the query is not the rules' business
  REQUIRE(q->headers.size() == 1);
  CHECK(q->headers[0] == std::pair<std::string, std::string>{"x-team", "blue"});
  CHECK(q->host == "web:8080");

  auto plaintext = runtime::policyQuestion("from=10.9.9.9&to=shop/web&port=80", s, "cluster.local");
  REQUIRE(plaintext.has_value());
  CHECK(plaintext->principal.empty());
  CHECK(plaintext->sourceIp.has_value());
  // A pod outside the mesh sends plaintext: no principal.
  auto outside = runtime::policyQuestion("from=other/web&to=shop/web&port=80", s, "cluster.local");
  REQUIRE(outside.has_value());
  CHECK(outside->principal.empty());

  auto error = [&](std::string query) {
    auto r = runtime::policyQuestion(query, s, "cluster.local");
    REQUIRE_FALSE(r.has_value());
    return r.error().message;
  };
  CHECK(error("to=shop/web&port=80") == "policy check needs from= and to=");
  CHECK(error("from=shop/client&to=shop/nobody&port=80") == "to: no pod 'shop/nobody' in the configuration");
  CHECK(error("from=web&to=shop/web&port=80").find("more than one namespace") != std::string::npos);
  CHECK(error("from=shop/client&to=shop/web&port=99999") == "port '99999' is not a port number");
  CHECK(error("from=shop/client&to=shop/web") == "policy check needs port=");
  CHECK(error("from=shop/client&to=shop/web&port=80&header=nocolon") == "header 'nocolon' is not name:value");
  CHECK(error("from=spiffe://x/bad%00&to=shop/web&port=80").starts_with("from: "));
}

TEST_CASE("policy check: the verdict with the deciding policy and why") {
  auto s = snapshot();
  runtime::MeshInboundPolicy policy;
  policy.update(s, redirect::kMeshRootNamespace);

  auto allowed = ask(s, policy, "from=shop/client&to=shop/web&port=8080&path=/x");
  CHECK(allowed.allowed);
  CHECK(allowed.policy == "shop/allow-client");
  CHECK(allowed.layer == "http");
  CHECK(allowed.reason == "ALLOW policy shop/allow-client matches");
  CHECK(allowed.selecting.size() == 2);

  auto denied = ask(s, policy, "from=shop/client&to=shop/web&port=8080&path=/admin/users");
  CHECK_FALSE(denied.allowed);
  CHECK(denied.policy == "shop/deny-admin");
  CHECK(denied.reason == "DENY policy shop/deny-admin matches");

  // The path is normalised before the rules see it, as the proxy does.
  auto dotted = ask(s, policy, "from=shop/client&to=shop/web&port=8080&path=/x/%2e%2e/admin/users");
  CHECK_FALSE(dotted.allowed);
  CHECK(dotted.path == "/admin/users");

  auto stranger = ask(s, policy, "from=10.9.9.9&to=shop/web&port=8080");
  CHECK_FALSE(stranger.allowed);
  CHECK(stranger.policy.empty());
  CHECK(stranger.reason == "ALLOW policies select shop/web and none of their rules matches");

  // A port a Service declares tcp is decided at L4, whatever the question says.
  auto tcp = ask(s, policy, "from=shop/client&to=shop/web&port=5432&path=/admin/users");
  CHECK(tcp.layer == "tcp");
  CHECK(tcp.portProtocol == "tcp");
  // Istio's rule for TCP: a DENY rule's HTTP-only fields are ignored (so the
  // DENY is stricter, not weaker): deny-admin refuses every connection.
  CHECK_FALSE(tcp.allowed);
  CHECK(tcp.policy == "shop/deny-admin");

  auto unselected = ask(s, policy, "from=shop/web&to=other/web&port=80");
  CHECK(unselected.allowed);
  CHECK(unselected.reason == "no AuthorizationPolicy selects other/web");
}

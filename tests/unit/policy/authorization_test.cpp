// AuthorizationPolicy decisions, table-driven: policies written as users
// write them (YAML through the manifest loader), requests as the proxy sees
// them, and the expected outcome with the policy that decided.
#include <doctest/doctest.h>

#include <arpa/inet.h>

#include <string>

#include "weft/config/manifest_loader.h"
#include "weft/policy/authorization.h"
#include "weft/policy/path_normalization.h"

namespace {

using weft::policy::Authorization;
using weft::policy::RequestAttributes;

constexpr const char* kPods = R"(apiVersion: v1
kind: Pod
metadata: {name: web, namespace: shop, labels: {app: web, tier: front}}
spec: {nodeName: n1}
status: {podIP: 10.0.0.1}
---
apiVersion: v1
kind: Pod
metadata: {name: db, namespace: shop, labels: {app: db}}
spec: {nodeName: n1}
status: {podIP: 10.0.0.2}
---
apiVersion: v1
kind: Pod
metadata: {name: api, namespace: other, labels: {app: web}}
spec: {nodeName: n1}
status: {podIP: 10.0.0.3}
)";

struct Loaded {
  weft::config::Snapshot snapshot;
  std::shared_ptr<const Authorization> authz;
  std::vector<weft::policy::PolicyRejection> rejected;
};

Loaded load(const std::string& policies) {
  Loaded l;
  weft::config::loadManifestText(std::string(kPods) + "---\n" + policies, "test.yaml", l.snapshot);
  for (const auto& r : l.snapshot.rejected) FAIL_CHECK("manifest rejected: " << r.name << ": " << r.reason);
  l.authz = Authorization::compile(l.snapshot, "weft-system", &l.rejected);
  return l;
}

in6_addr ip(const char* text) {
  in6_addr out{};
  in_addr v4{};
  if (::inet_pton(AF_INET, text, &v4) == 1) {
    out.s6_addr[10] = out.s6_addr[11] = 0xff;
    std::memcpy(&out.s6_addr[12], &v4, 4);
  } else {
    REQUIRE(::inet_pton(AF_INET6, text, &out) == 1);
  }
  return out;
}

struct Request {
  std::string principal = "spiffe://cluster.local/ns/shop/sa/frontend";
  std::string source = "10.1.0.5";
  std::uint16_t port = 8080;
  bool http = true;
  std::string host = "web.shop";
  std::string method = "GET";
  std::string path = "/";
  std::vector<std::pair<std::string, std::string>> headers;
};

// "allow", "allow:<policy>", "deny:<policy>", "deny:" (no ALLOW matched), or
// "none" when no policy selects the pod.
std::string decide(const Loaded& l, const Request& r, const char* pod = "shop/web") {
  const auto* set = l.authz->forPod(pod);
  if (!set) return "none";
  RequestAttributes a;
  a.principal = r.principal;
  if (!r.source.empty()) a.sourceIp = ip(r.source.c_str());
  a.destinationIp = ip("10.0.0.1");
  a.destinationPort = r.port;
  a.http = r.http;
  a.host = r.host;
  a.method = r.method;
  a.path = r.path;
  a.headers = &r.headers;
  auto d = weft::policy::decide(*set, a);
  if (d.allowed) return d.policy.empty() ? "allow" : "allow:" + d.policy;
  return "deny:" + d.policy;
}

std::string policy(const char* name, const char* action, const char* rules, const char* selector = "{matchLabels: {app: web}}",
                   const char* ns = "shop") {
  std::string out = std::string("apiVersion: weft.dev/v1alpha1\nkind: AuthorizationPolicy\nmetadata: {name: ") + name +
                    ", namespace: " + ns + "}\nspec:\n  action: " + action + "\n";
  if (selector && *selector) out += std::string("  selector: ") + selector + "\n";
  if (rules) out += std::string("  rules: ") + rules + "\n";
  return out;
}

}  // namespace

TEST_CASE("authorization: selection by labels and namespaces") {
  auto l = load(policy("deny-all-web", "DENY", "[{}]"));
  CHECK(decide(l, {}) == "deny:shop/deny-all-web");
  CHECK(decide(l, {}, "shop/db") == "none");       // labels do not match
  CHECK(decide(l, {}, "other/api") == "none");     // same labels, other namespace
  auto ns = load(policy("ns-wide", "DENY", "[{}]", ""));
  CHECK(decide(ns, {}, "shop/db") == "deny:shop/ns-wide");
  CHECK(decide(ns, {}, "other/api") == "none");
  auto mesh = load(policy("mesh-wide", "DENY", "[{}]", "", "weft-system"));
  CHECK(decide(mesh, {}, "shop/db") == "deny:weft-system/mesh-wide");
  CHECK(decide(mesh, {}, "other/api") == "deny:weft-system/mesh-wide");
  auto rootSelector = load(policy("root-web", "DENY", "[{}]", "{matchLabels: {app: web}}", "weft-system"));
  CHECK(decide(rootSelector, {}, "other/api") == "deny:weft-system/root-web");
  CHECK(decide(rootSelector, {}, "shop/db") == "none");
}

TEST_CASE("authorization: precedence DENY ALLOW AUDIT") {
  auto l = load(policy("allow-get", "ALLOW", "[{to: [{operation: {methods: [GET]}}]}]") + "---\n" +
                policy("deny-admin", "DENY", "[{to: [{operation: {paths: [/admin]}}]}]") + "---\n" +
                policy("audit-all", "AUDIT", "[{}]"));
  CHECK(decide(l, {}) == "allow:shop/allow-get");
  CHECK(decide(l, {.path = "/admin"}) == "deny:shop/deny-admin");  // DENY wins although ALLOW matches
  CHECK(decide(l, {.method = "POST"}) == "deny:");                 // ALLOW exists, none matches
  auto audits = load(policy("audit-all", "AUDIT", "[{}]") + "---\n" + policy("audit-admin", "AUDIT", "[{to: [{operation: {paths: [/admin]}}]}]"));
  CHECK(decide(audits, {.path = "/admin"}) == "allow");  // AUDIT never decides
  const auto* set = audits.authz->forPod("shop/web");
  RequestAttributes a;
  a.http = true;
  a.path = "/admin";
  auto d = weft::policy::decide(*set, a);
  CHECK(d.audits.size() == 2);
  a.path = "/x";
  CHECK(weft::policy::decide(*set, a).audits == std::vector<std::string>{"shop/audit-all"});
}

TEST_CASE("authorization: empty rules and empty rule") {
  CHECK(decide(load(policy("allow-nothing", "ALLOW", nullptr)), {}) == "deny:");
  CHECK(decide(load(policy("allow-everything", "ALLOW", "[{}]")), {}) == "allow:shop/allow-everything");
  CHECK(decide(load(policy("deny-nothing", "DENY", nullptr)), {}) == "allow");
  // allow-nothing next to a matching ALLOW: the other one allows.
  CHECK(decide(load(policy("allow-nothing", "ALLOW", nullptr) + "---\n" + policy("allow-all", "ALLOW", "[{}]")), {}) ==
        "allow:shop/allow-all");
}

TEST_CASE("authorization: from fields and their not-forms") {
  auto l = load(policy("p", "ALLOW", "[{from: [{source: {principals: [cluster.local/ns/shop/sa/frontend]}}]}]"));
  CHECK(decide(l, {}) == "allow:shop/p");
  CHECK(decide(l, {.principal = "spiffe://cluster.local/ns/shop/sa/other"}) == "deny:");
  CHECK(decide(l, {.principal = ""}) == "deny:");  // plaintext: no principal
  auto presence = load(policy("p", "ALLOW", "[{from: [{source: {principals: [\"*\"]}}]}]"));
  CHECK(decide(presence, {}) == "allow:shop/p");
  CHECK(decide(presence, {.principal = ""}) == "deny:");  // "*" means authenticated
  auto prefix = load(policy("p", "ALLOW", "[{from: [{source: {principals: [cluster.local/ns/shop/*]}}]}]"));
  CHECK(decide(prefix, {.principal = "spiffe://cluster.local/ns/shop/sa/x"}) == "allow:shop/p");
  CHECK(decide(prefix, {.principal = "spiffe://cluster.local/ns/shopping/sa/x"}) == "deny:");
  auto suffix = load(policy("p", "ALLOW", "[{from: [{source: {principals: [\"*/sa/frontend\"]}}]}]"));
  CHECK(decide(suffix, {}) == "allow:shop/p");
  CHECK(decide(suffix, {.principal = "spiffe://cluster.local/ns/shop/sa/backend"}) == "deny:");
  auto notPrincipal = load(policy("p", "DENY", "[{from: [{source: {notPrincipals: [cluster.local/ns/shop/sa/frontend]}}]}]"));
  CHECK(decide(notPrincipal, {}) == "allow");
  CHECK(decide(notPrincipal, {.principal = "spiffe://cluster.local/ns/shop/sa/evil"}) == "deny:shop/p");
  CHECK(decide(notPrincipal, {.principal = ""}) == "deny:shop/p");  // no principal is "not frontend"
  auto ns = load(policy("p", "ALLOW", "[{from: [{source: {namespaces: [shop]}}]}]"));
  CHECK(decide(ns, {}) == "allow:shop/p");
  CHECK(decide(ns, {.principal = "spiffe://cluster.local/ns/other/sa/x"}) == "deny:");
  auto notNs = load(policy("p", "DENY", "[{from: [{source: {notNamespaces: [shop]}}]}]"));
  CHECK(decide(notNs, {}) == "allow");
  CHECK(decide(notNs, {.principal = "spiffe://cluster.local/ns/other/sa/x"}) == "deny:shop/p");
}

TEST_CASE("authorization: ipBlocks v4 v6 and v4-mapped") {
  auto l = load(policy("p", "ALLOW", "[{from: [{source: {ipBlocks: [10.1.0.0/16, \"fd00::/8\", 192.0.2.7]}}]}]"));
  CHECK(decide(l, {.source = "10.1.200.3"}) == "allow:shop/p");
  CHECK(decide(l, {.source = "10.2.0.1"}) == "deny:");
  CHECK(decide(l, {.source = "fd12::1"}) == "allow:shop/p");
  CHECK(decide(l, {.source = "fe80::1"}) == "deny:");
  CHECK(decide(l, {.source = "::ffff:10.1.0.9"}) == "allow:shop/p");  // v4-mapped matches a v4 block
  CHECK(decide(l, {.source = "192.0.2.7"}) == "allow:shop/p");        // a single address is a /32
  CHECK(decide(l, {.source = "192.0.2.8"}) == "deny:");
  CHECK(decide(l, {.source = ""}) == "deny:");  // unknown source
  auto notBlocks = load(policy("p", "DENY", "[{from: [{source: {notIpBlocks: [10.0.0.0/8]}}]}]"));
  CHECK(decide(notBlocks, {.source = "10.9.9.9"}) == "allow");
  CHECK(decide(notBlocks, {.source = "172.16.0.1"}) == "deny:shop/p");
}

TEST_CASE("authorization: to fields and their not-forms") {
  auto hosts = load(policy("p", "ALLOW", "[{to: [{operation: {hosts: [Web.Shop, \"*.example.com\"]}}]}]"));
  CHECK(decide(hosts, {.host = "web.shop"}) == "allow:shop/p");  // case-insensitive
  CHECK(decide(hosts, {.host = "WEB.SHOP:8080"}) == "allow:shop/p");
  CHECK(decide(hosts, {.host = "api.example.com"}) == "allow:shop/p");
  CHECK(decide(hosts, {.host = "example.org"}) == "deny:");
  auto notHosts = load(policy("p", "DENY", "[{to: [{operation: {notHosts: [web.shop]}}]}]"));
  CHECK(decide(notHosts, {.host = "web.shop"}) == "allow");
  CHECK(decide(notHosts, {.host = "evil"}) == "deny:shop/p");
  auto ports = load(policy("p", "ALLOW", "[{to: [{operation: {ports: [\"8080\"]}}]}]"));
  CHECK(decide(ports, {.port = 8080}) == "allow:shop/p");
  CHECK(decide(ports, {.port = 9090}) == "deny:");
  auto notPorts = load(policy("p", "DENY", "[{to: [{operation: {notPorts: [\"8080\"]}}]}]"));
  CHECK(decide(notPorts, {.port = 8080}) == "allow");
  CHECK(decide(notPorts, {.port = 22}) == "deny:shop/p");
  auto methods = load(policy("p", "ALLOW", "[{to: [{operation: {methods: [GET, HEAD]}}]}]"));
  CHECK(decide(methods, {.method = "HEAD"}) == "allow:shop/p");
  CHECK(decide(methods, {.method = "DELETE"}) == "deny:");
  auto notMethods = load(policy("p", "DENY", "[{to: [{operation: {notMethods: [GET]}}]}]"));
  CHECK(decide(notMethods, {.method = "GET"}) == "allow");
  CHECK(decide(notMethods, {.method = "PUT"}) == "deny:shop/p");
}

TEST_CASE("authorization: path forms exact prefix suffix presence and not-paths") {
  auto l = load(policy("exact", "DENY", "[{to: [{operation: {paths: [/admin]}}]}]") + "---\n" +
                policy("prefix", "DENY", "[{to: [{operation: {paths: [\"/internal/*\"]}}]}]") + "---\n" +
                policy("suffix", "DENY", "[{to: [{operation: {paths: [\"*.php\"]}}]}]"));
  CHECK(decide(l, {.path = "/admin"}) == "deny:shop/exact");
  CHECK(decide(l, {.path = "/admin/x"}) == "allow");  // exact is exact
  CHECK(decide(l, {.path = "/internal/a/b"}) == "deny:shop/prefix");
  CHECK(decide(l, {.path = "/internal"}) == "allow");  // "/internal/*" wants the slash
  CHECK(decide(l, {.path = "/x/index.php"}) == "deny:shop/suffix");
  CHECK(decide(l, {.path = "/index.html"}) == "allow");
  auto presence = load(policy("p", "ALLOW", "[{to: [{operation: {paths: [\"*\"]}}]}]"));
  CHECK(decide(presence, {.path = "/anything"}) == "allow:shop/p");
  auto notPaths = load(policy("p", "ALLOW", "[{to: [{operation: {paths: [\"/api/*\"], notPaths: [\"/api/secret*\"]}}]}]"));
  CHECK(decide(notPaths, {.path = "/api/v1"}) == "allow:shop/p");
  CHECK(decide(notPaths, {.path = "/api/secrets"}) == "deny:");
  CHECK(decide(notPaths, {.path = "/other"}) == "deny:");
}

TEST_CASE("authorization: a rule needs all of from to and when but any value within a field") {
  auto l = load(policy("p", "ALLOW",
                       "[{from: [{source: {namespaces: [shop]}}], to: [{operation: {methods: [GET]}}, "
                       "{operation: {paths: [/upload], methods: [POST]}}], when: [{key: \"request.headers[x-team]\", values: [blue, green]}]}]"));
  Request ok{.headers = {{"x-team", "green"}}};
  CHECK(decide(l, ok) == "allow:shop/p");
  Request post = ok;
  post.method = "POST";
  CHECK(decide(l, post) == "deny:");  // POST only to /upload
  post.path = "/upload";
  CHECK(decide(l, post) == "allow:shop/p");
  Request otherNs = ok;
  otherNs.principal = "spiffe://cluster.local/ns/other/sa/x";
  CHECK(decide(l, otherNs) == "deny:");
  CHECK(decide(l, {.headers = {{"x-team", "red"}}}) == "deny:");
  CHECK(decide(l, {}) == "deny:");  // header absent
  CHECK(decide(l, {.headers = {{"x-team", "red"}, {"x-team", "blue"}}}) == "allow:shop/p");  // any line
}

TEST_CASE("authorization: when conditions on source destination and their not-forms") {
  auto l = load(policy("p", "DENY",
                       "[{when: [{key: source.ip, values: [10.1.0.0/24]}, {key: destination.port, notValues: [\"8080\"]}]}]"));
  CHECK(decide(l, {.source = "10.1.0.5", .port = 9090}) == "deny:shop/p");
  CHECK(decide(l, {.source = "10.1.0.5", .port = 8080}) == "allow");
  CHECK(decide(l, {.source = "10.2.0.5", .port = 9090}) == "allow");
  auto principal = load(policy("p", "ALLOW", "[{when: [{key: source.principal, values: [\"cluster.local/ns/shop/*\"]}, "
                                             "{key: source.namespace, notValues: [other]}, {key: destination.ip, values: [10.0.0.0/24]}]}]"));
  CHECK(decide(principal, {}) == "allow:shop/p");
  CHECK(decide(principal, {.principal = "spiffe://cluster.local/ns/other/sa/x"}) == "deny:");
  auto header = load(policy("p", "DENY", "[{when: [{key: \"request.headers[X-Debug]\", notValues: [\"off\"]}]}]"));
  CHECK(decide(header, {.headers = {{"x-debug", "on"}}}) == "deny:shop/p");
  CHECK(decide(header, {.headers = {{"x-debug", "off"}}}) == "allow");
  CHECK(decide(header, {}) == "deny:shop/p");  // absent passes a not-form
}

TEST_CASE("authorization: TCP connections and HTTP-only fields") {
  // ALLOW: a rule with an HTTP-only field never matches TCP.
  auto allow = load(policy("allow-get", "ALLOW", "[{to: [{operation: {methods: [GET]}}]}]") + "---\n" +
                    policy("allow-port", "ALLOW", "[{to: [{operation: {ports: [\"5432\"]}}]}]"));
  CHECK(decide(allow, {.port = 8080, .http = false}) == "deny:");
  CHECK(decide(allow, {.port = 5432, .http = false}) == "allow:shop/allow-port");
  CHECK(decide(allow, {.port = 8080, .http = true}) == "allow:shop/allow-get");  // control: HTTP matches
  // DENY: HTTP-only fields are ignored for TCP, so the DENY applies to the whole connection.
  auto deny = load(policy("deny-admin", "DENY",
                          "[{from: [{source: {ipBlocks: [10.1.0.0/16]}}], to: [{operation: {paths: [/admin]}}]}]"));
  CHECK(decide(deny, {.source = "10.1.0.1", .http = false}) == "deny:shop/deny-admin");
  CHECK(decide(deny, {.source = "10.9.0.1", .http = false}) == "allow");  // the L4 part still has to match
  CHECK(decide(deny, {.source = "10.1.0.1", .path = "/public"}) == "allow");  // control: HTTP checks the path
  auto header = load(policy("deny-hdr", "DENY", "[{when: [{key: \"request.headers[x-a]\", values: [b]}]}]"));
  CHECK(decide(header, {.http = false}) == "deny:shop/deny-hdr");
  CHECK(decide(header, {.http = true}) == "allow");
}

TEST_CASE("authorization: paths match after normalisation") {
  auto l = load(policy("deny-private", "DENY", "[{to: [{operation: {paths: [/private, \"/private/*\"]}}]}]"));
  for (const char* raw : {"/public/%2e%2e/private", "/public/../private", "//private", "/./private/x", "/%70rivate"}) {
    CAPTURE(raw);
    auto normal = weft::policy::normalizePath(raw);
    REQUIRE(normal.has_value());
    CHECK(decide(l, {.path = *normal}) == "deny:shop/deny-private");
  }
  CHECK(decide(l, {.path = *weft::policy::normalizePath("/public/x")}) == "allow");
}

TEST_CASE("authorization: a policy that cannot be compiled is rejected and the others stay") {
  auto l = load(policy("good", "DENY", "[{to: [{operation: {paths: [/admin]}}]}]") + "---\n" +
                policy("sni", "DENY", "[{when: [{key: connection.sni, values: [x]}]}]"));
  REQUIRE(l.rejected.size() == 1);
  CHECK(l.rejected[0].policy == "shop/sni");
  CHECK(l.rejected[0].reason.find("connection.sni") != std::string::npos);
  CHECK(l.authz->policyCount() == 1);
  CHECK(decide(l, {.path = "/admin"}) == "deny:shop/good");
}

TEST_CASE("authorization: many policies are indexed and still decide right") {
  std::string yaml;
  for (int i = 0; i < 300; ++i) {
    if (i) yaml += "---\n";
    yaml += policy(("deny-" + std::to_string(i)).c_str(), "DENY",
                   ("[{to: [{operation: {paths: [/exact/" + std::to_string(i) + ", \"/prefix/" + std::to_string(i) +
                    "/*\"]}}]}]").c_str());
  }
  yaml += "---\n" + policy("allow-get", "ALLOW", "[{to: [{operation: {methods: [GET]}}]}]");
  auto l = load(yaml);
  CHECK(l.authz->policyCount() == 301);
  CHECK(decide(l, {.path = "/exact/17"}) == "deny:shop/deny-17");
  CHECK(decide(l, {.path = "/prefix/299/a/b"}) == "deny:shop/deny-299");
  CHECK(decide(l, {.path = "/prefix/29"}) == "allow:shop/allow-get");
  CHECK(decide(l, {.path = "/exact/300"}) == "allow:shop/allow-get");
  CHECK(decide(l, {.http = false, .path = "/exact/17"}) == "deny:shop/deny-0");  // TCP: path ignored in DENY
}

TEST_CASE("authorization: rules on headers alone are indexed by header and still decide right") {
  std::string yaml;
  for (int i = 0; i < 300; ++i) {
    if (i) yaml += "---\n";
    yaml += policy(("deny-h" + std::to_string(i)).c_str(), "DENY",
                   ("[{when: [{key: \"request.headers[x-block-" + std::to_string(i) + "]\", values: [\"1\", yes]}]}]").c_str());
  }
  yaml += "---\n" + policy("deny-debug", "DENY",
                           "[{from: [{source: {namespaces: [other]}}], when: [{key: \"request.headers[x-debug]\", values: [\"*\"]}]}]");
  yaml += "---\n" + policy("deny-no-token", "DENY", "[{when: [{key: \"request.headers[x-token]\", notValues: [\"*\"]}]}]");
  auto l = load(yaml);
  Request base{.headers = {{"x-token", "t"}}};
  CHECK(decide(l, base) == "allow");
  Request blocked = base;
  blocked.headers.emplace_back("x-block-271", "yes");
  CHECK(decide(l, blocked) == "deny:shop/deny-h271");
  Request other = base;
  other.headers.emplace_back("x-block-271", "no");
  CHECK(decide(l, other) == "allow");
  Request lines = base;  // any line of a repeated header
  lines.headers.emplace_back("x-block-5", "no");
  lines.headers.emplace_back("x-block-5", "1");
  CHECK(decide(l, lines) == "deny:shop/deny-h5");
  Request debug = base;
  debug.headers.emplace_back("x-debug", "1");
  CHECK(decide(l, debug) == "allow");  // from another namespace only
  debug.principal = "spiffe://cluster.local/ns/other/sa/x";
  CHECK(decide(l, debug) == "deny:shop/deny-debug");
  CHECK(decide(l, {}) == "deny:shop/deny-no-token");  // a not-form on an absent header: never indexed away
  CHECK(decide(l, {.http = false}) == "deny:shop/deny-h0");  // TCP: the header condition is ignored in DENY
}

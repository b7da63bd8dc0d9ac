// Each validation rule with a passing and a failing case; failing cases
// assert the exact reason, which names the field.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "weft/common/log.h"
#include "weft/config/manifest_loader.h"

using namespace weft::config;

namespace {

struct QuietLogs {
  weft::log::Level saved = weft::log::level();
  QuietLogs() { weft::log::setLevel(weft::log::Level::kOff); }
  ~QuietLogs() { weft::log::setLevel(saved); }
};

struct Case {
  std::string text;
  std::string reason;  // empty: the object must load
  std::string kind = "*";  // expected RejectedObject::kind; "*" = the object's kind
};

std::size_t objectCount(const Snapshot& s) {
  return s.namespaces.size() + s.pods.size() + s.services.size() + s.peerAuthentications.size() +
         s.authorizationPolicies.size() + s.otherResources.size();
}

void runCases(const std::vector<Case>& cases, std::string_view kind) {
  QuietLogs quiet;
  for (const Case& c : cases) {
    CAPTURE(c.text);
    Snapshot s;
    loadManifestText(c.text, "case.yaml", s);
    if (c.reason.empty()) {
      CHECK_MESSAGE(s.rejected.empty(), (s.rejected.empty() ? "" : s.rejected[0].reason));
      CHECK(objectCount(s) == 1);
      continue;
    }
    CHECK(objectCount(s) == 0);
    REQUIRE(s.rejected.size() == 1);
    CHECK(s.rejected[0].reason == c.reason);
    CHECK(s.rejected[0].kind == (c.kind == "*" ? std::string(kind) : c.kind));
  }
}

// Manifests with the spec in flow style on line 4.
std::string policy(std::string_view spec) {
  return "apiVersion: weft.dev/v1alpha1\nkind: AuthorizationPolicy\nmetadata: {name: p, namespace: demo}\nspec: " +
         std::string(spec) + "\n";
}
std::string fromSource(std::string_view source) { return policy("{rules: [{from: [{source: " + std::string(source) + "}]}]}"); }
std::string toOperation(std::string_view op) { return policy("{rules: [{to: [{operation: " + std::string(op) + "}]}]}"); }
std::string when(std::string_view condition) { return policy("{rules: [{when: [" + std::string(condition) + "]}]}"); }
std::string peer(std::string_view spec) {
  return "apiVersion: weft.dev/v1alpha1\nkind: PeerAuthentication\nmetadata: {name: p, namespace: demo}\nspec: " +
         std::string(spec) + "\n";
}
std::string pod(std::string_view body) {
  return "apiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: demo}\n" + std::string(body) + "\n";
}
std::string podMeta(std::string_view metadata) { return "apiVersion: v1\nkind: Pod\nmetadata: " + std::string(metadata) + "\n"; }
std::string service(std::string_view spec) {
  return "apiVersion: v1\nkind: Service\nmetadata: {name: s, namespace: demo}\nspec: " + std::string(spec) + "\n";
}

const std::string kSubdomainRule =
    "must be a DNS-1123 subdomain: lower case letters, digits, '-' and '.', starting and ending with a letter or digit";
const std::string kLabelRule =
    "must be a DNS-1123 label: lower case letters, digits and '-', starting and ending with a letter or digit";
const std::string kDns1035Rule =
    "must be a DNS-1035 label: lower case letters, digits and '-', starting with a letter and ending with a letter or "
    "digit";
const std::string kWildcardRule =
    "'*' is allowed only once, as the first or the last character (\"*\", \"prefix*\", \"*suffix\")";
const std::string kPortRule = "must be a port number from 1 to 65535";

}  // namespace

TEST_CASE("validation: object names and namespaces") {
  runCases(
      {
          {podMeta("{name: web.v1-2}"), ""},
          {podMeta("{name: Web}"), "Pod: metadata.name: " + kSubdomainRule, ""},
          {podMeta("{name: -web}"), "Pod: metadata.name: " + kSubdomainRule, ""},
          {podMeta("{name: a..b}"), "Pod: metadata.name: " + kSubdomainRule, ""},
          {podMeta("{name: under_score}"), "Pod: metadata.name: " + kSubdomainRule, ""},
          {podMeta("{name: " + std::string(253, 'a') + "}"), ""},
          {podMeta("{name: " + std::string(254, 'a') + "}"), "Pod: metadata.name: must be at most 253 characters (has 254)",
           ""},
          {podMeta("{name: \"\"}"), "Pod: metadata.name: must not be empty", ""},
          {podMeta("{name: 42}"), ""},  // a number is a fine name once read as text
          {podMeta("{name: [a]}"), "Pod: metadata.name: expected a string, got a list", ""},
          {podMeta("{name: p, namespace: \"\"}"), ""},
          {podMeta("{name: p, namespace: a.b}"), "Pod: metadata.namespace: " + kLabelRule, ""},
          {podMeta("{name: p, namespace: " + std::string(64, 'n') + "}"),
           "Pod: metadata.namespace: must be at most 63 characters (has 64)", ""},
      },
      "Pod");
  runCases(
      {
          {"apiVersion: v1\nkind: Namespace\nmetadata: {name: " + std::string(63, 'n') + "}\n", ""},
          {"apiVersion: v1\nkind: Namespace\nmetadata: {name: a.b}\n", "Namespace: metadata.name: " + kLabelRule, ""},
      },
      "Namespace");
  runCases(
      {
          {service("{}"), ""},
          {"apiVersion: v1\nkind: Service\nmetadata: {name: 1web}\n", "Service: metadata.name: " + kDns1035Rule, ""},
          {"apiVersion: v1\nkind: Service\nmetadata: {name: web.v1}\n", "Service: metadata.name: " + kDns1035Rule, ""},
      },
      "Service");
}

TEST_CASE("validation: labels and annotations are string maps") {
  runCases(
      {
          {podMeta("{name: p, labels: {a: 1, b: true, c: ~, d: \"x\"}, annotations: {e: 1.5}}"), ""},
          {podMeta("{name: p, labels: {a: [1]}}"), "metadata.labels.a: expected a string, got a list"},
          {podMeta("{name: p, labels: [a]}"), "metadata.labels: expected a mapping, got a list"},
          {podMeta("{name: p, annotations: {x: {y: z}}}"), "metadata.annotations.x: expected a string, got a mapping"},
          {podMeta("{name: p, annotations: {\"\": z}}"), "metadata.annotations[\"\"]: key must not be empty"},
      },
      "Pod");
}

TEST_CASE("validation: Pod") {
  runCases(
      {
          {pod("spec: {nodeName: node-1, serviceAccountName: web}\nstatus: {podIPs: [{ip: 10.0.0.1}, {ip: \"::1\"}]}"),
           ""},
          {pod("spec: {nodeName: Node_1}"), "spec.nodeName: " + kSubdomainRule},
          {pod("spec: {serviceAccountName: a/b}"), "spec.serviceAccountName: " + kSubdomainRule},
          {pod("spec: []"), "spec: expected a mapping, got a list"},
          {pod("status: {podIPs: [{ip: 10.0.0.1}, {ip: 10.0.0}]}"), "status.podIPs[1].ip: \"10.0.0\" is not an IP address"},
          {pod("status: {podIPs: [{}]}"), "status.podIPs[0].ip: is required"},
          {pod("status: {podIPs: 10.0.0.1}"), "status.podIPs: expected a list, got a string"},
          {pod("status: {podIP: \"fe80::1%eth0\"}"), "status.podIP: \"fe80::1%eth0\" is not an IP address"},
          {podMeta("{name: p, annotations: {weft.dev/netns: /proc/1/ns/net}}"), ""},
          {podMeta("{name: p, annotations: {weft.dev/netns: netns/x}}"),
           "metadata.annotations[\"weft.dev/netns\"]: must be an absolute path"},
      },
      "Pod");
}

TEST_CASE("validation: Service") {
  runCases(
      {
          {service("{ports: [{port: 1}, {name: b, port: 65535, targetPort: 1}]}"), "spec.ports[0]: name is required when a Service has more than one port"},
          {service("{ports: [{name: a, port: 1}, {name: b, port: 65535, targetPort: 65535}]}"), ""},
          {service("{ports: [{targetPort: 80}]}"), "spec.ports[0].port: is required"},
          {service("{ports: [{port: 70000}]}"), "spec.ports[0].port: " + kPortRule},
          {service("{ports: [{port: http}]}"), "spec.ports[0].port: " + kPortRule},
          {service("{ports: [{port: -1}]}"), "spec.ports[0].port: " + kPortRule},
          {service("{ports: [~]}"), "spec.ports[0]: expected a mapping, got null"},
          {service("{ports: [{port: 80, targetPort: 0}]}"), "spec.ports[0].targetPort: " + kPortRule},
          {service("{ports: [{port: 80, targetPort: web-http}]}"), ""},
          {service("{ports: [{port: 80, targetPort: Http}]}"),
           "spec.ports[0].targetPort: may contain only lower case letters, digits and '-'"},
          {service("{ports: [{port: 80, targetPort: abcdefghijklmnop}]}"),
           "spec.ports[0].targetPort: must be 1 to 15 characters"},
          {service("{ports: [{port: 80, protocol: HTTP}]}"),
           "spec.ports[0].protocol: \"HTTP\" is not a protocol (TCP, UDP or SCTP)"},
          {service("{ports: [{port: 80, protocol: SCTP, name: Web}]}"), "spec.ports[0].name: " + kLabelRule},
          {service("{ports: [{name: a, port: 80}, {name: a, port: 81}]}"), "spec.ports[1]: duplicate port name \"a\""},
          {service("{ports: [{name: a, port: 53}, {name: b, port: 53, protocol: UDP}]}"), ""},
          {service("{ports: [{name: a, port: 80}, {name: b, port: 80}]}"), "spec.ports[1]: duplicate port 80/TCP"},
          {service("{clusterIP: 10.96.0.300}"), "spec.clusterIP: \"10.96.0.300\" is not an IP address"},
          {service("{clusterIPs: [None, 10.96.0.1]}"), "spec.clusterIPs[0]: \"None\" must be the only entry of clusterIPs"},
          {service("{clusterIP: 10.96.0.1, clusterIPs: [10.96.0.2]}"),
           "spec.clusterIP: must equal clusterIPs[0] (\"10.96.0.2\")"},
          {service("{clusterIPs: [\"\"]}"), "spec.clusterIPs[0]: must not be empty"},
          {service("{selector: {app: [x]}}"), "spec.selector.app: expected a string, got a list"},
      },
      "Service");
}

TEST_CASE("validation: PeerAuthentication") {
  runCases(
      {
          {peer("{mtls: {mode: DISABLE}}"), ""},
          {peer("{mtls: {mode: strict}}"),
           "spec.mtls.mode: \"strict\" is not an mTLS mode (STRICT, PERMISSIVE, DISABLE or UNSET)"},
          {peer("{mtls: {mode: STRICT, extra: 1}}"), "spec.mtls.extra: unknown field"},
          {peer("{mtl: {mode: STRICT}}"), "spec.mtl: unknown field"},
          {peer("{mtls: STRICT}"), "spec.mtls: expected a mapping, got a string"},
          {peer("{selector: {matchLabels: {app: a}}, portLevelMtls: {8080: {mode: DISABLE}}}"), ""},
          {peer("{portLevelMtls: {8080: {mode: DISABLE}}}"),
           "spec.portLevelMtls: portLevelMtls needs a selector with matchLabels"},
          {peer("{selector: {}, portLevelMtls: {8080: {mode: DISABLE}}}"),
           "spec.portLevelMtls: portLevelMtls needs a selector with matchLabels"},
          {peer("{selector: {matchLabels: {app: a}}, portLevelMtls: {0: {mode: DISABLE}}}"),
           "spec.portLevelMtls.0: key must be a port number from 1 to 65535"},
          {peer("{selector: {matchLabels: {app: a}}, portLevelMtls: {http: {mode: DISABLE}}}"),
           "spec.portLevelMtls.http: key must be a port number from 1 to 65535"},
          {peer("{selector: {matchLabels: {app: a}}, portLevelMtls: {80: {mode: DISABLE}, \"080\": {mode: STRICT}}}"),
           "spec.portLevelMtls.080: port 80 is listed twice"},
          {peer("{selector: {matchLabels: {app: a}}, portLevelMtls: {80: {mode: NONE}}}"),
           "spec.portLevelMtls.80.mode: \"NONE\" is not an mTLS mode (STRICT, PERMISSIVE, DISABLE or UNSET)"},
          {peer("{selector: {matchExpressions: []}}"), "spec.selector.matchExpressions: unknown field"},
      },
      "PeerAuthentication");
}

TEST_CASE("validation: AuthorizationPolicy envelope / action and rule shapes") {
  runCases(
      {
          {policy("{action: DENY, rules: [{}]}"), ""},
          {policy("{action: CUSTOM, provider: {name: ext}}"),
           "spec.action: CUSTOM (external authorization) is not supported by weft"},
          {policy("{action: allow}"), "spec.action: \"allow\" is not an action (ALLOW, DENY or AUDIT)"},
          {policy("{rule: [{}]}"), "spec.rule: unknown field"},
          {policy("{targetRefs: [{kind: Service, name: web}]}"), "spec.targetRefs: field not supported by weft"},
          {policy("{rules: {from: []}}"), "spec.rules: expected a list, got a mapping"},
          {policy("{rules: [{form: [{source: {namespaces: [a]}}]}]}"), "spec.rules[0].form: unknown field"},
          {policy("{rules: [{from: []}]}"), "spec.rules[0].from: must not be empty when present"},
          {policy("{rules: [{from: ~}]}"), "spec.rules[0].from: must not be empty when present"},
          {policy("{rules: [{from: [{sources: {namespaces: [a]}}]}]}"), "spec.rules[0].from[0].sources: unknown field"},
          {policy("{rules: [{from: [{}]}]}"), "spec.rules[0].from[0].source: is required"},
          {policy("{rules: [{to: [{operation: ~}]}]}"), "spec.rules[0].to[0].operation: is required"},
          {fromSource("{}"), "spec.rules[0].from[0].source: a source must set at least one field"},
          {fromSource("{principals: []}"), "spec.rules[0].from[0].source: a source must set at least one field"},
          {toOperation("{}"), "spec.rules[0].to[0].operation: an operation must set at least one field"},
          {policy("{selector: {matchLabels: {app: web}}, rules: [{}]}"), ""},
          {policy("{selector: {matchLabels: [app]}}"), "spec.selector.matchLabels: expected a mapping, got a list"},
      },
      "AuthorizationPolicy");
}

TEST_CASE("validation: AuthorizationPolicy sources") {
  runCases(
      {
          {fromSource("{principals: [\"cluster.local/ns/a/sa/*\", \"*\"], notNamespaces: [\"*-system\"]}"), ""},
          {fromSource("{principals: [\"cluster.local/*/sa/x\"]}"),
           "spec.rules[0].from[0].source.principals[0]: " + kWildcardRule},
          {fromSource("{principals: [\"\"]}"), "spec.rules[0].from[0].source.principals[0]: must not be empty"},
          {fromSource("{namespaces: demo}"), "spec.rules[0].from[0].source.namespaces: expected a list of strings, got a string"},
          {fromSource("{namespaces: [~]}"), "spec.rules[0].from[0].source.namespaces[0]: expected a string, got null"},
          {fromSource("{requestPrincipals: [\"*\"]}"),
           "spec.rules[0].from[0].source.requestPrincipals: field not supported by weft"},
          {fromSource("{remoteIpBlocks: [1.2.3.4]}"), "spec.rules[0].from[0].source.remoteIpBlocks: field not supported by weft"},
          {fromSource("{principal: [a]}"), "spec.rules[0].from[0].source.principal: unknown field"},
          {fromSource("{ipBlocks: [10.0.0.0/8, 10.1.2.3, \"::/0\", \"fd00::1/128\", 0.0.0.0/0]}"), ""},
          {fromSource("{ipBlocks: [10.0.0.0/33]}"),
           "spec.rules[0].from[0].source.ipBlocks[0]: prefix length must be a number from 0 to 32"},
          {fromSource("{notIpBlocks: [\"fd00::/129\"]}"),
           "spec.rules[0].from[0].source.notIpBlocks[0]: prefix length must be a number from 0 to 128"},
          {fromSource("{ipBlocks: [10.0.0.0/]}"),
           "spec.rules[0].from[0].source.ipBlocks[0]: prefix length must be a number from 0 to 32"},
          {fromSource("{ipBlocks: [10.0.0.0/-1]}"),
           "spec.rules[0].from[0].source.ipBlocks[0]: prefix length must be a number from 0 to 32"},
          {fromSource("{ipBlocks: [10.0.0.256]}"),
           "spec.rules[0].from[0].source.ipBlocks[0]: \"10.0.0.256\" is not an IPv4 or IPv6 address"},
          {fromSource("{ipBlocks: [\"fe80::1%eth0/64\"]}"),
           "spec.rules[0].from[0].source.ipBlocks[0]: \"fe80::1%eth0\" is not an IPv4 or IPv6 address"},
          {fromSource("{ipBlocks: [\"*\"]}"), "spec.rules[0].from[0].source.ipBlocks[0]: \"*\" is not an IPv4 or IPv6 address"},
      },
      "AuthorizationPolicy");
}

TEST_CASE("validation: AuthorizationPolicy operations") {
  runCases(
      {
          {toOperation("{ports: [\"1\", \"65535\", 443]}"), ""},
          {toOperation("{ports: [\"0\"]}"), "spec.rules[0].to[0].operation.ports[0]: " + kPortRule},
          {toOperation("{notPorts: [\"65536\"]}"), "spec.rules[0].to[0].operation.notPorts[0]: " + kPortRule},
          {toOperation("{ports: [\"80-90\"]}"), "spec.rules[0].to[0].operation.ports[0]: " + kPortRule},
          {toOperation("{ports: [\"*\"]}"), "spec.rules[0].to[0].operation.ports[0]: " + kPortRule},
          {toOperation("{methods: [GET, \"*\", \"PRO*\", M-SEARCH]}"), ""},
          {toOperation("{methods: [get]}"),
           "spec.rules[0].to[0].operation.methods[0]: HTTP methods are case-sensitive: write them in upper case (GET, "
           "not get)"},
          {toOperation("{methods: [\"GET POST\"]}"),
           "spec.rules[0].to[0].operation.methods[0]: an HTTP method may contain only token characters"},
          {toOperation("{methods: [GET, [POST]]}"),
           "spec.rules[0].to[0].operation.methods[1]: expected a string, got a list"},
          {toOperation("{method: [GET]}"), "spec.rules[0].to[0].operation.method: unknown field"},
          {toOperation("{paths: [\"/api/*\", \"*.js\", \"*\", \"/exact\"], notPaths: [\"/api/admin*\"]}"), ""},
          {toOperation("{paths: [\"/api/*/admin\"]}"), "spec.rules[0].to[0].operation.paths[0]: " + kWildcardRule},
          {toOperation("{paths: [\"*/admin/*\"]}"), "spec.rules[0].to[0].operation.paths[0]: " + kWildcardRule},
          {toOperation("{notPaths: [\"api/v1\"]}"),
           "spec.rules[0].to[0].operation.notPaths[0]: a path must start with '/' or '*'"},
          {toOperation("{paths: [\"\"]}"), "spec.rules[0].to[0].operation.paths[0]: must not be empty"},
          {toOperation("{hosts: [\"*.example.com\", \"example.*\"]}"), ""},
          {toOperation("{hosts: [\"*.example.*\"]}"), "spec.rules[0].to[0].operation.hosts[0]: " + kWildcardRule},
      },
      "AuthorizationPolicy");
}

TEST_CASE("validation: AuthorizationPolicy conditions") {
  runCases(
      {
          {when("{key: \"request.headers[x-user]\", values: [alice]}"), ""},
          {when("{key: source.ip, notValues: [10.0.0.0/8]}"), ""},
          {when("{key: destination.ip, values: [\"fd00::1\"]}"), ""},
          {when("{key: source.namespace, values: [\"team-*\"]}"), ""},
          {when("{key: source.principal, values: [\"cluster.local/ns/a/sa/b\"]}"), ""},
          {when("{key: connection.sni, values: [\"*.svc.cluster.local\"]}"), ""},
          {when("{key: destination.port, values: [\"8080\"]}"), ""},
          {when("{values: [a]}"), "spec.rules[0].when[0].key: is required"},
          {when("{key: \"\", values: [a]}"), "spec.rules[0].when[0].key: must not be empty"},
          {when("{key: source.ip}"), "spec.rules[0].when[0]: a condition needs values or notValues"},
          {when("{key: source.ip, values: [], notValues: []}"), "spec.rules[0].when[0]: a condition needs values or notValues"},
          {when("{key: source.ip, value: [1.2.3.4]}"), "spec.rules[0].when[0].value: unknown field"},
          {when("{key: source.ip, values: [1.2.3]}"), "spec.rules[0].when[0].values[0]: \"1.2.3\" is not an IPv4 or IPv6 address"},
          {when("{key: destination.port, notValues: [http]}"), "spec.rules[0].when[0].notValues[0]: " + kPortRule},
          {when("{key: \"request.headers[]\", values: [a]}"), "spec.rules[0].when[0].key: header name must not be empty"},
          {when("{key: \"request.headers[a b]\", values: [a]}"),
           "spec.rules[0].when[0].key: \"a b\" is not a valid header name"},
          {when("{key: \"request.headers[x]\", values: [\"a*b\"]}"), "spec.rules[0].when[0].values[0]: " + kWildcardRule},
          {when("{key: \"request.auth.claims[iss]\", values: [x]}"),
           "spec.rules[0].when[0].key: condition key \"request.auth.claims[iss]\" is not supported by weft"},
          {when("{key: remote.ip, values: [1.2.3.4]}"),
           "spec.rules[0].when[0].key: condition key \"remote.ip\" is not supported by weft"},
          {when("{key: source.ipp, values: [1.2.3.4]}"),
           "spec.rules[0].when[0].key: unknown condition key \"source.ipp\" (known: request.headers[<name>], source.ip, "
           "source.namespace, source.principal, destination.ip, destination.port, connection.sni)"},
      },
      "AuthorizationPolicy");
}

TEST_CASE("validation: generic resources need a spec mapping") {
  const std::string head = "apiVersion: weft.dev/v1alpha1\nkind: TrafficPolicy\nmetadata: {name: t}\n";
  runCases(
      {
          {head + "spec: {timeout: 1s}\n", ""},
          {head, "spec: is required"},
          {head + "spec: ~\n", "spec: is required"},
          {head + "spec: [a]\n", "spec: expected a mapping, got a list"},
          {head + "spec: {a: 1, a: 2}\n", "spec.a: duplicate key"},
          {head + "spec: {? [x] : 1}\n", "spec: map keys must be strings, got a list"},
      },
      "TrafficPolicy");
}

// Reading manifests: every kind with all its fields, the document shapes
// kubectl accepts (multi-document YAML, List, JSON), and where a broken
// document is reported.
#include <doctest/doctest.h>

#include <chrono>
#include <string>

#include "weft/common/log.h"
#include "weft/config/manifest_loader.h"

using namespace weft::config;

namespace {

// Rejections log at warn; keep test output readable.
struct QuietLogs {
  weft::log::Level saved = weft::log::level();
  QuietLogs() { weft::log::setLevel(weft::log::Level::kOff); }
  ~QuietLogs() { weft::log::setLevel(saved); }
};

Snapshot load(std::string_view text, std::string_view file = "test.yaml") {
  QuietLogs quiet;
  Snapshot snapshot;
  loadManifestText(text, file, snapshot);
  return snapshot;
}

std::string where(const SourceLocation& source) { return source.file + ":" + std::to_string(source.line); }

std::string describeRejections(const Snapshot& s) {
  std::string out;
  for (const auto& r : s.rejected)
    out += r.source.file + ":" + std::to_string(r.source.line) + " [" + r.kind + " " + r.name + "] " + r.reason + "\n";
  return out;
}

}  // namespace

TEST_CASE("Namespace: name, labels, annotations; cluster-scoped ignores metadata.namespace") {
  auto s = load(R"(apiVersion: v1
kind: Namespace
metadata:
  name: bookinfo
  namespace: ignored
  labels:
    weft.dev/mesh: enabled
    tier: 3
    critical: true
  annotations:
    owner: team-a
)");
  INFO(describeRejections(s));
  REQUIRE(s.rejected.empty());
  REQUIRE(s.namespaces.size() == 1);
  const auto& ns = s.namespaces[0];
  CHECK(ns.meta.name == "bookinfo");
  CHECK(ns.meta.namespace_.empty());
  CHECK(ns.meta.labels == Labels{{"weft.dev/mesh", "enabled"}, {"tier", "3"}, {"critical", "true"}});
  CHECK(ns.meta.annotations == Labels{{"owner", "team-a"}});
  CHECK(ns.meta.source.file == "test.yaml");
  CHECK(ns.meta.source.line == 1);
}

TEST_CASE("Pod: all fields") {
  auto s = load(R"(# a pod as `kubectl get pod -o yaml` shows it
apiVersion: v1
kind: Pod
metadata:
  name: reviews-7d9f
  namespace: bookinfo
  labels: {app: reviews, version: v1}
  annotations:
    weft.dev/netns: /var/run/netns/cni-1234
spec:
  nodeName: node-a.cluster
  serviceAccountName: reviews
  containers:
    - name: app
      image: reviews:1
status:
  podIP: 10.244.1.7
  podIPs:
    - ip: 10.244.1.7
    - ip: fd00:10:244:1::7
)");
  INFO(describeRejections(s));
  REQUIRE(s.rejected.empty());
  REQUIRE(s.pods.size() == 1);
  const Pod& pod = s.pods[0];
  CHECK(pod.meta.name == "reviews-7d9f");
  CHECK(pod.meta.namespace_ == "bookinfo");
  CHECK(pod.meta.labels == Labels{{"app", "reviews"}, {"version", "v1"}});
  CHECK(pod.meta.source.line == 2);
  CHECK(pod.nodeName == "node-a.cluster");
  CHECK(pod.serviceAccount == "reviews");
  CHECK(pod.podIPs == std::vector<std::string>{"10.244.1.7", "fd00:10:244:1::7"});
  CHECK(pod.netnsPath == "/var/run/netns/cni-1234");
}

TEST_CASE("Pod: defaults and fallbacks") {
  auto s = load(R"(apiVersion: v1
kind: Pod
metadata: {name: a}
status: {podIP: 10.0.0.1}
---
apiVersion: v1
kind: Pod
metadata: {name: b, namespace: x}
spec: {serviceAccount: legacy}
---
apiVersion: v1
kind: Pod
metadata: {name: c}
spec: {serviceAccountName: ""}
status: {podIP: ""}
)");
  INFO(describeRejections(s));
  REQUIRE(s.rejected.empty());
  REQUIRE(s.pods.size() == 3);
  CHECK(s.pods[0].meta.namespace_ == "default");
  CHECK(s.pods[0].serviceAccount == "default");
  CHECK(s.pods[0].podIPs == std::vector<std::string>{"10.0.0.1"});
  CHECK(s.pods[0].netnsPath.empty());
  CHECK(s.pods[0].nodeName.empty());
  CHECK(s.pods[1].serviceAccount == "legacy");
  CHECK(s.pods[2].serviceAccount == "default");
  CHECK(s.pods[2].podIPs.empty());
}

TEST_CASE("Service: all fields and defaults") {
  auto s = load(R"(apiVersion: v1
kind: Service
metadata:
  name: reviews
  namespace: bookinfo
spec:
  type: ClusterIP
  clusterIP: 10.96.0.20
  clusterIPs: [10.96.0.20, "fd00:10:96::20"]
  selector:
    app: reviews
  ports:
    - name: http
      port: 9080
      targetPort: http-web
      appProtocol: http
    - name: grpc
      port: 9090
      targetPort: 19090
      protocol: TCP
      appProtocol: kubernetes.io/h2c
    - name: dns
      port: 53
      protocol: UDP
---
apiVersion: v1
kind: Service
metadata: {name: headless}
spec:
  clusterIP: None
  ports: [{port: 80}]
---
apiVersion: v1
kind: Service
metadata: {name: pending}
spec:
  clusterIP: ""
)");
  INFO(describeRejections(s));
  REQUIRE(s.rejected.empty());
  REQUIRE(s.services.size() == 3);
  const Service& svc = s.services[0];
  CHECK(svc.meta.name == "reviews");
  CHECK(svc.clusterIPs == std::vector<std::string>{"10.96.0.20", "fd00:10:96::20"});
  CHECK(svc.selector == Labels{{"app", "reviews"}});
  REQUIRE(svc.ports.size() == 3);
  CHECK(svc.ports[0].name == "http");
  CHECK(svc.ports[0].port == 9080);
  CHECK(svc.ports[0].targetPort == "http-web");
  CHECK(svc.ports[0].protocol == "TCP");
  CHECK(svc.ports[0].appProtocol == "http");
  CHECK(svc.ports[1].targetPort == "19090");
  CHECK(svc.ports[1].appProtocol == "kubernetes.io/h2c");
  CHECK(svc.ports[2].protocol == "UDP");
  CHECK(svc.ports[2].targetPort == "53");  // defaults to port

  CHECK(s.services[1].clusterIPs == std::vector<std::string>{"None"});
  CHECK(s.services[1].ports[0].name.empty());
  CHECK(s.services[1].meta.namespace_ == "default");
  CHECK(s.services[2].clusterIPs.empty());
  CHECK(s.services[2].ports.empty());
}

TEST_CASE("PeerAuthentication: namespace-wide and with selector and portLevelMtls") {
  auto s = load(R"(apiVersion: weft.dev/v1alpha1
kind: PeerAuthentication
metadata: {name: default, namespace: payments}
spec:
  mtls: {mode: STRICT}
---
apiVersion: weft.dev/v1alpha1
kind: PeerAuthentication
metadata: {name: ledger, namespace: payments}
spec:
  selector:
    matchLabels: {app: ledger}
  mtls: {mode: PERMISSIVE}
  portLevelMtls:
    9090: {mode: DISABLE}
    "8081": {mode: STRICT}
    8443: {}
---
apiVersion: weft.dev/v1alpha1
kind: PeerAuthentication
metadata: {name: unset}
spec: {}
---
apiVersion: weft.dev/v1alpha1
kind: PeerAuthentication
metadata: {name: empty-selector}
spec:
  selector: {matchLabels: {}}
  mtls: {mode: UNSET}
)");
  INFO(describeRejections(s));
  REQUIRE(s.rejected.empty());
  REQUIRE(s.peerAuthentications.size() == 4);
  const auto& ns = s.peerAuthentications[0];
  CHECK(ns.meta.namespace_ == "payments");
  CHECK_FALSE(ns.selector.has_value());
  CHECK(ns.mode == MtlsMode::kStrict);
  CHECK(ns.portLevelMtls.empty());

  const auto& ledger = s.peerAuthentications[1];
  REQUIRE(ledger.selector.has_value());
  CHECK(ledger.selector->matchLabels == Labels{{"app", "ledger"}});
  CHECK(ledger.mode == MtlsMode::kPermissive);
  CHECK(ledger.portLevelMtls ==
        std::map<std::uint16_t, MtlsMode>{{9090, MtlsMode::kDisable}, {8081, MtlsMode::kStrict}, {8443, MtlsMode::kUnset}});

  CHECK(s.peerAuthentications[2].mode == MtlsMode::kUnset);
  CHECK(s.peerAuthentications[2].meta.namespace_ == "default");
  // An empty selector selects the whole namespace, same as none.
  CHECK_FALSE(s.peerAuthentications[3].selector.has_value());
}

TEST_CASE("AuthorizationPolicy: every field of from, to and when") {
  auto s = load(R"(apiVersion: weft.dev/v1alpha1
kind: AuthorizationPolicy
metadata:
  name: allow-get
  namespace: demo
spec:
  selector:
    matchLabels:
      app: web
  rules:
    - from:
        - source:
            principals: ["cluster.local/ns/demo/sa/client", "cluster.local/ns/ops/*"]
            notPrincipals: ["cluster.local/ns/demo/sa/bad"]
            namespaces: [demo]
            notNamespaces: ["kube-*"]
            ipBlocks: ["10.0.0.0/8", "192.168.1.1", "fd00::/8"]
            notIpBlocks: ["10.1.0.0/16"]
      to:
        - operation:
            hosts: ["web.demo.svc.cluster.local", "*.example.com"]
            notHosts: ["admin.example.com"]
            ports: ["8080", 9090]
            notPorts: ["9091"]
            methods: [GET, HEAD]
            notMethods: [DELETE]
            paths: ["/api/*", "*.png", "/healthz", "*"]
            notPaths: ["/api/admin/*"]
      when:
        - key: request.headers[x-user]
          values: ["alice", "bob*"]
        - key: source.ip
          notValues: ["10.9.9.9/32"]
        - key: destination.port
          values: ["8080"]
    - {}
---
apiVersion: weft.dev/v1alpha1
kind: AuthorizationPolicy
metadata: {name: deny-all-of-nothing, namespace: demo}
spec:
  action: DENY
---
apiVersion: weft.dev/v1alpha1
kind: AuthorizationPolicy
metadata: {name: audit, namespace: demo}
spec:
  action: AUDIT
  rules: [{to: [{operation: {paths: [/login]}}]}]
---
apiVersion: weft.dev/v1alpha1
kind: AuthorizationPolicy
metadata: {name: deny-everything, namespace: demo}
spec: {}
)");
  INFO(describeRejections(s));
  REQUIRE(s.rejected.empty());
  REQUIRE(s.authorizationPolicies.size() == 4);
  const auto& p = s.authorizationPolicies[0];
  CHECK(p.action == AuthzAction::kAllow);
  REQUIRE(p.selector.has_value());
  CHECK(p.selector->matchLabels == Labels{{"app", "web"}});
  REQUIRE(p.rules.size() == 2);
  const AuthzRule& r = p.rules[0];
  REQUIRE(r.from.size() == 1);
  CHECK(r.from[0].principals.values == std::vector<std::string>{"cluster.local/ns/demo/sa/client", "cluster.local/ns/ops/*"});
  CHECK(r.from[0].principals.notValues == std::vector<std::string>{"cluster.local/ns/demo/sa/bad"});
  CHECK(r.from[0].namespaces.values == std::vector<std::string>{"demo"});
  CHECK(r.from[0].namespaces.notValues == std::vector<std::string>{"kube-*"});
  CHECK(r.from[0].ipBlocks.values == std::vector<std::string>{"10.0.0.0/8", "192.168.1.1", "fd00::/8"});
  CHECK(r.from[0].ipBlocks.notValues == std::vector<std::string>{"10.1.0.0/16"});
  REQUIRE(r.to.size() == 1);
  const AuthzOperation& op = r.to[0];
  CHECK(op.hosts.values == std::vector<std::string>{"web.demo.svc.cluster.local", "*.example.com"});
  CHECK(op.hosts.notValues == std::vector<std::string>{"admin.example.com"});
  CHECK(op.ports.values == std::vector<std::string>{"8080", "9090"});
  CHECK(op.ports.notValues == std::vector<std::string>{"9091"});
  CHECK(op.methods.values == std::vector<std::string>{"GET", "HEAD"});
  CHECK(op.methods.notValues == std::vector<std::string>{"DELETE"});
  CHECK(op.paths.values == std::vector<std::string>{"/api/*", "*.png", "/healthz", "*"});
  CHECK(op.paths.notValues == std::vector<std::string>{"/api/admin/*"});
  REQUIRE(r.when.size() == 3);
  CHECK(r.when[0].key == "request.headers[x-user]");
  CHECK(r.when[0].values == std::vector<std::string>{"alice", "bob*"});
  CHECK(r.when[1].key == "source.ip");
  CHECK(r.when[1].notValues == std::vector<std::string>{"10.9.9.9/32"});
  CHECK(r.when[2].values == std::vector<std::string>{"8080"});
  // `- {}` is the match-everything rule.
  CHECK(p.rules[1].from.empty());
  CHECK(p.rules[1].to.empty());
  CHECK(p.rules[1].when.empty());

  CHECK(s.authorizationPolicies[1].action == AuthzAction::kDeny);
  CHECK(s.authorizationPolicies[1].rules.empty());
  CHECK_FALSE(s.authorizationPolicies[1].selector.has_value());
  CHECK(s.authorizationPolicies[2].action == AuthzAction::kAudit);
  CHECK(s.authorizationPolicies[3].action == AuthzAction::kAllow);
  CHECK(s.authorizationPolicies[3].rules.empty());
}

TEST_CASE("TrafficPolicy, HTTPRoute and GRPCRoute are kept with their spec as JSON") {
  auto s = load(R"(apiVersion: weft.dev/v1alpha1
kind: TrafficPolicy
metadata: {name: reviews, namespace: bookinfo}
spec:
  loadBalancer: {type: RING_HASH}
  retries: {attempts: 3, perTryTimeout: 500ms, budget: 0.25, enabled: true}
  quoted: "80"
  nothing: ~
  big: 18446744073709551615
  negative: -5
  hex: 0x1F
  inf: .inf
  tagged: !!str 7
  list: [1, two, {three: 3}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: reviews, namespace: bookinfo}
spec:
  parentRefs: [{group: "", kind: Service, name: reviews, port: 9080}]
  rules:
    - backendRefs: [{name: reviews-v1, port: 9080, weight: 90}]
---
apiVersion: gateway.networking.k8s.io/v1beta1
kind: GRPCRoute
metadata: {name: ratings}
spec:
  parentRefs: [{kind: Service, name: ratings}]
)");
  INFO(describeRejections(s));
  REQUIRE(s.rejected.empty());
  REQUIRE(s.otherResources.size() == 3);
  const auto& tp = s.otherResources[0];
  CHECK(tp.apiVersion == "weft.dev/v1alpha1");
  CHECK(tp.kind == "TrafficPolicy");
  CHECK(tp.meta.name == "reviews");
  CHECK(tp.meta.namespace_ == "bookinfo");
  CHECK(tp.spec["loadBalancer"]["type"] == "RING_HASH");
  CHECK(tp.spec["retries"]["attempts"] == 3);
  CHECK(tp.spec["retries"]["perTryTimeout"] == "500ms");
  CHECK(tp.spec["retries"]["budget"] == 0.25);
  CHECK(tp.spec["retries"]["enabled"] == true);
  CHECK(tp.spec["quoted"] == "80");
  CHECK(tp.spec["nothing"].is_null());
  CHECK(tp.spec["big"] == 18446744073709551615ULL);
  CHECK(tp.spec["negative"] == -5);
  CHECK(tp.spec["hex"] == 31);
  CHECK(tp.spec["inf"] == ".inf");
  CHECK(tp.spec["tagged"] == "7");
  CHECK(tp.spec["list"] == nlohmann::json::parse(R"([1, "two", {"three": 3}])"));

  const auto& route = s.otherResources[1];
  CHECK(route.kind == "HTTPRoute");
  CHECK(route.apiVersion == "gateway.networking.k8s.io/v1");
  CHECK(route.spec["parentRefs"][0]["kind"] == "Service");
  CHECK(route.spec["parentRefs"][0]["group"] == "");
  CHECK(route.spec["rules"][0]["backendRefs"][0]["weight"] == 90);

  CHECK(s.otherResources[2].kind == "GRPCRoute");
  CHECK(s.otherResources[2].apiVersion == "gateway.networking.k8s.io/v1beta1");
  CHECK(s.otherResources[2].meta.namespace_ == "default");
}

TEST_CASE("multi-document YAML: empty and comment-only documents are skipped; lines are per document") {
  auto s = load(R"(---
# leading comment-only document
---
apiVersion: v1
kind: Namespace
metadata: {name: one}
---
---

...
---   # a marker with a comment
# comment first
apiVersion: v1
kind: Namespace
metadata: {name: two}
--- {apiVersion: v1, kind: Namespace, metadata: {name: three}}
---
null
)");
  INFO(describeRejections(s));
  REQUIRE(s.rejected.empty());
  REQUIRE(s.namespaces.size() == 3);
  CHECK(s.namespaces[0].meta.name == "one");
  CHECK(s.namespaces[0].meta.source.line == 4);
  CHECK(s.namespaces[1].meta.name == "two");
  CHECK(s.namespaces[1].meta.source.line == 13);
  CHECK(s.namespaces[2].meta.name == "three");
  CHECK(s.namespaces[2].meta.source.line == 16);
}

TEST_CASE("YAML directives stay with the document that follows them") {
  auto s = load("%YAML 1.2\n---\napiVersion: v1\nkind: Namespace\nmetadata: {name: directive}\n");
  INFO(describeRejections(s));
  CHECK(s.rejected.empty());
  REQUIRE(s.namespaces.size() == 1);
  CHECK(s.namespaces[0].meta.source.line == 3);
}

TEST_CASE("v1 List items are expanded; typed lists lend their kind to items") {
  auto s = load(R"(apiVersion: v1
kind: List
items:
  - apiVersion: v1
    kind: Namespace
    metadata: {name: listed}
  - apiVersion: apps/v1
    kind: Deployment
    metadata: {name: ignored}
  - ~
  - apiVersion: v1
    kind: Service
    metadata: {name: Bad_Name}
---
apiVersion: v1
kind: PodList
items:
  - metadata: {name: p1, namespace: x}
  - metadata: {name: p2, namespace: x}
)");
  REQUIRE(s.namespaces.size() == 1);
  CHECK(s.namespaces[0].meta.name == "listed");
  CHECK(s.namespaces[0].meta.source.line == 4);
  REQUIRE(s.pods.size() == 2);
  CHECK(s.pods[0].meta.name == "p1");
  CHECK(s.pods[1].meta.source.line == 19);
  REQUIRE(s.rejected.size() == 1);
  CHECK(s.rejected[0].source.line == 13);
  CHECK(s.rejected[0].reason.starts_with("Service: items[3].metadata.name: must be a DNS-1035 label"));
}

TEST_CASE("List envelope errors") {
  auto nested = load(R"(apiVersion: v1
kind: List
items:
  - apiVersion: v1
    kind: List
    items: []
)");
  REQUIRE(nested.rejected.size() == 1);
  CHECK(nested.rejected[0].reason == "items[0]: a List inside a List is not supported");
  CHECK(nested.rejected[0].source.line == 4);

  auto wrongVersion = load("apiVersion: v2\nkind: List\nitems: []\n");
  REQUIRE(wrongVersion.rejected.size() == 1);
  CHECK(wrongVersion.rejected[0].reason == "apiVersion: \"v2\" is not served for List (expected v1)");

  auto notAList = load("apiVersion: v1\nkind: List\nitems: {a: 1}\n");
  REQUIRE(notAList.rejected.size() == 1);
  CHECK(notAList.rejected[0].reason == "items: expected a list, got a mapping");
  CHECK(notAList.rejected[0].kind.empty());
}

TEST_CASE("JSON files: a List from kubectl get -o json, indented with tabs") {
  auto s = load("{\n\t\"apiVersion\": \"v1\",\n\t\"kind\": \"List\",\n\t\"items\": [\n\t\t{\n"
                "\t\t\t\"apiVersion\": \"v1\",\n\t\t\t\"kind\": \"Service\",\n"
                "\t\t\t\"metadata\": {\"name\": \"web\", \"namespace\": \"demo\", \"labels\": {\"n\": 1}},\n"
                "\t\t\t\"spec\": {\"ports\": [{\"port\": 80, \"targetPort\": 8080}]}\n\t\t}\n\t]\n}\n",
                "svc.json");
  INFO(describeRejections(s));
  REQUIRE(s.rejected.empty());
  REQUIRE(s.services.size() == 1);
  CHECK(s.services[0].meta.name == "web");
  CHECK(s.services[0].meta.labels == Labels{{"n", "1"}});
  CHECK(s.services[0].ports[0].targetPort == "8080");
  CHECK(where(s.services[0].meta.source) == "svc.json:5");
}

TEST_CASE("malformed YAML: rejected at the exact line; sibling documents still load") {
  auto s = load(R"(apiVersion: v1
kind: Namespace
metadata: {name: before}
---
apiVersion: v1
kind: Namespace
metadata:
  name: broken
   labels: {a: b}
---
apiVersion: v1
kind: Namespace
metadata: {name: after}
)",
                "mixed.yaml");
  REQUIRE(s.namespaces.size() == 2);
  CHECK(s.namespaces[0].meta.name == "before");
  CHECK(s.namespaces[1].meta.name == "after");
  CHECK(s.namespaces[1].meta.source.line == 11);
  REQUIRE(s.rejected.size() == 1);
  const auto& r = s.rejected[0];
  CHECK(r.source.file == "mixed.yaml");
  CHECK(r.source.line == 9);
  CHECK(r.kind.empty());  // unreadable: last_good keeps the file's last good objects
  CHECK(r.name.empty());
  CHECK(r.reason.starts_with("YAML syntax error: "));
}

TEST_CASE("malformed YAML in the first and last documents") {
  auto s = load("key: [unclosed\n---\napiVersion: v1\nkind: Namespace\nmetadata: {name: ok}\n---\na: b\n c: d\n");
  REQUIRE(s.namespaces.size() == 1);
  REQUIRE(s.rejected.size() == 2);
  CHECK(s.rejected[0].source.line == 2);  // yaml-cpp notices the open flow sequence at the next token
  CHECK(s.rejected[1].source.line == 8);
}

TEST_CASE("documents that are not objects are rejected without a kind") {
  struct Case {
    const char* text;
    int line;
    const char* reason;
  };
  const Case cases[] = {
      {"just a string\n", 1, "expected a mapping with apiVersion and kind, got a string"},
      {"\n\n- a\n- b\n", 3, "expected a mapping with apiVersion and kind, got a list"},
      {"apiVersion: v1\nmetadata: {name: x}\n", 1, "kind: is required"},
      {"apiVersion: v1\nkind: [Pod]\n", 2, "kind: expected a string, got a list"},
      {"apiVersion: v1\nkind: Pod\nkind: Service\n", 3, "kind: duplicate key"},
      {"base: &b {x: 1}\n<<: *b\nkind: Pod\n", 2, "YAML merge keys (<<) are not supported"},
      {"? [a, b]\n: c\n", 1, "map keys must be strings, got a list"},
      {"apiVersion: v1\nkind: Pod\nmetadata: {namespace: x}\n", 3, "Pod: metadata.name: is required"},
      {"apiVersion: v1\nkind: Pod\nmetadata: {generateName: x-}\n", 3,
       "Pod: metadata.name: is required (generateName is not supported)"},
      {"apiVersion: v1\nkind: Pod\n", 1, "Pod: metadata.name: is required"},
      {"apiVersion: v1\nkind: Pod\nmetadata: []\n", 3, "Pod: metadata: expected a mapping, got a list"},
      {"apiVersion: v1\nkind: Pod\nmetadata:\n  name: x\n  namespace: Bad\n", 5,
       "Pod: metadata.namespace: must be a DNS-1123 label: lower case letters, digits and '-', starting and ending "
       "with a letter or digit"},
  };
  for (const Case& c : cases) {
    CAPTURE(c.text);
    auto s = load(c.text);
    REQUIRE(s.rejected.size() == 1);
    CHECK(s.rejected[0].kind == "");
    CHECK(s.rejected[0].source.line == c.line);
    CHECK(s.rejected[0].reason == c.reason);
  }
}

TEST_CASE("unknown kinds are ignored, not rejected") {
  auto s = load(R"(apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec: {replicas: 3}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: settings}
data: {a: b}
---
kind: SomethingWithoutApiVersion
---
apiVersion: example.com/v1
kind: WidgetList
items: [{metadata: {name: w}}]
)");
  CHECK(s.rejected.empty());
  CHECK(s.pods.empty());
  CHECK(s.otherResources.empty());
}

TEST_CASE("a known kind under a wrong or missing apiVersion is rejected by name") {
  struct Case {
    const char* text;
    const char* kind;
    const char* name;
    const char* reason;
  };
  const Case cases[] = {
      {"apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata: {name: p, namespace: n}\n",
       "AuthorizationPolicy", "n/p",
       "apiVersion: \"security.istio.io/v1\" is not served for AuthorizationPolicy (expected weft.dev/v1alpha1)"},
      {"apiVersion: apps/v1\nkind: Pod\nmetadata: {name: p}\n", "Pod", "default/p",
       "apiVersion: \"apps/v1\" is not served for Pod (expected v1)"},
      {"apiVersion: gateway.networking.k8s.io/v1alpha2\nkind: HTTPRoute\nmetadata: {name: r}\n", "HTTPRoute",
       "default/r",
       "apiVersion: \"gateway.networking.k8s.io/v1alpha2\" is not served for HTTPRoute (expected "
       "gateway.networking.k8s.io/v1 or gateway.networking.k8s.io/v1beta1)"},
      {"kind: Namespace\nmetadata: {name: n}\n", "Namespace", "n", "apiVersion: is required"},
  };
  for (const Case& c : cases) {
    CAPTURE(c.text);
    auto s = load(c.text);
    REQUIRE(s.rejected.size() == 1);
    CHECK(s.rejected[0].kind == c.kind);
    CHECK(s.rejected[0].name == c.name);
    CHECK(s.rejected[0].reason == c.reason);
  }
}

TEST_CASE("duplicates: the later object is rejected and points at the first") {
  const char* pod = "apiVersion: v1\nkind: Pod\nmetadata: {name: web, namespace: demo}\n";
  Snapshot s;
  {
    QuietLogs quiet;
    loadManifestText(pod, "a.yaml", s);
    loadManifestText(std::string("# moved down\n") + pod + "---\n" + pod, "b.yaml", s);
    // Same name, other kind or other namespace: not duplicates.
    loadManifestText("apiVersion: v1\nkind: Service\nmetadata: {name: web, namespace: demo}\n---\n"
                     "apiVersion: v1\nkind: Pod\nmetadata: {name: web, namespace: prod}\n",
                     "c.yaml", s);
    // HTTPRoute v1 and v1beta1 are the same resource.
    loadManifestText("apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\nmetadata: {name: r}\nspec: {}\n---\n"
                     "apiVersion: gateway.networking.k8s.io/v1beta1\nkind: HTTPRoute\nmetadata: {name: r}\nspec: {}\n",
                     "d.yaml", s);
  }
  CHECK(s.pods.size() == 2);
  CHECK(s.services.size() == 1);
  CHECK(s.otherResources.size() == 1);
  REQUIRE(s.rejected.size() == 3);
  CHECK(where(s.rejected[0].source) == "b.yaml:2");
  CHECK(s.rejected[0].kind == "Pod");
  CHECK(s.rejected[0].name == "demo/web");
  CHECK(s.rejected[0].reason == "duplicate of a.yaml:1");
  CHECK(where(s.rejected[1].source) == "b.yaml:6");
  CHECK(s.rejected[1].reason == "duplicate of a.yaml:1");
  CHECK(s.rejected[2].kind == "HTTPRoute");
  CHECK(s.rejected[2].reason == "duplicate of d.yaml:1");
}

TEST_CASE("an invalid first copy does not make a valid second copy a duplicate") {
  auto s = load(R"(apiVersion: v1
kind: Service
metadata: {name: web}
spec: {ports: [{port: 0}]}
---
apiVersion: v1
kind: Service
metadata: {name: web}
spec: {ports: [{port: 80}]}
)");
  CHECK(s.services.size() == 1);
  REQUIRE(s.rejected.size() == 1);
  CHECK(s.rejected[0].reason == "spec.ports[0].port: must be a port number from 1 to 65535");
}

TEST_CASE("field errors carry the line of the bad field") {
  auto s = load(R"(apiVersion: weft.dev/v1alpha1
kind: AuthorizationPolicy
metadata:
  name: allow-get
  namespace: demo
spec:
  rules:
    - to:
        - operation:
            methods:
              - GET
              - [POST]
)");
  REQUIRE(s.rejected.size() == 1);
  const auto& r = s.rejected[0];
  CHECK(r.kind == "AuthorizationPolicy");
  CHECK(r.name == "demo/allow-get");
  CHECK(r.source.line == 12);
  CHECK(r.reason == "spec.rules[0].to[0].operation.methods[1]: expected a string, got a list");
}

TEST_CASE("hostile input: alias bombs and deep nesting are rejected, not expanded") {
  std::string bomb = "a: &a [x, x, x, x, x, x, x, x, x, x]\n";
  char previous = 'a';
  for (char name = 'b'; name <= 'j'; ++name) {
    bomb += std::string(1, name) + ": &" + name + " [";
    for (int i = 0; i < 10; ++i) bomb += std::string(i ? ", *" : "*") + previous;
    bomb += "]\n";
    previous = name;
  }
  std::string doc = "apiVersion: weft.dev/v1alpha1\nkind: TrafficPolicy\nmetadata: {name: bomb}\nspec:\n";
  for (std::size_t start = 0; start < bomb.size();) {
    auto end = bomb.find('\n', start);
    doc += "  " + bomb.substr(start, end - start + 1);
    start = end + 1;
  }
  auto began = std::chrono::steady_clock::now();
  auto s = load(doc);
  CHECK(std::chrono::steady_clock::now() - began < std::chrono::seconds(10));
  REQUIRE(s.rejected.size() == 1);
  CHECK(s.rejected[0].reason.find("document too large") != std::string::npos);

  std::string deep = "apiVersion: weft.dev/v1alpha1\nkind: TrafficPolicy\nmetadata: {name: deep}\nspec: {a: ";
  for (int i = 0; i < 100; ++i) deep += "[";
  for (int i = 0; i < 100; ++i) deep += "]";
  deep += "}\n";
  auto d = load(deep);
  REQUIRE(d.rejected.size() == 1);
  CHECK(d.rejected[0].reason.find("nested deeper than 64 levels") != std::string::npos);

  // Deeper than yaml-cpp's own recursion limit: a syntax error, no stack overflow.
  auto abyss = load(std::string(100000, '[') + "\n");
  REQUIRE(abyss.rejected.size() == 1);
  CHECK(abyss.rejected[0].kind.empty());

  auto big = load(std::string(17 * 1024 * 1024, '#'));
  REQUIRE(big.rejected.size() == 1);
  CHECK(big.rejected[0].reason.starts_with("file too large"));
}

TEST_CASE("non-UTF-8 and control bytes do not break loading") {
  auto s = load("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: ok\n  labels: {a: \"\\u00e9\", b: \"\xff\xfe\"}\n");
  // yaml-cpp may or may not accept the raw bytes; either way nothing throws.
  CHECK(s.namespaces.size() + s.rejected.size() == 1);
}

TEST_CASE("a stray token outside any document is a syntax error, not an endless loop") {
  // yaml-cpp 0.7's LoadAll loops forever on these (jbeder/yaml-cpp#1040).
  struct Case {
    const char* text;
    int line;
    const char* reason;
  };
  const Case cases[] = {
      {",\n", 1, "YAML syntax error: unexpected ',' outside of any document"},
      {"# comment\n,\xff\n", 2, "YAML syntax error: unexpected ',' outside of any document"},
      {"- a\n- b\n,\n", 3, "YAML syntax error: unexpected ',' outside of any document"},
      {"{a: 1},\n", 1, "YAML syntax error: unexpected ',' outside of any document"},
  };
  for (const Case& c : cases) {
    CAPTURE(c.text);
    auto s = load(std::string(c.text) + "---\napiVersion: v1\nkind: Namespace\nmetadata: {name: next}\n");
    CHECK(s.namespaces.size() == 1);  // the document after it still loads
    REQUIRE(s.rejected.size() == 1);
    CHECK(s.rejected[0].source.line == c.line);
    CHECK(s.rejected[0].reason == c.reason);
  }
  auto inMap = load("apiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n,\n");
  REQUIRE(inMap.rejected.size() == 1);
  CHECK(inMap.rejected[0].source.line == 4);
  CHECK(inMap.namespaces.empty());
}

TEST_CASE("documents ended by '...' are read one by one") {
  auto s = load(R"(apiVersion: v1
kind: Namespace
metadata: {name: first}
...
apiVersion: v1
kind: Namespace
metadata: {name: second}
... # end
%YAML 1.2
---
apiVersion: v1
kind: Namespace
metadata: {name: third}
...
)");
  INFO(describeRejections(s));
  REQUIRE(s.rejected.empty());
  REQUIRE(s.namespaces.size() == 3);
  CHECK(s.namespaces[1].meta.name == "second");
  CHECK(s.namespaces[1].meta.source.line == 5);
  CHECK(s.namespaces[2].meta.source.line == 11);
}

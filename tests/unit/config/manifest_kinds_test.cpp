// Reading manifests, kind by kind: every field of each kind weft types, its
// defaults, and the kinds kept as JSON for later modules.
#include <doctest/doctest.h>

#include <chrono>
#include <string>

#include "loader_test_support.h"

using namespace weft::config;
using namespace weft::config::testing;

TEST_CASE("Namespace: name / labels / annotations - cluster-scoped ignores metadata.namespace") {
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

TEST_CASE("AuthorizationPolicy: every field of from / to and when") {
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

TEST_CASE("TrafficPolicy / HTTPRoute and GRPCRoute are kept with their spec as JSON") {
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

// The JSON dump behind /config_dump: every kind with its fields, stable keys.
#include <doctest/doctest.h>

#include <string>

#include "weft/common/log.h"
#include "weft/config/manifest_loader.h"
#include "weft/config/snapshot.h"

using namespace weft::config;
using nlohmann::json;

namespace {

struct QuietLogs {
  weft::log::Level saved = weft::log::level();
  QuietLogs() { weft::log::setLevel(weft::log::Level::kOff); }
  ~QuietLogs() { weft::log::setLevel(saved); }
};

constexpr std::string_view kManifests = R"(apiVersion: v1
kind: Namespace
metadata: {name: demo, labels: {weft.dev/mesh: enabled}}
---
apiVersion: v1
kind: Pod
metadata: {name: web-1, namespace: demo, annotations: {weft.dev/netns: /run/netns/web}}
spec: {nodeName: node-a, serviceAccountName: web}
status: {podIPs: [{ip: 10.0.0.5}]}
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: demo}
spec:
  clusterIP: 10.96.0.9
  selector: {app: web}
  ports: [{name: http, port: 80, targetPort: 8080, appProtocol: http}]
---
apiVersion: weft.dev/v1alpha1
kind: PeerAuthentication
metadata: {name: web, namespace: demo}
spec:
  selector: {matchLabels: {app: web}}
  mtls: {mode: STRICT}
  portLevelMtls: {9090: {mode: DISABLE}}
---
apiVersion: weft.dev/v1alpha1
kind: AuthorizationPolicy
metadata: {name: deny-admin, namespace: demo}
spec:
  action: DENY
  rules:
    - from: [{source: {notNamespaces: [demo]}}]
      to: [{operation: {paths: ["/admin/*"], methods: [POST]}}]
      when: [{key: "request.headers[x-debug]", values: ["1"]}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: web, namespace: demo}
spec: {parentRefs: [{kind: Service, name: web}]}
---
apiVersion: v1
kind: Service
metadata: {name: broken, namespace: demo}
spec: {ports: [{port: 0}]}
)";

}  // namespace

TEST_CASE("toJson: every kind with its fields") {
  Snapshot s;
  {
    QuietLogs quiet;
    loadManifestText(kManifests, "all.yaml", s);
  }
  s.generation = 7;
  s.sourceDir = "/etc/weft/config";
  json j = toJson(s);

  CHECK(j["generation"] == 7);
  CHECK(j["sourceDir"] == "/etc/weft/config");

  REQUIRE(j["namespaces"].size() == 1);
  CHECK(j["namespaces"][0]["meta"] == json::parse(R"({"name": "demo", "namespace": "",
      "labels": {"weft.dev/mesh": "enabled"}, "annotations": {}, "source": "all.yaml:1"})"));

  REQUIRE(j["pods"].size() == 1);
  const json& pod = j["pods"][0];
  CHECK(pod["meta"]["namespace"] == "demo");
  CHECK(pod["meta"]["source"] == "all.yaml:5");
  CHECK(pod["nodeName"] == "node-a");
  CHECK(pod["serviceAccount"] == "web");
  CHECK(pod["podIPs"] == json::array({"10.0.0.5"}));
  CHECK(pod["netnsPath"] == "/run/netns/web");

  REQUIRE(j["services"].size() == 1);
  CHECK(j["services"][0]["clusterIPs"] == json::array({"10.96.0.9"}));
  CHECK(j["services"][0]["selector"] == json{{"app", "web"}});
  CHECK(j["services"][0]["ports"][0] == json::parse(R"({"name": "http", "port": 80, "targetPort": "8080",
      "protocol": "TCP", "appProtocol": "http"})"));

  REQUIRE(j["peerAuthentications"].size() == 1);
  const json& pa = j["peerAuthentications"][0];
  CHECK(pa["mode"] == "STRICT");
  CHECK(pa["selector"] == json::parse(R"({"matchLabels": {"app": "web"}})"));
  CHECK(pa["portLevelMtls"] == json::parse(R"({"9090": "DISABLE"})"));

  REQUIRE(j["authorizationPolicies"].size() == 1);
  const json& ap = j["authorizationPolicies"][0];
  CHECK(ap["action"] == "DENY");
  CHECK(ap["selector"].is_null());
  const json& rule = ap["rules"][0];
  CHECK(rule["from"][0]["source"] == json::parse(R"({"principals": [], "notPrincipals": [],
      "namespaces": [], "notNamespaces": ["demo"], "ipBlocks": [], "notIpBlocks": []})"));
  CHECK(rule["to"][0]["operation"] == json::parse(R"({"hosts": [], "notHosts": [], "ports": [], "notPorts": [],
      "methods": ["POST"], "notMethods": [], "paths": ["/admin/*"], "notPaths": []})"));
  CHECK(rule["when"][0] == json::parse(R"({"key": "request.headers[x-debug]", "values": ["1"], "notValues": []})"));

  REQUIRE(j["otherResources"].size() == 1);
  CHECK(j["otherResources"][0]["apiVersion"] == "gateway.networking.k8s.io/v1");
  CHECK(j["otherResources"][0]["kind"] == "HTTPRoute");
  CHECK(j["otherResources"][0]["spec"]["parentRefs"][0]["name"] == "web");

  REQUIRE(j["rejected"].size() == 1);
  CHECK(j["rejected"][0] == json::parse(R"({"source": "all.yaml:45", "kind": "Service", "name": "demo/broken",
      "reason": "spec.ports[0].port: must be a port number from 1 to 65535"})"));

  // The shape is stable: these keys and no others.
  std::vector<std::string> keys;
  for (const auto& [key, value] : j.items()) keys.push_back(key);
  CHECK(keys == std::vector<std::string>{"authorizationPolicies", "generation", "namespaces", "otherResources",
                                         "peerAuthentications", "pods", "rejected", "services", "sourceDir"});
}

TEST_CASE("toJson: an empty snapshot has every array") {
  json j = toJson(Snapshot{});
  for (const char* key : {"namespaces", "pods", "services", "peerAuthentications", "authorizationPolicies",
                          "otherResources", "rejected"}) {
    CAPTURE(key);
    CHECK(j[key] == json::array());
  }
  CHECK(j["generation"] == 0);
}

TEST_CASE("toJson: the dump never throws on bytes that are not UTF-8") {
  Snapshot s;
  Namespace n;
  n.meta.name = "bad\xff\xfe";
  n.meta.labels["k\xc0\xaf"] = "\xed\xa0\x80";  // an overlong '/' and a UTF-16 surrogate
  n.meta.source = {"dir/\xe9.yaml", 3};
  s.namespaces.push_back(n);
  s.rejected.push_back(RejectedObject{{"f\x80.yaml", 0}, "", "", "reason \xf5"});
  json j = toJson(s);
  std::string dumped;
  CHECK_NOTHROW(dumped = j.dump());
  CHECK(j["namespaces"][0]["meta"]["name"] == "bad\xef\xbf\xbd\xef\xbf\xbd");
  CHECK(j["rejected"][0]["source"] == "f\xef\xbf\xbd.yaml");  // line 0: no ":0"
  CHECK(j["namespaces"][0]["meta"]["source"] == "dir/\xef\xbf\xbd.yaml:3");
  // Valid multi-byte text is kept as it is.
  Snapshot ok;
  ok.sourceDir = "caf\xc3\xa9 \xf0\x9f\x90\x9f";
  CHECK(toJson(ok)["sourceDir"] == "caf\xc3\xa9 \xf0\x9f\x90\x9f");
}

// How metrics name a pod: Istio's workload, canonical service and revision
// rules, and the Service that selects it.
#include <doctest/doctest.h>

#include "runtime/workload_peer.h"

namespace {

weft::config::Pod pod(std::string name, weft::config::Labels labels, std::string ns = "shop") {
  weft::config::Pod p;
  p.meta.name = std::move(name);
  p.meta.namespace_ = std::move(ns);
  p.meta.labels = std::move(labels);
  p.serviceAccount = "default";
  return p;
}

weft::config::Service service(std::string name, weft::config::Labels selector, std::string ns = "shop",
                              std::vector<weft::config::ServicePort> ports = {}) {
  weft::config::Service s;
  s.meta.name = std::move(name);
  s.meta.namespace_ = std::move(ns);
  s.selector = std::move(selector);
  s.ports = std::move(ports);
  return s;
}

const weft::identity::SpiffeId& id() {
  static const auto value = weft::identity::parseSpiffeId("spiffe://cluster.local/ns/shop/sa/default").value();
  return value;
}

}  // namespace

TEST_CASE("workload name: a Deployment's pod names its Deployment and other pods themselves") {
  using weft::runtime::workloadName;
  CHECK(workloadName(pod("web-7d4f8b9c6d-x2x9q", {{"pod-template-hash", "7d4f8b9c6d"}})) == "web");
  CHECK(workloadName(pod("my-api-v2-7d4f8b9c6d-x2x9q", {{"pod-template-hash", "7d4f8b9c6d"}})) == "my-api-v2");
  CHECK(workloadName(pod("web-0", {})) == "web-0");
  // A hash label that is not in the name changes nothing.
  CHECK(workloadName(pod("web-abc-x2x9q", {{"pod-template-hash", "7d4f8b9c6d"}})) == "web-abc-x2x9q");
  CHECK(workloadName(pod("plain", {{"pod-template-hash", "plain"}})) == "plain");
}

TEST_CASE("workload peer: canonical labels by Istio's precedence and the first selecting Service") {
  weft::config::Snapshot snapshot;
  snapshot.services = {service("web-b", {{"app", "web"}}), service("web-a", {{"app", "web"}}),
                       service("other-ns", {{"app", "web"}}, "elsewhere"), service("manual", {})};
  auto p = pod("web-7d4f8b9c6d-x2x9q", {{"pod-template-hash", "7d4f8b9c6d"}, {"app", "web"}, {"version", "v2"}});
  auto peer = weft::runtime::workloadPeer(p, snapshot, id());
  CHECK(peer.workload == "web");
  CHECK(peer.namespace_ == "shop");
  CHECK(peer.principal == "spiffe://cluster.local/ns/shop/sa/default");
  CHECK(peer.app == "web");
  CHECK(peer.version == "v2");
  CHECK(peer.canonicalService == "web");
  CHECK(peer.canonicalRevision == "v2");
  CHECK(peer.service == "web-a.shop.svc.cluster.local");  // the first by name
  CHECK(peer.serviceName == "web-a");
  CHECK(peer.pod == "shop/web-7d4f8b9c6d-x2x9q");

  auto labelled = pod("x", {{"service.istio.io/canonical-name", "cart"},
                            {"service.istio.io/canonical-revision", "r7"},
                            {"app.kubernetes.io/name", "ignored"},
                            {"app", "also-ignored"}});
  auto q = weft::runtime::workloadPeer(labelled, snapshot, id());
  CHECK(q.canonicalService == "cart");
  CHECK(q.canonicalRevision == "r7");
  CHECK(q.service == "unknown");  // no Service selects it

  auto bare = weft::runtime::workloadPeer(pod("solo", {}), snapshot, id());
  CHECK(bare.canonicalService == "solo");  // falls back to the workload
  CHECK(bare.canonicalRevision == "latest");
  CHECK(bare.app == "unknown");
}

TEST_CASE("workload peer: each pod port names the Service that reaches it") {
  weft::config::Snapshot snapshot;
  snapshot.services = {service("web", {{"app", "x"}}, "shop", {{.name = "http", .port = 80, .targetPort = "8080"}}),
                       service("echo", {{"app", "x"}}, "shop",
                               {{.name = "grpc", .port = 50051}, {.name = "named", .port = 81, .targetPort = "metrics"}})};
  auto peer = weft::runtime::workloadPeer(pod("x-1", {{"app", "x"}}), snapshot, id());
  REQUIRE(peer.portServices.size() == 2);  // the named targetPort cannot be resolved
  CHECK(peer.portServices[0].port == 8080);
  CHECK(peer.portServices[0].service == "web.shop.svc.cluster.local");
  CHECK(peer.portServices[1].port == 50051);
  CHECK(peer.portServices[1].name == "echo");
  CHECK(peer.service == "echo.shop.svc.cluster.local");  // the default: first by name
}

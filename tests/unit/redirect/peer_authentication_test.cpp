// Which mTLS mode each enrolled pod of a node gets, as Istio users expect:
// workload over namespace over mesh (root namespace weft-system), UNSET
// inherits, PERMISSIVE by default, port-level overrides on workload policies.
#include "weft/redirect/peer_authentication.h"

#include <doctest/doctest.h>

using namespace weft;
using config::MtlsMode;

namespace {

config::Snapshot cluster() {
  config::Snapshot s;
  config::Namespace demo;
  demo.meta.name = "demo";
  demo.meta.labels = {{"weft.dev/mesh", "enabled"}};
  config::Namespace other;
  other.meta.name = "other";
  other.meta.labels = {{"weft.dev/mesh", "enabled"}};
  s.namespaces = {demo, other};
  auto pod = [](std::string ns, std::string name, std::string node, config::Labels labels) {
    config::Pod p;
    p.meta.namespace_ = std::move(ns);
    p.meta.name = std::move(name);
    p.meta.labels = std::move(labels);
    p.nodeName = std::move(node);
    p.podIPs = {"198.19.1.11"};
    return p;
  };
  s.pods = {pod("demo", "web", "n1", {{"app", "web"}}), pod("demo", "db", "n1", {{"app", "db"}}),
            pod("other", "x", "n1", {}), pod("demo", "remote", "n2", {{"app", "web"}}),
            pod("demo", "optout", "n1", {{"weft.dev/mesh", "disabled"}})};
  return s;
}

config::PeerAuthentication policy(std::string ns, std::string name, MtlsMode mode,
                                  std::optional<config::Labels> selector = std::nullopt,
                                  std::map<std::uint16_t, MtlsMode> ports = {}) {
  config::PeerAuthentication p;
  p.meta.namespace_ = std::move(ns);
  p.meta.name = std::move(name);
  p.mode = mode;
  if (selector) p.selector = config::WorkloadSelector{*selector};
  p.portLevelMtls = std::move(ports);
  return p;
}

std::map<std::string, redirect::PodPeerAuthentication> byPod(const config::Snapshot& s) {
  std::map<std::string, redirect::PodPeerAuthentication> out;
  for (auto& e : redirect::effectivePeerAuthentication(s, "n1")) out[e.pod->meta.name] = e;
  return out;
}

}  // namespace

TEST_CASE("peer authentication: without a policy every enrolled pod of the node is PERMISSIVE") {
  auto pods = byPod(cluster());
  CHECK(pods.size() == 3);  // web, db, x: not the remote pod, not the opted-out one
  CHECK(pods.at("web").mode == MtlsMode::kPermissive);
  CHECK(pods.at("web").source == "default");
  CHECK_FALSE(pods.contains("remote"));
  CHECK_FALSE(pods.contains("optout"));
}

TEST_CASE("peer authentication: mesh then namespace then workload and UNSET inherits") {
  auto s = cluster();
  s.peerAuthentications = {policy("weft-system", "mesh", MtlsMode::kStrict),
                           policy("demo", "ns", MtlsMode::kPermissive),
                           policy("demo", "db-off", MtlsMode::kDisable, config::Labels{{"app", "db"}}),
                           policy("demo", "web-unset", MtlsMode::kUnset, config::Labels{{"app", "web"}})};
  auto pods = byPod(s);
  CHECK(pods.at("x").mode == MtlsMode::kStrict);  // only the mesh policy covers namespace other
  CHECK(pods.at("x").source == "weft-system/mesh");
  CHECK(pods.at("db").mode == MtlsMode::kDisable);
  CHECK(pods.at("web").mode == MtlsMode::kPermissive);  // UNSET workload: the namespace's
  CHECK(pods.at("web").source == "demo/ns");
}

TEST_CASE("peer authentication: a selector-less policy outside the root namespace covers only its namespace") {
  auto s = cluster();
  s.peerAuthentications = {policy("other", "strict", MtlsMode::kStrict)};
  auto pods = byPod(s);
  CHECK(pods.at("x").mode == MtlsMode::kStrict);
  CHECK(pods.at("web").mode == MtlsMode::kPermissive);
}

TEST_CASE("peer authentication: port-level modes override the pod's and UNSET ports inherit it") {
  auto s = cluster();
  s.peerAuthentications = {policy("demo", "web", MtlsMode::kStrict, config::Labels{{"app", "web"}},
                                  {{8080, MtlsMode::kDisable}, {9090, MtlsMode::kUnset}})};
  auto pods = byPod(s);
  CHECK(pods.at("web").mode == MtlsMode::kStrict);
  CHECK(pods.at("web").ports.at(8080) == MtlsMode::kDisable);
  CHECK(pods.at("web").ports.at(9090) == MtlsMode::kStrict);
  CHECK(pods.at("db").ports.empty());  // the selector does not match db
}

TEST_CASE("peer authentication: of two policies at one level the first by name decides whatever the file order") {
  auto s = cluster();
  s.peerAuthentications = {policy("demo", "b", MtlsMode::kDisable), policy("demo", "a", MtlsMode::kStrict)};
  CHECK(byPod(s).at("web").mode == MtlsMode::kStrict);
  std::swap(s.peerAuthentications[0], s.peerAuthentications[1]);
  CHECK(byPod(s).at("web").mode == MtlsMode::kStrict);
}

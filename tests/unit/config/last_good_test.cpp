#include "weft/config/last_good.h"

#include <doctest/doctest.h>

#include "weft/config/snapshot_store.h"

using namespace weft::config;

namespace {

AuthorizationPolicy denyPolicy(std::string name, std::string file) {
  AuthorizationPolicy policy;
  policy.meta = {.name = std::move(name), .namespace_ = "demo", .source = {std::move(file), 3}};
  policy.action = AuthzAction::kDeny;
  policy.rules.push_back(AuthzRule{.to = {AuthzOperation{.paths = {.values = {"/admin/*"}}}}});
  return policy;
}

}  // namespace

TEST_CASE("a rejected new version keeps the last good one in force") {
  Snapshot previous;
  previous.authorizationPolicies.push_back(denyPolicy("deny-admin", "policies.yaml"));

  Snapshot next;  // the edit of deny-admin has a typo and was rejected
  next.rejected.push_back({.source = {"policies.yaml", 7},
                           .kind = "AuthorizationPolicy",
                           .name = "demo/deny-admin",
                           .reason = "spec.action: unknown action 'DENNY'"});
  Snapshot merged = keepLastGood(std::move(next), previous);
  REQUIRE(merged.authorizationPolicies.size() == 1);
  CHECK(merged.authorizationPolicies[0].meta.name == "deny-admin");
  REQUIRE(merged.rejected.size() == 1);
  CHECK(merged.rejected[0].reason.find("serving the last good version from policies.yaml:3") != std::string::npos);
}

TEST_CASE("an unreadable file keeps all its last good objects - other files are current") {
  Snapshot previous;
  previous.authorizationPolicies.push_back(denyPolicy("a", "broken.yaml"));
  previous.authorizationPolicies.push_back(denyPolicy("b", "broken.yaml"));
  previous.authorizationPolicies.push_back(denyPolicy("removed", "fine.yaml"));

  Snapshot next;
  next.authorizationPolicies.push_back(denyPolicy("b", "broken.yaml"));  // parsed before the syntax error
  next.rejected.push_back({.source = {"broken.yaml", 12}, .reason = "YAML syntax error"});
  Snapshot merged = keepLastGood(std::move(next), previous);

  std::vector<std::string> names;
  for (const auto& p : merged.authorizationPolicies) names.push_back(p.meta.name);
  CHECK(names == std::vector<std::string>{"b", "a"});  // "removed" really was removed from fine.yaml
  CHECK(merged.rejected[0].reason.find("last good objects of this file") != std::string::npos);
}

TEST_CASE("a rejection of something that never was good carries nothing") {
  Snapshot previous;
  Snapshot next;
  next.rejected.push_back({.source = {"x.yaml", 1}, .kind = "Pod", .name = "demo/new", .reason = "bad IP"});
  Snapshot merged = keepLastGood(std::move(next), previous);
  CHECK(merged.pods.empty());
  CHECK(merged.rejected[0].reason == "bad IP");
}

TEST_CASE("the snapshot store publishes whole snapshots with rising generations") {
  SnapshotStore store;
  auto initial = store.current();
  CHECK(initial->generation == 0);
  Snapshot s;
  s.sourceDir = "/etc/weft";
  auto first = store.publish(std::move(s));
  CHECK(first->generation == 1);
  CHECK(store.current()->sourceDir == "/etc/weft");
  CHECK(initial->generation == 0);  // a reader's old view stays intact
  CHECK(store.publish(Snapshot{})->generation == 2);
}

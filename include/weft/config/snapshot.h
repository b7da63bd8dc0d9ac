// One immutable view of all configuration. The agent builds a new Snapshot
// for every change and publishes it whole; readers hold a shared_ptr to a
// const Snapshot and never lock. Rejected objects travel with the snapshot so
// that the admin API and weftctl can say why something is missing.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "weft/config/objects.h"

namespace weft::config {

struct RejectedObject {
  SourceLocation source;
  std::string kind;  // empty when the document could not be read far enough
  std::string name;  // "namespace/name" or "name", empty when unknown
  std::string reason;
};

struct Snapshot {
  std::uint64_t generation = 0;  // increases by one per published snapshot
  std::string sourceDir;
  std::vector<Namespace> namespaces;
  std::vector<Pod> pods;
  std::vector<Service> services;
  std::vector<PeerAuthentication> peerAuthentications;
  std::vector<AuthorizationPolicy> authorizationPolicies;
  std::vector<GenericResource> otherResources;
  std::vector<RejectedObject> rejected;
};

using SnapshotPtr = std::shared_ptr<const Snapshot>;

// The whole snapshot as JSON (for /config_dump and weftctl).
[[nodiscard]] nlohmann::json toJson(const Snapshot& snapshot);

}  // namespace weft::config

// From the config snapshot to what the mesh needs: the directory of enrolled
// pods (for the proxy's tunnel decisions) and the identities of this node's
// enrolled pods (the SVIDs the agent keeps).
#pragma once

#include <memory>
#include <set>
#include <string_view>

#include "weft/config/snapshot.h"
#include "weft/identity/spiffe_id.h"
#include "weft/proxy/mesh_directory.h"

namespace weft::runtime {

[[nodiscard]] std::shared_ptr<const proxy::MeshDirectory> buildMeshDirectory(const config::Snapshot& snapshot,
                                                                             std::string_view node,
                                                                             std::string_view trustDomain);
[[nodiscard]] std::set<identity::SpiffeId> localIdentities(const config::Snapshot& snapshot, std::string_view node,
                                                           std::string_view trustDomain);

}  // namespace weft::runtime

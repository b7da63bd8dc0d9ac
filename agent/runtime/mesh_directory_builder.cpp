#include "mesh_directory_builder.h"

#include "weft/common/log.h"
#include "weft/redirect/enrollment.h"
#include "workload_peer.h"

namespace weft::runtime {

std::shared_ptr<const proxy::MeshDirectory> buildMeshDirectory(const config::Snapshot& snapshot, std::string_view node,
                                                               std::string_view trustDomain) {
  auto directory = std::make_shared<proxy::MeshDirectory>();
  for (const config::Pod* pod : redirect::meshPods(snapshot)) {
    auto id = identity::workloadSpiffeId(trustDomain, pod->meta.namespace_, pod->serviceAccount);
    if (!id) {
      log::warn("mesh", "pod {}/{}: {}", pod->meta.namespace_, pod->meta.name, id.error().describe());
      continue;
    }
    telemetry::Peer peer = workloadPeer(*pod, snapshot, *id);
    for (const auto& ip : pod->podIPs) {
      auto address = parseSocketAddress(ip.find(':') == std::string::npos ? ip + ":0" : "[" + ip + "]:0");
      if (!address) continue;
      directory->add(*address, {.identity = *id,
                                .name = pod->meta.namespace_ + "/" + pod->meta.name,
                                .nodeAddress = pod->hostIP,
                                .onThisNode = pod->nodeName == node,
                                .peer = peer});
    }
  }
  return directory;
}

std::set<identity::SpiffeId> localIdentities(const config::Snapshot& snapshot, std::string_view node,
                                             std::string_view trustDomain) {
  std::set<identity::SpiffeId> ids;
  for (const config::Pod* pod : redirect::podsToEnroll(snapshot, node))
    if (auto id = identity::workloadSpiffeId(trustDomain, pod->meta.namespace_, pod->serviceAccount)) ids.insert(*id);
  return ids;
}

}  // namespace weft::runtime

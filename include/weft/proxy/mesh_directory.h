// The proxy's view of the mesh: which addresses belong to enrolled pods, with
// their identity and node. Rebuilt by the agent on every config change and
// published whole; workers read the current one per new connection, lock free.
#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <unordered_map>

#include "weft/common/socket_address.h"
#include "weft/identity/spiffe_id.h"
#include "weft/telemetry/peer.h"

namespace weft::proxy {

struct MeshWorkload {
  identity::SpiffeId identity;
  std::string name;         // "namespace/name", for logs
  std::string nodeAddress;  // the pod's node (status.hostIP); empty when unknown
  bool onThisNode = false;
  telemetry::Peer peer;     // how metrics and access logs name it
};

class MeshDirectory {
 public:
  void add(const SocketAddress& address, MeshWorkload workload);
  // The enrolled pod at `address` (the port is ignored), or nullptr.
  [[nodiscard]] const MeshWorkload* find(const SocketAddress& address) const;
  [[nodiscard]] std::size_t size() const { return byAddress_.size(); }

 private:
  std::unordered_map<std::string, MeshWorkload> byAddress_;  // key: the 16 bytes of the v4-mapped address
};

class MeshDirectoryHolder {
 public:
  void publish(std::shared_ptr<const MeshDirectory> directory) { current_.store(std::move(directory)); }
  [[nodiscard]] std::shared_ptr<const MeshDirectory> current() const { return current_.load(); }

 private:
  std::atomic<std::shared_ptr<const MeshDirectory>> current_{std::make_shared<const MeshDirectory>()};
};

}  // namespace weft::proxy

// PeerAuthentication (weft.dev/v1alpha1) as Istio users know it: a policy
// in the mesh root namespace (weft-system) without a selector covers the
// mesh, one without a selector covers its namespace, one with a selector its
// workloads; the most specific wins, UNSET inherits, the default is
// PERMISSIVE; portLevelMtls (workload policies) overrides per port.
// Enforced in the kernel for the enrolled pods of this node.
#pragma once

#include <map>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "weft/bpf/peer_auth_hooks.h"
#include "weft/config/snapshot.h"

namespace weft::redirect {

inline constexpr std::string_view kMeshRootNamespace = "weft-system";

struct PodPeerAuthentication {
  const config::Pod* pod = nullptr;
  config::MtlsMode mode = config::MtlsMode::kPermissive;  // never kUnset
  std::map<std::uint16_t, config::MtlsMode> ports;       // overrides; never kUnset
  std::string source;  // "ns/name" of the deciding policy, or "default"
};

[[nodiscard]] std::vector<PodPeerAuthentication> effectivePeerAuthentication(const config::Snapshot& snapshot,
                                                                            std::string_view node);

class PeerAuthEnforcement {
 public:
  PeerAuthEnforcement(bpf::PeerAuthHooks& hooks, std::string node) : hooks_(hooks), node_(std::move(node)) {}
  ~PeerAuthEnforcement();  // removes the policy routing unless kept
  void keepOnExit(bool keep) { keep_ = keep; }
  // Brings the kernel in line with `snapshot`; failures are logged and kept
  // for toJson (the last good state stays in force for what failed).
  void reconcile(const config::Snapshot& snapshot);
  [[nodiscard]] nlohmann::json toJson() const;

 private:
  bpf::PeerAuthHooks& hooks_;
  std::string node_;
  bool keep_ = false;
  bool routingInstalled_ = false;
  nlohmann::json pods_ = nlohmann::json::array();
  std::vector<std::string> failures_;
};

}  // namespace weft::redirect

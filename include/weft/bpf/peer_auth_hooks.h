// PeerAuthentication's kernel side (bpf/peer_auth.bpf.c): the mode map, the
// TC programs on pods' veths (STRICT) and on the node's interfaces
// (PERMISSIVE interception into the inbound listener), attached as tcx links
// pinned in bpffs so that they outlive a crash (fail closed) and a restarted
// agent adopts them.
#pragma once

#include <netinet/in.h>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <set>
#include <vector>

#include "weft/common/error.h"

namespace weft::bpf {

enum class MtlsMode : std::uint8_t { kStrict = 1, kPermissive = 2, kDisable = 3 };

// The marks and routing the programs rely on (bpf_abi/peer_auth.h; checked
// equal there). The proxy sets kMarkFromProxy on its connections to pods.
inline constexpr std::uint32_t kMarkFromProxy = 0x77660000u;
inline constexpr std::uint32_t kMarkIntercept = 0x77660001u;
inline constexpr std::uint32_t kInterceptRouteTable = 0x7766u;
inline constexpr std::uint32_t kInterceptRulePriority = 0x7766u;

struct PortMtls {
  in6_addr address{};      // the pod (IPv4 v4-mapped)
  std::uint16_t port = 0;  // host order; 0: the pod's default
  MtlsMode mode = MtlsMode::kPermissive;
};

struct PeerAuthCounters {
  std::uint64_t strictDropped = 0;
  std::uint64_t strictAllowed = 0;
  std::uint64_t intercepted = 0;
  std::uint64_t noListener = 0;
  std::uint64_t strictNodeAllowed = 0;  // SYNs the node itself made to STRICT pods
};

struct PeerAuthOptions {
  // STRICT lets in connections made by the node itself (kubelet's liveness
  // and readiness probes are plaintext from the node), as Istio ambient and
  // Cilium do; false: only the proxy's.
  bool strictAllowsNode = true;
};

class PeerAuthHooks {
 public:
  // Loads the programs; maps are pinned by name under pinDir, links under pinDir/tc.
  [[nodiscard]] static Result<std::unique_ptr<PeerAuthHooks>> load(const std::filesystem::path& pinDir,
                                                                   PeerAuthOptions options = {});
  ~PeerAuthHooks();  // detaches and unpins, unless keepAttachedOnExit
  PeerAuthHooks(const PeerAuthHooks&) = delete;
  PeerAuthHooks& operator=(const PeerAuthHooks&) = delete;

  void keepAttachedOnExit(bool keep) { keep_ = keep; }
  // The mode map becomes exactly `modes`.
  [[nodiscard]] Status setModes(const std::vector<PortMtls>& modes);
  // tcx links: STRICT on the given pod veths (egress), PERMISSIVE on the given
  // node interfaces (ingress); links on other interfaces are removed.
  [[nodiscard]] Status attach(const std::set<int>& strictIfindexes, const std::set<int>& permissiveIfindexes);
  // The proxy's inbound plaintext listener, where PERMISSIVE plaintext goes.
  [[nodiscard]] Status setInboundListener(int fd);
  [[nodiscard]] Result<PeerAuthCounters> counters() const;
  [[nodiscard]] std::size_t attachedLinks() const;

 private:
  struct Impl;
  PeerAuthHooks();
  std::unique_ptr<Impl> impl_;
  bool keep_ = false;
};

}  // namespace weft::bpf

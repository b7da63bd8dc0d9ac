// The node proxy (L4 for now): N io_uring workers, shared nothing, each with
// its own SO_REUSEPORT outbound listener. A captured connection is accepted,
// its original destination looked up, the destination connected, and bytes
// relayed both ways with bounded buffers, half-close and reset propagated.
#pragma once

#include <chrono>
#include <memory>
#include <optional>

#include <nlohmann/json.hpp>

#include "weft/common/error.h"
#include "weft/common/socket_address.h"
#include "weft/io/uring_features.h"
#include "weft/proxy/inbound_policy.h"
#include "weft/proxy/kernel_steering.h"
#include "weft/proxy/mesh_directory.h"
#include "weft/telemetry/telemetry.h"
#include "weft/tunnel/tunnel_tls.h"

namespace weft::proxy {

// The mesh between nodes; without it every connection is relayed as plain TCP.
struct MeshOptions {
  SocketAddress tunnelListen;                    // node IP:15008, inbound tunnels
  std::uint16_t tunnelPort = 15008;              // where other nodes take tunnels
  std::shared_ptr<const tunnel::TunnelTls> tls;
  const identity::WorkloadCertificates* certificates = nullptr;
  const MeshDirectoryHolder* directory = nullptr;
  const InboundPolicy* inbound = nullptr;        // null: every connection admitted, bytes untouched
};

struct ProxyOptions {
  SocketAddress outboundListen;                  // where captured connects arrive (15001)
  std::optional<SocketAddress> inboundListen;    // PERMISSIVE plaintext (15006), IP_TRANSPARENT
  std::optional<MeshOptions> mesh;
  std::uint32_t upstreamMark = 0;                // SO_MARK on connections to pods
  unsigned workers = 1;
  std::chrono::milliseconds connectTimeout{5000};
  std::chrono::seconds idleTimeout{3600};
  std::uint32_t bufferSize = 64 * 1024;
  std::uint16_t buffersPerDirection = 64;        // per worker; a power of two
  bool joinSameNodeRelays = false;               // sockmap: bytes go pod to pod in the kernel
  // Test only (scripts/perf's check that --compare catches a slower agent):
  // each worker sleeps this long after every batch of completions.
  std::chrono::microseconds testDelayPerBatch{0};
  // Metrics and access logs, with one part per worker (as many as `workers`);
  // null: none.
  telemetry::Telemetry* telemetry = nullptr;
};

class Proxy {
 public:
  // Binds every worker's listener before returning, so that a port in use is
  // reported at start; workers then run until the Proxy is destroyed.
  [[nodiscard]] static Result<std::unique_ptr<Proxy>> start(const ProxyOptions& options,
                                                            const io::UringFeatures& features,
                                                            KernelSteering& steering);
  ~Proxy();
  Proxy(const Proxy&) = delete;
  Proxy& operator=(const Proxy&) = delete;

  [[nodiscard]] nlohmann::json stats() const;
  // Hand-over to a successor agent: every worker closes its listeners (the
  // successor's sockets of the same SO_REUSEPORT groups take new
  // connections) and asks the nodes with tunnels to it to open new ones;
  // relays in progress carry on. Returns once every worker did so (at most
  // 2 s for a worker that does not answer).
  void stopAccepting();
  // Relays in progress, over all workers.
  [[nodiscard]] std::uint64_t activeRelays() const;
  // Open tunnels with their identities and stream counts (admin /tunnels).
  [[nodiscard]] nlohmann::json tunnels() const;
  // Every live connection of every worker (admin /connections).
  [[nodiscard]] nlohmann::json connections() const;
  // The PERMISSIVE listener, for the TC program that assigns plaintext to it; -1 if none.
  [[nodiscard]] int inboundListenerFd() const;

 private:
  struct Impl;
  explicit Proxy(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace weft::proxy

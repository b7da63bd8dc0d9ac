// Counters of the node proxy, summed over workers for /stats. Each worker
// writes its own copy (single writer, relaxed atomics); readers only add up.
#pragma once

#include <atomic>
#include <cstdint>

#include <nlohmann/json.hpp>

namespace weft::proxy {

struct ProxyCounters {
  std::atomic<std::uint64_t> accepted{0};
  std::atomic<std::uint64_t> active{0};
  std::atomic<std::uint64_t> closed{0};
  std::atomic<std::uint64_t> bytesFromClients{0};   // client -> upstream
  std::atomic<std::uint64_t> bytesFromUpstreams{0}; // upstream -> client
  std::atomic<std::uint64_t> notCaptured{0};        // accepted with no original destination
  std::atomic<std::uint64_t> connectRefused{0};
  std::atomic<std::uint64_t> connectTimeout{0};
  std::atomic<std::uint64_t> connectUnreachable{0};
  std::atomic<std::uint64_t> connectOther{0};
  std::atomic<std::uint64_t> resets{0};             // relays ended with a reset
  std::atomic<std::uint64_t> idleTimeouts{0};
  std::atomic<std::uint64_t> relaysJoined{0};       // same-node relays joined in the kernel
  std::atomic<std::uint64_t> bufferWaits{0};        // a recv waited for a free buffer
  std::atomic<std::uint64_t> ringOverflows{0};
  std::atomic<std::uint64_t> inboundPlaintextAccepted{0};  // via the PERMISSIVE listener (15006)
  // Tunnels between node proxies and their streams (one per proxied connection).
  std::atomic<std::uint64_t> tunnelsOpened{0};
  std::atomic<std::uint64_t> tunnelsAccepted{0};
  std::atomic<std::uint64_t> tunnelHandshakeFailures{0};
  std::atomic<std::uint64_t> tunnelPeerRejected{0};  // valid TLS, wrong or invalid SPIFFE identity
  std::atomic<std::uint64_t> streamsOpened{0};
  std::atomic<std::uint64_t> streamsAccepted{0};
  std::atomic<std::uint64_t> streamsReset{0};
  std::atomic<std::uint64_t> streamsRefused{0};      // inbound CONNECT to no pod of the served identity
  std::atomic<std::uint64_t> streamsDenied{0};       // inbound CONNECT denied by an AuthorizationPolicy
  std::atomic<std::uint64_t> connectionsDenied{0};   // same-node or plaintext connection denied likewise

  void add(std::atomic<std::uint64_t>& counter, std::uint64_t n = 1) {
    counter.store(counter.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
  }
  void sub(std::atomic<std::uint64_t>& counter, std::uint64_t n = 1) {
    counter.store(counter.load(std::memory_order_relaxed) - n, std::memory_order_relaxed);
  }
};

[[nodiscard]] nlohmann::json toJson(const ProxyCounters* const* workers, std::size_t count);

}  // namespace weft::proxy

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

  void add(std::atomic<std::uint64_t>& counter, std::uint64_t n = 1) {
    counter.store(counter.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
  }
  void sub(std::atomic<std::uint64_t>& counter, std::uint64_t n = 1) {
    counter.store(counter.load(std::memory_order_relaxed) - n, std::memory_order_relaxed);
  }
};

[[nodiscard]] nlohmann::json toJson(const ProxyCounters* const* workers, std::size_t count);

}  // namespace weft::proxy

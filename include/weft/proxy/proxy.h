// The node proxy (L4 for now): N io_uring workers, shared nothing, each with
// its own SO_REUSEPORT outbound listener. A captured connection is accepted,
// its original destination looked up, the destination connected, and bytes
// relayed both ways with bounded buffers, half-close and reset propagated.
#pragma once

#include <chrono>
#include <memory>

#include <nlohmann/json.hpp>

#include "weft/common/error.h"
#include "weft/common/socket_address.h"
#include "weft/io/uring_features.h"
#include "weft/proxy/kernel_steering.h"

namespace weft::proxy {

struct ProxyOptions {
  SocketAddress outboundListen;                  // where captured connects arrive (15001)
  unsigned workers = 1;
  std::chrono::milliseconds connectTimeout{5000};
  std::chrono::seconds idleTimeout{3600};
  std::uint32_t bufferSize = 64 * 1024;
  std::uint16_t buffersPerDirection = 64;        // per worker; a power of two
  bool joinSameNodeRelays = false;               // sockmap: bytes go pod to pod in the kernel
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

 private:
  struct Impl;
  explicit Proxy(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace weft::proxy

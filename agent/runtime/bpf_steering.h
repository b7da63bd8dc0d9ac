// The proxy's KernelSteering over the BPF capture maps.
#pragma once

#include "weft/bpf/capture_hooks.h"
#include "weft/proxy/kernel_steering.h"

namespace weft::runtime {

class BpfSteering final : public proxy::KernelSteering {
 public:
  explicit BpfSteering(bpf::CaptureHooks& hooks) : hooks_(hooks) {}

  std::optional<SocketAddress> takeOriginalDestination(const SocketAddress& client) override;
  bool canJoin(const proxy::SocketTuple& clientApp, const proxy::SocketTuple& serverApp) override;
  bool requestJoin(const proxy::SocketTuple& clientApp, const proxy::SocketTuple& serverApp) override;
  void reportForwarded(const proxy::SocketTuple& fromApp, const proxy::SocketTuple& toApp,
                       std::uint64_t totalBytes) override;
  void forgetJoin(const proxy::SocketTuple& clientApp, const proxy::SocketTuple& serverApp) override;

 private:
  bpf::CaptureHooks& hooks_;
};

}  // namespace weft::runtime

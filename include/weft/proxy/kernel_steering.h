// What the proxy needs from the kernel side of capture, as an interface so
// that the proxy does not depend on BPF: where a captured connection was
// going, and the same-node relay join (bytes go pod to pod in the kernel).
#pragma once

#include <cstdint>
#include <optional>

#include "weft/common/socket_address.h"

namespace weft::proxy {

// A socket's 4-tuple as seen from that socket.
struct SocketTuple {
  SocketAddress local;
  SocketAddress remote;
};

class KernelSteering {
 public:
  virtual ~KernelSteering() = default;

  // The destination the app asked for, by the client endpoint the proxy sees;
  // consumed by the call. nullopt: this connection was not captured.
  virtual std::optional<SocketAddress> takeOriginalDestination(const SocketAddress& client) = 0;

  // Both app sockets of a same-node relay are in the kernel's socket map, so
  // the relay can be joined there. False: keep relaying in user space.
  virtual bool canJoin(const SocketTuple& clientApp, const SocketTuple& serverApp) = 0;
  virtual bool requestJoin(const SocketTuple& clientApp, const SocketTuple& serverApp) = 0;
  // Total bytes the proxy has relayed from one app socket to the other (join
  // ordering); called after each completed send, so one syscall at most.
  virtual void reportForwarded(const SocketTuple& fromApp, const SocketTuple& toApp, std::uint64_t totalBytes) = 0;
  virtual void forgetJoin(const SocketTuple& clientApp, const SocketTuple& serverApp) = 0;
};

}  // namespace weft::proxy

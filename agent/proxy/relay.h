// One proxied TCP connection: the client socket the proxy accepted and the
// upstream socket it connected, with bytes relayed both ways.
//
// Per direction, at most one recv or one send is in flight, holding at most
// one provided buffer: memory per connection is bounded, and a slow reader
// stops the relay from reading its writer (backpressure through TCP windows).
// The relay counts its in-flight operations and frees itself only when none
// is left, since the kernel may still complete one after we decided to close.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>

#include "weft/common/socket_address.h"
#include "weft/io/buffer_ring.h"
#include "weft/io/ring.h"
#include "weft/proxy/kernel_steering.h"
#include "worker_connection.h"

namespace weft::proxy {

class Worker;

class Relay final : public WorkerConnection {
 public:
  Relay(Worker& worker, int clientFd, SocketAddress client, SocketAddress destination);
  Relay(const Relay&) = delete;
  Relay& operator=(const Relay&) = delete;

  // Starts connecting upstream. The relay owns itself from here on.
  void start();
  // Ends the relay with a reset of both sides (idle timeout, shutdown).
  void abort() override;
  void finishIfDone() override;
  // A buffer came free in the pool a parked direction waits on.
  void resumeParked(int direction) override;

 private:
  [[nodiscard]] nlohmann::json describeSelf() const override;
  enum class OpKind : std::uint8_t { kConnect, kConnectTimeout, kRecv, kSend, kShutdown };

  struct Op final : io::Completion {
    Relay* relay = nullptr;
    OpKind kind = OpKind::kRecv;
    std::uint8_t direction = 0;
    void bind(Relay* owner, OpKind k, int d = 0) {
      relay = owner;
      kind = k;
      direction = static_cast<std::uint8_t>(d);
    }
    void complete(int result, std::uint32_t flags) override { relay->onComplete(*this, result, flags); }
  };

  // Bytes from sides_[direction] to sides_[1 - direction].
  struct Direction {
    io::BufferRing* pool = nullptr;
    int bufferId = -1;
    std::uint32_t length = 0;
    std::uint32_t sent = 0;
    std::uint64_t total = 0;
    bool eof = false;
    bool shutdownDone = false;
    Op recvOp, sendOp, shutdownOp;
  };

  void onComplete(Op& op, int result, std::uint32_t flags);
  void onConnected(int result);
  void onRecv(int direction, int result, std::uint32_t flags);
  void onSend(int direction, int result);
  void onShutdown(int direction);

  void armRecv(int direction);
  void sendPending(int direction);
  void releaseBuffer(int direction);
  void tryJoin();
  void beginClose();
  void countConnectFailure(int error);

  Worker& worker_;
  int fds_[2];  // 0: client, 1: upstream
  SocketAddress client_;
  SocketAddress destination_;
  Direction directions_[2];
  Op connectOp_, timeoutOp_;
  int inFlight_ = 0;
  bool connected_ = false;
  bool closing_ = false;
  bool resetOnClose_ = false;
  // Only a joined relay keeps the app sockets' tuples (about 530 bytes that
  // an ordinary relay does without).
  struct JoinedApps {
    SocketTuple client;
    SocketTuple server;
  };
  std::unique_ptr<JoinedApps> joined_;
  __kernel_timespec connectTimeout_{};
};

}  // namespace weft::proxy

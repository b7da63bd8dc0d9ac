// One TCP connection between two node proxies carrying a TunnelSession
// (TLS 1.3 + HTTP/2): its socket I/O on the worker's ring, its streams'
// bookkeeping, and its place in the worker's pool.
//
// Output is produced lazily: whatever marks the tunnel dirty (a stream's new
// bytes, a window update) is turned into TLS records once per event-loop
// turn, so many small frames share a record and a send.
#pragma once

#include <atomic>
#include <memory>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "weft/common/socket_address.h"
#include "weft/identity/spiffe_id.h"
#include "weft/io/ring.h"
#include "weft/tunnel/tunnel_session.h"
#include "send_queue.h"
#include "worker_connection.h"

namespace weft::proxy {

class Worker;

class TunnelConnection final : public WorkerConnection, public tunnel::SessionHandler {
 public:
  // Source node: connects to `peer` (node IP:15008) as `source`, expecting
  // `destination`. Streams may be opened at once; they go out after the handshake.
  [[nodiscard]] static Result<TunnelConnection*> connect(Worker& worker, std::string poolKey, SocketAddress peer,
                                                         const identity::SpiffeId& source,
                                                         const identity::SpiffeId& destination);
  // Destination node: an accepted connection on 15008.
  static void accept(Worker& worker, int fd, SocketAddress peer);

  [[nodiscard]] tunnel::TunnelSession& session() { return *session_; }
  // Takes new streams (not failing, not draining, peer not going away).
  [[nodiscard]] bool usable() const;
  // No new streams (e.g. its certificate was renewed); closes once empty.
  void drain();
  // This node's agent hands over to a successor: the client node of an
  // inbound tunnel is asked to open its next streams on a new tunnel (which
  // reaches the successor). Outbound tunnels carry this agent's relays on.
  void goingAway();
  [[nodiscard]] const std::string& svidSerial() const { return svidSerial_; }
  void markDirty();
  // Runs once per event-loop turn for a dirty tunnel: frames into records, records out.
  void flush();
  void streamStarted();
  void streamEnded();

  void abort() override;
  void finishIfDone() override;
  void sweep(std::chrono::steady_clock::time_point now, std::chrono::seconds limit) override;
  void onConnectRequest(std::int32_t streamId, std::string_view authority, std::string_view forwardedFor) override;

  // For /tunnels; the caller holds the worker's tunnel lock.
  [[nodiscard]] nlohmann::json describe() const;

 private:
  [[nodiscard]] nlohmann::json describeSelf() const override;
  enum class OpKind : std::uint8_t { kConnect, kConnectTimeout, kRecv, kSend };
  struct Op final : io::Completion {
    TunnelConnection* tunnel = nullptr;
    OpKind kind = OpKind::kRecv;
    void complete(int result, std::uint32_t flags) override { tunnel->onComplete(kind, result, flags); }
  };

  TunnelConnection(Worker& worker, int fd, SocketAddress peer, bool outbound);
  void onComplete(OpKind kind, int result, std::uint32_t flags);
  void onConnected(int result);
  void onRecv(int result);
  void onSent(int result);
  void armRecv();
  void sendOutput();
  // The tunnel failed: every stream is reset, the socket closed.
  void failWith(const Error& error);
  void beginClose();

  Worker& worker_;
  int fd_;
  SocketAddress peer_;
  bool outbound_;
  std::string poolKey_;  // outbound only: its entry in the worker's pool
  std::unique_ptr<tunnel::TunnelSession> session_;
  // Written by the handshake's peer check; copied under the worker's tunnel
  // lock into the shown_ fields, which the admin thread reads.
  std::shared_ptr<std::string> peerIdentity_ = std::make_shared<std::string>();
  std::optional<identity::SpiffeId> peerSpiffeId_;  // parsed once, for inbound policies
  std::optional<identity::SpiffeId> servedIdentity_;  // inbound: the identity the client asked for (SNI)
  std::string shownLocalIdentity_;
  std::string shownPeerIdentity_;
  std::string svidSerial_;
  std::unique_ptr<std::uint8_t[]> recvBuffer_;
  SendQueue sendQueue_;
  bool connected_ = false;
  bool draining_ = false;
  bool closing_ = false;
  bool failed_ = false;
  bool resetOnClose_ = true;  // a failed tunnel ends with a reset, unless its TLS alert went out
  int inFlight_ = 0;
  Op connectOp_, timeoutOp_, recvOp_, sendOp_;
  __kernel_timespec connectTimeout_{};
  std::atomic<std::uint32_t> activeStreams_{0};
  std::atomic<std::uint64_t> totalStreams_{0};

 public:
  bool dirty = false;  // in the worker's dirty list
};

}  // namespace weft::proxy

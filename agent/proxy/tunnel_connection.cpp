#include "tunnel_connection.h"

#include <sys/socket.h>
#include <unistd.h>

#include "socket_options.h"
#include "stream_relay.h"
#include "weft/common/log.h"
#include "worker.h"

namespace weft::proxy {
namespace {

constexpr std::size_t kRecvBuffer = 64 * 1024;
// Ciphertext allowed to wait for the socket before streams stop being read:
// the tunnel's share of backpressure.
constexpr std::size_t kOutputLimit = 256 * 1024;
// A tunnel with no stream for this long is closed (the next connection
// opens a new one).
constexpr auto kTunnelIdle = std::chrono::seconds(60);

}  // namespace

TunnelConnection::TunnelConnection(Worker& worker, int fd, SocketAddress peer, bool outbound)
    : worker_(worker), fd_(fd), peer_(peer), outbound_(outbound), recvBuffer_(new std::uint8_t[kRecvBuffer]) {
  for (auto [op, kind] : {std::pair{&connectOp_, OpKind::kConnect}, {&timeoutOp_, OpKind::kConnectTimeout},
                          {&recvOp_, OpKind::kRecv}, {&sendOp_, OpKind::kSend}}) {
    op->tunnel = this;
    op->kind = kind;
  }
  lastActive_ = worker_.now();
}

Result<TunnelConnection*> TunnelConnection::connect(Worker& worker, std::string poolKey, SocketAddress peer,
                                                    const identity::SpiffeId& source,
                                                    const identity::SpiffeId& destination) {
  const MeshOptions& mesh = *worker.options().mesh;
  auto ssl = mesh.tls->newClient(source, destination);
  if (!ssl) return std::unexpected(ssl.error());
  int fd = ::socket(peer.family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    SSL_free(*ssl);
    return failErrno("tunnel socket");
  }
  setNoDelay(fd);
  auto* tunnel = new TunnelConnection(worker, fd, peer, true);
  tunnel->poolKey_ = std::move(poolKey);
  tunnel->shownLocalIdentity_ = source.uri();
  if (auto svid = mesh.certificates->find(source)) tunnel->svidSerial_ = svid->info.serial;
  auto session = tunnel::TunnelSession::create(tunnel::Role::kClient, *ssl,
                                               mesh.tls->peerCheck(destination, tunnel->peerIdentity_), tunnel);
  if (!session) {
    ::close(fd);
    delete tunnel;
    return std::unexpected(session.error());
  }
  tunnel->session_ = std::move(*session);
  worker.adoptTunnel(tunnel);
  prepareConnect(worker.ring(), &tunnel->connectOp_, &tunnel->timeoutOp_, fd, tunnel->peer_,
                 worker.options().connectTimeout, tunnel->connectTimeout_);
  tunnel->inFlight_ += 2;
  worker.counters().add(worker.counters().tunnelsOpened);
  return tunnel;
}

void TunnelConnection::accept(Worker& worker, int fd, SocketAddress peer) {
  const MeshOptions& mesh = *worker.options().mesh;
  auto ssl = mesh.tls->newServer();
  if (!ssl) {
    log::warn("tunnel", "inbound from {}: {}", peer.toString(), ssl.error().describe());
    closeWithReset(fd);
    return;
  }
  setNoDelay(fd);
  auto* tunnel = new TunnelConnection(worker, fd, peer, false);
  auto session = tunnel::TunnelSession::create(tunnel::Role::kServer, *ssl,
                                               mesh.tls->peerCheck(std::nullopt, tunnel->peerIdentity_), tunnel);
  if (!session) {
    closeWithReset(fd);
    delete tunnel;
    return;
  }
  tunnel->session_ = std::move(*session);
  tunnel->connected_ = true;
  worker.adoptTunnel(tunnel);
  worker.counters().add(worker.counters().tunnelsAccepted);
  tunnel->armRecv();
}

bool TunnelConnection::usable() const {
  return !closing_ && !failed_ && !draining_ && !session_->peerGoingAway();
}

void TunnelConnection::drain() {
  if (draining_) return;
  draining_ = true;
  worker_.forgetPooled(poolKey_, this);
  if (activeStreams_ == 0) beginClose();
}

void TunnelConnection::goingAway() {
  if (outbound_ || closing_) return;
  session_->shutdownNotice();
  markDirty();
}

void TunnelConnection::streamStarted() {
  activeStreams_.fetch_add(1, std::memory_order_relaxed);
  totalStreams_.fetch_add(1, std::memory_order_relaxed);
  lastActive_ = worker_.now();
}

void TunnelConnection::streamEnded() {
  activeStreams_.fetch_sub(1, std::memory_order_relaxed);
  lastActive_ = worker_.now();
  if (draining_ && activeStreams_ == 0) beginClose();
}

void TunnelConnection::markDirty() {
  if (dirty || closing_) return;
  dirty = true;
  worker_.markDirty(this);
}

void TunnelConnection::onComplete(OpKind kind, int result, std::uint32_t) {
  --inFlight_;
  switch (kind) {
    case OpKind::kConnect: onConnected(result); break;
    case OpKind::kConnectTimeout: break;
    case OpKind::kRecv: onRecv(result); break;
    case OpKind::kSend: onSent(result); break;
  }
  finishIfDone();  // may delete this
}

void TunnelConnection::onConnected(int result) {
  if (closing_) return;
  if (result < 0) {
    worker_.counters().add(worker_.counters().tunnelHandshakeFailures);
    failWith(Error{ErrorCode::kSystem, "connect: " + std::string(std::strerror(-result))});
    return;
  }
  connected_ = true;
  armRecv();
  markDirty();  // the ClientHello, and streams opened meanwhile
}

void TunnelConnection::armRecv() {
  if (closing_) return;
  io_uring_prep_recv(worker_.ring().prepare(&recvOp_), fd_, recvBuffer_.get(), kRecvBuffer, 0);
  ++inFlight_;
}

void TunnelConnection::onRecv(int result) {
  if (closing_) return;
  if (result == 0 && session_->handshakeDone()) {
    // The peer closed the tunnel (idle, or shutting down): its streams end.
    session_->closeAll(tunnel::kConnectError);
    beginClose();
    return;
  }
  if (result <= 0) {
    if (!session_->handshakeDone()) worker_.counters().add(worker_.counters().tunnelHandshakeFailures);
    failWith(Error{ErrorCode::kSystem, result == 0 ? "the peer closed the connection"
                                                   : "recv: " + std::string(std::strerror(-result))});
    return;
  }
  const bool wasDone = session_->handshakeDone();
  if (auto ok = session_->receive(recvBuffer_.get(), static_cast<std::size_t>(result)); !ok) {
    auto& counters = worker_.counters();
    if (ok.error().code == ErrorCode::kPermissionDenied) counters.add(counters.tunnelPeerRejected);
    else if (!session_->handshakeDone()) counters.add(counters.tunnelHandshakeFailures);
    failWith(ok.error());
    return;
  }
  if (!wasDone && session_->handshakeDone()) {
    std::lock_guard lock(worker_.tunnelsMutex());
    shownPeerIdentity_ = *peerIdentity_;
    if (!outbound_) {
      if (!servedIdentity_) servedIdentity_ = worker_.options().mesh->tls->servedIdentity(session_->ssl());
      if (servedIdentity_) shownLocalIdentity_ = servedIdentity_->uri();
    }
    log::debug("tunnel", "{} tunnel with {} ({}) up", outbound_ ? "outbound" : "inbound", peer_.toString(),
               shownPeerIdentity_);
  }
  armRecv();
  markDirty();
}

void TunnelConnection::flush() {
  dirty = false;
  if (closing_ || !connected_) return;
  if (auto ok = session_->produce(kOutputLimit); !ok) {
    if (!session_->handshakeDone()) worker_.counters().add(worker_.counters().tunnelHandshakeFailures);
    failWith(ok.error());
    return;
  }
  sendOutput();
}

void TunnelConnection::sendOutput() {
  if (sendQueue_.submit(worker_.ring(), &sendOp_, fd_, session_->output())) ++inFlight_;
}

void TunnelConnection::onSent(int result) {
  sendQueue_.completed(result);
  if (closing_) return;
  if (result <= 0) {
    failWith(Error{ErrorCode::kSystem, "send: " + std::string(std::strerror(-result))});
    return;
  }
  // The session held back output while this was in flight.
  markDirty();
}

void TunnelConnection::onConnectRequest(std::int32_t streamId, std::string_view authority,
                                        std::string_view forwardedFor) {
  const MeshOptions& mesh = *worker_.options().mesh;
  auto destination = parseSocketAddress(authority);
  auto directory = mesh.directory->current();
  const MeshWorkload* workload = destination ? directory->find(*destination) : nullptr;
  // The client proved it wanted `served`: it may reach only pods of that
  // identity, and only on this node.
  // Parsed from the SNI once per tunnel. Not in the handshake's bookkeeping:
  // the first CONNECT can arrive in the same read as the client's Finished.
  if (!servedIdentity_) servedIdentity_ = mesh.tls->servedIdentity(session_->ssl());
  if (!workload || !workload->onThisNode || !servedIdentity_ || workload->identity != *servedIdentity_) {
    log::info("tunnel", "refused CONNECT {} from {} ({}): {}", authority, peer_.toString(), *peerIdentity_,
              !workload ? "no enrolled pod at that address"
              : !workload->onThisNode ? "that pod is not on this node"
                                      : "that pod is not the identity the tunnel was opened for");
    worker_.counters().add(worker_.counters().streamsRefused);
    session_->reject(streamId, 403);
    markDirty();
    return;
  }
  InboundConnection connection{.destination = *destination, .workload = workload};
  if (!peerSpiffeId_)
    if (auto id = identity::parseSpiffeId(*peerIdentity_)) peerSpiffeId_ = *id;
  connection.sourceIdentity = peerSpiffeId_;
  const MeshWorkload* source = nullptr;
  if (auto claimed = parseSocketAddress(forwardedFor); claimed && peerSpiffeId_) {
    // Believed only for a pod of the identity the peer proved.
    source = directory->find(*claimed);
    if (source && source->identity == *peerSpiffeId_) connection.source = *claimed;
    else source = nullptr;
  }
  auto flow = worker_.openFlow([&] {
    return telemetry::FlowEnds{.source = Worker::telemetryPeer(source, peerSpiffeId_),
                               .destination = Worker::telemetryPeer(workload),
                               .sourceAddress = connection.source,
                               .destinationAddress = *destination,
                               .mutualTls = true,
                               .reportsDestination = true};
  });
  connection.observer = flow.get();
  InboundPlan plan;
  if (mesh.inbound) plan = mesh.inbound->plan(connection);
  if (!plan.admitted) {
    if (flow) flow->flag("RBAC");
    log::info("tunnel", "denied CONNECT {} from {} ({}): {}", authority, peer_.toString(), *peerIdentity_, plan.reason);
    worker_.counters().add(worker_.counters().streamsDenied);
    session_->reject(streamId, 403);
    markDirty();
    return;
  }
  StreamRelay::startInbound(worker_, *this, streamId, *destination, std::move(plan.filter), std::move(flow));
}

void TunnelConnection::failWith(const Error& error) {
  if (closing_) return;
  failed_ = true;
  if (error.code == ErrorCode::kPermissionDenied || !session_->handshakeDone())
    log::warn("tunnel", "{} tunnel {} {}: {}", outbound_ ? "to" : "from", peer_.toString(),
              session_->handshakeDone() ? "rejected" : "handshake failed", error.message);
  else
    log::debug("tunnel", "{} tunnel {} ended: {}", outbound_ ? "to" : "from", peer_.toString(), error.message);
  worker_.forgetPooled(poolKey_, this);
  session_->closeAll(tunnel::kConnectError);
  // Tell the peer why: the TLS alert OpenSSL wrote (e.g. "certificate
  // expired") goes out best effort on the non-blocking socket, and then a FIN,
  // since a reset could make the peer drop the alert unread.
  std::string& alert = session_->output();
  if (!alert.empty() && !sendQueue_.inFlight() &&
      ::send(fd_, alert.data(), alert.size(), MSG_DONTWAIT | MSG_NOSIGNAL) == static_cast<ssize_t>(alert.size()))
    resetOnClose_ = false;
  beginClose();
}

void TunnelConnection::beginClose() {
  if (closing_) return;
  closing_ = true;
  worker_.forgetPooled(poolKey_, this);
  worker_.scheduleFinish(this);
  if (inFlight_ > 0) io_uring_prep_cancel_fd(worker_.ring().prepare(nullptr), fd_, IORING_ASYNC_CANCEL_ALL);
}

void TunnelConnection::abort() {
  failed_ = true;
  if (!closing_) session_->closeAll(tunnel::kConnectError);
  beginClose();
  finishIfDone();
}

void TunnelConnection::sweep(std::chrono::steady_clock::time_point now, std::chrono::seconds) {
  if (!closing_ && activeStreams_ == 0 && now - lastActive_ > kTunnelIdle) beginClose();
  finishIfDone();
}

void TunnelConnection::finishIfDone() {
  if (!closing_ || inFlight_ > 0) return;
  // Streams still attached (a close without failure) hear of it now.
  session_->closeAll(tunnel::kConnectError);
  if (failed_ && resetOnClose_) closeWithReset(fd_);
  else ::close(fd_);
  worker_.releaseTunnel(this);  // deletes this
}

nlohmann::json TunnelConnection::describe() const {
  return {{"direction", outbound_ ? "outbound" : "inbound"},
          {"peer", peer_.toString()},
          {"localIdentity", shownLocalIdentity_},
          {"peerIdentity", shownPeerIdentity_},
          {"streams", activeStreams_.load(std::memory_order_relaxed)},
          {"streamsTotal", totalStreams_.load(std::memory_order_relaxed)},
          {"draining", draining_},
          {"svidSerial", svidSerial_}};
}

nlohmann::json TunnelConnection::describeSelf() const {
  nlohmann::json out = describe();
  out["kind"] = "tunnel";
  return out;
}

}  // namespace weft::proxy

#include "relay.h"

#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include "socket_options.h"
#include "weft/common/log.h"
#include "worker.h"

namespace weft::proxy {
namespace {

SocketAddress localAddressOf(int fd) {
  SocketAddress address;
  address.length = sizeof address.storage;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&address.storage), &address.length);
  return address;
}

}  // namespace

Relay::Relay(Worker& worker, int clientFd, SocketAddress client, SocketAddress destination)
    : worker_(worker), fds_{clientFd, -1}, client_(client), destination_(destination) {
  for (int d = 0; d < 2; ++d) {
    Direction& dir = directions_[d];
    dir.pool = &worker_.pool(d);
    dir.recvOp.bind(this, OpKind::kRecv, d);
    dir.sendOp.bind(this, OpKind::kSend, d);
    dir.shutdownOp.bind(this, OpKind::kShutdown, d);
  }
  connectOp_.bind(this, OpKind::kConnect);
  timeoutOp_.bind(this, OpKind::kConnectTimeout);
  lastActive_ = worker_.now();
}

void Relay::start() {
  fds_[1] = ::socket(destination_.family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fds_[1] < 0) {
    log::warn("proxy", "upstream socket for {}: {}", client_.toString(), std::strerror(errno));
    countConnectFailure(errno);
    abort();
    return;
  }
  setNoDelay(fds_[0]);
  setNoDelay(fds_[1]);
  markAsProxy(fds_[1], worker_.options().upstreamMark);
  prepareConnect(worker_.ring(), &connectOp_, &timeoutOp_, fds_[1], destination_, worker_.options().connectTimeout,
                 connectTimeout_);
  inFlight_ += 2;
}

void Relay::onComplete(Op& op, int result, std::uint32_t flags) {
  --inFlight_;
  switch (op.kind) {
    case OpKind::kConnect: onConnected(result); break;
    case OpKind::kConnectTimeout: break;  // the connect itself reports the outcome
    case OpKind::kRecv: onRecv(op.direction, result, flags); break;
    case OpKind::kSend: onSend(op.direction, result); break;
    case OpKind::kShutdown: onShutdown(op.direction); break;
  }
  finishIfDone();  // may delete this: nothing may follow
}

void Relay::onConnected(int result) {
  if (closing_) return;
  if (result < 0) {
    countConnectFailure(-result);
    log::debug("proxy", "connect {} for {}: {}", destination_.toString(), client_.toString(), std::strerror(-result));
    resetOnClose_ = true;
    beginClose();
    return;
  }
  connected_ = true;
  tryJoin();
  armRecv(0);
  armRecv(1);
}

void Relay::armRecv(int d) {
  Direction& dir = directions_[d];
  if (closing_ || dir.eof) return;
  io_uring_sqe* sqe = worker_.ring().prepare(&dir.recvOp);
  io_uring_prep_recv(sqe, fds_[d], nullptr, dir.pool->bufferSize(), 0);
  sqe->flags |= IOSQE_BUFFER_SELECT;
  sqe->buf_group = dir.pool->group();
  ++inFlight_;
}

void Relay::onRecv(int d, int result, std::uint32_t flags) {
  Direction& dir = directions_[d];
  if (result > 0) {
    dir.bufferId = io::BufferRing::idFromFlags(flags);
    if (closing_) {
      releaseBuffer(d);
      return;
    }
    dir.length = static_cast<std::uint32_t>(result);
    dir.sent = 0;
    dir.total += dir.length;
    lastActive_ = worker_.now();
    auto& counters = worker_.counters();
    counters.add(d == 0 ? counters.bytesFromClients : counters.bytesFromUpstreams, dir.length);
    countBytes(d == 0, dir.length);
    sendPending(d);
    return;
  }
  if (result != -ENOBUFS) worker_.passBufferTurn(d);
  if (closing_) return;
  if (result == 0) {
    // End of stream from this side: pass the half-close on once every byte
    // before it has been sent (nothing is pending: one op per direction).
    dir.eof = true;
    io_uring_sqe* sqe = worker_.ring().prepare(&dir.shutdownOp);
    io_uring_prep_shutdown(sqe, fds_[1 - d], SHUT_WR);
    ++inFlight_;
    return;
  }
  if (result == -ENOBUFS) {
    // Every buffer of this direction's pool is in use: wait for one to come
    // back instead of retrying at once (which would spin).
    worker_.counters().add(worker_.counters().bufferWaits);
    worker_.parkForBuffer(this, d);
    return;
  }
  log::debug("proxy", "recv {} for {}: {}", d == 0 ? "from client" : "from upstream", client_.toString(),
             std::strerror(-result));
  resetOnClose_ = true;  // ECONNRESET and friends: the other side gets a reset too
  beginClose();
}

void Relay::sendPending(int d) {
  Direction& dir = directions_[d];
  io_uring_sqe* sqe = worker_.ring().prepare(&dir.sendOp);
  io_uring_prep_send(sqe, fds_[1 - d], dir.pool->data(static_cast<std::uint16_t>(dir.bufferId)) + dir.sent,
                     dir.length - dir.sent, MSG_NOSIGNAL);
  ++inFlight_;
}

void Relay::onSend(int d, int result) {
  Direction& dir = directions_[d];
  if (result < 0 && !closing_)
    log::debug("proxy", "send {} for {}: {}", d == 0 ? "upstream" : "to client", client_.toString(), std::strerror(-result));
  if (result <= 0 || closing_) {
    releaseBuffer(d);
    if (!closing_) {
      resetOnClose_ = true;
      beginClose();
    }
    return;
  }
  dir.sent += static_cast<std::uint32_t>(result);
  if (dir.sent < dir.length) {
    sendPending(d);
    return;
  }
  releaseBuffer(d);
  if (joined_) {
    const SocketTuple& from = d == 0 ? joined_->client : joined_->server;
    const SocketTuple& to = d == 0 ? joined_->server : joined_->client;
    worker_.steering().reportForwarded(from, to, dir.total);
  }
  armRecv(d);
}

void Relay::onShutdown(int d) {
  directions_[d].shutdownDone = true;
  if (directions_[0].shutdownDone && directions_[1].shutdownDone) beginClose();
}

void Relay::releaseBuffer(int d) {
  Direction& dir = directions_[d];
  if (dir.bufferId < 0) return;
  dir.pool->recycle(static_cast<std::uint16_t>(dir.bufferId));
  dir.bufferId = -1;
  worker_.bufferReturned(d);
}

void Relay::resumeParked(int d) { armRecv(d); }

// Same-node relay between two app sockets that the kernel already joined to
// our sockets: let their bytes go pod to pod (the proxy keeps both
// connections open, sees the FINs and resets, and stays in charge of ending).
void Relay::tryJoin() {
  if (!worker_.options().joinSameNodeRelays) return;
  SocketTuple clientApp{.local = client_, .remote = localAddressOf(fds_[0])};
  SocketTuple serverApp{.local = destination_, .remote = localAddressOf(fds_[1])};
  KernelSteering& steering = worker_.steering();
  if (!steering.canJoin(clientApp, serverApp) || !steering.requestJoin(clientApp, serverApp)) return;
  joined_ = std::make_unique<JoinedApps>(JoinedApps{clientApp, serverApp});
  worker_.counters().add(worker_.counters().relaysJoined);
}

void Relay::beginClose() {
  if (closing_) return;
  closing_ = true;
  worker_.unpark(this);
  // Closing an fd does not end io_uring operations on it: cancel them, then
  // close once the last completion is in.
  for (int fd : fds_) {
    if (fd < 0 || inFlight_ == 0) continue;
    io_uring_sqe* sqe = worker_.ring().prepare(nullptr);
    io_uring_prep_cancel_fd(sqe, fd, IORING_ASYNC_CANCEL_ALL);
  }
}

nlohmann::json Relay::describeSelf() const {
  return {{"kind", "relay"},
          {"client", client_.toString()},
          {"destination", destination_.toString()},
          {"connected", connected_},
          {"joinedInKernel", joined_ != nullptr}};
}

void Relay::abort() {
  resetOnClose_ = true;
  beginClose();
  finishIfDone();
}

void Relay::finishIfDone() {
  if (!closing_ || inFlight_ > 0) return;
  for (int d = 0; d < 2; ++d) releaseBuffer(d);
  for (int fd : fds_) {
    if (fd < 0) continue;
    if (resetOnClose_) closeWithReset(fd);
    else ::close(fd);
  }
  if (joined_) worker_.steering().forgetJoin(joined_->client, joined_->server);
  auto& counters = worker_.counters();
  counters.sub(counters.active);
  counters.add(counters.closed);
  if (resetOnClose_) counters.add(counters.resets);
  worker_.release(this);  // deletes this
}

void Relay::countConnectFailure(int error) {
  flagConnectFailure(error);
  auto& counters = worker_.counters();
  switch (error) {
    case ECONNREFUSED: counters.add(counters.connectRefused); break;
    case ECANCELED:
    case ETIMEDOUT: counters.add(counters.connectTimeout); break;
    case ENETUNREACH:
    case EHOSTUNREACH: counters.add(counters.connectUnreachable); break;
    default: counters.add(counters.connectOther); break;
  }
}

}  // namespace weft::proxy

#include "stream_relay.h"

#include <sys/socket.h>
#include <unistd.h>

#include "socket_options.h"
#include "tunnel_connection.h"
#include "weft/common/log.h"
#include "worker.h"

namespace weft::proxy {

StreamRelay::StreamRelay(Worker& worker, TunnelConnection& tunnel, int fd, SocketAddress destination, bool inbound)
    : worker_(worker), tunnel_(&tunnel), fd_(fd), destination_(destination), inbound_(inbound) {
  for (auto [op, kind] : {std::pair{&connectOp_, OpKind::kConnect}, {&timeoutOp_, OpKind::kConnectTimeout},
                          {&recvOp_, OpKind::kRecv}, {&sendOp_, OpKind::kSend}, {&shutdownOp_, OpKind::kShutdown}}) {
    op->relay = this;
    op->kind = kind;
  }
  lastActive_ = worker_.now();
  tunnel.streamStarted();
  worker_.adopt(this);
}

void StreamRelay::startOutbound(Worker& worker, TunnelConnection& tunnel, int appFd, SocketAddress source,
                                SocketAddress destination, std::unique_ptr<telemetry::FlowTelemetry> flow) {
  auto* relay = new StreamRelay(worker, tunnel, appFd, destination, false);
  relay->observe(std::move(flow));
  setNoDelay(appFd);
  auto id = tunnel.session().openStream(destination.toString(), source.toString(), relay);
  if (!id) {
    log::warn("tunnel", "stream to {}: {}", destination.toString(), id.error().describe());
    relay->detachStream(false);
    relay->beginClose(true);
    relay->finishIfDone();
    return;
  }
  relay->streamId_ = *id;
  worker.counters().add(worker.counters().streamsOpened);
  tunnel.markDirty();
}

void StreamRelay::startInbound(Worker& worker, TunnelConnection& tunnel, std::int32_t streamId,
                               SocketAddress destination, std::unique_ptr<http::StreamFilter> filter,
                               std::unique_ptr<telemetry::FlowTelemetry> flow) {
  int fd = ::socket(destination.family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    filter.reset();  // before the flow it reports to
    if (flow) flow->flag("UF");
    log::warn("tunnel", "socket for {}: {}", destination.toString(), std::strerror(errno));
    tunnel.session().reject(streamId, 503);
    tunnel.markDirty();
    return;
  }
  auto* relay = new StreamRelay(worker, tunnel, fd, destination, true);
  relay->streamId_ = streamId;
  relay->observe(std::move(flow));
  relay->filter_ = std::move(filter);
  tunnel.session().attach(streamId, relay);
  worker.counters().add(worker.counters().active);
  setNoDelay(fd);
  markAsProxy(fd, worker.options().upstreamMark);
  prepareConnect(worker.ring(), &relay->connectOp_, &relay->timeoutOp_, fd, relay->destination_,
                 worker.options().connectTimeout, relay->connectTimeout_);
  relay->inFlight_ += 2;
}

void StreamRelay::onComplete(OpKind kind, int result, std::uint32_t flags) {
  --inFlight_;
  switch (kind) {
    case OpKind::kConnect: onConnected(result); break;
    case OpKind::kConnectTimeout: break;
    case OpKind::kRecv: onRecv(result, flags); break;
    case OpKind::kSend: onSent(result); break;
    case OpKind::kShutdown: break;
  }
  finishIfDone();  // may delete this
}

void StreamRelay::onConnected(int result) {
  if (closing_ || !tunnel_) return;
  if (result < 0) {
    log::debug("tunnel", "connect {}: {}", destination_.toString(), std::strerror(-result));
    auto& counters = worker_.counters();
    counters.add(result == -ECONNREFUSED ? counters.connectRefused
                 : (result == -ECANCELED || result == -ETIMEDOUT) ? counters.connectTimeout
                                                                  : counters.connectOther);
    flagConnectFailure(-result);
    // Not yet answered: the source hears a refusal and resets its app's connection.
    tunnel_->session().reject(streamId_, result == -ECANCELED || result == -ETIMEDOUT ? 504 : 502);
    dirtyTunnel();
    tunnel_->streamEnded();
    tunnel_ = nullptr;
    beginClose(true);
    return;
  }
  if (auto ok = tunnel_->session().respond(streamId_, this); !ok) {
    detachStream(true);  // the session must forget this handler
    beginClose(true);
    return;
  }
  established_ = true;
  worker_.counters().add(worker_.counters().streamsAccepted);
  dirtyTunnel();
  armRecv();
}

void StreamRelay::onResponse(int status) {
  if (status >= 200 && status < 300) {
    established_ = true;
    armRecv();
    return;
  }
  log::debug("tunnel", "CONNECT {} answered {}", destination_.toString(), status);
  worker_.counters().add(worker_.counters().connectRefused);
  // The destination's proxy refused: 403 is its policy, 504 a timeout, else a failed connect.
  flagFlow(status == 403 ? "RBAC" : status == 504 ? "UT" : "UF");
  detachStream(true);
  beginClose(true);
}

void StreamRelay::armRecv() {
  // One receive at a time: with a filter this is reached from the stream's
  // side too, and a second receive on the socket could reorder its bytes.
  if (closing_ || localEof_ || !established_ || !tunnel_ || receiving_ || bufferId_ >= 0 || !streamSending_.empty())
    return;
  io::BufferRing& pool = worker_.pool(Worker::kStreamPool);
  io_uring_sqe* sqe = worker_.ring().prepare(&recvOp_);
  io_uring_prep_recv(sqe, fd_, nullptr, pool.bufferSize(), 0);
  sqe->flags |= IOSQE_BUFFER_SELECT;
  sqe->buf_group = pool.group();
  receiving_ = true;
  ++inFlight_;
}

void StreamRelay::onRecv(int result, std::uint32_t flags) {
  receiving_ = false;
  if (result > 0) {
    bufferId_ = io::BufferRing::idFromFlags(flags);
    if (closing_ || !tunnel_) {
      releaseBuffer();
      return;
    }
    lastActive_ = worker_.now();
    auto& counters = worker_.counters();
    counters.add(inbound_ ? counters.bytesFromUpstreams : counters.bytesFromClients, result);
    countBytes(!inbound_, static_cast<std::uint64_t>(result));
    auto* data = reinterpret_cast<const std::uint8_t*>(
        worker_.pool(Worker::kStreamPool).data(static_cast<std::uint16_t>(bufferId_)));
    if (filter_) {
      filter_->onUpstreamData({reinterpret_cast<const char*>(data), static_cast<std::size_t>(result)}, filterOut_);
      releaseBuffer();  // the filter copied what it keeps
      applyFilterOutput();
      return;
    }
    tunnel_->session().send(streamId_, data, static_cast<std::size_t>(result));
    dirtyTunnel();
    return;
  }
  if (result != -ENOBUFS) worker_.passBufferTurn(Worker::kStreamPool);
  if (closing_ || !tunnel_) return;
  if (result == 0) {
    localEof_ = true;
    if (filter_) {
      filter_->onUpstreamEnd(filterOut_);
      applyFilterOutput();
      return;
    }
    tunnel_->session().endStream(streamId_);
    dirtyTunnel();
    return;
  }
  if (result == -ENOBUFS) {
    worker_.counters().add(worker_.counters().bufferWaits);
    worker_.parkForBuffer(this, Worker::kStreamPool);
    return;
  }
  log::debug("tunnel", "recv for stream to {}: {}", destination_.toString(), std::strerror(-result));
  detachStream(true);
  beginClose(true);
}

void StreamRelay::onSendDrained() {
  // HTTP/2 copied the buffer into frames: it can take the next bytes.
  if (filter_) {
    streamSending_.clear();
    flushToStream();
    return;
  }
  releaseBuffer();
  armRecv();
}

void StreamRelay::onData(const std::uint8_t* data, std::size_t length) {
  lastActive_ = worker_.now();
  auto& counters = worker_.counters();
  counters.add(inbound_ ? counters.bytesFromClients : counters.bytesFromUpstreams, length);
  countBytes(inbound_, length);
  if (filter_) {
    unconsumed_ += length;
    if (closing_) return;
    filter_->onDownstreamData({reinterpret_cast<const char*>(data), length}, filterOut_);
    applyFilterOutput();
    return;
  }
  toLocal_.append(reinterpret_cast<const char*>(data), length);
  if (!closing_) sendLocal();
}

void StreamRelay::sendLocal() {
  if (sendQueue_.submit(worker_.ring(), &sendOp_, fd_, toLocal_)) ++inFlight_;
}

void StreamRelay::onSent(int result) {
  sendQueue_.completed(result);
  if (closing_) return;
  if (result <= 0) {
    log::debug("tunnel", "send for stream to {}: {}", destination_.toString(), std::strerror(-result));
    detachStream(true);
    beginClose(true);
    return;
  }
  // Delivered: the peer may send this much more on the stream.
  if (filter_) {
    releaseConsumed();
  } else if (tunnel_) {
    tunnel_->session().consumed(streamId_, static_cast<std::size_t>(result));
    dirtyTunnel();
  }
  sendLocal();
  if (!sendQueue_.inFlight()) shutdownLocalIfDone();
}

void StreamRelay::onRemoteEnd() {
  if (filter_) {
    if (closing_) return;
    filter_->onDownstreamEnd(filterOut_);
    applyFilterOutput();
    return;
  }
  remoteEnd_ = true;
  if (!sendQueue_.inFlight()) shutdownLocalIfDone();
}

// Passes the peer's FIN on once every byte before it is out, and ends the
// relay once the stream closed cleanly as well.
void StreamRelay::shutdownLocalIfDone() {
  if (closing_ || sendQueue_.inFlight() || !toLocal_.empty()) return;
  if (remoteEnd_ && !shutdownSent_) {
    shutdownSent_ = true;
    io_uring_prep_shutdown(worker_.ring().prepare(&shutdownOp_), fd_, SHUT_WR);
    ++inFlight_;
  }
  if (!tunnel_) beginClose(false);
}

void StreamRelay::onClosed(std::uint32_t errorCode) {
  // The session forgot us: never touch the tunnel again (it may be gone).
  if (tunnel_) tunnel_->streamEnded();
  tunnel_ = nullptr;
  if (errorCode != tunnel::kNoError) {
    worker_.counters().add(worker_.counters().streamsReset);
    beginClose(true);
    return;
  }
  shutdownLocalIfDone();
}

void StreamRelay::detachStream(bool reset) {
  if (!tunnel_) return;
  if (reset && streamId_ >= 0) {
    tunnel_->session().reset(streamId_);
    worker_.counters().add(worker_.counters().streamsReset);
    dirtyTunnel();
  }
  tunnel_->streamEnded();
  tunnel_ = nullptr;
}

void StreamRelay::applyFilterOutput() {
  http::FilterOutput& out = filterOut_;
  if (out.resetUpstream || out.resetDownstream) {
    // A protocol error mid-message: a clean end would pass a truncated
    // message off as whole, so both sides are reset.
    out.clear();
    detachStream(true);
    beginClose(true);
    return;
  }
  toLocal_.append(out.toUpstream);
  toStream_.append(out.toDownstream);
  if (out.endUpstream) remoteEnd_ = true;
  if (out.endDownstream) streamEndWanted_ = true;
  filterPaused_ = out.pauseDownstream;
  out.clear();
  if (closing_) return;
  sendLocal();
  flushToStream();
  releaseConsumed();
  if (!sendQueue_.inFlight()) shutdownLocalIfDone();
}

// One batch at a time: the session keeps a pointer to it until it has copied
// it into frames (onSendDrained). Reading the pod waits for that, so a slow
// stream holds back the pod.
void StreamRelay::flushToStream() {
  if (closing_ || !tunnel_ || !streamSending_.empty()) return;
  if (!toStream_.empty()) {
    std::swap(streamSending_, toStream_);
    tunnel_->session().send(streamId_, reinterpret_cast<const std::uint8_t*>(streamSending_.data()),
                            streamSending_.size());
    dirtyTunnel();
    return;
  }
  if (streamEndWanted_ && !streamEndSent_) {
    streamEndSent_ = true;
    localEof_ = true;  // nothing more is read from the pod for this stream
    tunnel_->session().endStream(streamId_);
    dirtyTunnel();
    return;
  }
  armRecv();
}

// The stream's window reopens only for bytes whose output reached the pod,
// and not while the filter holds a pipelined request back.
void StreamRelay::releaseConsumed() {
  if (!tunnel_ || filterPaused_ || unconsumed_ == 0 || sendQueue_.inFlight() || !toLocal_.empty()) return;
  tunnel_->session().consumed(streamId_, unconsumed_);
  unconsumed_ = 0;
  dirtyTunnel();
}

void StreamRelay::releaseBuffer() {
  if (bufferId_ < 0) return;
  worker_.pool(Worker::kStreamPool).recycle(static_cast<std::uint16_t>(bufferId_));
  bufferId_ = -1;
  worker_.bufferReturned(Worker::kStreamPool);
}

void StreamRelay::resumeParked(int) { armRecv(); }

void StreamRelay::sweep(std::chrono::steady_clock::time_point now, std::chrono::seconds limit) {
  if (filter_ && !closing_ && now - lastActive_ >= kFilterQuiet) {
    filter_->onQuiet(filterOut_);
    applyFilterOutput();
  }
  WorkerConnection::sweep(now, limit);
}

void StreamRelay::dirtyTunnel() {
  if (tunnel_) tunnel_->markDirty();
}

void StreamRelay::beginClose(bool reset) {
  if (closing_) return;
  closing_ = true;
  resetOnClose_ = resetOnClose_ || reset;
  worker_.unpark(this);
  worker_.scheduleFinish(this);
  if (inFlight_ > 0) io_uring_prep_cancel_fd(worker_.ring().prepare(nullptr), fd_, IORING_ASYNC_CANCEL_ALL);
}

nlohmann::json StreamRelay::describeSelf() const {
  return {{"kind", "tunnel-stream"},
          {"direction", inbound_ ? "inbound" : "outbound"},
          {"destination", destination_.toString()},
          {"filtered", filter_ != nullptr},
          {"established", established_}};
}

void StreamRelay::abort() {
  detachStream(true);
  beginClose(true);
  finishIfDone();
}

void StreamRelay::finishIfDone() {
  if (!closing_ || inFlight_ > 0) return;
  // The session may still point at our buffer: take it back first.
  detachStream(true);
  releaseBuffer();
  if (resetOnClose_) closeWithReset(fd_);
  else ::close(fd_);
  auto& counters = worker_.counters();
  counters.sub(counters.active);
  counters.add(counters.closed);
  if (resetOnClose_) counters.add(counters.resets);
  worker_.release(this);  // deletes this
}

}  // namespace weft::proxy

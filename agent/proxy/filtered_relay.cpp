#include "filtered_relay.h"

#include <sys/socket.h>
#include <unistd.h>

#include "socket_options.h"
#include "weft/common/log.h"
#include "worker.h"

namespace weft::proxy {

FilteredRelay::FilteredRelay(Worker& worker, int clientFd, SocketAddress client, SocketAddress destination,
                             std::unique_ptr<http::StreamFilter> filter)
    : worker_(worker), client_(client), destination_(destination), filter_(std::move(filter)) {
  sides_[0].fd = clientFd;
  for (int s = 0; s < 2; ++s) {
    Side& side = sides_[s];
    side.pool = &worker_.pool(s);
    for (auto [op, kind] : {std::pair{&side.recvOp, OpKind::kRecv}, {&side.sendOp, OpKind::kSend},
                            {&side.shutdownOp, OpKind::kShutdown}}) {
      op->relay = this;
      op->kind = kind;
      op->side = static_cast<std::uint8_t>(s);
    }
  }
  connectOp_.relay = timeoutOp_.relay = this;
  connectOp_.kind = OpKind::kConnect;
  timeoutOp_.kind = OpKind::kConnectTimeout;
  lastActive_ = worker_.now();
}

void FilteredRelay::start() {
  sides_[1].fd = ::socket(destination_.family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (sides_[1].fd < 0) {
    log::warn("proxy", "upstream socket for {}: {}", client_.toString(), std::strerror(errno));
    worker_.counters().add(worker_.counters().connectOther);
    abort();
    return;
  }
  setNoDelay(sides_[0].fd);
  setNoDelay(sides_[1].fd);
  markAsProxy(sides_[1].fd, worker_.options().upstreamMark);
  prepareConnect(worker_.ring(), &connectOp_, &timeoutOp_, sides_[1].fd, destination_,
                 worker_.options().connectTimeout, connectTimeout_);
  inFlight_ += 2;
}

void FilteredRelay::onComplete(Op& op, int result, std::uint32_t flags) {
  --inFlight_;
  switch (op.kind) {
    case OpKind::kConnect: onConnected(result); break;
    case OpKind::kConnectTimeout: break;
    case OpKind::kRecv: onRecv(op.side, result, flags); break;
    case OpKind::kSend: onSent(op.side, result); break;
    case OpKind::kShutdown:
      sides_[op.side].shutdownDone = true;
      pump();
      break;
  }
  finishIfDone();  // may delete this
}

void FilteredRelay::onConnected(int result) {
  if (closing_) return;
  if (result < 0) {
    auto& counters = worker_.counters();
    counters.add(result == -ECONNREFUSED ? counters.connectRefused
                 : (result == -ECANCELED || result == -ETIMEDOUT) ? counters.connectTimeout
                                                                  : counters.connectOther);
    flagConnectFailure(-result);
    log::debug("proxy", "connect {} for {}: {}", destination_.toString(), client_.toString(), std::strerror(-result));
    beginClose(true);
    return;
  }
  connected_ = true;
  pump();
}

void FilteredRelay::armRecv(int s) {
  Side& side = sides_[s];
  io_uring_sqe* sqe = worker_.ring().prepare(&side.recvOp);
  io_uring_prep_recv(sqe, side.fd, nullptr, side.pool->bufferSize(), 0);
  sqe->flags |= IOSQE_BUFFER_SELECT;
  sqe->buf_group = side.pool->group();
  side.receiving = true;
  ++inFlight_;
}

void FilteredRelay::onRecv(int s, int result, std::uint32_t flags) {
  Side& side = sides_[s];
  side.receiving = false;
  if (result > 0) {
    auto id = static_cast<std::uint16_t>(io::BufferRing::idFromFlags(flags));
    if (!closing_) {
      lastActive_ = worker_.now();
      auto& counters = worker_.counters();
      counters.add(s == 0 ? counters.bytesFromClients : counters.bytesFromUpstreams, result);
      countBytes(s == 0, static_cast<std::uint64_t>(result));
      std::string_view bytes(reinterpret_cast<const char*>(side.pool->data(id)), static_cast<std::size_t>(result));
      if (s == 0) filter_->onDownstreamData(bytes, out_);
      else filter_->onUpstreamData(bytes, out_);
    }
    // The filter copied what it keeps: the buffer goes back at once.
    side.pool->recycle(id);
    worker_.bufferReturned(s);
    if (!closing_) apply();
    return;
  }
  if (result != -ENOBUFS) worker_.passBufferTurn(s);
  if (closing_) return;
  if (result == 0) {
    side.eof = true;
    if (s == 0) filter_->onDownstreamEnd(out_);
    else filter_->onUpstreamEnd(out_);
    apply();
    return;
  }
  if (result == -ENOBUFS) {
    worker_.counters().add(worker_.counters().bufferWaits);
    worker_.parkForBuffer(this, s);
    return;
  }
  log::debug("proxy", "recv {} for {}: {}", s == 0 ? "from client" : "from upstream", client_.toString(),
             std::strerror(-result));
  beginClose(true);
}

void FilteredRelay::apply() {
  if (out_.resetUpstream || out_.resetDownstream) {
    out_.clear();
    beginClose(true);
    return;
  }
  sides_[1].pending.append(out_.toUpstream);
  sides_[0].pending.append(out_.toDownstream);
  if (out_.endUpstream) sides_[1].endWanted = true;
  if (out_.endDownstream) sides_[0].endWanted = true;
  paused_ = out_.pauseDownstream;
  out_.clear();
  pump();
}

// Sends what is queued, passes FINs on once a side's queue is out, reads a
// side only while its output has somewhere to go, and ends the relay once
// both directions are shut.
void FilteredRelay::pump() {
  if (closing_ || !connected_) return;
  for (int s = 0; s < 2; ++s) {
    Side& side = sides_[s];
    if (side.sendQueue.submit(worker_.ring(), &side.sendOp, side.fd, side.pending)) ++inFlight_;
    if (side.endWanted && !side.shutdownSent && !side.sendQueue.inFlight() && side.pending.empty()) {
      side.shutdownSent = true;
      io_uring_prep_shutdown(worker_.ring().prepare(&side.shutdownOp), side.fd, SHUT_WR);
      ++inFlight_;
    }
  }
  if (sides_[0].shutdownDone && sides_[1].shutdownDone) {
    beginClose(false);
    return;
  }
  for (int s = 0; s < 2; ++s) {
    Side& side = sides_[s];
    const Side& other = sides_[1 - s];
    bool otherBusy = other.sendQueue.inFlight() || !other.pending.empty();
    if (side.receiving || side.eof || otherBusy || (s == 0 && paused_)) continue;
    armRecv(s);
  }
}

void FilteredRelay::onSent(int s, int result) {
  Side& side = sides_[s];
  side.sendQueue.completed(result);
  if (closing_) return;
  if (result <= 0) {
    log::debug("proxy", "send {} for {}: {}", s == 1 ? "upstream" : "to client", client_.toString(),
               std::strerror(-result));
    beginClose(true);
    return;
  }
  pump();
}

void FilteredRelay::resumeParked(int) { pump(); }

void FilteredRelay::sweep(std::chrono::steady_clock::time_point now, std::chrono::seconds limit) {
  if (!closing_ && connected_ && now - lastActive_ >= kFilterQuiet) {
    filter_->onQuiet(out_);
    apply();
  }
  WorkerConnection::sweep(now, limit);
}

void FilteredRelay::beginClose(bool reset) {
  if (closing_) return;
  closing_ = true;
  resetOnClose_ = resetOnClose_ || reset;
  worker_.unpark(this);
  worker_.scheduleFinish(this);
  for (const Side& side : sides_)
    if (side.fd >= 0 && inFlight_ > 0)
      io_uring_prep_cancel_fd(worker_.ring().prepare(nullptr), side.fd, IORING_ASYNC_CANCEL_ALL);
}

nlohmann::json FilteredRelay::describeSelf() const {
  return {{"kind", "filtered"},
          {"client", client_.toString()},
          {"destination", destination_.toString()},
          {"connected", connected_}};
}

void FilteredRelay::abort() {
  beginClose(true);
  finishIfDone();
}

void FilteredRelay::finishIfDone() {
  if (!closing_ || inFlight_ > 0) return;
  for (const Side& side : sides_) {
    if (side.fd < 0) continue;
    if (resetOnClose_) closeWithReset(side.fd);
    else ::close(side.fd);
  }
  auto& counters = worker_.counters();
  counters.sub(counters.active);
  counters.add(counters.closed);
  if (resetOnClose_) counters.add(counters.resets);
  worker_.release(this);  // deletes this
}

}  // namespace weft::proxy

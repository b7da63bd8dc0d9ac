#include "weft-bench/load_worker.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fmt/format.h>

#include "weft/common/log.h"

namespace weft::bench {
namespace {

constexpr std::size_t kScratchSize = 64 * 1024;
// Concurrent connects per worker: enough to open 10,000 connections in well
// under a second without overflowing the server's accept backlog.
constexpr std::size_t kMaxConnecting = 256;
// How often timeouts are checked, and the longest epoll wait.
constexpr Nanos kTick = 20 * kNanosPerMilli;
constexpr std::uint64_t kStopKey = UINT64_MAX;
constexpr int kMaxReadsPerWake = 4;

bool isActive(auto s) {
  using S = decltype(s);
  return s == S::kConnecting || s == S::kAwaitResponse || s == S::kAwaitEof || s == S::kClosing;
}

bool isOpen(auto s) {
  using S = decltype(s);
  return s == S::kIdle || s == S::kAwaitResponse || s == S::kAwaitEof || s == S::kClosing;
}

}  // namespace

void LoadStats::merge(const LoadStats& o) {
  latency.merge(o.latency);
  connectLatency.merge(o.connectLatency);
  requests += o.requests;
  completed += o.completed;
  established += o.established;
  finished += o.finished;
  unsent += o.unsent;
  errors += o.errors;
  if (!firstError && o.firstError) firstError = o.firstError;
  lastCompletion = std::max(lastCompletion, o.lastCompletion);
}

void LoadStats::recordError(RunError error) {
  ++errors;
  if (!firstError) {
    log::warn("bench", "{}", error.message);
    firstError = std::move(error);
  } else {
    log::debug("bench", "{}", error.message);
  }
}

LoadWorker::LoadWorker(const LoadSpec& spec, std::size_t firstIndex, std::size_t count)
    : spec_(spec),
      peer_(spec.address.toString()),
      tagSize_(std::min<std::uint32_t>(kTagSize, spec.requestSize)),
      echoedSize_(static_cast<std::uint32_t>(echoedTagSize(spec.requestSize, spec.responseSize))),
      request_(spec.requestSize),
      scratch_(kScratchSize),
      conns_(count),
      epoll_(::epoll_create1(EPOLL_CLOEXEC)) {
  body_.fill(0, request_);
  PrngStream tags(spec.seed);
  for (std::size_t i = 0; i < count; ++i) {
    conns_[i].index = firstIndex + i;
    conns_[i].tagBase = tags.wordAt(firstIndex + i);
  }
}

std::string LoadWorker::describe(const Conn& c) const { return fmt::format("{} (connection {})", peer_, c.index); }

void LoadWorker::setState(Conn& c, State s) {
  active_ += isActive(s);
  active_ -= isActive(c.state);
  open_ += isOpen(s);
  open_ -= isOpen(c.state);
  connecting_ += s == State::kConnecting;
  connecting_ -= c.state == State::kConnecting;
  c.state = s;
}

void LoadWorker::fail(Conn& c, RunError error) {
  if (c.state == State::kFailed || c.state == State::kDone) return;
  stats_.recordError(std::move(error));
  if (openLoop_) backlog_ -= c.dueInLoad - c.sentInLoad;
  c.dueInLoad = c.sentInLoad;
  c.fd.reset();
  setState(c, State::kFailed);
}

void LoadWorker::setInterest(Conn& c, std::uint32_t events) {
  if (events == c.events) return;
  epoll_event ev{};
  ev.events = events;
  ev.data.u64 = static_cast<std::uint64_t>(&c - conns_.data());
  ::epoll_ctl(epoll_.get(), c.events == 0 ? EPOLL_CTL_ADD : EPOLL_CTL_MOD, c.fd.get(), &ev);
  c.events = events;
}

void LoadWorker::startConnect(Conn& c, Nanos now) {
  c.fd.reset(::socket(spec_.address.family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  c.events = 0;
  c.headerSent = false;
  c.connectStart = now;
  c.lastProgress = now;
  if (!c.fd.valid()) return fail(c, errnoFailure(errno, "connect", "socket"));
  int one = 1;
  ::setsockopt(c.fd.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (::connect(c.fd.get(), spec_.address.get(), spec_.address.length) == 0) {
    setInterest(c, EPOLLIN);
    return onConnected(c, now);
  }
  if (errno != EINPROGRESS) return fail(c, errnoFailure(errno, "connect", "connect " + peer_));
  setState(c, State::kConnecting);
  setInterest(c, EPOLLOUT);
}

void LoadWorker::finishConnect(Conn& c, Nanos now) {
  int err = 0;
  socklen_t len = sizeof err;
  ::getsockopt(c.fd.get(), SOL_SOCKET, SO_ERROR, &err, &len);
  if (err != 0) return fail(c, errnoFailure(err, "connect", "connect " + peer_));
  setInterest(c, EPOLLIN);
  onConnected(c, now);
}

void LoadWorker::onConnected(Conn& c, Nanos now) {
  stats_.connectLatency.record(static_cast<std::uint64_t>(now - c.connectStart));
  ++stats_.established;
  setState(c, State::kIdle);
  afterIdle(c, now);
}

void LoadWorker::afterIdle(Conn& c, Nanos now) {
  switch (phase_) {
    case Phase::kLoad:
      if (openLoop_) {
        if (c.dueInLoad > c.sentInLoad && now < plan_.end) sendDue(c, now);
      } else if (now < plan_.end && issued_ < plan_.quota) {
        ++issued_;
        startRequest(c, now, now, now >= plan_.warmupEnd);
      }
      break;
    case Phase::kChurn:
      startRequest(c, c.connectStart, now, true);  // churn latency includes the connect
      break;
    default:
      break;
  }
}

void LoadWorker::startRequest(Conn& c, Nanos origin, Nanos now, bool record) {
  c.prefixLen = 0;
  if (!c.headerSent) {
    Header header{.mode = Mode::kRr,
                  .flags = phase_ == Phase::kChurn ? kFlagOneShot : std::uint16_t{0},
                  .requestSize = spec_.requestSize,
                  .responseSize = spec_.responseSize};
    auto bytes = encodeHeader(header);
    std::copy(bytes.begin(), bytes.end(), c.prefix);
    c.prefixLen = kHeaderSize;
    c.headerSent = true;
  }
  storeLe64(c.tag, c.tagBase + c.seq);
  std::copy(c.tag, c.tag + tagSize_, c.prefix + c.prefixLen);
  c.prefixLen = static_cast<std::uint8_t>(c.prefixLen + tagSize_);
  c.prefixSent = 0;
  c.bodyPos = tagSize_;
  c.responsePos = 0;
  c.origin = origin;
  c.record = record;
  c.lastProgress = now;
  ++c.seq;
  setState(c, State::kAwaitResponse);
  flush(c, now);
}

void LoadWorker::flush(Conn& c, Nanos now) {
  while (c.prefixSent < c.prefixLen || c.bodyPos < spec_.requestSize) {
    iovec iov[2];
    int n = 0;
    if (c.prefixSent < c.prefixLen) iov[n++] = {c.prefix + c.prefixSent, std::size_t{c.prefixLen} - c.prefixSent};
    if (c.bodyPos < spec_.requestSize) iov[n++] = {request_.data() + c.bodyPos, spec_.requestSize - c.bodyPos};
    msghdr msg{};
    msg.msg_iov = iov;
    msg.msg_iovlen = static_cast<std::size_t>(n);
    ssize_t sent = ::sendmsg(c.fd.get(), &msg, MSG_NOSIGNAL);
    if (sent < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN) return setInterest(c, EPOLLIN | EPOLLOUT);
      return fail(c, errnoFailure(errno, "write", "write to " + describe(c)));
    }
    auto left = static_cast<std::size_t>(sent);
    std::size_t fromPrefix = std::min<std::size_t>(left, c.prefixLen - c.prefixSent);
    c.prefixSent = static_cast<std::uint8_t>(c.prefixSent + fromPrefix);
    c.bodyPos += static_cast<std::uint32_t>(left - fromPrefix);
    c.lastProgress = now;
  }
  setInterest(c, EPOLLIN);
}

void LoadWorker::onReadable(Conn& c, Nanos now) {
  for (int i = 0; i < kMaxReadsPerWake; ++i) {
    ssize_t n = ::recv(c.fd.get(), scratch_.data(), scratch_.size(), 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN) return;
      return fail(c, errnoFailure(errno, "read", "read from " + describe(c)));
    }
    if (n == 0) return onEof(c, now);
    onBytes(c, {scratch_.data(), static_cast<std::size_t>(n)}, now);
    if (c.state == State::kFailed || static_cast<std::size_t>(n) < scratch_.size()) return;
  }
}

void LoadWorker::onBytes(Conn& c, std::span<const std::uint8_t> data, Nanos now) {
  c.lastProgress = now;
  if (c.state != State::kAwaitResponse)
    return fail(c, verifyFailure(fmt::format("{} sent {} unexpected bytes{}", describe(c), data.size(),
                                             c.state == State::kIdle ? " on an idle connection" : "")));
  std::size_t take = std::min<std::size_t>(data.size(), spec_.responseSize - c.responsePos);
  std::uint64_t request = c.seq - 1;
  if (request == 0 && c.responsePos == 0 && std::string_view(reinterpret_cast<const char*>(data.data()), data.size())
                                                .starts_with("HTTP/"))
    return fail(c, verifyFailure(fmt::format("{} answered in HTTP, not the bench protocol: is it `weft-bench serve`?",
                                             describe(c))));
  for (std::size_t j = c.responsePos; j < echoedSize_ && j < c.responsePos + take; ++j) {
    if (data[j - c.responsePos] != c.tag[j])
      return fail(c, verifyFailure(fmt::format(
                         "{}: response {} does not carry its request's tag (byte {} is {:#04x}, expected {:#04x}): "
                         "it answers another request or connection",
                         describe(c), request, j, data[j - c.responsePos], c.tag[j])));
  }
  if (std::size_t from = std::max<std::size_t>(c.responsePos, echoedSize_); from < c.responsePos + take) {
    if (auto bad = body_.firstMismatch(from, data.subspan(from - c.responsePos, c.responsePos + take - from)))
      return fail(c, verifyFailure(fmt::format("{}: byte {} of response {} is corrupted", describe(c), *bad, request)));
  }
  c.responsePos += static_cast<std::uint32_t>(take);
  if (c.responsePos < spec_.responseSize) return;
  if (take < data.size())
    return fail(c, verifyFailure(fmt::format("{} sent {} bytes beyond response {}", describe(c), data.size() - take,
                                             request)));
  completeRequest(c, now);
}

void LoadWorker::completeRequest(Conn& c, Nanos now) {
  ++stats_.completed;
  stats_.lastCompletion = now;
  if (c.record) {
    stats_.latency.record(static_cast<std::uint64_t>(std::max<Nanos>(0, now - c.origin)));
    ++stats_.requests;
  }
  if (phase_ == Phase::kChurn) return setState(c, State::kAwaitEof);
  setState(c, State::kIdle);
  afterIdle(c, now);
}

void LoadWorker::onEof(Conn& c, Nanos now) {
  switch (c.state) {
    case State::kClosing:
      c.fd.reset();
      return setState(c, State::kDone);
    case State::kAwaitEof:
      c.fd.reset();
      ++stats_.finished;
      setState(c, State::kDone);
      if (phase_ == Phase::kChurn && now < churnEnd_) startConnect(c, now);
      return;
    case State::kAwaitResponse:
      return fail(c, eofFailure("read", fmt::format("{} closed the connection (EOF) after {} of the {} bytes of "
                                                    "response {}",
                                                    describe(c), c.responsePos, spec_.responseSize, c.seq - 1)));
    default:
      return fail(c, eofFailure("read", fmt::format("{} closed an idle connection (EOF)", describe(c))));
  }
}

void LoadWorker::checkTimeouts(Nanos now) {
  for (Conn& c : conns_) {
    if (c.state == State::kConnecting && now - c.connectStart > spec_.connectTimeout) {
      fail(c, timeoutFailure("connect", fmt::format("connect {}: no answer within {} ms", peer_,
                                                    spec_.connectTimeout / kNanosPerMilli)));
    } else if (isActive(c.state) && c.state != State::kConnecting && now - c.lastProgress > spec_.ioTimeout) {
      std::string_view waitingFor = c.state == State::kAwaitResponse ? "the response" : "the server to close";
      fail(c, timeoutFailure("read", fmt::format("{}: no progress within {} ms waiting for {}", describe(c),
                                                 spec_.ioTimeout / kNanosPerMilli, waitingFor)));
    }
  }
}

void LoadWorker::pump(Nanos wakeAt) {
  Nanos now = nowNs();
  Nanos wait = std::clamp<Nanos>(wakeAt - now, 0, kTick);
  timespec timeout{static_cast<time_t>(wait / kNanosPerSecond), static_cast<long>(wait % kNanosPerSecond)};
  epoll_event events[512];
  int n = ::epoll_pwait2(epoll_.get(), events, 512, &timeout, nullptr);
  if (n < 0 && errno != EINTR) log::error("bench", "epoll_pwait2: {}", std::strerror(errno));
  now = nowNs();
  for (int i = 0; i < n; ++i) {
    std::uint64_t key = events[i].data.u64;
    if (key == kStopKey) {
      stopRequested_ = true;
      continue;
    }
    Conn& c = conns_[key];
    std::uint32_t ev = events[i].events;
    if (!c.fd.valid()) continue;
    if (c.state == State::kConnecting) {
      finishConnect(c, now);
      continue;
    }
    if ((ev & EPOLLOUT) && c.state == State::kAwaitResponse) flush(c, now);
    if ((ev & (EPOLLIN | EPOLLHUP | EPOLLERR)) && c.fd.valid()) onReadable(c, now);
  }
  if (now - lastTimeoutCheck_ >= kTick) {
    checkTimeouts(now);
    lastTimeoutCheck_ = now;
  }
}

void LoadWorker::connectAll() {
  phase_ = Phase::kConnect;
  std::size_t next = 0;
  for (;;) {
    Nanos now = nowNs();
    while (connecting_ < kMaxConnecting && next < conns_.size()) startConnect(conns_[next++], now);
    if (next == conns_.size() && connecting_ == 0) return;
    pump(now + kTick);
  }
}

Nanos LoadWorker::intended(std::uint64_t slot) const {
  return plan_.start + static_cast<Nanos>(static_cast<double>(slot) * intervalNs_);
}

void LoadWorker::sendDue(Conn& c, Nanos now) {
  Nanos origin = intended(static_cast<std::uint64_t>(&c - conns_.data()) + c.sentInLoad * conns_.size());
  ++c.sentInLoad;
  --backlog_;
  startRequest(c, origin, now, origin >= plan_.warmupEnd);
}

void LoadWorker::schedule(Nanos now) {
  // Slot n falls due at start + n * interval on connection n mod count, so
  // each connection's requests are evenly spaced and the worker's add up to
  // its rate. A connection still busy when its slot comes keeps the slot as
  // backlog: its latency then counts from the slot, not from the late send.
  while (!scheduleDone_ && intended(nextSlot_) <= now) {
    Conn& c = conns_[nextSlot_ % conns_.size()];
    if (isOpen(c.state)) {
      ++c.dueInLoad;
      ++backlog_;
      if (c.state == State::kIdle) sendDue(c, now);
    }
    ++nextSlot_;
    if (nextSlot_ >= plan_.quota || intended(nextSlot_) >= plan_.end) scheduleDone_ = true;
  }
}

void LoadWorker::runLoad(const LoadPlan& plan) {
  phase_ = Phase::kLoad;
  plan_ = plan;
  openLoop_ = plan.rate > 0;
  issued_ = 0;
  if (openLoop_) {
    intervalNs_ = 1e9 / plan.rate;
    nextSlot_ = 0;
    backlog_ = 0;
    scheduleDone_ = plan.quota == 0 || plan.start >= plan.end;
  } else {
    Nanos now = nowNs();
    for (Conn& c : conns_)
      if (c.state == State::kIdle) afterIdle(c, now);
  }
  for (;;) {
    Nanos now = nowNs();
    if (openLoop_) schedule(now);
    bool stopping = openLoop_ ? scheduleDone_ : (now >= plan.end || issued_ >= plan.quota);
    // A backlog left at the end is reported, not drained: a server far
    // behind the rate would otherwise stretch the run without bound.
    if (open_ == 0 || (stopping && active_ == 0 && (backlog_ == 0 || now >= plan.end))) {
      stats_.unsent = backlog_;
      return;
    }
    Nanos wake = now + kTick;
    if (openLoop_ && !scheduleDone_) wake = std::min(wake, intended(nextSlot_));
    if (!openLoop_ && !stopping) wake = std::min(wake, plan.end);
    pump(wake);
  }
}

void LoadWorker::roundTripAll() {
  phase_ = Phase::kRoundTrip;
  Nanos now = nowNs();
  for (Conn& c : conns_)
    if (c.state == State::kIdle) startRequest(c, now, now, true);
  while (active_ > 0) pump(nowNs() + kTick);
}

void LoadWorker::hold(Nanos until, int stopFd) {
  phase_ = Phase::kHold;
  if (stopFd >= 0) {
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = kStopKey;
    ::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, stopFd, &ev);
  }
  while (!stopRequested_ && open_ > 0 && nowNs() < until) pump(until);
  if (stopFd >= 0) ::epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, stopFd, nullptr);
}

void LoadWorker::closeAll() {
  phase_ = Phase::kClose;
  Nanos now = nowNs();
  for (Conn& c : conns_) {
    if (c.state != State::kIdle) continue;
    if (::shutdown(c.fd.get(), SHUT_WR) != 0) {
      fail(c, errnoFailure(errno, "write", "shutdown to " + describe(c)));
      continue;
    }
    c.lastProgress = now;
    setState(c, State::kClosing);
  }
  while (active_ > 0) pump(nowNs() + kTick);
}

void LoadWorker::runChurn(Nanos end) {
  phase_ = Phase::kChurn;
  churnEnd_ = end;
  Nanos now = nowNs();
  for (Conn& c : conns_) startConnect(c, now);
  while (active_ > 0) pump(nowNs() + kTick);
}

}  // namespace weft::bench

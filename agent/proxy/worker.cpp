#include "worker.h"

#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <future>

#include "weft/common/log.h"

namespace weft::proxy {
namespace {

constexpr unsigned kRingEntries = 4096;
constexpr auto kSweepInterval = std::chrono::seconds(1);
constexpr auto kDrainDeadline = std::chrono::seconds(2);

}  // namespace

Result<std::unique_ptr<Worker>> Worker::create(unsigned index, const ProxyOptions& options,
                                               const io::UringFeatures& features, KernelSteering& steering) {
  std::unique_ptr<Worker> worker(new Worker(index, options, steering));
  const SocketAddress& address = options.outboundListen;
  worker->listener_.reset(::socket(address.family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!worker->listener_.valid()) return failErrno("outbound listener socket");
  int one = 1;
  ::setsockopt(worker->listener_.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  // One listener per worker; the kernel spreads connections across them.
  ::setsockopt(worker->listener_.get(), SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
  if (::bind(worker->listener_.get(), address.get(), address.length) != 0)
    return failErrno("outbound listener bind " + address.toString());
  if (::listen(worker->listener_.get(), 4096) != 0) return failErrno("outbound listener listen " + address.toString());
  worker->wakeFd_.reset(::eventfd(0, EFD_CLOEXEC));
  if (!worker->wakeFd_.valid()) return failErrno("worker eventfd");
  worker->acceptOp_.worker = worker.get();
  worker->wakeOp_.worker = worker.get();
  worker->features_ = features;
  return worker;
}

Status Worker::start() {
  std::promise<Status> ready;
  auto started = ready.get_future();
  thread_ = std::thread([this, &ready] {
    // The ring belongs to this thread (IORING_SETUP_SINGLE_ISSUER), so it and
    // its buffer pools are made here.
    auto ring = io::Ring::create(kRingEntries, features_);
    if (!ring) {
      ready.set_value(std::unexpected(ring.error()));
      return;
    }
    ring_ = std::move(*ring);
    for (int d = 0; d < 2; ++d) {
      auto pool = io::BufferRing::create(*ring_, static_cast<std::uint16_t>(d), options_.buffersPerDirection,
                                         options_.bufferSize);
      if (!pool) {
        ready.set_value(std::unexpected(pool.error()));
        return;
      }
      pools_[d] = std::move(*pool);
    }
    ready.set_value({});
    run();
  });
  Status status = started.get();
  if (!status) {
    thread_.join();
    return status;
  }
  return {};
}

Worker::~Worker() {
  if (thread_.joinable()) {
    std::uint64_t one = 1;
    [[maybe_unused]] auto n = ::write(wakeFd_.get(), &one, sizeof one);
    thread_.join();
  }
}

void Worker::run() {
  now_ = std::chrono::steady_clock::now();
  armAccept();
  io_uring_prep_read(ring_->prepare(&wakeOp_), wakeFd_.get(), &wakeValue_, sizeof wakeValue_, 0);
  auto nextSweep = now_ + kSweepInterval;
  while (!stopRequested_) {
    ring_->runOnce(1000);
    now_ = std::chrono::steady_clock::now();
    if (now_ >= nextSweep) {
      sweepIdle();
      if (!acceptArmed_) armAccept();  // after an accept error that needed a pause
      nextSweep = now_ + kSweepInterval;
    }
  }
  drain();
  pools_[0].reset();
  pools_[1].reset();
  ring_.reset();
}

void Worker::armAccept() {
  io_uring_sqe* sqe = ring_->prepare(&acceptOp_);
  if (features_.multishotAccept)
    io_uring_prep_multishot_accept(sqe, listener_.get(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
  else
    io_uring_prep_accept(sqe, listener_.get(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
  acceptArmed_ = true;
}

void Worker::onAccept(int result, std::uint32_t flags) {
  if (!(flags & IORING_CQE_F_MORE)) acceptArmed_ = false;
  if (result < 0) {
    if (result == -ECANCELED) return;
    log::warn("proxy", "worker {}: accept: {}", index_, std::strerror(-result));
    // Out of descriptors or memory: retrying at once would spin; the sweep
    // re-arms within a second.
    if (result == -EMFILE || result == -ENFILE || result == -ENOBUFS || result == -ENOMEM) return;
  } else {
    acceptConnection(result);
  }
  if (!acceptArmed_ && !stopRequested_) armAccept();
}

void Worker::acceptConnection(int fd) {
  SocketAddress client;
  client.length = sizeof client.storage;
  ::getpeername(fd, reinterpret_cast<sockaddr*>(&client.storage), &client.length);
  auto destination = steering_.takeOriginalDestination(client);
  if (!destination) {
    // Not a captured connection (someone dialled the listener directly): we
    // cannot know where it should go.
    counters_.add(counters_.notCaptured);
    linger l{.l_onoff = 1, .l_linger = 0};
    ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
    ::close(fd);
    return;
  }
  counters_.add(counters_.accepted);
  counters_.add(counters_.active);
  auto* relay = new Relay(*this, fd, client, *destination);
  adopt(relay);
  relay->start();
}

void Worker::sweepIdle() {
  counters_.ringOverflows.store(ring_->completionOverflows(), std::memory_order_relaxed);
  const auto limit = options_.idleTimeout;
  for (Relay* relay = relays_; relay;) {
    Relay* next = relay->nextInWorker;
    if (now_ - relay->lastActive() > limit) {
      counters_.add(counters_.idleTimeouts);
      relay->abort();
    }
    relay = next;
  }
}

void Worker::drain() {
  io_uring_prep_cancel(ring_->prepare(nullptr), &acceptOp_, 0);
  listener_.reset();
  // abort() frees only its own relay (at once, or when its last completion
  // arrives), so the saved next pointer stays valid.
  for (Relay* relay = relays_; relay;) {
    Relay* next = relay->nextInWorker;
    relay->abort();
    relay = next;
  }
  const auto deadline = std::chrono::steady_clock::now() + kDrainDeadline;
  while (relays_ && std::chrono::steady_clock::now() < deadline) ring_->runOnce(50);
  if (relays_) log::warn("proxy", "worker {}: relays still had operations in flight at exit", index_);
}

void Worker::parkForBuffer(Relay* relay, int direction) { parked_[direction].emplace_back(relay, direction); }

void Worker::unpark(Relay* relay) {
  for (auto& queue : parked_) std::erase_if(queue, [relay](const auto& entry) { return entry.first == relay; });
}

void Worker::bufferReturned(int direction) {
  auto& queue = parked_[direction];
  if (queue.empty()) return;
  auto [relay, d] = queue.front();
  queue.pop_front();
  relay->resumeParked(d);
}

void Worker::adopt(Relay* relay) {
  relay->nextInWorker = relays_;
  if (relays_) relays_->prevInWorker = relay;
  relays_ = relay;
}

void Worker::release(Relay* relay) {
  if (relay->prevInWorker) relay->prevInWorker->nextInWorker = relay->nextInWorker;
  else relays_ = relay->nextInWorker;
  if (relay->nextInWorker) relay->nextInWorker->prevInWorker = relay->prevInWorker;
  delete relay;
}

}  // namespace weft::proxy

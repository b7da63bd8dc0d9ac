#include "worker.h"

#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <future>
#include <thread>

#include "filtered_relay.h"
#include "socket_options.h"
#include "stream_relay.h"
#include "tunnel_connection.h"
#include "weft/common/log.h"

namespace weft::proxy {
namespace {

constexpr unsigned kRingEntries = 4096;
constexpr auto kSweepInterval = std::chrono::seconds(1);
constexpr auto kDrainDeadline = std::chrono::seconds(2);

Result<UniqueFd> listenOn(const SocketAddress& address, const char* what, bool transparent) {
  UniqueFd fd(::socket(address.family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd.valid()) return failErrno(std::string(what) + " socket");
  int one = 1;
  ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  // One listener per worker; the kernel spreads connections across them.
  ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
  // The PERMISSIVE listener takes connections addressed to pods (assigned
  // to it by a TC program), so it must accept foreign local addresses.
  if (transparent && ::setsockopt(fd.get(), SOL_IP, IP_TRANSPARENT, &one, sizeof one) != 0)
    return failErrno(std::string(what) + " IP_TRANSPARENT");
  if (::bind(fd.get(), address.get(), address.length) != 0)
    return failErrno(std::string(what) + " bind " + address.toString());
  if (::listen(fd.get(), 4096) != 0) return failErrno(std::string(what) + " listen " + address.toString());
  return fd;
}

SocketAddress peerOf(int fd) {
  SocketAddress address;
  address.length = sizeof address.storage;
  ::getpeername(fd, reinterpret_cast<sockaddr*>(&address.storage), &address.length);
  return address;
}

}  // namespace

Result<std::unique_ptr<Worker>> Worker::create(unsigned index, const ProxyOptions& options,
                                               const io::UringFeatures& features, KernelSteering& steering) {
  std::unique_ptr<Worker> worker(new Worker(index, options, steering));
  auto outbound = listenOn(options.outboundListen, "outbound listener", false);
  if (!outbound) return std::unexpected(outbound.error());
  worker->listener_ = std::move(*outbound);
  if (options.mesh) {
    auto tunnel = listenOn(options.mesh->tunnelListen, "tunnel listener", false);
    if (!tunnel) return std::unexpected(tunnel.error());
    worker->tunnelListener_ = std::move(*tunnel);
  }
  // A PERMISSIVE listener on every worker, in one SO_REUSEPORT group: the TC
  // program assigns plaintext to the first one (the one in its SOCKMAP), and
  // the kernel (6.5 on) picks a socket of that group by the flow's hash, so
  // plaintext spreads over the workers as captured connections do.
  if (options.inboundListen) {
    auto inbound = listenOn(*options.inboundListen, "inbound plaintext listener", true);
    if (!inbound) return std::unexpected(inbound.error());
    worker->inboundListener_ = std::move(*inbound);
  }
  worker->wakeFd_.reset(::eventfd(0, EFD_CLOEXEC));
  if (!worker->wakeFd_.valid()) return failErrno("worker eventfd");
  const std::pair<ListenerKind, int> listeners[] = {{ListenerKind::kOutbound, worker->listener_.get()},
                                                    {ListenerKind::kTunnel, worker->tunnelListener_.get()},
                                                    {ListenerKind::kInbound, worker->inboundListener_.get()}};
  for (int i = 0; i < 3; ++i) {
    worker->acceptOps_[i].worker = worker.get();
    worker->acceptOps_[i].kind = listeners[i].first;
    worker->acceptOps_[i].fd = listeners[i].second;
  }
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
    for (int p = 0; p < kPools; ++p) {
      auto pool = io::BufferRing::create(*ring_, static_cast<std::uint16_t>(p), options_.buffersPerDirection,
                                         options_.bufferSize);
      if (!pool) {
        ready.set_value(std::unexpected(pool.error()));
        return;
      }
      pools_[p] = std::move(*pool);
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
    stopping_ = true;
    std::uint64_t one = 1;
    [[maybe_unused]] auto n = ::write(wakeFd_.get(), &one, sizeof one);
    thread_.join();
  }
}

void Worker::run() {
  now_ = std::chrono::steady_clock::now();
  for (auto& op : acceptOps_)
    if (op.fd >= 0) armAccept(op);
  io_uring_prep_read(ring_->prepare(&wakeOp_), wakeFd_.get(), &wakeValue_, sizeof wakeValue_, 0);
  auto nextSweep = now_ + kSweepInterval;
  while (!stopRequested_) {
    ring_->runOnce(1000);
    if (options_.testDelayPerBatch.count() > 0) std::this_thread::sleep_for(options_.testDelayPerBatch);
    now_ = std::chrono::steady_clock::now();
    afterCompletions();
    if (now_ >= nextSweep) {
      sweepIdle();
      for (auto& op : acceptOps_)
        if (op.fd >= 0 && !op.armed) armAccept(op);  // after an accept error that needed a pause
      afterCompletions();
      nextSweep = now_ + kSweepInterval;
    }
  }
  drain();
  if (telemetry_) telemetry_->flush();
  for (auto& pool : pools_) pool.reset();
  ring_.reset();
}

// Tunnel output is produced once per loop turn, after every completion of
// the batch had its say; then connections that closed meanwhile are freed.
void Worker::afterCompletions() {
  while (!dirty_.empty() || !finishing_.empty()) {
    auto dirty = std::move(dirty_);
    dirty_.clear();
    for (TunnelConnection* tunnel : dirty) tunnel->flush();
    auto finishing = std::move(finishing_);
    finishing_.clear();
    for (WorkerConnection* connection : finishing) connection->finishIfDone();
  }
}

void Worker::armAccept(AcceptOp& op) {
  io_uring_sqe* sqe = ring_->prepare(&op);
  if (features_.multishotAccept)
    io_uring_prep_multishot_accept(sqe, op.fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
  else
    io_uring_prep_accept(sqe, op.fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
  op.armed = true;
}

void Worker::onAccept(AcceptOp& op, int result, std::uint32_t flags) {
  if (!(flags & IORING_CQE_F_MORE)) op.armed = false;
  if (result < 0) {
    if (result == -ECANCELED) return;
    log::warn("proxy", "worker {}: accept: {}", index_, std::strerror(-result));
    // Out of descriptors or memory: retrying at once would spin; the sweep
    // re-arms within a second.
    if (result == -EMFILE || result == -ENFILE || result == -ENOBUFS || result == -ENOMEM) return;
  } else {
    switch (op.kind) {
      case ListenerKind::kOutbound: acceptOutbound(result); break;
      case ListenerKind::kTunnel: TunnelConnection::accept(*this, result, peerOf(result)); break;
      case ListenerKind::kInbound: acceptInboundPlaintext(result); break;
    }
  }
  if (!op.armed && !stopRequested_ && op.fd >= 0) armAccept(op);
}

void Worker::acceptOutbound(int fd) {
  SocketAddress client = peerOf(fd);
  auto destination = steering_.takeOriginalDestination(client);
  if (!destination) {
    // Not a captured connection (someone dialled the listener directly): we
    // cannot know where it should go.
    counters_.add(counters_.notCaptured);
    closeWithReset(fd);
    return;
  }
  counters_.add(counters_.accepted);
  counters_.add(counters_.active);
  if (options_.mesh) {
    auto directory = options_.mesh->directory->current();
    const MeshWorkload* target = directory->find(*destination);
    if (target && target->onThisNode) {
      // Between pods of this node: the destination's policies apply here.
      const MeshWorkload* source = directory->find(client);
      std::optional<identity::SpiffeId> sourceIdentity;
      if (source && source->onThisNode) sourceIdentity = source->identity;
      startLocalRelay(fd, client, *destination, *target, source && source->onThisNode ? source : nullptr,
                      std::move(sourceIdentity));
      return;
    }
    if (target && !target->onThisNode) {
      // Between enrolled pods of two nodes: only ever inside a tunnel.
      const MeshWorkload* source = directory->find(client);
      TunnelConnection* tunnel = source && source->onThisNode ? tunnelFor(*source, *target) : nullptr;
      auto flow = openFlow([&] {
        return telemetry::FlowEnds{.source = telemetryPeer(source), .destination = telemetryPeer(target),
                                   .sourceAddress = client, .destinationAddress = *destination, .mutualTls = true,
                                   .reportsSource = true};
      });
      if (!tunnel) {
        if (flow) flow->flag("UF");
        log::warn("proxy", "no tunnel for {} -> {} ({}): connection reset", client.toString(),
                  destination->toString(), source ? "no tunnel could be opened" : "the source is no enrolled pod");
        counters_.sub(counters_.active);
        counters_.add(counters_.resets);
        closeWithReset(fd);
        return;
      }
      StreamRelay::startOutbound(*this, *tunnel, fd, client, *destination, std::move(flow));
      return;
    }
  }
  startPassthrough(fd, client, *destination, true);
}

void Worker::startPassthrough(int fd, SocketAddress client, SocketAddress destination, bool fromLocalPod) {
  auto* relay = new Relay(*this, fd, client, destination);
  relay->observe(openFlow([&] {
    // Peers are copied: the directory's objects live only as long as its snapshot.
    std::shared_ptr<const MeshDirectory> directory;
    const MeshWorkload* pod = nullptr;
    if (options_.mesh) {
      directory = options_.mesh->directory->current();
      pod = directory->find(fromLocalPod ? client : destination);
    }
    return telemetry::FlowEnds{.source = fromLocalPod ? telemetryPeer(pod) : telemetry::Peer{},
                               .destination = fromLocalPod ? telemetry::Peer{} : telemetryPeer(pod),
                               .sourceAddress = client,
                               .destinationAddress = destination,
                               .reportsSource = fromLocalPod,
                               .reportsDestination = !fromLocalPod};
  }));
  adopt(relay);
  relay->start();
}

telemetry::Peer Worker::telemetryPeer(const MeshWorkload* workload, const std::optional<identity::SpiffeId>& identity) {
  telemetry::Peer peer = workload ? workload->peer : telemetry::Peer{};
  if (identity) peer.principal = identity->uri();
  return peer;
}

void Worker::acceptInboundPlaintext(int fd) {
  // IP_TRANSPARENT: the accepted socket's local address is the pod's, which
  // is where the client was going.
  SocketAddress client = peerOf(fd);
  SocketAddress destination;
  destination.length = sizeof destination.storage;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&destination.storage), &destination.length);
  counters_.add(counters_.inboundPlaintextAccepted);
  counters_.add(counters_.accepted);
  counters_.add(counters_.active);
  if (options_.mesh) {
    auto directory = options_.mesh->directory->current();
    if (const MeshWorkload* target = directory->find(destination)) {
      startLocalRelay(fd, client, destination, *target, nullptr, std::nullopt);  // plaintext: no identity
      return;
    }
  }
  startPassthrough(fd, client, destination, false);
}

// A connection to a pod of this node: admitted or reset by its policies, and
// relayed through an L7 filter when its protocol has one.
void Worker::startLocalRelay(int fd, SocketAddress client, SocketAddress destination, const MeshWorkload& target,
                             const MeshWorkload* source, std::optional<identity::SpiffeId> sourceIdentity) {
  // From a pod of this node (both views are this proxy's) or plaintext from
  // outside the mesh (PERMISSIVE: only the destination's).
  auto flow = openFlow([&] {
    return telemetry::FlowEnds{.source = telemetryPeer(source, sourceIdentity), .destination = telemetryPeer(&target),
                               .sourceAddress = client, .destinationAddress = destination,
                               .reportsSource = source != nullptr, .reportsDestination = true};
  });
  InboundPlan plan;
  if (const InboundPolicy* inbound = options_.mesh->inbound)
    plan = inbound->plan({.source = client, .destination = destination, .workload = &target,
                          .sourceIdentity = std::move(sourceIdentity), .observer = flow.get()});
  if (!plan.admitted) {
    if (flow) flow->flag("RBAC");
    log::info("proxy", "denied {} -> {} ({}): {}", client.toString(), destination.toString(), target.name, plan.reason);
    counters_.add(counters_.connectionsDenied);
    counters_.sub(counters_.active);
    counters_.add(counters_.resets);
    closeWithReset(fd);
    return;
  }
  if (plan.filter) {
    auto* relay = new FilteredRelay(*this, fd, client, destination, std::move(plan.filter));
    relay->observe(std::move(flow));
    adopt(relay);
    relay->start();
    return;
  }
  auto* relay = new Relay(*this, fd, client, destination);
  relay->observe(std::move(flow));
  adopt(relay);
  relay->start();
}

TunnelConnection* Worker::tunnelFor(const MeshWorkload& source, const MeshWorkload& destination) {
  if (destination.nodeAddress.empty()) return nullptr;
  std::string key = source.identity.uri() + "|" + destination.nodeAddress + "|" + destination.identity.uri();
  if (auto it = pooled_.find(key); it != pooled_.end()) {
    TunnelConnection* tunnel = it->second;
    auto svid = options_.mesh->certificates->find(source.identity);
    // A renewed certificate: new streams go on a new tunnel, the old one
    // keeps its streams until they end.
    if (tunnel->usable() && (!svid || svid->info.serial == tunnel->svidSerial())) return tunnel;
    tunnel->drain();
    pooled_.erase(key);
  }
  const std::string& node = destination.nodeAddress;
  std::string text = (node.find(':') == std::string::npos ? node : "[" + node + "]") + ":" +
                     std::to_string(options_.mesh->tunnelPort);
  auto peer = parseSocketAddress(text);
  if (!peer) return nullptr;
  auto tunnel = TunnelConnection::connect(*this, key, *peer, source.identity, destination.identity);
  if (!tunnel) {
    log::warn("proxy", "tunnel to {} as {}: {}", text, source.identity.uri(), tunnel.error().describe());
    counters_.add(counters_.tunnelHandshakeFailures);
    return nullptr;
  }
  pooled_[key] = *tunnel;
  return *tunnel;
}

void Worker::forgetPooled(const std::string& key, TunnelConnection* tunnel) {
  if (key.empty()) return;
  if (auto it = pooled_.find(key); it != pooled_.end() && it->second == tunnel) pooled_.erase(it);
}

void Worker::sweepIdle() {
  counters_.ringOverflows.store(ring_->completionOverflows(), std::memory_order_relaxed);
  if (telemetry_) telemetry_->flush();  // access-log lines are at most about a second late
  for (WorkerConnection* connection = connections_; connection;) {
    WorkerConnection* next = connection->nextInWorker;
    connection->sweep(now_, options_.idleTimeout);
    connection = next;
  }
}

// The accepts are cancelled first: an accept in flight holds its listener
// open, and a listener that stays open keeps getting its share of the
// SO_REUSEPORT group's connections.
void Worker::closeListeners() {
  for (auto& op : acceptOps_) {
    if (op.fd >= 0 && op.armed) io_uring_prep_cancel(ring_->prepare(nullptr), &op, 0);
    op.fd = -1;
  }
  listener_.reset();
  tunnelListener_.reset();
  inboundListener_.reset();
}

std::future<void> Worker::stopAccepting() {
  auto done = acceptingStoppedPromise_.get_future();  // once: Proxy::stopAccepting calls this once
  stopAcceptingRequested_ = true;
  std::uint64_t one = 1;
  [[maybe_unused]] auto n = ::write(wakeFd_.get(), &one, sizeof one);
  return done;
}

void Worker::drain() {
  closeListeners();
  for (WorkerConnection* connection = connections_; connection;) {
    WorkerConnection* next = connection->nextInWorker;
    connection->abort();
    connection = next;
  }
  afterCompletions();
  const auto deadline = std::chrono::steady_clock::now() + kDrainDeadline;
  while (connections_ && std::chrono::steady_clock::now() < deadline) {
    ring_->runOnce(50);
    afterCompletions();
  }
  if (connections_) log::warn("proxy", "worker {}: connections still had operations in flight at exit", index_);
}

void Worker::parkForBuffer(WorkerConnection* connection, int pool) { parked_[pool].emplace_back(connection, pool); }

void Worker::unpark(WorkerConnection* connection) {
  for (auto& queue : parked_)
    std::erase_if(queue, [connection](const auto& entry) { return entry.first == connection; });
}

void Worker::bufferReturned(int pool) {
  auto& queue = parked_[pool];
  if (queue.empty()) return;
  auto [connection, p] = queue.front();
  queue.pop_front();
  connection->resumeParked(p);
}

void Worker::adopt(WorkerConnection* connection) {
  connection->nextInWorker = connections_;
  if (connections_) connections_->prevInWorker = connection;
  connections_ = connection;
}

void Worker::release(WorkerConnection* connection) {
  if (connection->prevInWorker) connection->prevInWorker->nextInWorker = connection->nextInWorker;
  else connections_ = connection->nextInWorker;
  if (connection->nextInWorker) connection->nextInWorker->prevInWorker = connection->prevInWorker;
  std::erase(finishing_, connection);
  delete connection;
}

void Worker::scheduleFinish(WorkerConnection* connection) { finishing_.push_back(connection); }

void Worker::adoptTunnel(TunnelConnection* tunnel) {
  adopt(tunnel);
  std::lock_guard lock(tunnelsMutex_);
  tunnels_.push_back(tunnel);
}

void Worker::releaseTunnel(TunnelConnection* tunnel) {
  {
    std::lock_guard lock(tunnelsMutex_);
    std::erase(tunnels_, tunnel);
  }
  std::erase(dirty_, tunnel);
  std::erase_if(pooled_, [tunnel](const auto& entry) { return entry.second == tunnel; });
  release(tunnel);
}

void Worker::markDirty(TunnelConnection* tunnel) { dirty_.push_back(tunnel); }

void Worker::onWake() {
  if (stopping_) {
    stopRequested_ = true;
    return;
  }
  if (stopAcceptingRequested_ && !acceptingStopped_) {
    acceptingStopped_ = true;
    closeListeners();
    std::lock_guard lock(tunnelsMutex_);
    for (TunnelConnection* tunnel : tunnels_) tunnel->goingAway();
    log::info("proxy", "worker {}: listeners closed, {} connection(s) carry on", index_,
              counters_.active.load(std::memory_order_relaxed));
    acceptingStoppedPromise_.set_value();
  }
  std::shared_ptr<std::promise<nlohmann::json>> request;
  {
    std::lock_guard lock(describeMutex_);
    request = std::move(describeRequest_);
  }
  if (request) {
    nlohmann::json list = nlohmann::json::array();
    for (const WorkerConnection* c = connections_; c; c = c->nextInWorker) {
      list.push_back(c->describe(now_));
      list.back()["worker"] = index_;
    }
    request->set_value(std::move(list));
  }
  io_uring_prep_read(ring_->prepare(&wakeOp_), wakeFd_.get(), &wakeValue_, sizeof wakeValue_, 0);
}

std::future<nlohmann::json> Worker::describeConnections() {
  auto request = std::make_shared<std::promise<nlohmann::json>>();
  auto answer = request->get_future();
  {
    std::lock_guard lock(describeMutex_);
    describeRequest_ = std::move(request);
  }
  std::uint64_t one = 1;
  [[maybe_unused]] auto n = ::write(wakeFd_.get(), &one, sizeof one);
  return answer;
}

void Worker::forgetDescribe() {
  std::lock_guard lock(describeMutex_);
  describeRequest_.reset();  // if the worker took it already, its answer goes nowhere
}

nlohmann::json Worker::tunnels() const {
  nlohmann::json list = nlohmann::json::array();
  std::lock_guard lock(tunnelsMutex_);
  for (const TunnelConnection* tunnel : tunnels_) {
    auto entry = tunnel->describe();
    entry["worker"] = index_;
    list.push_back(std::move(entry));
  }
  return list;
}

}  // namespace weft::proxy

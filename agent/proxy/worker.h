// One proxy worker: a thread with its own io_uring, its own SO_REUSEPORT
// listeners, buffer pools and tunnel pool; it shares nothing with other
// workers (the admin thread only reads counters and the tunnel list).
#pragma once

#include <atomic>
#include <deque>
#include <future>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "relay.h"
#include "weft/common/unique_fd.h"
#include "weft/io/buffer_ring.h"
#include "weft/io/ring.h"
#include "weft/proxy/proxy.h"
#include "weft/proxy/proxy_stats.h"

namespace weft::proxy {

class TunnelConnection;

class Worker {
 public:
  // Buffer pools: one per direction of plain relays (sharing one between
  // directions can deadlock), one for bytes going into tunnel streams.
  static constexpr int kStreamPool = 2;
  static constexpr int kPools = 3;

  [[nodiscard]] static Result<std::unique_ptr<Worker>> create(unsigned index, const ProxyOptions& options,
                                                              const io::UringFeatures& features,
                                                              KernelSteering& steering);
  ~Worker();  // stops the thread, resets remaining connections

  // Creates the ring on the worker's own thread and starts serving.
  [[nodiscard]] Status start();
  // A successor serves from now on (any thread): the worker closes its
  // listeners at its next turn, so that new connections go to the
  // successor's sockets of the same SO_REUSEPORT groups, and asks the nodes
  // whose tunnels it serves to open new ones; its connections carry on.
  // The future is ready once the worker did so.
  std::future<void> stopAccepting();
  [[nodiscard]] const ProxyCounters& counters() const { return counters_; }
  [[nodiscard]] int inboundListenerFd() const { return inboundListener_.valid() ? inboundListener_.get() : -1; }
  // Open tunnels, for /tunnels (any thread).
  [[nodiscard]] nlohmann::json tunnels() const;
  // Live connections, for /connections (any thread). The worker describes
  // them on its own thread at its next turn, so that no lock guards the
  // data path. Ask every worker first, then wait: they answer side by side.
  [[nodiscard]] std::future<nlohmann::json> describeConnections();
  void forgetDescribe();  // the asker stopped waiting

  // For the connections of this worker.
  io::Ring& ring() { return *ring_; }
  io::BufferRing& pool(int index) { return *pools_[index]; }
  ProxyCounters& counters() { return counters_; }
  KernelSteering& steering() { return steering_; }
  const ProxyOptions& options() const { return options_; }
  std::chrono::steady_clock::time_point now() const { return now_; }
  // A connection's telemetry, opened now; null without metrics and access
  // logs. `makeEnds()` (returning FlowEnds) runs only when there is telemetry:
  // without it, no peer is looked up or copied per connection.
  template <class MakeEnds>
  std::unique_ptr<telemetry::FlowTelemetry> openFlow(MakeEnds&& makeEnds) {
    if (!telemetry_ || !telemetry_->wanted()) return nullptr;
    return std::make_unique<telemetry::FlowTelemetry>(*telemetry_, makeEnds());
  }
  // How metrics name a pod (or an address outside the mesh: unknown), with
  // the proven identity when there is one.
  static telemetry::Peer telemetryPeer(const MeshWorkload* workload, const std::optional<identity::SpiffeId>& identity = {});
  void parkForBuffer(WorkerConnection* connection, int pool);
  void unpark(WorkerConnection* connection);
  void bufferReturned(int pool);
  // A receive woken from parking ended without taking a buffer (end of
  // stream, error, cancel): the buffer that woke it is still free, so the
  // next parked connection gets its turn. Without this, parked connections
  // whose peers closed would never hear of it.
  void passBufferTurn(int pool) { bufferReturned(pool); }
  void adopt(WorkerConnection* connection);
  void release(WorkerConnection* connection);  // deletes it
  void scheduleFinish(WorkerConnection* connection);
  // Tunnels.
  void adoptTunnel(TunnelConnection* tunnel);
  void releaseTunnel(TunnelConnection* tunnel);  // deletes it
  void markDirty(TunnelConnection* tunnel);
  void forgetPooled(const std::string& key, TunnelConnection* tunnel);
  std::mutex& tunnelsMutex() const { return tunnelsMutex_; }

 private:
  enum class ListenerKind : std::uint8_t { kOutbound, kTunnel, kInbound };
  struct AcceptOp final : io::Completion {
    Worker* worker = nullptr;
    ListenerKind kind = ListenerKind::kOutbound;
    int fd = -1;
    bool armed = false;
    void complete(int result, std::uint32_t flags) override { worker->onAccept(*this, result, flags); }
  };
  struct WakeOp final : io::Completion {
    Worker* worker = nullptr;
    void complete(int, std::uint32_t) override { worker->onWake(); }
  };

  Worker(unsigned index, const ProxyOptions& options, KernelSteering& steering)
      : index_(index),
        options_(options),
        steering_(steering),
        telemetry_(options.telemetry ? &options.telemetry->worker(index) : nullptr) {}
  void run();
  void armAccept(AcceptOp& op);
  void onAccept(AcceptOp& op, int result, std::uint32_t flags);
  void acceptOutbound(int fd);
  void acceptInboundPlaintext(int fd);
  void startLocalRelay(int fd, SocketAddress client, SocketAddress destination, const MeshWorkload& target,
                       const MeshWorkload* source, std::optional<identity::SpiffeId> sourceIdentity);
  // A connection relayed as plain TCP to an address outside the mesh.
  void startPassthrough(int fd, SocketAddress client, SocketAddress destination, bool fromLocalPod);
  // A tunnel that carries src -> dst (pooled), or nullptr if none can be made.
  TunnelConnection* tunnelFor(const MeshWorkload& source, const MeshWorkload& destination);
  void afterCompletions();
  void onWake();  // the eventfd: stop, or a question from the admin thread
  void sweepIdle();
  void closeListeners();
  void drain();

  unsigned index_;
  ProxyOptions options_;
  KernelSteering& steering_;
  io::UringFeatures features_;
  std::unique_ptr<io::Ring> ring_;
  std::unique_ptr<io::BufferRing> pools_[kPools];
  UniqueFd listener_;
  UniqueFd tunnelListener_;
  UniqueFd inboundListener_;
  UniqueFd wakeFd_;
  std::uint64_t wakeValue_ = 0;
  AcceptOp acceptOps_[3];
  WakeOp wakeOp_;
  std::deque<std::pair<WorkerConnection*, int>> parked_[kPools];
  WorkerConnection* connections_ = nullptr;
  std::vector<WorkerConnection*> finishing_;
  std::vector<TunnelConnection*> dirty_;
  std::unordered_map<std::string, TunnelConnection*> pooled_;  // "src|node|dst" -> tunnel
  mutable std::mutex tunnelsMutex_;
  std::vector<TunnelConnection*> tunnels_;
  ProxyCounters counters_;
  telemetry::WorkerTelemetry* telemetry_ = nullptr;
  std::chrono::steady_clock::time_point now_;
  std::atomic<bool> stopRequested_{false};
  std::atomic<bool> stopping_{false};  // set before the wake that asks the worker to stop
  std::atomic<bool> stopAcceptingRequested_{false};
  bool acceptingStopped_ = false;  // worker thread only
  std::promise<void> acceptingStoppedPromise_;
  std::mutex describeMutex_;
  std::shared_ptr<std::promise<nlohmann::json>> describeRequest_;  // under describeMutex_
  std::thread thread_;
};

}  // namespace weft::proxy

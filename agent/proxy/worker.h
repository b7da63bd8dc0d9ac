// One proxy worker: a thread with its own io_uring, its own SO_REUSEPORT
// listener and its own buffer pools; it shares nothing with other workers.
#pragma once

#include <atomic>
#include <deque>
#include <memory>
#include <thread>

#include "relay.h"
#include "weft/common/unique_fd.h"
#include "weft/io/buffer_ring.h"
#include "weft/io/ring.h"
#include "weft/proxy/proxy.h"
#include "weft/proxy/proxy_stats.h"

namespace weft::proxy {

class Worker {
 public:
  [[nodiscard]] static Result<std::unique_ptr<Worker>> create(unsigned index, const ProxyOptions& options,
                                                              const io::UringFeatures& features,
                                                              KernelSteering& steering);
  ~Worker();  // stops the thread, resets remaining relays

  // Creates the ring on the worker's own thread and starts serving.
  [[nodiscard]] Status start();
  [[nodiscard]] const ProxyCounters& counters() const { return counters_; }

  // For relays of this worker.
  io::Ring& ring() { return *ring_; }
  io::BufferRing& pool(int direction) { return *pools_[direction]; }
  ProxyCounters& counters() { return counters_; }
  KernelSteering& steering() { return steering_; }
  const ProxyOptions& options() const { return options_; }
  std::chrono::steady_clock::time_point now() const { return now_; }
  void parkForBuffer(Relay* relay, int direction);
  void unpark(Relay* relay);
  void bufferReturned(int direction);
  void adopt(Relay* relay);
  void release(Relay* relay);

 private:
  struct AcceptOp final : io::Completion {
    Worker* worker = nullptr;
    void complete(int result, std::uint32_t flags) override { worker->onAccept(result, flags); }
  };
  struct WakeOp final : io::Completion {
    Worker* worker = nullptr;
    void complete(int, std::uint32_t) override { worker->stopRequested_ = true; }
  };

  Worker(unsigned index, const ProxyOptions& options, KernelSteering& steering)
      : index_(index), options_(options), steering_(steering) {}
  void run();
  void armAccept();
  void onAccept(int result, std::uint32_t flags);
  void acceptConnection(int fd);
  void sweepIdle();
  void drain();

  unsigned index_;
  ProxyOptions options_;
  KernelSteering& steering_;
  io::UringFeatures features_;
  std::unique_ptr<io::Ring> ring_;
  std::unique_ptr<io::BufferRing> pools_[2];
  UniqueFd listener_;
  UniqueFd wakeFd_;
  std::uint64_t wakeValue_ = 0;
  AcceptOp acceptOp_;
  WakeOp wakeOp_;
  bool acceptArmed_ = false;
  std::deque<std::pair<Relay*, int>> parked_[2];
  Relay* relays_ = nullptr;
  ProxyCounters counters_;
  std::chrono::steady_clock::time_point now_;
  std::atomic<bool> stopRequested_{false};
  std::thread thread_;
};

}  // namespace weft::proxy

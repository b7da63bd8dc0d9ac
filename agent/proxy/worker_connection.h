// What a worker keeps in its list: a relay, a tunnel stream or a tunnel.
// The list lets the worker sweep idle ones and end all of them at shutdown.
#pragma once

#include <chrono>

namespace weft::proxy {

// How long a filtered connection is quiet before its filter hears onQuiet
// (a protocol detector then decides); checked by the worker's 1 s sweep.
inline constexpr std::chrono::seconds kFilterQuiet{1};

class WorkerConnection {
 public:
  virtual ~WorkerConnection() = default;
  // Ends it at once with a reset (shutdown, idle timeout).
  virtual void abort() = 0;
  // Frees it if it is closing and no operation is in flight; the worker
  // calls it after each batch of completions for those that asked.
  virtual void finishIfDone() = 0;
  // A buffer came free in the pool this connection waits on.
  virtual void resumeParked(int pool) { (void)pool; }
  // Called about once a second; the default ends connections idle past `limit`.
  virtual void sweep(std::chrono::steady_clock::time_point now, std::chrono::seconds limit) {
    if (now - lastActive_ > limit) abort();
  }
  [[nodiscard]] std::chrono::steady_clock::time_point lastActive() const { return lastActive_; }

  WorkerConnection* nextInWorker = nullptr;  // intrusive list of the worker's connections
  WorkerConnection* prevInWorker = nullptr;

 protected:
  std::chrono::steady_clock::time_point lastActive_;
};

}  // namespace weft::proxy

// What a worker keeps in its list: a relay, a tunnel stream or a tunnel.
// The list lets the worker sweep idle ones and end all of them at shutdown.
#pragma once

#include <cerrno>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string_view>

#include <nlohmann/json.hpp>

#include "weft/telemetry/flow_telemetry.h"

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
    if (now - lastActive_ > limit) {
      flagFlow("SI");
      abort();
    }
  }
  [[nodiscard]] std::chrono::steady_clock::time_point lastActive() const { return lastActive_; }
  // What it is, for the admin API's /connections (on the worker's thread):
  // kind and addresses from the derived class, then idle time and, with
  // telemetry, who is at either end and the bytes so far.
  [[nodiscard]] nlohmann::json describe(std::chrono::steady_clock::time_point now) const {
    nlohmann::json out = describeSelf();
    out["idleMs"] = std::chrono::duration_cast<std::chrono::milliseconds>(now - lastActive_).count();
    if (flow_) flow_->describe(out);
    return out;
  }
  // Metrics and access logs of this connection (none without telemetry).
  void observe(std::unique_ptr<telemetry::FlowTelemetry> flow) { flow_ = std::move(flow); }

  WorkerConnection* nextInWorker = nullptr;  // intrusive list of the worker's connections
  WorkerConnection* prevInWorker = nullptr;

 protected:
  [[nodiscard]] virtual nlohmann::json describeSelf() const = 0;
  void countBytes(bool fromClient, std::uint64_t n) {
    if (flow_) fromClient ? flow_->fromClient(n) : flow_->fromServer(n);
  }
  void flagFlow(std::string_view code) {
    if (flow_) flow_->flag(code);
  }
  // A connect that failed: UT when it timed out, UF otherwise.
  void flagConnectFailure(int error) { flagFlow(error == ECANCELED || error == ETIMEDOUT ? "UT" : "UF"); }

  std::chrono::steady_clock::time_point lastActive_;
  // In the base so that it outlives the derived class's members: an L7
  // filter reports to it (its RequestObserver) from its destructor.
  std::unique_ptr<telemetry::FlowTelemetry> flow_;
};

}  // namespace weft::proxy

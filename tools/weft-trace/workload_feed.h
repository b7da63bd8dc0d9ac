// Keeps weft-trace's pod names current: fetches GET /workloads at start (so
// that an unreachable agent is reported before anything else) and then every
// few seconds on its own thread, publishing each list through an atomic
// shared_ptr so that the event loop never waits on the admin API.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "weft-trace/workload_names.h"
#include "weft/common/error.h"
#include "weft/common/socket_address.h"

namespace weft::trace {

class WorkloadFeed {
 public:
  // The first fetch, synchronous: fails when the admin API cannot be reached
  // (or answers neither 200 nor 404); an agent without /workloads (404)
  // gives an empty list and a notice.
  [[nodiscard]] static Result<std::unique_ptr<WorkloadFeed>> start(const SocketAddress& admin,
                                                                   std::chrono::milliseconds period);
  ~WorkloadFeed();
  WorkloadFeed(const WorkloadFeed&) = delete;
  WorkloadFeed& operator=(const WorkloadFeed&) = delete;

  [[nodiscard]] std::shared_ptr<const WorkloadNames> current() const { return names_.load(); }
  // Messages for stderr (a failed refresh, once until one succeeds again).
  [[nodiscard]] std::vector<std::string> takeNotices();

 private:
  WorkloadFeed(SocketAddress admin, std::chrono::milliseconds period) : admin_(std::move(admin)), period_(period) {}
  // The names, or the reason there are none: an error for an unreachable
  // agent; a notice (empty names) for an agent without /workloads.
  struct Fetched {
    std::shared_ptr<const WorkloadNames> names;
    std::string notice;
  };
  [[nodiscard]] Result<Fetched> fetch() const;
  void run();
  void notice(std::string message);

  SocketAddress admin_;
  std::chrono::milliseconds period_;
  std::atomic<std::shared_ptr<const WorkloadNames>> names_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::vector<std::string> notices_;
  bool failing_ = false;
  std::thread thread_;
};

}  // namespace weft::trace

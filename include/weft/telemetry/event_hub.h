// Live events for `weft-trace` (admin GET /events): the access log's JSON
// lines, per request and per connection, handed to every connected reader
// whether or not an access log is written or sampled. Nothing is built while
// nobody reads: workers check one relaxed atomic per line. A reader that
// falls behind loses lines and is told how many, never silently.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "weft/common/unique_fd.h"

namespace weft::telemetry {

class EventHub;

// One reader's queue. Its eventfd is readable while lines wait.
class EventSubscription {
 public:
  ~EventSubscription();
  EventSubscription(const EventSubscription&) = delete;
  EventSubscription& operator=(const EventSubscription&) = delete;

  [[nodiscard]] int fd() const { return wake_.get(); }
  // Takes the waiting lines; a {"kind":"lost","count":N} line comes first
  // when lines were dropped since the last take.
  [[nodiscard]] std::string take();
  [[nodiscard]] std::uint64_t lostTotal() const { return lostTotal_.load(std::memory_order_relaxed); }

 private:
  friend class EventHub;
  EventSubscription(EventHub& hub, std::size_t limitBytes);
  void offer(std::string_view lines, std::size_t count);

  EventHub& hub_;
  std::size_t limitBytes_;
  UniqueFd wake_;
  std::mutex mutex_;
  std::string pending_;      // under mutex_
  std::uint64_t lost_ = 0;   // under mutex_: lines dropped since the last take
  std::atomic<std::uint64_t> lostTotal_{0};
};

class EventHub {
 public:
  [[nodiscard]] bool active() const { return readers() > 0; }
  [[nodiscard]] int readers() const { return readers_.load(std::memory_order_relaxed); }
  // Whole lines, each ending in '\n' (any thread).
  void publish(std::string_view lines);
  // A new reader; it stops being one when the subscription is destroyed.
  // The hub must outlive its subscriptions.
  [[nodiscard]] std::shared_ptr<EventSubscription> subscribe(std::size_t limitBytes = 4 << 20);

 private:
  friend class EventSubscription;
  void remove(EventSubscription* subscription);

  std::atomic<int> readers_{0};
  std::mutex mutex_;
  std::vector<EventSubscription*> subscriptions_;  // under mutex_
};

}  // namespace weft::telemetry

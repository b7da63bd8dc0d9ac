#include "weft/telemetry/event_hub.h"

#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>

#include <fmt/format.h>

namespace weft::telemetry {

EventSubscription::EventSubscription(EventHub& hub, std::size_t limitBytes)
    : hub_(hub), limitBytes_(limitBytes), wake_(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {}

EventSubscription::~EventSubscription() { hub_.remove(this); }

void EventSubscription::offer(std::string_view lines, std::size_t count) {
  {
    std::lock_guard lock(mutex_);
    if (pending_.size() + lines.size() > limitBytes_) {
      lost_ += count;
      lostTotal_.fetch_add(count, std::memory_order_relaxed);
      return;
    }
    pending_ += lines;
  }
  std::uint64_t one = 1;
  [[maybe_unused]] auto n = ::write(wake_.get(), &one, sizeof one);
}

std::string EventSubscription::take() {
  std::uint64_t value = 0;
  [[maybe_unused]] auto n = ::read(wake_.get(), &value, sizeof value);
  std::lock_guard lock(mutex_);
  std::string out;
  if (lost_ > 0) out = fmt::format("{{\"kind\":\"lost\",\"count\":{}}}\n", lost_);
  lost_ = 0;
  out += pending_;
  pending_.clear();
  return out;
}

void EventHub::publish(std::string_view lines) {
  if (lines.empty()) return;
  auto count = static_cast<std::size_t>(std::count(lines.begin(), lines.end(), '\n'));
  std::lock_guard lock(mutex_);
  for (EventSubscription* s : subscriptions_) s->offer(lines, count);
}

std::shared_ptr<EventSubscription> EventHub::subscribe(std::size_t limitBytes) {
  std::shared_ptr<EventSubscription> s(new EventSubscription(*this, limitBytes));
  std::lock_guard lock(mutex_);
  subscriptions_.push_back(s.get());
  readers_.store(static_cast<int>(subscriptions_.size()), std::memory_order_relaxed);
  return s;
}

void EventHub::remove(EventSubscription* subscription) {
  std::lock_guard lock(mutex_);
  std::erase(subscriptions_, subscription);
  readers_.store(static_cast<int>(subscriptions_.size()), std::memory_order_relaxed);
}

}  // namespace weft::telemetry

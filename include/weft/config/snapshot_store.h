// Publishes snapshots to readers without locks: writers swap in a new
// shared_ptr<const Snapshot>; readers take a reference and keep a consistent
// view for as long as they hold it.
#pragma once

#include <atomic>
#include <memory>

#include "weft/config/snapshot.h"

namespace weft::config {

class SnapshotStore {
 public:
  SnapshotStore() : current_(std::make_shared<const Snapshot>()) {}

  [[nodiscard]] SnapshotPtr current() const { return current_.load(std::memory_order_acquire); }

  // Stamps the next generation number and publishes.
  SnapshotPtr publish(Snapshot next) {
    next.generation = current()->generation + 1;
    auto published = std::make_shared<const Snapshot>(std::move(next));
    current_.store(published, std::memory_order_release);
    return published;
  }

 private:
  std::atomic<SnapshotPtr> current_;
};

}  // namespace weft::config

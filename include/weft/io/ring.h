// One io_uring per worker thread, shared with nothing. Every submission's
// user_data points at a Completion, which the loop calls with the result, so
// no lookup table stands between a completion and its owner.
#pragma once

#include <liburing.h>

#include <cstdint>
#include <memory>

#include "weft/common/error.h"
#include "weft/io/uring_features.h"

namespace weft::io {

class Completion {
 public:
  // `flags` are the CQE flags (IORING_CQE_F_MORE, IORING_CQE_F_BUFFER...).
  virtual void complete(int result, std::uint32_t flags) = 0;

 protected:
  ~Completion() = default;
};

class Ring {
 public:
  [[nodiscard]] static Result<std::unique_ptr<Ring>> create(unsigned entries, const UringFeatures& features);
  ~Ring();
  Ring(const Ring&) = delete;
  Ring& operator=(const Ring&) = delete;

  // A free submission slot for `owner` (nullptr: the completion is ignored).
  // Never fails: a full queue is submitted first.
  io_uring_sqe* prepare(Completion* owner);

  // Submits what is queued, waits up to `timeoutMs` for a completion and
  // dispatches every completion that is ready.
  void runOnce(int timeoutMs);

  [[nodiscard]] io_uring* raw() { return &ring_; }
  [[nodiscard]] const UringFeatures& features() const { return features_; }
  [[nodiscard]] std::uint32_t completionOverflows() const;

 private:
  explicit Ring(const UringFeatures& features) : features_(features) {}
  io_uring ring_{};
  UringFeatures features_;
};

}  // namespace weft::io

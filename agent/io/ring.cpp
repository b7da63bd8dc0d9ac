#include "weft/io/ring.h"

#include "weft/common/log.h"

namespace weft::io {

Result<std::unique_ptr<Ring>> Ring::create(unsigned entries, const UringFeatures& features) {
  std::unique_ptr<Ring> ring(new Ring(features));
  io_uring_params params{};
  // One thread submits and reaps (shared nothing), so the kernel may skip the
  // cross-thread machinery and run completion work only when we wait for it.
  if (features.singleIssuer) params.flags |= IORING_SETUP_SINGLE_ISSUER;
  if (features.deferTaskrun) params.flags |= IORING_SETUP_DEFER_TASKRUN;
  // The completion queue must not overflow when every connection completes at
  // once: size it generously.
  params.flags |= IORING_SETUP_CQSIZE;
  params.cq_entries = entries * 8;
  if (int err = io_uring_queue_init_params(entries, &ring->ring_, &params); err != 0)
    return failErrno("io_uring_queue_init", -err);
  return ring;
}

Ring::~Ring() { io_uring_queue_exit(&ring_); }

io_uring_sqe* Ring::prepare(Completion* owner) {
  io_uring_sqe* sqe = io_uring_get_sqe(&ring_);
  while (!sqe) {
    io_uring_submit(&ring_);
    sqe = io_uring_get_sqe(&ring_);
  }
  io_uring_sqe_set_data(sqe, owner);
  return sqe;
}

void Ring::runOnce(int timeoutMs) {
  __kernel_timespec timeout{.tv_sec = timeoutMs / 1000, .tv_nsec = (timeoutMs % 1000) * 1000000L};
  io_uring_cqe* cqe = nullptr;
  int err = io_uring_submit_and_wait_timeout(&ring_, &cqe, 1, &timeout, nullptr);
  if (err < 0 && err != -ETIME && err != -EINTR) log::warn("io", "io_uring wait: {}", std::strerror(-err));
  // Handlers may queue new submissions while we walk the completions; each
  // completion is consumed before its handler runs so that none is seen twice.
  while (io_uring_peek_cqe(&ring_, &cqe) == 0) {
    auto* owner = static_cast<Completion*>(io_uring_cqe_get_data(cqe));
    int result = cqe->res;
    std::uint32_t flags = cqe->flags;
    io_uring_cqe_seen(&ring_, cqe);
    if (owner) owner->complete(result, flags);
  }
}

std::uint32_t Ring::completionOverflows() const { return *ring_.cq.koverflow; }

}  // namespace weft::io

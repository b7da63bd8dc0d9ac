// A group of provided buffers (io_uring buffer ring): the kernel picks a free
// buffer only when data arrives, so an idle connection holds no buffer at all.
// This is what keeps memory per idle relayed connection small.
#pragma once

#include <cstdint>
#include <memory>

#include "weft/common/error.h"
#include "weft/io/ring.h"

namespace weft::io {

class BufferRing {
 public:
  // `count` must be a power of two (a kernel rule for buffer rings).
  [[nodiscard]] static Result<std::unique_ptr<BufferRing>> create(Ring& ring, std::uint16_t groupId,
                                                                   std::uint16_t count, std::uint32_t bufferSize);
  ~BufferRing();
  BufferRing(const BufferRing&) = delete;
  BufferRing& operator=(const BufferRing&) = delete;

  [[nodiscard]] char* data(std::uint16_t id) { return buffers_ + static_cast<std::size_t>(id) * bufferSize_; }
  // Hands a buffer back to the kernel once its bytes have been sent on.
  void recycle(std::uint16_t id);

  [[nodiscard]] std::uint16_t group() const { return group_; }
  [[nodiscard]] std::uint32_t bufferSize() const { return bufferSize_; }

  // The buffer id a completion with IORING_CQE_F_BUFFER carries.
  [[nodiscard]] static std::uint16_t idFromFlags(std::uint32_t flags) {
    return static_cast<std::uint16_t>(flags >> IORING_CQE_BUFFER_SHIFT);
  }

 private:
  BufferRing(Ring& ring, std::uint16_t group, std::uint16_t count, std::uint32_t size)
      : ring_(ring), group_(group), count_(count), bufferSize_(size) {}
  Ring& ring_;
  std::uint16_t group_;
  std::uint16_t count_;
  std::uint32_t bufferSize_;
  io_uring_buf_ring* entries_ = nullptr;
  std::size_t entriesBytes_ = 0;
  char* buffers_ = nullptr;
  std::size_t buffersBytes_ = 0;
};

}  // namespace weft::io

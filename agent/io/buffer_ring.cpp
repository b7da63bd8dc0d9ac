#include "weft/io/buffer_ring.h"

#include <sys/mman.h>

namespace weft::io {

Result<std::unique_ptr<BufferRing>> BufferRing::create(Ring& ring, std::uint16_t groupId, std::uint16_t count,
                                                       std::uint32_t bufferSize) {
  if (count == 0 || (count & (count - 1)) != 0) return fail(ErrorCode::kInvalidArgument, "buffer count must be a power of two");
  std::unique_ptr<BufferRing> self(new BufferRing(ring, groupId, count, bufferSize));
  // liburing 2.3 has no io_uring_setup_buf_ring: map and register it ourselves.
  // Anonymous mappings are populated lazily, so untouched buffers cost no RSS.
  self->entriesBytes_ = sizeof(io_uring_buf) * count;
  void* entries = ::mmap(nullptr, self->entriesBytes_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (entries == MAP_FAILED) return failErrno("mmap buffer ring");
  self->entries_ = static_cast<io_uring_buf_ring*>(entries);
  self->buffersBytes_ = static_cast<std::size_t>(count) * bufferSize;
  void* buffers = ::mmap(nullptr, self->buffersBytes_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (buffers == MAP_FAILED) return failErrno("mmap buffers");
  self->buffers_ = static_cast<char*>(buffers);

  io_uring_buf_reg reg{};
  reg.ring_addr = reinterpret_cast<unsigned long>(self->entries_);
  reg.ring_entries = count;
  reg.bgid = groupId;
  if (int err = io_uring_register_buf_ring(ring.raw(), &reg, 0); err != 0)
    return failErrno("register buffer ring " + std::to_string(groupId), -err);
  io_uring_buf_ring_init(self->entries_);
  const int mask = io_uring_buf_ring_mask(count);
  for (std::uint16_t id = 0; id < count; ++id)
    io_uring_buf_ring_add(self->entries_, self->data(id), bufferSize, id, mask, id);
  io_uring_buf_ring_advance(self->entries_, count);
  return self;
}

BufferRing::~BufferRing() {
  if (entries_) {
    io_uring_unregister_buf_ring(ring_.raw(), group_);
    ::munmap(entries_, entriesBytes_);
  }
  if (buffers_) ::munmap(buffers_, buffersBytes_);
}

void BufferRing::recycle(std::uint16_t id) {
  io_uring_buf_ring_add(entries_, data(id), bufferSize_, id, io_uring_buf_ring_mask(count_), 0);
  io_uring_buf_ring_advance(entries_, 1);
}

}  // namespace weft::io

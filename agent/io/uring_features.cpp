#include "weft/io/uring_features.h"

#include <liburing.h>

#include <memory>

namespace weft::io {

std::string UringFeatures::describe() const {
  std::string out;
  auto add = [&](const char* name, bool on) {
    if (!out.empty()) out += ' ';
    out += (on ? "+" : "-");
    out += name;
  };
  add("single_issuer", singleIssuer);
  add("defer_taskrun", deferTaskrun);
  add("multishot_accept", multishotAccept);
  add("buf_ring", providedBufferRing);
  add("link_timeout", linkTimeout);
  add("shutdown", shutdown);
  add("cancel_fd_all", socketCancelAll);
  return out;
}

namespace {

// A setup flag is supported when a ring can be created with it.
bool setupFlagWorks(unsigned flags) {
  io_uring ring;
  io_uring_params params{};
  params.flags = flags;
  if (io_uring_queue_init_params(4, &ring, &params) != 0) return false;
  io_uring_queue_exit(&ring);
  return true;
}

}  // namespace

Result<UringFeatures> probeUringFeatures() {
  io_uring ring;
  if (int err = io_uring_queue_init(4, &ring, 0); err != 0) return failErrno("io_uring_setup", -err);
  std::unique_ptr<io_uring_probe, void (*)(io_uring_probe*)> probe(io_uring_get_probe_ring(&ring), io_uring_free_probe);
  UringFeatures f;
  if (probe) {
    f.linkTimeout = io_uring_opcode_supported(probe.get(), IORING_OP_LINK_TIMEOUT);
    f.shutdown = io_uring_opcode_supported(probe.get(), IORING_OP_SHUTDOWN);
    // Multishot accept, buffer rings and cancel-all arrived together (5.19),
    // with IORING_OP_SOCKET as the newest opcode of that release.
    bool kernel519 = io_uring_opcode_supported(probe.get(), IORING_OP_SOCKET);
    f.multishotAccept = kernel519;
    f.socketCancelAll = kernel519;
  }
  // Registering a buffer ring tells for certain.
  io_uring_buf_reg reg{};
  void* mem = nullptr;
  if (posix_memalign(&mem, 4096, 4096) == 0) {
    reg.ring_addr = reinterpret_cast<unsigned long>(mem);
    reg.ring_entries = 1;
    reg.bgid = 0;
    if (io_uring_register_buf_ring(&ring, &reg, 0) == 0) {
      f.providedBufferRing = true;
      io_uring_unregister_buf_ring(&ring, 0);
    }
    free(mem);
  }
  io_uring_queue_exit(&ring);
  f.singleIssuer = setupFlagWorks(IORING_SETUP_SINGLE_ISSUER);
  f.deferTaskrun = f.singleIssuer && setupFlagWorks(IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN);
  return f;
}

}  // namespace weft::io

// What the running kernel's io_uring offers, probed once at start. Workers use
// the best available and log a fallback for anything missing, instead of
// failing on an older kernel.
#pragma once

#include <string>

#include "weft/common/error.h"

namespace weft::io {

struct UringFeatures {
  bool singleIssuer = false;    // IORING_SETUP_SINGLE_ISSUER (6.0)
  bool deferTaskrun = false;    // IORING_SETUP_DEFER_TASKRUN (6.1)
  bool multishotAccept = false; // IORING_ACCEPT_MULTISHOT (5.19)
  bool providedBufferRing = false;  // IORING_REGISTER_PBUF_RING (5.19)
  bool linkTimeout = false;
  bool shutdown = false;
  bool socketCancelAll = false; // IORING_ASYNC_CANCEL_FD|ALL (5.19)

  [[nodiscard]] std::string describe() const;
};

// Fails only when io_uring itself is unavailable (disabled by sysctl, seccomp).
[[nodiscard]] Result<UringFeatures> probeUringFeatures();

}  // namespace weft::io

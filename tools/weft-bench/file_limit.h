// The descriptor limit: 10,000+ connections in one process need more than
// the usual soft limit of 1024, and a run that cannot get them must say so
// before it starts rather than fail halfway with EMFILE.
#pragma once

#include <cstdint>
#include <expected>

#include "weft-bench/run_error.h"

namespace weft::bench {

// Raises RLIMIT_NOFILE to the hard limit; fails, naming both numbers, if
// `needed` descriptors still do not fit.
std::expected<void, RunError> ensureFileLimit(std::uint64_t needed);

}  // namespace weft::bench

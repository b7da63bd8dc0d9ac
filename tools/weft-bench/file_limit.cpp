#include "weft-bench/file_limit.h"

#include <sys/resource.h>

#include <cerrno>
#include <fmt/format.h>

namespace weft::bench {

std::expected<void, RunError> ensureFileLimit(std::uint64_t needed) {
  rlimit limit{};
  ::getrlimit(RLIMIT_NOFILE, &limit);
  if (limit.rlim_cur < limit.rlim_max) {
    limit.rlim_cur = limit.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &limit);
    ::getrlimit(RLIMIT_NOFILE, &limit);
  }
  if (limit.rlim_cur != RLIM_INFINITY && limit.rlim_cur < needed)
    return std::unexpected(RunError{FailureKind::kNetwork,
                                    fmt::format("need {} file descriptors, RLIMIT_NOFILE allows {} (hard limit {})",
                                                needed, limit.rlim_cur, limit.rlim_max),
                                    EMFILE, "setup"});
  return {};
}

}  // namespace weft::bench

#include "weft/telemetry/access_log.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "weft/common/log.h"

namespace weft::telemetry {

Result<std::unique_ptr<AccessLog>> AccessLog::open(const AccessLogOptions& options) {
  if (!(options.sample >= 0 && options.sample <= 1))
    return fail(ErrorCode::kInvalidArgument, "--access-log-sample: a share between 0 and 1 is wanted");
  int fd;
  if (options.path == "-" || options.path == "stdout") {
    fd = ::fcntl(STDOUT_FILENO, F_DUPFD_CLOEXEC, 3);
  } else {
    fd = ::open(options.path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
  }
  if (fd < 0)
    return fail(ErrorCode::kInvalidArgument, "--access-log " + options.path + ": " + std::strerror(errno));
  return std::unique_ptr<AccessLog>(new AccessLog(UniqueFd(fd), options.path, options.sample));
}

void AccessLog::write(std::string_view lines) {
  std::lock_guard lock(mutex_);  // a pipe takes more than PIPE_BUF bytes in pieces
  while (!lines.empty()) {
    ssize_t n = ::write(fd_.get(), lines.data(), lines.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      writeErrors.add();
      if (writeErrors.get() % 1000 == 1)  // the first, then every 1000th: a full disk must not flood the log
        log::warn("telemetry", "access log {}: {}", path_, n < 0 ? std::strerror(errno) : "nothing written");
      return;
    }
    lines.remove_prefix(static_cast<std::size_t>(n));
  }
}

}  // namespace weft::telemetry

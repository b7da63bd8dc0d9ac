// Access logs: one JSON object per line, per connection (L4) and per request
// (L7), to stdout or a file. Workers build lines in their own buffer
// (WorkerTelemetry) and hand whole buffers here; one write(2) per buffer, to
// a file opened O_APPEND, keeps lines whole when workers write at once.
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "weft/common/error.h"
#include "weft/common/unique_fd.h"
#include "weft/telemetry/metrics.h"

namespace weft::telemetry {

struct AccessLogOptions {
  std::string path;   // "" off, "-" or "stdout" for standard output, else a file (appended to)
  double sample = 1;  // share of ordinary entries written; failed ones are always written
};

class AccessLog {
 public:
  [[nodiscard]] static Result<std::unique_ptr<AccessLog>> open(const AccessLogOptions& options);
  // Any thread. Writes the whole buffer (complete lines).
  void write(std::string_view lines);
  [[nodiscard]] double sample() const { return sample_; }
  [[nodiscard]] const std::string& path() const { return path_; }

  Counter writeErrors;  // buffers lost to a failed write (disk full, closed pipe); under the mutex

 private:
  AccessLog(UniqueFd fd, std::string path, double sample) : fd_(std::move(fd)), path_(std::move(path)), sample_(sample) {}
  UniqueFd fd_;
  std::string path_;
  double sample_;
  std::mutex mutex_;
};

}  // namespace weft::telemetry

#include "weft-bench/run_error.h"

#include <cerrno>
#include <cstring>
#include <fmt/format.h>

namespace weft::bench {

int exitCodeFor(FailureKind kind) {
  switch (kind) {
    case FailureKind::kVerify: return kExitVerify;
    case FailureKind::kUsage: return kExitUsage;
    case FailureKind::kRefused:
    case FailureKind::kReset: return kExitRefused;
    case FailureKind::kTimeout: return kExitTimeout;
    case FailureKind::kNetwork: return kExitNetwork;
    case FailureKind::kEof: return kExitEof;
  }
  return kExitNetwork;
}

std::string_view kindName(FailureKind kind) {
  switch (kind) {
    case FailureKind::kVerify: return "verify";
    case FailureKind::kUsage: return "usage";
    case FailureKind::kRefused: return "refused";
    case FailureKind::kReset: return "reset";
    case FailureKind::kTimeout: return "timeout";
    case FailureKind::kNetwork: return "network";
    case FailureKind::kEof: return "eof";
  }
  return "network";
}

std::string errnoName(int err) {
  if (err == 0) return "";
  const char* name = strerrorname_np(err);
  return name ? name : fmt::format("errno {}", err);
}

RunError errnoFailure(int err, std::string phase, std::string_view what) {
  FailureKind kind = FailureKind::kNetwork;
  switch (err) {
    case ECONNREFUSED: kind = FailureKind::kRefused; break;
    case ECONNRESET:
    case EPIPE: kind = FailureKind::kReset; break;
    case ETIMEDOUT:
    case EAGAIN: kind = FailureKind::kTimeout; break;
    default: break;
  }
  // SO_RCVTIMEO/SO_SNDTIMEO expiry surfaces as EAGAIN; name it for what it is.
  int reported = err == EAGAIN ? ETIMEDOUT : err;
  return {kind, fmt::format("{}: {}", what, std::strerror(reported)), reported, std::move(phase)};
}

RunError timeoutFailure(std::string phase, std::string message) {
  return {FailureKind::kTimeout, std::move(message), ETIMEDOUT, std::move(phase)};
}

RunError verifyFailure(std::string message) { return {FailureKind::kVerify, std::move(message), 0, "verify"}; }

RunError eofFailure(std::string phase, std::string message) {
  return {FailureKind::kEof, std::move(message), 0, std::move(phase)};
}

void addErrorFields(Report& report, const RunError& error) {
  report["error"] = error.message;
  report["kind"] = kindName(error.kind);
  report["phase"] = error.phase;
  if (error.err != 0) report["errno_name"] = errnoName(error.err);
}

}  // namespace weft::bench

#include "weft/common/error.h"

namespace weft {

std::string_view errorCodeName(ErrorCode code) {
  switch (code) {
    case ErrorCode::kInvalidArgument: return "invalid_argument";
    case ErrorCode::kNotFound: return "not_found";
    case ErrorCode::kAlreadyExists: return "already_exists";
    case ErrorCode::kPermissionDenied: return "permission_denied";
    case ErrorCode::kUnsupported: return "unsupported";
    case ErrorCode::kSystem: return "system";
    case ErrorCode::kParse: return "parse";
    case ErrorCode::kInternal: return "internal";
  }
  return "unknown";
}

std::string Error::describe() const {
  return std::string(errorCodeName(code)) + ": " + message;
}

std::unexpected<Error> failErrno(std::string_view what, int err) {
  ErrorCode code = ErrorCode::kSystem;
  if (err == EPERM || err == EACCES) code = ErrorCode::kPermissionDenied;
  else if (err == ENOENT) code = ErrorCode::kNotFound;
  else if (err == EEXIST) code = ErrorCode::kAlreadyExists;
  else if (err == EOPNOTSUPP || err == ENOSYS || err == EINVAL) code = ErrorCode::kSystem;
  return fail(code, std::string(what) + ": " + std::strerror(err));
}

}  // namespace weft

// Error values for weft: every fallible operation returns Result<T>, a
// std::expected carrying an Error that names the cause in words an operator
// can act on (file, line, object, syscall). No exceptions cross module edges.
#pragma once

#include <cerrno>
#include <cstring>
#include <expected>
#include <string>
#include <string_view>
#include <utility>

namespace weft {

enum class ErrorCode {
  kInvalidArgument,  // bad input from a user: config, flags, manifests
  kNotFound,
  kAlreadyExists,
  kPermissionDenied,
  kUnsupported,      // the kernel or a library lacks a feature we need
  kSystem,           // a syscall failed; message holds errno text
  kParse,            // malformed YAML, JSON, HTTP, certificates
  kInternal,
};

std::string_view errorCodeName(ErrorCode code);

struct Error {
  ErrorCode code = ErrorCode::kInternal;
  std::string message;

  // "invalid_argument: <message>"
  [[nodiscard]] std::string describe() const;
};

template <class T>
using Result = std::expected<T, Error>;

using Status = std::expected<void, Error>;

[[nodiscard]] inline std::unexpected<Error> fail(ErrorCode code, std::string message) {
  return std::unexpected(Error{code, std::move(message)});
}

// For a failed syscall: "<what>: <strerror(err)>", coded by errno.
[[nodiscard]] std::unexpected<Error> failErrno(std::string_view what, int err = errno);

}  // namespace weft

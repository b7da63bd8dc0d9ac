// Talking to the agent's admin API (127.0.0.1:15000 by default): a bounded
// one-shot GET (for /workloads) and the non-blocking connection that the
// /events stream runs on. Every failure names the address and the cause.
#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include "weft/common/error.h"
#include "weft/common/socket_address.h"
#include "weft/common/unique_fd.h"

namespace weft::trace {

struct AdminResponse {
  int status = 0;
  std::string contentType;
  std::string body;
};

// GET path, the whole response, all within `timeout`.
[[nodiscard]] Result<AdminResponse> adminGet(const SocketAddress& admin, std::string_view path,
                                             std::chrono::milliseconds timeout);

// A non-blocking socket with its connect started (poll POLLOUT, then check
// connectResult).
[[nodiscard]] Result<UniqueFd> startConnect(const SocketAddress& admin);
// 0 once connected, else the errno of the failed connect.
[[nodiscard]] int connectResult(int fd);

// The request line and headers of a GET to the admin API.
[[nodiscard]] std::string adminRequest(const SocketAddress& admin, std::string_view path, std::string_view accept);

}  // namespace weft::trace

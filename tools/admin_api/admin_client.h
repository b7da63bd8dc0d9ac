// The operator tools' side of the agent's admin API (127.0.0.1:15000 by
// default), shared by weftctl and weft-trace: a bounded one-shot request,
// and the pieces of the non-blocking connection that weft-trace's /events
// stream runs on. Every failure names the address and the cause.
#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include "weft/common/error.h"
#include "weft/common/socket_address.h"
#include "weft/common/unique_fd.h"

namespace weft::tools {

struct AdminResponse {
  int status = 0;
  std::string contentType;
  std::string body;
};

// METHOD target, the whole response, all within `timeout`.
[[nodiscard]] Result<AdminResponse> adminExchange(const SocketAddress& admin, std::string_view method,
                                                  std::string_view target, std::chrono::milliseconds timeout);

// A non-blocking socket with its connect started (poll POLLOUT, then check
// connectResult).
[[nodiscard]] Result<UniqueFd> startConnect(const SocketAddress& admin);
// 0 once connected, else the errno of the failed connect.
[[nodiscard]] int connectResult(int fd);

// The request line and headers of a request to the admin API.
[[nodiscard]] std::string adminRequest(const SocketAddress& admin, std::string_view method, std::string_view target,
                                       std::string_view accept);

}  // namespace weft::tools

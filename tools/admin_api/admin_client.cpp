#include "admin_api/admin_client.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "weft/http/response_decoder.h"

namespace weft::tools {
namespace {

using Clock = std::chrono::steady_clock;

int remainingMs(Clock::time_point deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
  return left > 0 ? static_cast<int>(left) : 0;
}

// Waits for `events` on fd until the deadline; false on timeout.
bool waitFor(int fd, short events, Clock::time_point deadline) {
  for (;;) {
    pollfd p{.fd = fd, .events = events, .revents = 0};
    int n = ::poll(&p, 1, remainingMs(deadline));
    if (n > 0) return true;
    if (n == 0) return false;
    if (errno != EINTR) return false;
  }
}

}  // namespace

std::string adminRequest(const SocketAddress& admin, std::string_view method, std::string_view target,
                         std::string_view accept) {
  std::string request(method);
  request += ' ';
  request.append(target);
  request += " HTTP/1.1\r\nHost: " + admin.toString() + "\r\nUser-Agent: weft\r\nAccept: ";
  request.append(accept);
  request += "\r\n\r\n";
  return request;
}

Result<UniqueFd> startConnect(const SocketAddress& admin) {
  UniqueFd fd(::socket(admin.family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd.valid()) return failErrno("socket for the admin API");
  if (::connect(fd.get(), admin.get(), admin.length) != 0 && errno != EINPROGRESS)
    return failErrno("connect to the agent's admin API at " + admin.toString());
  return fd;
}

int connectResult(int fd) {
  int err = 0;
  socklen_t length = sizeof err;
  if (::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &length) != 0) return errno;
  return err;
}

Result<AdminResponse> adminExchange(const SocketAddress& admin, std::string_view method, std::string_view target,
                                   std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  const std::string where = "the agent's admin API at " + admin.toString();
  auto fd = startConnect(admin);
  if (!fd) return std::unexpected(fd.error());
  if (!waitFor(fd->get(), POLLOUT, deadline)) return fail(ErrorCode::kSystem, "connect to " + where + ": timed out");
  if (int err = connectResult(fd->get()); err != 0)
    return fail(ErrorCode::kSystem, "cannot reach " + where + ": " + std::strerror(err) +
                                        " (is weft-agent running on this node, with that --admin-addr?)");

  // "Connection: close": the body of a one-shot answer ends with the connection.
  std::string request = adminRequest(admin, method, target, "application/json");
  request.insert(request.size() - 2, "Connection: close\r\n");
  std::string_view unsent = request;
  while (!unsent.empty()) {
    if (!waitFor(fd->get(), POLLOUT, deadline)) return fail(ErrorCode::kSystem, "send to " + where + ": timed out");
    ssize_t n = ::send(fd->get(), unsent.data(), unsent.size(), MSG_NOSIGNAL);
    if (n < 0 && errno != EAGAIN && errno != EINTR) return failErrno("send to " + where);
    if (n > 0) unsent.remove_prefix(static_cast<std::size_t>(n));
  }

  http::ResponseDecoder decoder;
  AdminResponse response;
  char buffer[16384];
  while (!decoder.complete()) {
    if (!waitFor(fd->get(), POLLIN, deadline))
      return fail(ErrorCode::kSystem, std::string(method) + " " + std::string(target) + " at " + where + ": no answer in time");
    ssize_t n = ::recv(fd->get(), buffer, sizeof buffer, 0);
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) continue;
    if (n < 0) return failErrno("read from " + where);
    if (n == 0) {
      if (auto ok = decoder.finish(); !ok) return fail(ErrorCode::kParse, where + ": " + ok.error().message);
      break;
    }
    if (auto ok = decoder.feed({buffer, static_cast<std::size_t>(n)}, response.body); !ok)
      return fail(ErrorCode::kParse, where + ": " + ok.error().message);
  }
  response.status = decoder.status();
  response.contentType = decoder.contentType();
  return response;
}

}  // namespace weft::tools

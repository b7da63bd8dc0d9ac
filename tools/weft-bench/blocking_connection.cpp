#include "weft-bench/blocking_connection.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>

#include <atomic>
#include <cerrno>
#include <fmt/format.h>

namespace weft::bench {
namespace {

timeval toTimeval(Nanos ns) {
  return {static_cast<time_t>(ns / kNanosPerSecond), static_cast<suseconds_t>(ns % kNanosPerSecond / 1000)};
}

}  // namespace

Outcome<BlockingConnection> BlockingConnection::open(const SocketAddress& address, Nanos connectTimeout,
                                                     Nanos ioTimeout) {
  std::string peer = address.toString();
  std::string what = "connect " + peer;
  UniqueFd fd(::socket(address.family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd.valid()) return std::unexpected(errnoFailure(errno, "connect", "socket"));
  int one = 1;
  ::setsockopt(fd.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (::connect(fd.get(), address.get(), address.length) != 0) {
    if (errno != EINPROGRESS) return std::unexpected(errnoFailure(errno, "connect", what));
    pollfd p{fd.get(), POLLOUT, 0};
    Nanos deadline = nowNs() + connectTimeout;
    for (;;) {
      Nanos left = deadline - nowNs();
      if (left <= 0)
        return std::unexpected(timeoutFailure(
            "connect", fmt::format("{}: no answer within {} ms", what, connectTimeout / kNanosPerMilli)));
      int ready = ::poll(&p, 1, static_cast<int>((left + kNanosPerMilli - 1) / kNanosPerMilli));
      if (ready > 0) break;
      if (ready < 0 && errno != EINTR) return std::unexpected(errnoFailure(errno, "connect", "poll"));
    }
    int err = 0;
    socklen_t len = sizeof err;
    ::getsockopt(fd.get(), SOL_SOCKET, SO_ERROR, &err, &len);
    if (err != 0) return std::unexpected(errnoFailure(err, "connect", what));
  }
  int flags = ::fcntl(fd.get(), F_GETFL);
  ::fcntl(fd.get(), F_SETFL, flags & ~O_NONBLOCK);
  timeval tv = toTimeval(ioTimeout);
  ::setsockopt(fd.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ::setsockopt(fd.get(), SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  return BlockingConnection(std::move(fd), std::move(peer), ioTimeout);
}

RunError BlockingConnection::ioFailure(int err, std::string phase, std::string_view what) const {
  if (err == EAGAIN || err == EWOULDBLOCK)
    return timeoutFailure(std::move(phase),
                          fmt::format("{}: no progress within {} ms", what, ioTimeout_ / kNanosPerMilli));
  return errnoFailure(err, std::move(phase), what);
}

Outcome<void> BlockingConnection::sendAll(std::span<const std::uint8_t> data) {
  while (!data.empty()) {
    ssize_t n = ::send(fd_.get(), data.data(), data.size(), MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      return std::unexpected(ioFailure(errno, "write", "write to " + peer_));
    }
    data = data.subspan(static_cast<std::size_t>(n));
  }
  return {};
}

namespace {
std::atomic<std::uint64_t> gEarlyEagain{0};
}  // namespace

std::uint64_t earlyEagainCount() { return gEarlyEagain.load(); }

// A blocking socket with SO_RCVTIMEO should return EAGAIN only when the
// timeout has passed. A socket in a sockmap (weft's same-node fast path) can
// return it early, on a wakeup that brought no data: count that, wait for
// data with poll(), and fail only once the real timeout is over, so that a
// test can tell a kernel quirk an app would see from a stalled relay.
Outcome<std::size_t> BlockingConnection::receiveSome(std::span<std::uint8_t> buffer) {
  const Nanos started = nowNs();
  for (;;) {
    ssize_t n = ::recv(fd_.get(), buffer.data(), buffer.size(), 0);
    if (n >= 0) return static_cast<std::size_t>(n);
    if (errno == EINTR) continue;
    Nanos waited = nowNs() - started;
    if ((errno == EAGAIN || errno == EWOULDBLOCK) && waited < ioTimeout_) {
      gEarlyEagain.fetch_add(1, std::memory_order_relaxed);
      pollfd p{.fd = fd_.get(), .events = POLLIN, .revents = 0};
      ::poll(&p, 1, static_cast<int>((ioTimeout_ - waited + kNanosPerMilli - 1) / kNanosPerMilli));
      continue;
    }
    return std::unexpected(ioFailure(errno, "read", "read from " + peer_));
  }
}

Outcome<void> BlockingConnection::receiveExact(std::span<std::uint8_t> buffer, std::string_view what) {
  std::size_t got = 0;
  while (got < buffer.size()) {
    auto n = receiveSome(buffer.subspan(got));
    if (!n) return std::unexpected(n.error());
    if (*n == 0)
      return std::unexpected(eofFailure(
          "read", fmt::format("{} closed the connection after {} of the {} bytes of {}", peer_, got, buffer.size(), what)));
    got += *n;
  }
  return {};
}

Outcome<void> BlockingConnection::expectEof(std::string_view after) {
  std::uint8_t extra[64];
  auto n = receiveSome(extra);
  if (!n) return std::unexpected(n.error());
  if (*n != 0) return std::unexpected(verifyFailure(fmt::format("{} sent unexpected bytes after {}", peer_, after)));
  return {};
}

Outcome<void> BlockingConnection::shutdownWrite() {
  if (::shutdown(fd_.get(), SHUT_WR) != 0) return std::unexpected(errnoFailure(errno, "write", "shutdown to " + peer_));
  return {};
}

}  // namespace weft::bench

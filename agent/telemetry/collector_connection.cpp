#include "collector_connection.h"

#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <cstring>
#include <fmt/format.h>
#include <memory>

#include "weft/common/socket_address.h"
#include "weft/http/response_decoder.h"

namespace weft::telemetry {
namespace {

constexpr std::size_t kMaxBodyBytes = 4 * 1024 * 1024;
constexpr std::size_t kKeptBodyBytes = 256;
// How often a wait looks at the shutdown cutoff.
constexpr auto kPollSlice = std::chrono::milliseconds(100);

}  // namespace

Result<CollectorResponse> CollectorConnection::post(std::string_view body) {
  const Deadline deadline = Clock::now() + requestTimeout_;
  const bool reused = fd_.valid() && idleAndOpen();
  if (!reused) {
    fd_.reset();
    if (auto connected = connect(deadline); !connected) return std::unexpected(connected.error());
  }
  auto response = exchange(body, deadline);
  if (!response) {
    fd_.reset();
    // A keep-alive connection the collector closed while idle fails like
    // this; a fresh one tells whether the collector is really gone.
    if (reused && !answered_ && peerClosed_) {
      if (auto connected = connect(deadline); !connected) return std::unexpected(connected.error());
      response = exchange(body, deadline);
      if (!response) fd_.reset();
    }
  }
  return response;
}

Status CollectorConnection::connect(Deadline requestDeadline) {
  const Deadline deadline = std::min(requestDeadline, Clock::now() + connectTimeout_);
  buffer_.clear();
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  std::string port = std::to_string(url_.port);
  if (int rc = ::getaddrinfo(url_.host.c_str(), port.c_str(), &hints, &found); rc != 0) {
    std::string why = rc == EAI_SYSTEM ? std::strerror(errno) : ::gai_strerror(rc);
    return fail(ErrorCode::kSystem, fmt::format("resolve collector host '{}': {}", url_.host, why));
  }
  std::unique_ptr<addrinfo, decltype(&::freeaddrinfo)> addresses(found, ::freeaddrinfo);
  Error last{ErrorCode::kSystem, "resolve collector host '" + url_.host + "': no address"};
  for (const addrinfo* a = found; a != nullptr; a = a->ai_next) {
    SocketAddress address;
    std::memcpy(&address.storage, a->ai_addr, std::min<std::size_t>(a->ai_addrlen, sizeof address.storage));
    address.length = a->ai_addrlen;
    const std::string what = fmt::format("connect to collector {} ({})", url_.authority, address.toString());
    fd_.reset(::socket(a->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    if (!fd_.valid()) {
      last = failErrno("socket").error();
      continue;
    }
    int one = 1;
    ::setsockopt(fd_.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    int err = 0;
    if (::connect(fd_.get(), address.get(), address.length) != 0) {
      err = errno;
      if (err == EINPROGRESS) {
        if (auto ready = wait(POLLOUT, deadline, what); !ready) {
          last = ready.error();
          fd_.reset();
          continue;
        }
        socklen_t length = sizeof err;
        ::getsockopt(fd_.get(), SOL_SOCKET, SO_ERROR, &err, &length);
      }
    }
    if (err == 0) return {};
    last = failErrno(what, err).error();
    fd_.reset();
  }
  return std::unexpected(last);
}

Result<CollectorResponse> CollectorConnection::exchange(std::string_view body, Deadline deadline) {
  answered_ = false;
  peerClosed_ = false;
  std::string request = fmt::format(
      "POST {} HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n"
      "User-Agent: weft\r\n\r\n",
      url_.target, url_.authority, body.size());
  request += body;
  if (auto sent = sendAll(request, deadline); !sent) return std::unexpected(sent.error());

  const std::string what = "response from collector " + url_.authority;
  http::ResponseDecoder decoder;
  std::string answer;
  while (!decoder.complete()) {
    if (buffer_.empty()) {
      auto n = receiveSome(deadline, what);
      if (!n) return std::unexpected(n.error());
      if (*n == 0) {
        if (auto ended = decoder.finish(); !ended) return fail(ErrorCode::kSystem, what + ": " + ended.error().message);
        break;
      }
    }
    auto fed = decoder.feed(buffer_, answer);
    if (!fed) return fail(ErrorCode::kParse, what + ": " + fed.error().message);
    buffer_.erase(0, decoder.consumed());
    if (answer.size() > kMaxBodyBytes) return fail(ErrorCode::kParse, what + ": body over 4 MiB");
  }
  // Bytes nobody asked for, or a collector that closes: the next request
  // starts on a new connection.
  if (decoder.closes() || peerClosed_ || !buffer_.empty()) fd_.reset();
  answer.resize(std::min(answer.size(), kKeptBodyBytes));
  return CollectorResponse{.status = decoder.status(), .body = std::move(answer)};
}

Status CollectorConnection::sendAll(std::string_view bytes, Deadline deadline) {
  const std::string what = "send to collector " + url_.authority;
  while (!bytes.empty()) {
    ssize_t n = ::send(fd_.get(), bytes.data(), bytes.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n >= 0) {
      bytes.remove_prefix(static_cast<std::size_t>(n));
      continue;
    }
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
      if (auto ready = wait(POLLOUT, deadline, what); !ready) return ready;
      continue;
    }
    peerClosed_ = errno == EPIPE || errno == ECONNRESET;
    return failErrno(what);
  }
  return {};
}

Result<std::size_t> CollectorConnection::receiveSome(Deadline deadline, std::string_view what) {
  char chunk[16 * 1024];
  for (;;) {
    ssize_t n = ::recv(fd_.get(), chunk, sizeof chunk, MSG_DONTWAIT);
    if (n > 0) {
      buffer_.append(chunk, static_cast<std::size_t>(n));
      answered_ = true;
      return static_cast<std::size_t>(n);
    }
    if (n == 0) {
      peerClosed_ = true;
      return 0;
    }
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
      if (auto ready = wait(POLLIN, deadline, what); !ready) return std::unexpected(ready.error());
      continue;
    }
    peerClosed_ = errno == ECONNRESET;
    return failErrno(what);
  }
}

Status CollectorConnection::wait(short events, Deadline deadline, std::string_view what) {
  for (;;) {
    const auto now = Clock::now();
    const Deadline cutoff{Clock::duration(cutoff_.load(std::memory_order_relaxed))};
    if (now >= cutoff) return fail(ErrorCode::kSystem, std::string(what) + ": given up, the exporter is stopping");
    if (now >= deadline) return fail(ErrorCode::kSystem, std::string(what) + ": timed out");
    auto left = std::min({deadline - now, cutoff - now, Clock::duration(kPollSlice)});
    int ms = static_cast<int>(std::chrono::ceil<std::chrono::milliseconds>(left).count());
    pollfd p{.fd = fd_.get(), .events = events, .revents = 0};
    int ready = ::poll(&p, 1, ms);
    if (ready > 0) return {};
    if (ready < 0 && errno != EINTR) return failErrno("poll");
  }
}

bool CollectorConnection::idleAndOpen() const {
  // Readable while idle means EOF or bytes nobody asked for: either way not
  // a connection to send the next request on.
  pollfd p{.fd = fd_.get(), .events = POLLIN, .revents = 0};
  return ::poll(&p, 1, 0) == 0;
}

}  // namespace weft::telemetry

#include "weft-bench/server.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <memory>
#include <thread>
#include <vector>

#include "weft-bench/file_limit.h"
#include "weft-bench/clock.h"
#include "weft-bench/run_error.h"
#include "weft-bench/server_session.h"
#include "weft/common/log.h"
#include "weft/common/unique_fd.h"

namespace weft::bench {
namespace {

constexpr std::size_t kReadBuffer = 256 * 1024;
// Per wake-up bounds, so that one fast connection cannot starve the others.
constexpr int kMaxAcceptsPerWake = 64;
constexpr int kMaxReadsPerWake = 4;
constexpr int kMaxWritesPerWake = 16;
constexpr std::uint64_t kListenerKey = UINT64_MAX;
constexpr std::uint64_t kStopKey = UINT64_MAX - 1;
// Out of descriptors: stop accepting for a while rather than spin on a
// listener that stays readable.
constexpr Nanos kAcceptPause = 100 * kNanosPerMilli;

struct ServerStats {
  std::uint64_t accepted = 0;
  std::uint64_t aborted = 0;  // protocol violations, answered with RST
  std::uint64_t failed = 0;   // socket errors (mostly clients resetting)
  std::uint64_t bytesIn = 0;
  std::uint64_t bytesOut = 0;
};

class Worker {
 public:
  Worker(UniqueFd listener, int stopFd, std::uint64_t httpBodySize)
      : listener_(std::move(listener)), stopFd_(stopFd), httpBodySize_(httpBodySize), buffer_(kReadBuffer) {}

  void run();
  [[nodiscard]] const ServerStats& stats() const { return stats_; }

 private:
  struct Conn {
    Conn(int fd, std::uint64_t httpBodySize) : fd(fd), session(httpBodySize) {}
    UniqueFd fd;
    ServerSession session;
    std::uint32_t events = 0;
    bool wroteShutdown = false;
  };

  void acceptSome();
  void service(Conn& conn, std::uint32_t events);
  void close(Conn& conn, bool reset);
  void watch(int fd, std::uint64_t key, std::uint32_t events, int op);

  UniqueFd epoll_;
  UniqueFd listener_;
  int stopFd_;
  std::uint64_t httpBodySize_;
  std::vector<std::uint8_t> buffer_;
  std::vector<std::unique_ptr<Conn>> conns_;  // indexed by fd
  Nanos acceptPausedUntil_ = 0;
  Nanos lastAcceptWarning_ = 0;
  ServerStats stats_;
};

void Worker::watch(int fd, std::uint64_t key, std::uint32_t events, int op) {
  epoll_event ev{};
  ev.events = events;
  ev.data.u64 = key;
  ::epoll_ctl(epoll_.get(), op, fd, &ev);
}

void Worker::run() {
  epoll_.reset(::epoll_create1(EPOLL_CLOEXEC));
  watch(listener_.get(), kListenerKey, EPOLLIN, EPOLL_CTL_ADD);
  watch(stopFd_, kStopKey, EPOLLIN, EPOLL_CTL_ADD);
  epoll_event events[256];
  for (;;) {
    int timeoutMs = acceptPausedUntil_ ? static_cast<int>(kAcceptPause / kNanosPerMilli) : -1;
    int n = ::epoll_wait(epoll_.get(), events, 256, timeoutMs);
    if (n < 0 && errno != EINTR) {
      log::error("serve", "epoll_wait: {}", std::strerror(errno));
      return;
    }
    if (acceptPausedUntil_ && nowNs() >= acceptPausedUntil_) {
      acceptPausedUntil_ = 0;
      watch(listener_.get(), kListenerKey, EPOLLIN, EPOLL_CTL_ADD);
    }
    for (int i = 0; i < n; ++i) {
      std::uint64_t key = events[i].data.u64;
      if (key == kStopKey) return;
      if (key == kListenerKey) {
        acceptSome();
      } else if (key < conns_.size() && conns_[key]) {
        service(*conns_[key], events[i].events);
      }
    }
  }
}

void Worker::acceptSome() {
  for (int i = 0; i < kMaxAcceptsPerWake; ++i) {
    int fd = ::accept4(listener_.get(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EAGAIN || errno == ECONNABORTED || errno == EINTR) {
        if (errno == EAGAIN) return;
        continue;
      }
      Nanos now = nowNs();
      if (now - lastAcceptWarning_ > kNanosPerSecond) {
        log::warn("serve", "accept: {}; pausing accepts for {} ms", std::strerror(errno), kAcceptPause / kNanosPerMilli);
        lastAcceptWarning_ = now;
      }
      acceptPausedUntil_ = now + kAcceptPause;
      watch(listener_.get(), kListenerKey, 0, EPOLL_CTL_DEL);
      return;
    }
    int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (static_cast<std::size_t>(fd) >= conns_.size()) conns_.resize(static_cast<std::size_t>(fd) + 1);
    conns_[static_cast<std::size_t>(fd)] = std::make_unique<Conn>(fd, httpBodySize_);
    conns_[static_cast<std::size_t>(fd)]->events = EPOLLIN;
    watch(fd, static_cast<std::uint64_t>(fd), EPOLLIN, EPOLL_CTL_ADD);
    ++stats_.accepted;
  }
}

void Worker::close(Conn& conn, bool reset) {
  int fd = conn.fd.get();
  if (reset) {
    linger hard{1, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &hard, sizeof hard);
  }
  conns_[static_cast<std::size_t>(fd)].reset();  // closing the fd also drops it from epoll
}

void Worker::service(Conn& conn, std::uint32_t events) {
  ServerSession& session = conn.session;
  int fd = conn.fd.get();
  auto socketFailed = [&](const char* what) {
    ++stats_.failed;
    log::debug("serve", "{} ({}): {}", what, session.protocolName(), std::strerror(errno));
    close(conn, false);
  };
  if ((events & (EPOLLIN | EPOLLHUP | EPOLLERR)) && session.wantsInput()) {
    for (int i = 0; i < kMaxReadsPerWake && session.wantsInput(); ++i) {
      ssize_t n = ::recv(fd, buffer_.data(), buffer_.size(), 0);
      if (n > 0) {
        stats_.bytesIn += static_cast<std::uint64_t>(n);
        session.onData({buffer_.data(), static_cast<std::size_t>(n)});
        if (static_cast<std::size_t>(n) < buffer_.size()) break;  // drained
      } else if (n == 0) {
        session.onPeerEof();
        break;
      } else if (errno == EINTR) {
        continue;
      } else if (errno == EAGAIN) {
        break;
      } else {
        return socketFailed("read");
      }
    }
  }
  bool pending = false;
  for (int i = 0; i < kMaxWritesPerWake; ++i) {
    auto out = session.pendingOutput();
    if (out.empty()) break;
    ssize_t n = ::send(fd, out.data(), out.size(), MSG_NOSIGNAL);
    if (n > 0) {
      stats_.bytesOut += static_cast<std::uint64_t>(n);
      session.consumeOutput(static_cast<std::size_t>(n));
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else if (n < 0 && errno == EAGAIN) {
      break;
    } else {
      return socketFailed("write");
    }
  }
  pending = !session.pendingOutput().empty();
  if (!pending) {
    switch (session.next()) {
      case ServerSession::Next::kContinue: break;
      case ServerSession::Next::kShutdownWrite:
        if (!conn.wroteShutdown) {
          ::shutdown(fd, SHUT_WR);
          conn.wroteShutdown = true;
        }
        break;
      case ServerSession::Next::kClose: return close(conn, false);
      case ServerSession::Next::kAbort:
        ++stats_.aborted;
        log::warn("serve", "resetting a connection: {}", session.abortReason());
        return close(conn, true);
    }
  }
  std::uint32_t want = (session.wantsInput() ? EPOLLIN : 0u) | (pending ? EPOLLOUT : 0u);
  if (want == 0) return close(conn, false);  // nothing left to wait for
  if (want != conn.events) {
    conn.events = want;
    watch(fd, static_cast<std::uint64_t>(fd), want, EPOLL_CTL_MOD);
  }
}

Result<UniqueFd> openListener(const SocketAddress& address) {
  UniqueFd fd(::socket(address.family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd.valid()) return failErrno("socket");
  int one = 1;
  ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) != 0) return failErrno("SO_REUSEPORT");
  if (::bind(fd.get(), address.get(), address.length) != 0) return failErrno("bind " + address.toString());
  if (::listen(fd.get(), 65535) != 0) return failErrno("listen " + address.toString());
  return fd;
}

}  // namespace

int runServe(const ServeOptions& options) {
  if (auto ok = ensureFileLimit(1024); !ok) log::warn("serve", "{}", ok.error().message);
  // Signals are taken synchronously by sigwait below; workers never see them.
  sigset_t stopSignals;
  sigemptyset(&stopSignals);
  sigaddset(&stopSignals, SIGINT);
  sigaddset(&stopSignals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stopSignals, nullptr);

  SocketAddress address = options.address;
  std::vector<UniqueFd> listeners;
  for (unsigned i = 0; i < options.threads; ++i) {
    auto listener = openListener(address);
    if (!listener) {
      log::error("serve", "{}", listener.error().message);
      return kExitNetwork;
    }
    if (i == 0) {  // with port 0, the other listeners join the port the kernel chose
      socklen_t len = sizeof address.storage;
      ::getsockname(listener->get(), reinterpret_cast<sockaddr*>(&address.storage), &len);
      address.length = len;
    }
    listeners.push_back(std::move(*listener));
  }
  UniqueFd stop(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  std::vector<std::unique_ptr<Worker>> workers;
  std::vector<std::thread> threads;
  for (auto& listener : listeners) {
    workers.push_back(std::make_unique<Worker>(std::move(listener), stop.get(), options.httpBodySize));
    threads.emplace_back([w = workers.back().get()] { w->run(); });
  }
  // A plain line that scripts wait for and read the port from.
  std::fprintf(stderr, "listening %s\n", address.toString().c_str());
  std::fflush(stderr);

  int signal = 0;
  sigwait(&stopSignals, &signal);
  std::uint64_t one = 1;
  [[maybe_unused]] auto written = ::write(stop.get(), &one, sizeof one);
  ServerStats total;
  for (std::size_t i = 0; i < threads.size(); ++i) {
    threads[i].join();
    const ServerStats& s = workers[i]->stats();
    total.accepted += s.accepted;
    total.aborted += s.aborted;
    total.failed += s.failed;
    total.bytesIn += s.bytesIn;
    total.bytesOut += s.bytesOut;
  }
  log::info("serve", "stopped by {}: {} connections, {} reset for protocol errors, {} socket errors, {} bytes in, "
            "{} bytes out",
            strsignal(signal), total.accepted, total.aborted, total.failed, total.bytesIn, total.bytesOut);
  return kExitOk;
}

}  // namespace weft::bench

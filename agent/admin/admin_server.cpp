#include "weft/admin/admin_server.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>

#include <chrono>
#include <map>
#include <thread>
#include <vector>

#include "weft/common/log.h"
#include "weft/common/unique_fd.h"

namespace weft::admin {
namespace {

constexpr std::size_t kMaxConnections = 64;  // loopback control plane: a handful of clients
constexpr auto kIdleTimeout = std::chrono::seconds(30);
constexpr std::size_t kMaxStreams = 8;                  // weft-trace sessions at once
constexpr std::size_t kStreamBacklog = 1 << 20;        // unsent bytes before a stream stops taking

const char* reasonPhrase(int status) {
  switch (status) {
    case 200: return "OK";
    case 400: return "Bad Request";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 500: return "Internal Server Error";
    case 503: return "Service Unavailable";
    default: return "Status";
  }
}

std::string serialize(const Response& response, bool keepAlive) {
  std::string out = "HTTP/1.1 " + std::to_string(response.status) + " " + reasonPhrase(response.status) + "\r\n";
  out += "Content-Type: " + response.contentType + "\r\n";
  out += "Content-Length: " + std::to_string(response.body.size()) + "\r\n";
  out += keepAlive ? "Connection: keep-alive\r\n\r\n" : "Connection: close\r\n\r\n";
  out += response.body;
  return out;
}

}  // namespace

Response Response::json(std::string body, int status) {
  return Response{status, "application/json", std::move(body)};
}
Response Response::text(std::string body, int status) {
  return Response{status, "text/plain; charset=utf-8", std::move(body)};
}

struct AdminServer::Impl {
  SocketAddress address;
  UniqueFd listener;
  UniqueFd stopEvent;
  std::map<std::pair<std::string, std::string>, Handler> routes;  // (method, path)
  std::map<std::string, StreamHandler> streams;                   // GET path
  std::thread thread;

  struct Connection {
    UniqueFd fd;
    http::RequestReader reader;
    std::string pending;  // response bytes not yet written
    bool closeAfterWrite = false;
    std::optional<StreamSource> stream;  // the response goes on until the client leaves
    std::chrono::steady_clock::time_point lastActive = std::chrono::steady_clock::now();
  };
  std::map<int, Connection> connections;

  Response dispatch(const http::Request& request) {
    auto it = routes.find({request.method, std::string(request.path())});
    if (it != routes.end()) return it->second(request);
    for (const auto& [key, handler] : routes)
      if (key.second == request.path()) return Response::text("method not allowed\n", 405);
    return Response::text("not found: " + std::string(request.path()) + "\n", 404);
  }

  void acceptAll() {
    while (true) {
      int fd = ::accept4(listener.get(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (fd < 0) return;
      if (connections.size() >= kMaxConnections) {
        ::close(fd);
        continue;
      }
      connections[fd].fd.reset(fd);
    }
  }

  // Returns false when the connection is done.
  bool readFrom(Connection& c) {
    char buffer[8192];
    while (true) {
      ssize_t n = ::recv(c.fd.get(), buffer, sizeof buffer, 0);
      if (n == 0) return !c.pending.empty();
      if (n < 0) return errno == EAGAIN || errno == EWOULDBLOCK;
      c.lastActive = std::chrono::steady_clock::now();
      auto fed = c.reader.feed(std::string_view(buffer, static_cast<size_t>(n)));
      if (!fed) {
        c.pending += serialize(Response::text(fed.error().message + "\n", 400), false);
        c.closeAfterWrite = true;
        return true;
      }
      while (!c.stream) {
        auto request = c.reader.next();
        if (!request) break;
        if (startStream(c, *request)) break;
        c.pending += serialize(dispatch(*request), request->keepAlive);
        if (!request->keepAlive) c.closeAfterWrite = true;
      }
    }
  }

  // The response head of a streamed GET; nothing after it is read.
  bool startStream(Connection& c, const http::Request& request) {
    if (request.method != "GET") return false;
    auto it = streams.find(std::string(request.path()));
    if (it == streams.end()) return false;
    std::size_t open = 0;
    for (const auto& [fd, other] : connections) open += other.stream ? 1 : 0;
    auto source = open >= kMaxStreams ? fail(ErrorCode::kInternal, "too many event streams open (" + std::to_string(kMaxStreams) + ")") : it->second(request);
    if (!source) {
      c.pending += serialize(Response::text(source.error().message + "\n", 503), false);
      c.closeAfterWrite = true;
      return true;
    }
    c.pending += "HTTP/1.1 200 OK\r\nContent-Type: " + source->contentType +
                 "\r\nCache-Control: no-cache\r\nConnection: close\r\n\r\n";
    c.stream = std::move(*source);
    return true;
  }

  bool writeTo(Connection& c) {
    while (!c.pending.empty()) {
      ssize_t n = ::send(c.fd.get(), c.pending.data(), c.pending.size(), MSG_NOSIGNAL);
      if (n < 0) return errno == EAGAIN || errno == EWOULDBLOCK;
      c.pending.erase(0, static_cast<size_t>(n));
    }
    return !c.closeAfterWrite;
  }

  void run() {
    std::vector<pollfd> fds;
    while (true) {
      fds.clear();
      fds.push_back({stopEvent.get(), POLLIN, 0});
      fds.push_back({listener.get(), POLLIN, 0});
      for (auto& [fd, c] : connections)
        fds.push_back({fd, static_cast<short>(POLLIN | (c.pending.empty() ? 0 : POLLOUT)), 0});
      std::size_t streamStart = fds.size();
      for (auto& [fd, c] : connections)
        if (c.stream && c.pending.size() < kStreamBacklog) fds.push_back({c.stream->fd, POLLIN, 0});
      if (::poll(fds.data(), fds.size(), 1000) < 0 && errno != EINTR) {
        log::error("admin", "poll failed: {}", std::strerror(errno));
        return;
      }
      if (fds[0].revents) return;
      if (fds[1].revents & POLLIN) acceptAll();
      // Streams first, so that what they hold goes out with this turn's
      // writes. Their fds only wake the poll; taking is cheap, so each turn
      // takes from every stream that is not backed up.
      for (auto& [fd, c] : connections)
        if (c.stream && c.pending.size() < kStreamBacklog) c.pending += c.stream->take();
      auto now = std::chrono::steady_clock::now();
      for (size_t i = 2; i < streamStart; ++i) {
        auto it = connections.find(fds[i].fd);
        if (it == connections.end()) continue;
        Connection& c = it->second;
        bool keep = c.stream || now - c.lastActive < kIdleTimeout;
        if (keep && (fds[i].revents & (POLLIN | POLLHUP | POLLERR))) keep = readFrom(c);
        if (keep || !c.pending.empty()) keep = writeTo(c) && keep;
        if (!keep) connections.erase(it);
      }
    }
  }
};

AdminServer::AdminServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Result<std::unique_ptr<AdminServer>> AdminServer::listen(const SocketAddress& address, bool shared) {
  auto impl = std::make_unique<Impl>();
  impl->listener.reset(::socket(address.family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!impl->listener.valid()) return failErrno("admin socket");
  int one = 1;
  ::setsockopt(impl->listener.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (shared) ::setsockopt(impl->listener.get(), SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
  if (::bind(impl->listener.get(), address.get(), address.length) != 0)
    return failErrno("admin API bind " + address.toString());
  if (::listen(impl->listener.get(), 64) != 0) return failErrno("admin API listen " + address.toString());
  impl->address = address;
  impl->address.length = sizeof impl->address.storage;
  ::getsockname(impl->listener.get(), reinterpret_cast<sockaddr*>(&impl->address.storage), &impl->address.length);
  impl->stopEvent.reset(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (!impl->stopEvent.valid()) return failErrno("admin eventfd");
  return std::unique_ptr<AdminServer>(new AdminServer(std::move(impl)));
}

AdminServer::~AdminServer() {
  if (impl_->thread.joinable()) {
    std::uint64_t one = 1;
    [[maybe_unused]] auto n = ::write(impl_->stopEvent.get(), &one, sizeof one);
    impl_->thread.join();
  }
}

void AdminServer::route(std::string method, std::string path, Handler handler) {
  impl_->routes[{std::move(method), std::move(path)}] = std::move(handler);
}

void AdminServer::stream(std::string path, StreamHandler handler) {
  impl_->streams[std::move(path)] = std::move(handler);
}

void AdminServer::start() {
  impl_->thread = std::thread([this] { impl_->run(); });
  log::info("admin", "admin API listening on {}", impl_->address.toString());
}

const SocketAddress& AdminServer::address() const { return impl_->address; }

}  // namespace weft::admin

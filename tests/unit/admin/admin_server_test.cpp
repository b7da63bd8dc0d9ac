// The admin server over real loopback sockets.
#include "weft/admin/admin_server.h"

#include <arpa/inet.h>
#include <sys/socket.h>
#include <unistd.h>

#include <doctest/doctest.h>

#include "weft/admin/agent_routes.h"
#include "weft/common/log.h"
#include "weft/common/unique_fd.h"
#include "weft/telemetry/event_hub.h"

using namespace weft;

namespace {

// Sends raw bytes and reads until the server closes or `expectedResponses`
// complete responses (by Content-Length) have arrived.
std::string exchange(const SocketAddress& address, const std::string& bytes, int expectedResponses = 1) {
  UniqueFd fd(::socket(AF_INET, SOCK_STREAM, 0));
  timeval timeout{.tv_sec = 5, .tv_usec = 0};
  ::setsockopt(fd.get(), SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  REQUIRE(::connect(fd.get(), address.get(), address.length) == 0);
  REQUIRE(::send(fd.get(), bytes.data(), bytes.size(), 0) == static_cast<ssize_t>(bytes.size()));
  std::string out;
  char buffer[4096];
  auto complete = [&] {
    int found = 0;
    size_t pos = 0;
    while ((pos = out.find("\r\n\r\n", pos)) != std::string::npos) {
      auto cl = out.rfind("Content-Length: ", pos);
      size_t length = std::stoul(out.substr(cl + 16));
      if (out.size() < pos + 4 + length) return false;
      pos += 4 + length;
      ++found;
    }
    return found >= expectedResponses;
  };
  while (!complete()) {
    ssize_t n = ::recv(fd.get(), buffer, sizeof buffer, 0);
    if (n <= 0) break;
    out.append(buffer, static_cast<size_t>(n));
  }
  return out;
}

std::unique_ptr<admin::AdminServer> startServer() {
  auto server = admin::AdminServer::listen(parseSocketAddress("127.0.0.1:0").value());
  REQUIRE(server.has_value());
  return std::move(*server);
}

}  // namespace

TEST_CASE("admin server routes by method and path / with keep-alive and pipelining") {
  auto server = startServer();
  server->route("GET", "/hello", [](const http::Request& r) {
    return admin::Response::text("hi " + std::string(r.query()) + "\n");
  });
  server->start();

  std::string out = exchange(server->address(), "GET /hello?x HTTP/1.1\r\nHost: a\r\n\r\nGET /hello?y HTTP/1.1\r\nHost: a\r\n\r\n", 2);
  CHECK(out.find("hi x\n") != std::string::npos);
  CHECK(out.find("hi y\n") != std::string::npos);

  CHECK(exchange(server->address(), "GET /nope HTTP/1.1\r\nHost: a\r\n\r\n").starts_with("HTTP/1.1 404"));
  CHECK(exchange(server->address(), "DELETE /hello HTTP/1.1\r\nHost: a\r\n\r\n").starts_with("HTTP/1.1 405"));
  std::string bad = exchange(server->address(), "GET / HTTP/1.1\r\nHost : a\r\n\r\n");
  CHECK(bad.starts_with("HTTP/1.1 400"));
  CHECK(bad.find("Connection: close") != std::string::npos);
}

TEST_CASE("admin server reports an address in use at listen time") {
  auto first = startServer();
  auto second = admin::AdminServer::listen(first->address());
  REQUIRE_FALSE(second.has_value());
  CHECK(second.error().message.find("Address already in use") != std::string::npos);
  CHECK(second.error().message.find(first->address().toString()) != std::string::npos);
}

TEST_CASE("agent routes: readiness / config dump / stats and log level") {
  auto server = startServer();
  config::SnapshotStore store;
  config::Snapshot snapshot;
  snapshot.sourceDir = "/cfg";
  store.publish(std::move(snapshot));
  std::atomic<bool> ready{false};
  admin::registerAgentRoutes(*server, {.nodeName = "n1",
                                       .snapshots = &store,
                                       .ready = &ready,
                                       .stats = [] { return nlohmann::json{{"capture", {{"connectSeen", 7}}}}; }});
  server->start();
  const auto& address = server->address();

  CHECK(exchange(address, "GET /healthz/ready HTTP/1.1\r\nHost: a\r\n\r\n").starts_with("HTTP/1.1 503"));
  ready = true;
  CHECK(exchange(address, "GET /healthz/ready HTTP/1.1\r\nHost: a\r\n\r\n").starts_with("HTTP/1.1 200"));

  std::string dump = exchange(address, "GET /config_dump HTTP/1.1\r\nHost: a\r\n\r\n");
  auto body = nlohmann::json::parse(dump.substr(dump.find("\r\n\r\n") + 4));
  CHECK(body["generation"] == 1);
  CHECK(body["sourceDir"] == "/cfg");

  std::string stats = exchange(address, "GET /stats HTTP/1.1\r\nHost: a\r\n\r\n");
  auto statsBody = nlohmann::json::parse(stats.substr(stats.find("\r\n\r\n") + 4));
  CHECK(statsBody["node"] == "n1");
  CHECK(statsBody["capture"]["connectSeen"] == 7);

  auto before = log::level();
  CHECK(exchange(address, "POST /logging?level=debug HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n").starts_with("HTTP/1.1 200"));
  CHECK(log::level() == log::Level::kDebug);
  CHECK(exchange(address, "POST /logging?level=loud HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n").starts_with("HTTP/1.1 400"));
  log::setLevel(before);
}

TEST_CASE("admin server streams a response until the client leaves") {
  auto server = startServer();
  telemetry::EventHub hub;
  server->stream("/events", [&hub](const http::Request&) -> Result<admin::StreamSource> {
    auto s = hub.subscribe();
    return admin::StreamSource{.fd = s->fd(), .take = [r = s.get()] { return r->take(); }, .owner = s};
  });
  server->route("GET", "/other", [](const http::Request&) { return admin::Response::text("x\n"); });
  server->start();

  UniqueFd fd(::socket(AF_INET, SOCK_STREAM, 0));
  timeval timeout{.tv_sec = 5, .tv_usec = 0};
  ::setsockopt(fd.get(), SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  REQUIRE(::connect(fd.get(), server->address().get(), server->address().length) == 0);
  std::string request = "GET /events HTTP/1.1\r\nHost: a\r\n\r\n";
  REQUIRE(::send(fd.get(), request.data(), request.size(), 0) == static_cast<ssize_t>(request.size()));
  std::string got;
  auto readUntil = [&](std::string_view wanted) {
    char buffer[4096];
    while (got.find(wanted) == std::string::npos) {
      ssize_t n = ::recv(fd.get(), buffer, sizeof buffer, 0);
      if (n <= 0) return false;
      got.append(buffer, static_cast<size_t>(n));
    }
    return true;
  };
  REQUIRE(readUntil("\r\n\r\n"));
  CHECK(got.starts_with("HTTP/1.1 200"));
  CHECK(got.find("application/x-ndjson") != std::string::npos);
  // The subscription exists once the head is out: lines published now arrive.
  for (int i = 0; i < 50 && !hub.active(); ++i) ::usleep(10000);
  REQUIRE(hub.active());
  hub.publish("{\"kind\":\"http\",\"n\":1}\n");
  CHECK(readUntil("\"n\":1}\n"));
  hub.publish("{\"kind\":\"http\",\"n\":2}\n");
  CHECK(readUntil("\"n\":2}\n"));
  // A client that leaves ends its subscription.
  fd.reset();
  for (int i = 0; i < 300 && hub.active(); ++i) ::usleep(10000);
  CHECK_FALSE(hub.active());
  CHECK(exchange(server->address(), "GET /other HTTP/1.1\r\nHost: a\r\n\r\n").starts_with("HTTP/1.1 200"));
}

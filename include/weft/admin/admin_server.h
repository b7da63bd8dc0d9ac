// The agent's admin HTTP endpoint (default 127.0.0.1:15000): health, config
// dump, counters, log level. Control plane only: one thread, poll(), small
// responses; the data path never waits on it.
#pragma once

#include <functional>
#include <memory>
#include <memory>
#include <string>

#include "weft/common/error.h"
#include "weft/common/socket_address.h"
#include "weft/http/request_reader.h"

namespace weft::admin {

struct Response {
  int status = 200;
  std::string contentType = "text/plain; charset=utf-8";
  std::string body;

  static Response json(std::string body, int status = 200);
  static Response text(std::string body, int status = 200);
};

using Handler = std::function<Response(const http::Request&)>;

// A response that goes on until the client leaves (GET /events): the
// server writes what take() returns whenever fd is readable, and stops
// taking while the client is slow to read (the source then drops and says so).
struct StreamSource {
  int fd = -1;
  std::function<std::string()> take;
  std::shared_ptr<void> owner;  // kept alive as long as the response lasts
  std::string contentType = "application/x-ndjson";
};
using StreamHandler = std::function<Result<StreamSource>(const http::Request&)>;

class AdminServer {
 public:
  // Binds and listens at once so that "address in use" is reported at start.
  // `shared`: SO_REUSEPORT, so that a successor agent can bind the same
  // address while this one still serves (a hand-over); a process that binds
  // without it still finds the address in use.
  [[nodiscard]] static Result<std::unique_ptr<AdminServer>> listen(const SocketAddress& address, bool shared = false);
  ~AdminServer();  // stops the thread and closes every socket
  AdminServer(const AdminServer&) = delete;
  AdminServer& operator=(const AdminServer&) = delete;

  // Register before start(). `path` matches the request path exactly.
  void route(std::string method, std::string path, Handler handler);
  // A GET whose response streams (see StreamSource). A failed handler answers 503.
  void stream(std::string path, StreamHandler handler);
  void start();
  [[nodiscard]] const SocketAddress& address() const;  // with the bound port when 0 was asked

 private:
  struct Impl;
  explicit AdminServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace weft::admin

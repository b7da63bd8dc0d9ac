// Reads whole HTTP/1.1 requests from a byte stream with llhttp in strict mode.
// For small control-plane endpoints (the admin API) that want a complete
// request, not for the data path, which streams bodies.
#pragma once

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "weft/common/error.h"

namespace weft::http {

struct Request {
  std::string method;
  std::string target;  // as sent: path and query
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  bool keepAlive = true;

  [[nodiscard]] std::string_view path() const;   // target before '?'
  [[nodiscard]] std::string_view query() const;  // after '?', empty if none
  [[nodiscard]] std::optional<std::string_view> header(std::string_view name) const;  // case-insensitive
};

struct RequestLimits {
  std::size_t maxHeaderBytes = 16 * 1024;
  std::size_t maxBodyBytes = 1024 * 1024;
};

class RequestReader {
 public:
  explicit RequestReader(RequestLimits limits = {});
  ~RequestReader();
  RequestReader(const RequestReader&) = delete;
  RequestReader& operator=(const RequestReader&) = delete;

  // Feeds bytes; returns the number consumed. Completed requests queue up and
  // are taken with next(). After an error, feed() consumes nothing more.
  [[nodiscard]] Result<std::size_t> feed(std::string_view bytes);
  [[nodiscard]] std::optional<Request> next();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace weft::http

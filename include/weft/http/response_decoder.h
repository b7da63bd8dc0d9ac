// The client side of HTTP/1.1 for weft's own clients (weftctl, weft-trace,
// the span exporter): one response decoded with llhttp as its bytes arrive,
// the status and head, then the body framed by Content-Length, chunked
// coding, or the connection's end. No I/O here.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

#include "weft/common/error.h"

namespace weft::http {

class ResponseDecoder {
 public:
  ResponseDecoder();
  ~ResponseDecoder();
  ResponseDecoder(ResponseDecoder&&) noexcept;
  ResponseDecoder& operator=(ResponseDecoder&&) noexcept;

  // Appends the body bytes found in `bytes` to `body`; fails on a malformed
  // response or a head over 64 KiB. Bytes after the end of the response are
  // not taken (consumed() says how many were).
  [[nodiscard]] Status feed(std::string_view bytes, std::string& body);
  // The peer closed: a body framed by the close is complete, others are cut.
  [[nodiscard]] Status finish();

  [[nodiscard]] bool headComplete() const;
  [[nodiscard]] int status() const;
  [[nodiscard]] const std::string& contentType() const;
  // Whether the server will close the connection after this response.
  [[nodiscard]] bool closes() const;
  [[nodiscard]] bool complete() const;
  // Of the last feed's bytes, how many belonged to this response.
  [[nodiscard]] std::size_t consumed() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace weft::http

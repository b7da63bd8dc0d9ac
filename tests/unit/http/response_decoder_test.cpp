// The HTTP/1.1 response decoder of weft's own clients (weftctl, weft-trace,
// the span exporter): llhttp underneath, fed at every split point.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "weft/http/response_decoder.h"

using weft::http::ResponseDecoder;

namespace {

// Feeds `bytes` one at a time: every split point is exercised.
std::string feedBytewise(ResponseDecoder& decoder, const std::string& bytes) {
  std::string body;
  for (char c : bytes) REQUIRE(decoder.feed(std::string_view(&c, 1), body).has_value());
  return body;
}

}  // namespace

TEST_CASE("response decoder: a body framed by the connection's end streams until close") {
  ResponseDecoder decoder;
  std::string body = feedBytewise(decoder, "HTTP/1.1 200 OK\r\nContent-Type: application/x-ndjson\r\n\r\n{\"a\":1}\n{\"b\"");
  CHECK(decoder.headComplete());
  CHECK(decoder.status() == 200);
  CHECK(decoder.contentType() == "application/x-ndjson");
  CHECK(body == "{\"a\":1}\n{\"b\"");
  CHECK_FALSE(decoder.complete());
  CHECK(decoder.finish().has_value());
  CHECK(decoder.complete());
}

TEST_CASE("response decoder: chunked and Content-Length bodies decode across any split") {
  ResponseDecoder chunked;
  std::string body = feedBytewise(
      chunked, "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\n1A\r\n" +
                   std::string(26, 'z') + "\r\n0\r\nTrailer: x\r\n\r\n");
  CHECK(body == "hello" + std::string(26, 'z'));
  CHECK(chunked.complete());

  ResponseDecoder sized;
  std::string out;
  REQUIRE(sized.feed("HTTP/1.1 404 Not Found\r\nContent-Length: 9\r\n\r\nnot foundEXTRA", out).has_value());
  CHECK(sized.status() == 404);
  CHECK(out == "not found");
  CHECK(sized.complete());

  ResponseDecoder cut;
  REQUIRE(cut.feed("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc", out).has_value());
  auto finished = cut.finish();
  REQUIRE_FALSE(finished.has_value());
  CHECK(finished.error().message.find("middle of the response body") != std::string::npos);
}

TEST_CASE("response decoder: malformed responses are refused with the cause") {
  std::string body;
  ResponseDecoder noHttp;
  auto bad = noHttp.feed("SSH-2.0-OpenSSH\r\n\r\n", body);
  REQUIRE_FALSE(bad.has_value());
  CHECK(bad.error().message.find("status line") != std::string::npos);

  ResponseDecoder badChunk;
  auto chunk = badChunk.feed("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", body);
  REQUIRE_FALSE(chunk.has_value());
  CHECK(chunk.error().message.find("chunk size") != std::string::npos);

  ResponseDecoder huge;
  auto head = huge.feed("HTTP/1.1 200 OK\r\nX: " + std::string(70000, 'a'), body);
  REQUIRE_FALSE(head.has_value());
  CHECK(head.error().message.find("64 KiB") != std::string::npos);

  ResponseDecoder closed;
  CHECK_FALSE(closed.finish().has_value());
}

TEST_CASE("response decoder: interim responses are skipped and what follows the response is left") {
  ResponseDecoder decoder;
  std::string body;
  std::string bytes = "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nokHTTP/1.1";
  REQUIRE(decoder.feed(bytes, body).has_value());
  CHECK(decoder.complete());
  CHECK(decoder.status() == 200);
  CHECK(decoder.closes());
  CHECK(body == "ok");
  CHECK(decoder.consumed() == bytes.size() - 8);
}

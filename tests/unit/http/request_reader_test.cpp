#include "weft/http/request_reader.h"

#include <doctest/doctest.h>

using weft::http::RequestReader;

TEST_CASE("a request split across many reads comes out whole") {
  RequestReader reader;
  const std::string wire = "POST /logging?level=debug HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello";
  for (char c : wire) REQUIRE(reader.feed(std::string_view(&c, 1)).has_value());
  auto request = reader.next();
  REQUIRE(request.has_value());
  CHECK(request->method == "POST");
  CHECK(request->path() == "/logging");
  CHECK(request->query() == "level=debug");
  CHECK(request->header("host") == "x");
  CHECK(request->header("CONTENT-LENGTH") == "5");
  CHECK(request->body == "hello");
  CHECK(request->keepAlive);
  CHECK_FALSE(reader.next().has_value());
}

TEST_CASE("pipelined requests queue in order - Connection: close is honoured") {
  RequestReader reader;
  REQUIRE(reader.feed("GET /a HTTP/1.1\r\nHost: x\r\n\r\nGET /b HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"));
  CHECK(reader.next()->target == "/a");
  auto second = reader.next();
  CHECK(second->target == "/b");
  CHECK_FALSE(second->keepAlive);
}

TEST_CASE("hostile or oversized requests fail with a reason") {
  struct Case {
    std::string name;
    std::string wire;
    const char* reasonPart;
  };
  const Case cases[] = {
      {"CL and TE together", "POST / HTTP/1.1\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", "bad HTTP"},
      {"obs-fold", "GET / HTTP/1.1\r\nX: a\r\n b\r\n\r\n", "obsolete line folding"},
      {"space before colon", "GET / HTTP/1.1\r\nHost : x\r\n\r\n", "invalid header field name"},
      {"tab before colon", "GET / HTTP/1.1\r\nHost\t: x\r\n\r\n", "bad HTTP"},
      {"not HTTP", "\x16\x03\x01\x02\x00", "bad HTTP"},
      {"header too large", "GET / HTTP/1.1\r\nX: " + std::string(20000, 'a') + "\r\n\r\n", "header section larger"},
      {"body too large", "POST / HTTP/1.1\r\nContent-Length: 2000000\r\n\r\n" + std::string(1100000, 'b'), "body larger"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.name);
    RequestReader reader;
    auto fed = reader.feed(c.wire);
    REQUIRE_FALSE(fed.has_value());
    CHECK(fed.error().message.find(c.reasonPart) != std::string::npos);
    CHECK_FALSE(reader.next().has_value());
  }
}

TEST_CASE("obs-fold is caught when the fold starts a new read / and a split value is not a fold") {
  RequestReader folded;
  REQUIRE(folded.feed("GET / HTTP/1.1\r\nX: a\r\n").has_value());
  auto fed = folded.feed(" b\r\n\r\n");
  REQUIRE_FALSE(fed.has_value());
  CHECK(fed.error().message.find("obsolete line folding") != std::string::npos);

  RequestReader split;  // "a b" cut between "a" and " b": one value, not a fold
  REQUIRE(split.feed("GET / HTTP/1.1\r\nX: a").has_value());
  REQUIRE(split.feed(" b\r\n\r\n").has_value());
  CHECK(split.next()->header("x") == "a b");
}

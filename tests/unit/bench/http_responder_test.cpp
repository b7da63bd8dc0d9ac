#include <doctest/doctest.h>

#include <string>
#include <string_view>

#include "weft-bench/http_responder.h"

using weft::bench::HttpResponder;

namespace {

struct Run {
  HttpResponder::Verdict verdict;
  std::string out;
};

Run feed(HttpResponder& http, std::string_view in, std::size_t chunk = SIZE_MAX) {
  std::vector<std::uint8_t> out;
  auto verdict = HttpResponder::Verdict::kContinue;
  for (std::size_t pos = 0; pos < in.size() && verdict == HttpResponder::Verdict::kContinue; pos += chunk) {
    auto piece = in.substr(pos, chunk);
    verdict = http.consume({reinterpret_cast<const std::uint8_t*>(piece.data()), piece.size()}, out);
  }
  return {verdict, std::string(out.begin(), out.end())};
}

std::size_t count(std::string_view haystack, std::string_view needle) {
  std::size_t n = 0;
  for (auto pos = haystack.find(needle); pos != std::string_view::npos; pos = haystack.find(needle, pos + 1)) ++n;
  return n;
}

}  // namespace

TEST_CASE("bench: HTTP responder answers keep-alive GETs with the configured body") {
  HttpResponder http(10);
  auto run = feed(http, "GET / HTTP/1.1\r\nHost: x\r\n\r\n");
  CHECK(run.verdict == HttpResponder::Verdict::kContinue);
  CHECK(run.out.starts_with("HTTP/1.1 200 OK\r\n"));
  CHECK(run.out.find("Content-Length: 10\r\n") != std::string::npos);
  CHECK(run.out.ends_with("\r\n\r\nxxxxxxxxxx"));
  CHECK(run.out.find("Connection: close") == std::string::npos);
}

TEST_CASE("bench: HTTP responder handles pipelining / byte-at-a-time input / bodies and ?size") {
  HttpResponder http(4);
  std::string requests =
      "GET /a HTTP/1.1\r\nHost: x\r\n\r\n"
      "POST /b HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello"
      "GET /c?size=0 HTTP/1.1\r\n\r\n"
      "HEAD /d HTTP/1.1\r\n\r\n";
  auto run = feed(http, requests, 1);
  CHECK(run.verdict == HttpResponder::Verdict::kContinue);
  CHECK(http.requests() == 4);
  CHECK(count(run.out, "HTTP/1.1 200 OK") == 4);
  CHECK(count(run.out, "Content-Length: 4\r\n") == 3);  // HEAD reports the length, sends no body
  CHECK(count(run.out, "Content-Length: 0\r\n") == 1);
  CHECK(count(run.out, "xxxx") == 2);
}

TEST_CASE("bench: HTTP responder closes when asked and refuses what it does not speak") {
  SUBCASE("Connection: close") {
    HttpResponder http(1);
    auto run = feed(http, "GET / HTTP/1.1\r\nConnection: close\r\n\r\nGET / HTTP/1.1\r\n\r\n");
    CHECK(run.verdict == HttpResponder::Verdict::kClose);
    CHECK(http.requests() == 1);
    CHECK(run.out.find("Connection: close\r\n") != std::string::npos);
  }
  SUBCASE("HTTP/1.0 without keep-alive") {
    HttpResponder http(1);
    CHECK(feed(http, "GET / HTTP/1.0\r\n\r\n").verdict == HttpResponder::Verdict::kClose);
  }
  SUBCASE("HTTP/1.0 with keep-alive") {
    HttpResponder http(1);
    CHECK(feed(http, "GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n").verdict ==
          HttpResponder::Verdict::kContinue);
  }
  SUBCASE("chunked request body") {
    HttpResponder http(1);
    auto run = feed(http, "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n");
    CHECK(run.verdict == HttpResponder::Verdict::kClose);
    CHECK(run.out.starts_with("HTTP/1.1 501"));
  }
  SUBCASE("garbage request line") {
    HttpResponder http(1);
    CHECK(feed(http, "GET\r\n\r\n").out.starts_with("HTTP/1.1 400"));
  }
  SUBCASE("oversized head") {
    HttpResponder http(1);
    std::string head = "GET / HTTP/1.1\r\nX: " + std::string(HttpResponder::kMaxHead, 'a');
    auto run = feed(http, head, 1000);
    CHECK(run.verdict == HttpResponder::Verdict::kClose);
    CHECK(run.out.starts_with("HTTP/1.1 431"));
  }
}

#include "weft/common/socket_address.h"

#include <arpa/inet.h>

#include <doctest/doctest.h>

using weft::parseSocketAddress;

TEST_CASE("socket addresses parse from host:port and [v6]:port") {
  struct Case {
    const char* text;
    int family;
    std::uint16_t port;
    const char* canonical;
  };
  const Case cases[] = {
      {"127.0.0.1:15000", AF_INET, 15000, "127.0.0.1:15000"},
      {"0.0.0.0:0", AF_INET, 0, "0.0.0.0:0"},
      {"[::1]:15000", AF_INET6, 15000, "[::1]:15000"},
      {"[fd00::1]:80", AF_INET6, 80, "[fd00::1]:80"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.text);
    auto address = parseSocketAddress(c.text);
    REQUIRE(address.has_value());
    CHECK(address->family() == c.family);
    CHECK(address->port() == c.port);
    CHECK(address->toString() == c.canonical);
  }
}

TEST_CASE("bad socket addresses are rejected with the reason") {
  const std::string bad[] = {"", "127.0.0.1", "127.0.0.1:", "127.0.0.1:65536", "127.0.0.1:-1", "localhost:80",
                       "::1:80", "[::1]80", "[::1", "1.2.3.4:80x"};
  for (const std::string& text : bad) {
    CAPTURE(text);
    auto address = parseSocketAddress(text);
    REQUIRE_FALSE(address.has_value());
    CHECK(address.error().code == weft::ErrorCode::kInvalidArgument);
    CHECK(address.error().message.find(text) != std::string::npos);
  }
}

TEST_CASE("IPv4 maps into IPv6 as ::ffff:a.b.c.d and back; other IPv6 does not unmap") {
  in_addr v4{};
  REQUIRE(inet_pton(AF_INET, "198.19.1.11", &v4) == 1);
  in6_addr mapped = weft::v4Mapped(v4);
  char text[INET6_ADDRSTRLEN];
  inet_ntop(AF_INET6, &mapped, text, sizeof text);
  CHECK(std::string(text) == "::ffff:198.19.1.11");
  auto back = weft::v4Unmapped(mapped);
  REQUIRE(back.has_value());
  CHECK(back->s_addr == v4.s_addr);

  in6_addr loopback{};
  REQUIRE(inet_pton(AF_INET6, "::1", &loopback) == 1);
  CHECK_FALSE(weft::v4Unmapped(loopback).has_value());
}

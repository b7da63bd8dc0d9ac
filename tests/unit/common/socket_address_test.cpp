#include "weft/common/socket_address.h"

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

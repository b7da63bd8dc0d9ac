#include <doctest/doctest.h>

#include "runtime/listen_addresses.h"

using weft::parseSocketAddress;
using weft::runtime::checkDistinctListeners;
using weft::runtime::ListenAddress;

namespace {
ListenAddress at(const char* flag, const char* text) { return {flag, parseSocketAddress(text).value()}; }
}  // namespace

TEST_CASE("agent listeners: distinct ports or distinct addresses pass") {
  CHECK(checkDistinctListeners({at("--admin-addr", "127.0.0.1:15000"), at("--metrics-addr", "0.0.0.0:15020"),
                                at("--health-addr", "0.0.0.0:15021"), at("--proxy-addr", "10.0.0.1:15001")}));
  CHECK(checkDistinctListeners({at("--admin-addr", "127.0.0.1:15000"), at("--metrics-addr", "127.0.0.2:15000")}));
}

TEST_CASE("agent listeners: the same address is refused with both flags named") {
  auto same = checkDistinctListeners({at("--admin-addr", "127.0.0.1:15000"), at("--metrics-addr", "127.0.0.1:15000")});
  REQUIRE_FALSE(same);
  CHECK(same.error().message ==
        "--metrics-addr 127.0.0.1:15000: Address already in use (by --admin-addr 127.0.0.1:15000 of this agent)");
}

TEST_CASE("agent listeners: a wildcard overlaps every address on its port") {
  CHECK_FALSE(checkDistinctListeners({at("--admin-addr", "127.0.0.1:15020"), at("--metrics-addr", "0.0.0.0:15020")}));
  CHECK_FALSE(checkDistinctListeners({at("--health-addr", "[::]:15021"), at("--proxy-addr", "10.0.0.1:15021")}));
  CHECK(checkDistinctListeners({at("--health-addr", "0.0.0.0:15021"), at("--metrics-addr", "0.0.0.0:15020")}));
}

// SPIFFE ID parsing, one table row per rule of the SPIFFE-ID specification.
#include "weft/identity/spiffe_id.h"

#include <doctest/doctest.h>

#include <string>

using namespace weft::identity;

TEST_CASE("SPIFFE IDs that follow every rule parse and print back unchanged") {
  struct Case {
    std::string uri;
    const char* trustDomain;
    std::string path;
  };
  const Case cases[] = {
      {"spiffe://cluster.local/ns/demo/sa/default", "cluster.local", "/ns/demo/sa/default"},
      {"spiffe://cluster.local", "cluster.local", ""},  // a trust-domain ID
      {"spiffe://a-b_c.9/x", "a-b_c.9", "/x"},
      {"spiffe://td/Path.With-Upper_09", "td", "/Path.With-Upper_09"},
      {"spiffe://td/.../.a/b.", "td", "/.../.a/b."},  // only '.' and '..' are dot segments
      {"spiffe://td/" + std::string(2048 - 12, 'a'), "td", "/" + std::string(2048 - 12, 'a')},  // 2048 bytes
  };
  for (const Case& c : cases) {
    CAPTURE(c.uri);
    auto id = parseSpiffeId(c.uri);
    REQUIRE_MESSAGE(id.has_value(), id.error().describe());
    CHECK(id->trustDomain == c.trustDomain);
    CHECK(id->path == c.path);
    CHECK(id->uri() == c.uri);
  }
}

TEST_CASE("SPIFFE IDs that break a rule are rejected with the rule named") {
  struct Case {
    std::string uri;
    const char* reason;
  };
  const Case cases[] = {
      {"", "scheme must be 'spiffe://'"},
      {"http://td/x", "scheme must be 'spiffe://'"},
      {"spiffe:/td/x", "scheme must be 'spiffe://'"},
      {"spiffe:td/x", "scheme must be 'spiffe://'"},
      {"SPIFFE://td/x", "scheme must be lowercase"},
      {"Spiffe://td/x", "scheme must be lowercase"},
      {"spiffe://", "trust domain is empty"},
      {"spiffe:///ns/a", "trust domain is empty"},
      {"spiffe://Cluster.local/x", "uppercase"},
      {"spiffe://td:8443/x", "port"},
      {"spiffe://td:/x", "port"},
      {"spiffe://user@td/x", "user info"},
      {"spiffe://user:pw@td/x", "user info"},
      {"spiffe://t%64/x", "trust domain is percent-encoded"},
      {"spiffe://t d/x", "trust domain has ' '"},
      {"spiffe://td+x/y", "trust domain has '+'"},
      {"spiffe://[fd00]/x", "trust domain has '['"},
      {"spiffe://td/", "trailing slash"},
      {"spiffe://td/a/", "trailing slash"},
      {"spiffe://td//a", "empty segment"},
      {"spiffe://td/a//b", "empty segment"},
      {"spiffe://td/./a", "dot segment '.'"},
      {"spiffe://td/a/..", "dot segment '..'"},
      {"spiffe://td/a/../b", "dot segment '..'"},
      {"spiffe://td/a%20b", "path is percent-encoded"},
      {"spiffe://td/%41", "path is percent-encoded"},
      {"spiffe://td/a b", "path has ' '"},
      {"spiffe://td/a*b", "path has '*'"},
      {"spiffe://td/a~b", "path has '~'"},
      {"spiffe://td/a:b", "path has ':'"},
      {"spiffe://td/caf\xc3\xa9", "path has byte 0xc3"},
      {std::string("spiffe://td/a\0b", 15), "path has byte 0x00"},
      {"spiffe://td/a?x=1", "query"},
      {"spiffe://td?x=1", "query"},
      {"spiffe://td/a#frag", "fragment"},
      {"spiffe://td#frag", "fragment"},
      {"spiffe://td/" + std::string(2048 - 11, 'a'), "2049 bytes; a SPIFFE ID has at most 2048"},
  };
  for (const Case& c : cases) {
    CAPTURE(c.uri);
    auto id = parseSpiffeId(c.uri);
    REQUIRE_FALSE(id.has_value());
    CHECK(id.error().code == weft::ErrorCode::kParse);
    CHECK_MESSAGE(id.error().message.find(c.reason) != std::string::npos, id.error().message);
  }
}

TEST_CASE("trust domains are validated on their own with the rule named") {
  CHECK(validateTrustDomain("cluster.local").has_value());
  CHECK(validateTrustDomain("a-b_c.0").has_value());
  struct Case {
    const char* trustDomain;
    const char* reason;
  };
  const Case cases[] = {
      {"", "empty"},           {"Cluster.local", "uppercase"}, {"td:80", "port"},
      {"u@td", "user info"},   {"t%64", "percent"},           {"td/x", "'/'"},
      {"spiffe://td", "':'"},  // a URI given where a name was wanted: ':' reads as a port
  };
  for (const Case& c : cases) {
    CAPTURE(c.trustDomain);
    auto valid = validateTrustDomain(c.trustDomain);
    REQUIRE_FALSE(valid.has_value());
    CHECK(valid.error().code == weft::ErrorCode::kInvalidArgument);
    CHECK_MESSAGE(valid.error().message.find(c.reason) != std::string::npos, valid.error().message);
  }
}

TEST_CASE("workload SPIFFE IDs are spiffe://td/ns/NS/sa/SA and refuse names that would move them") {
  auto id = workloadSpiffeId("cluster.local", "demo", "default");
  REQUIRE(id.has_value());
  CHECK(id->uri() == "spiffe://cluster.local/ns/demo/sa/default");
  CHECK(*id == SpiffeId{"cluster.local", "/ns/demo/sa/default"});

  struct Case {
    const char* trustDomain;
    const char* ns;
    const char* serviceAccount;
    const char* reason;
  };
  const Case cases[] = {
      {"cluster.local", "", "default", "namespace is empty"},
      {"cluster.local", "demo", "", "service account is empty"},
      {"cluster.local", "a/sa/b", "c", "has '/'"},
      {"cluster.local", "demo", "..", "dot segment"},
      {"Cluster.local", "demo", "default", "uppercase"},
      {"cluster.local", "de mo", "default", "path has ' '"},
  };
  for (const Case& c : cases) {
    CAPTURE(c.ns);
    CAPTURE(c.serviceAccount);
    auto bad = workloadSpiffeId(c.trustDomain, c.ns, c.serviceAccount);
    REQUIRE_FALSE(bad.has_value());
    CHECK(bad.error().code == weft::ErrorCode::kInvalidArgument);
    CHECK_MESSAGE(bad.error().message.find(c.reason) != std::string::npos, bad.error().message);
  }
}

TEST_CASE("SPIFFE IDs order by trust domain then path") {
  SpiffeId a{"a.td", "/z"};
  SpiffeId b{"b.td", "/a"};
  SpiffeId b2{"b.td", "/b"};
  CHECK(a < b);
  CHECK(b < b2);
  CHECK(b == SpiffeId{"b.td", "/a"});
}

// Path normalisation: every spelling of a path that an upstream serves as the
// same resource normalises to one form, and malformed paths are refused.
#include <doctest/doctest.h>

#include "weft/policy/path_normalization.h"

using weft::policy::normalizePath;
using weft::policy::PathNormalization;

TEST_CASE("path normalisation table") {
  struct Row {
    const char* in;
    const char* out;  // nullptr: rejected
  };
  const Row rows[] = {
      {"/", "/"},
      {"/a", "/a"},
      {"/a/", "/a/"},
      {"/a/b", "/a/b"},
      {"/a/./b", "/a/b"},
      {"/a/../b", "/b"},
      {"/a/b/../../..", "/"},
      {"/a/b/..", "/a/"},
      {"/a/.", "/a/"},
      {"/..", "/"},
      {"/../private", "/private"},
      {"/public/../private", "/private"},
      {"/public/%2e%2e/private", "/private"},
      {"/public/%2E%2E/private", "/private"},
      {"/public/%2E./private", "/private"},
      {"/public/.%2e/private", "/private"},
      {"/public/%2e/private", "/public/private"},
      {"/%70rivate", "/private"},
      {"/a%2db%5fc%7ed", "/a-b_c~d"},
      {"/public/..%2fprivate", "/public/..%2Fprivate"},   // %2F stays encoded: one segment
      {"/public/..%2Fprivate", "/public/..%2Fprivate"},
      {"/a%2fb", "/a%2Fb"},
      {"/a%5cb", "/a%5Cb"},
      {"/a\\b", "/a\\b"},                                  // a raw backslash is a character like any other
      {"/a%20b", "/a%20b"},                                // reserved/other: kept, upper-cased
      {"//private", "/private"},
      {"///a//b//", "/a/b/"},
      {"/a/.../b", "/a/.../b"},                            // "..." is a name
      {"/a/..b/c", "/a/..b/c"},
      {"*", "*"},
      {"", nullptr},
      {"private", nullptr},
      {"%2fprivate", nullptr},
      {"/a%00b", nullptr},
      {"/a%zzb", nullptr},
      {"/a%2", nullptr},
      {"/a%", nullptr},
      {"/a\x01" "b", nullptr},
      {"/a\x7f", nullptr},
  };
  for (const Row& row : rows) {
    CAPTURE(row.in);
    auto got = normalizePath(row.in);
    if (row.out == nullptr) {
      CHECK_FALSE(got.has_value());
    } else {
      REQUIRE(got.has_value());
      CHECK(*got == row.out);
    }
  }
}

TEST_CASE("path normalisation: slash merging can be turned off") {
  PathNormalization keep{.mergeSlashes = false};
  CHECK(*normalizePath("//private", keep) == "//private");
  CHECK(*normalizePath("/a//b/../c", keep) == "/a//c");
  CHECK(*normalizePath("//private") == "/private");  // control: the default merges
}

TEST_CASE("path normalisation: errors name the cause") {
  CHECK(normalizePath("/a%zz").error().message.find("percent") != std::string::npos);
  CHECK(normalizePath("x").error().message.find("'/'") != std::string::npos);
  CHECK(normalizePath("/a%00").error().message.find("%00") != std::string::npos);
}

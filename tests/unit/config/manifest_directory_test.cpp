// Loading a directory the way `kubectl apply -f DIR` reads it, and the
// shipped examples.
#include <sys/wait.h>
#include <unistd.h>

#include <doctest/doctest.h>

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "weft/common/log.h"
#include "weft/config/manifest_loader.h"
#include "../test_support.h"

using namespace weft::config;
namespace fs = std::filesystem;

namespace {

using weft::testing::QuietLogs;
using weft::testing::TempDir;

std::string ns(std::string_view name) {
  return "apiVersion: v1\nkind: Namespace\nmetadata: {name: " + std::string(name) + "}\n";
}

}  // namespace

using weft::testing::asUnprivilegedUser;

TEST_CASE("directory: manifest files only / not recursive / in lexicographic order") {
  TempDir dir;
  REQUIRE_FALSE(dir.path().empty());
  dir.write("b.yml", ns("from-b-yml"));
  dir.write("a.yaml", ns("from-a-1") + "---\n" + ns("from-a-2"));
  dir.write("c.json", R"({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "from-c-json"}})");
  dir.write("B.yaml", ns("from-upper-b"));  // 'B' sorts before 'a'
  dir.write("notes.txt", ns("from-txt"));
  dir.write("kustomization.yaml.bak", ns("from-bak"));
  dir.write(".hidden.yaml", ns("from-hidden"));
  fs::create_directory(dir.path() / "sub");
  dir.write("sub/deep.yaml", ns("from-sub"));
  fs::create_directory(dir.path() / "dir.yaml");
  // A ConfigMap volume: the visible name is a symlink into a hidden directory.
  fs::create_directory(dir.path() / "..data");
  dir.write("..data/d.yaml", ns("from-symlink"));
  fs::create_symlink("..data/d.yaml", dir.path() / "d.yaml");

  QuietLogs quiet;
  auto loaded = loadManifestDirectory(dir.path());
  REQUIRE(loaded.has_value());
  const Snapshot& s = *loaded;
  CHECK(s.sourceDir == dir.path().string());
  CHECK(s.rejected.empty());
  std::vector<std::string> names;
  for (const auto& n : s.namespaces) names.push_back(n.meta.name);
  CHECK(names == std::vector<std::string>{"from-upper-b", "from-a-1", "from-a-2", "from-b-yml", "from-c-json",
                                          "from-symlink"});
  CHECK(s.namespaces[2].meta.source.file == (dir.path() / "a.yaml").string());
  CHECK(s.namespaces[2].meta.source.line == 5);
}

TEST_CASE("directory: broken files are rejected one by one / the rest still loads") {
  TempDir dir;
  REQUIRE_FALSE(dir.path().empty());
  dir.write("10-good.yaml", ns("good"));
  dir.write("20-broken.yaml", ns("sibling") + "---\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: [unclosed\n");
  dir.write("30-dup.yaml", "# same as 10\n" + ns("good"));
  fs::create_symlink("does-not-exist.yaml", dir.path() / "40-dangling.yaml");
  dir.write("50-last.yaml", ns("last"));

  QuietLogs quiet;
  auto loaded = loadManifestDirectory(dir.path());
  REQUIRE(loaded.has_value());
  const Snapshot& s = *loaded;
  REQUIRE(s.namespaces.size() == 3);
  CHECK(s.namespaces[0].meta.name == "good");
  CHECK(s.namespaces[1].meta.name == "sibling");
  CHECK(s.namespaces[2].meta.name == "last");
  REQUIRE(s.rejected.size() == 3);

  CHECK(s.rejected[0].source.file == (dir.path() / "20-broken.yaml").string());
  CHECK(s.rejected[0].source.line == 9);  // the end of the file, where yaml-cpp gives up on the flow sequence
  CHECK(s.rejected[0].kind.empty());

  CHECK(s.rejected[1].source.file == (dir.path() / "30-dup.yaml").string());
  CHECK(s.rejected[1].source.line == 2);
  CHECK(s.rejected[1].kind == "Namespace");
  CHECK(s.rejected[1].name == "good");
  CHECK(s.rejected[1].reason == "duplicate of " + (dir.path() / "10-good.yaml").string() + ":1");

  CHECK(s.rejected[2].source.file == (dir.path() / "40-dangling.yaml").string());
  CHECK(s.rejected[2].source.line == 0);
  CHECK(s.rejected[2].kind.empty());
  CHECK(s.rejected[2].reason == "cannot read file: No such file or directory");
}

TEST_CASE("directory: an unreadable directory is an error naming the path") {
  TempDir dir;
  REQUIRE_FALSE(dir.path().empty());
  auto missing = loadManifestDirectory(dir.path() / "nope");
  REQUIRE_FALSE(missing.has_value());
  CHECK(missing.error().code == weft::ErrorCode::kNotFound);
  CHECK(missing.error().message.find((dir.path() / "nope").string()) != std::string::npos);

  dir.write("file.yaml", ns("x"));
  auto notDir = loadManifestDirectory(dir.path() / "file.yaml");
  REQUIRE_FALSE(notDir.has_value());
  CHECK(notDir.error().code == weft::ErrorCode::kInvalidArgument);

  auto empty = loadManifestDirectory(dir.path() / "empty");
  CHECK_FALSE(empty.has_value());
  fs::create_directory(dir.path() / "empty");
  empty = loadManifestDirectory(dir.path() / "empty");
  REQUIRE(empty.has_value());
  CHECK(empty->rejected.empty());
  CHECK(empty->namespaces.empty());

  fs::create_directory(dir.path() / "locked");
  fs::permissions(dir.path(), fs::perms::owner_all | fs::perms::others_read | fs::perms::others_exec);
  fs::permissions(dir.path() / "locked", fs::perms::none);
  CHECK(asUnprivilegedUser([&] {
    auto locked = loadManifestDirectory(dir.path() / "locked");
    return !locked.has_value() && locked.error().code == weft::ErrorCode::kPermissionDenied &&
           locked.error().message.find((dir.path() / "locked").string()) != std::string::npos;
  }));
  fs::permissions(dir.path() / "locked", fs::perms::owner_all);
}

TEST_CASE("directory: an unreadable file is rejected / not fatal") {
  TempDir dir;
  REQUIRE_FALSE(dir.path().empty());
  dir.write("a.yaml", ns("a"));
  dir.write("b.yaml", ns("b"));
  fs::permissions(dir.path(), fs::perms::owner_all | fs::perms::others_read | fs::perms::others_exec);
  fs::permissions(dir.path() / "b.yaml", fs::perms::owner_all | fs::perms::others_read);
  fs::permissions(dir.path() / "a.yaml", fs::perms::none);
  QuietLogs quiet;
  CHECK(asUnprivilegedUser([&] {
    auto loaded = loadManifestDirectory(dir.path());
    return loaded.has_value() && loaded->rejected.size() == 1 &&
           loaded->rejected[0].reason == "cannot read file: Permission denied" && loaded->namespaces.size() == 1 &&
           loaded->namespaces[0].meta.name == "b";
  }));
}

TEST_CASE("manifests/examples all load without rejections") {
  auto loaded = loadManifestDirectory(fs::path(WEFT_SOURCE_DIR) / "manifests" / "examples");
  REQUIRE(loaded.has_value());
  const Snapshot& s = *loaded;
  for (const auto& r : s.rejected) FAIL_CHECK(r.source.file << ":" << r.source.line << ": " << r.reason);
  CHECK(s.authorizationPolicies.size() == 2);
  CHECK(s.peerAuthentications.size() == 2);
  REQUIRE(s.otherResources.size() == 2);
  bool sawRoute = false;
  bool sawTrafficPolicy = false;
  for (const auto& g : s.otherResources) {
    if (g.kind == "HTTPRoute") {
      sawRoute = true;
      CHECK(g.spec["parentRefs"][0]["kind"] == "Service");  // GAMMA: a Service parent
    }
    if (g.kind == "TrafficPolicy") sawTrafficPolicy = true;
  }
  CHECK(sawRoute);
  CHECK(sawTrafficPolicy);
  bool sawDeny = false;
  for (const auto& p : s.authorizationPolicies) {
    CHECK_FALSE(p.rules.empty());
    sawDeny = sawDeny || p.action == AuthzAction::kDeny;
  }
  CHECK(sawDeny);
}

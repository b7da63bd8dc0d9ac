// The capture hooks, end to end in the kernel: attached to a scratch cgroup,
// they must see connects from processes in it, tell enrolled network
// namespaces from others, and survive an agent restart.
#include "weft/bpf/capture_hooks.h"

#include <doctest/doctest.h>

#include "bpf_test_support.h"

using weft::bpf::CaptureHooks;
using namespace weft::testing;

TEST_CASE("capture hooks classify connects from their cgroup by netns cookie") {
  requireRoot();
  ScratchCgroup cgroup;
  ScratchPinDir pins;
  LoopbackListener listener;

  auto hooks = CaptureHooks::attach({.cgroupRoot = cgroup.path(), .pinDir = pins.path()});
  REQUIRE_MESSAGE(hooks.has_value(), hooks.error().describe());
  CHECK_FALSE((*hooks)->adoptedExistingLinks());

  REQUIRE(connectFromCgroup(cgroup.path(), listener.port()));
  auto counters = (*hooks)->counters();
  REQUIRE(counters.has_value());
  CHECK(counters->connectSeen == 1);
  CHECK(counters->notEnrolled == 1);
  CHECK(counters->enrolled == 0);

  // The test's own netns becomes "enrolled": the same connect now classifies so.
  const auto cookie = currentNetnsCookie();
  REQUIRE((*hooks)->upsertEnrolled({.netnsCookie = cookie}).has_value());
  auto cookies = (*hooks)->enrolledCookies();
  REQUIRE(cookies.has_value());
  CHECK(*cookies == std::vector<std::uint64_t>{cookie});
  REQUIRE(connectFromCgroup(cgroup.path(), listener.port()));
  counters = (*hooks)->counters();
  CHECK(counters->connectSeen == 2);
  CHECK(counters->enrolled == 1);

  REQUIRE((*hooks)->removeEnrolled(cookie).has_value());
  REQUIRE(connectFromCgroup(cgroup.path(), listener.port()));
  CHECK((*hooks)->counters()->notEnrolled == 2);

  // Connects from outside the cgroup are none of these hooks' business.
  REQUIRE(connectFromCgroup(cgroup.path().parent_path(), listener.port()));
  CHECK((*hooks)->counters()->connectSeen == 3);
}

TEST_CASE("a restarted agent adopts pinned links and maps - a clean exit removes them") {
  requireRoot();
  ScratchCgroup cgroup;
  ScratchPinDir pins;
  LoopbackListener listener;
  const auto linkPin = pins.path() / "links" / "connect4";

  {
    auto first = CaptureHooks::attach({.cgroupRoot = cgroup.path(), .pinDir = pins.path()});
    REQUIRE_MESSAGE(first.has_value(), first.error().describe());
    (*first)->keepAttachedOnExit(true);
    REQUIRE((*first)->upsertEnrolled({.netnsCookie = 42}).has_value());
  }
  // The hook stays attached with no agent running: connects are still seen.
  CHECK(std::filesystem::exists(linkPin));
  REQUIRE(connectFromCgroup(cgroup.path(), listener.port()));

  {
    auto second = CaptureHooks::attach({.cgroupRoot = cgroup.path(), .pinDir = pins.path()});
    REQUIRE_MESSAGE(second.has_value(), second.error().describe());
    CHECK((*second)->adoptedExistingLinks());
    // Maps were reused: the enrolled cookie and the counter from the gap survived.
    CHECK((*second)->enrolledCookies().value() == std::vector<std::uint64_t>{42});
    CHECK((*second)->counters()->connectSeen == 1);
    REQUIRE(connectFromCgroup(cgroup.path(), listener.port()));
    CHECK((*second)->counters()->connectSeen == 2);  // exactly one program runs after adoption
  }
  CHECK_FALSE(std::filesystem::exists(linkPin));
  CHECK_FALSE(std::filesystem::exists(pins.path() / "weft_enrolled"));
}

TEST_CASE("attaching to a directory that is not cgroup v2 fails with the reason") {
  requireRoot();
  ScratchPinDir pins;
  auto hooks = CaptureHooks::attach({.cgroupRoot = "/tmp", .pinDir = pins.path()});
  REQUIRE_FALSE(hooks.has_value());
  CHECK(hooks.error().message.find("not on a cgroup v2 filesystem") != std::string::npos);
}

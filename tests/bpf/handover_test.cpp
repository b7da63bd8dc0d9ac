// Hand-over between two agents of a node: the pinned marker says which is
// the newest and whether it is ready; the hooks an agent attached tell it
// when a successor adopted them; and an agent that leaves its hooks pins
// again what a failed successor unpinned. End to end: e2e.agent_handover_test.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <doctest/doctest.h>

#include "bpf_test_support.h"
#include "weft/bpf/capture_hooks.h"
#include "weft/bpf/handover_marker.h"
#include "weft/bpf/peer_auth_hooks.h"

using namespace weft::testing;
using weft::bpf::HandoverMarker;

namespace {

// A child process that announces itself as the node's newest agent in
// `state`, then waits to be killed.
pid_t announcingChild(const std::filesystem::path& pinDir, HandoverMarker::State state) {
  int ready[2];
  REQUIRE(::pipe(ready) == 0);
  pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    auto marker = HandoverMarker::open(pinDir);
    bool ok = marker && marker->announce(state);
    [[maybe_unused]] auto n = ::write(ready[1], ok ? "y" : "n", 1);
    ::pause();
    ::_exit(0);
  }
  ::close(ready[1]);
  char answer = 0;
  REQUIRE(::read(ready[0], &answer, 1) == 1);
  ::close(ready[0]);
  REQUIRE(answer == 'y');
  return pid;
}

void reap(pid_t pid) {
  ::kill(pid, SIGKILL);
  ::waitpid(pid, nullptr, 0);
}

}  // namespace

TEST_CASE("hand-over marker: the newest agent is another live process, with its state") {
  requireRoot();
  ScratchPinDir pins;
  auto marker = HandoverMarker::open(pins.path());
  REQUIRE_MESSAGE(marker.has_value(), marker.error().describe());
  CHECK_FALSE(marker->successor().has_value());  // nobody announced
  REQUIRE(marker->announce(HandoverMarker::State::kReady));
  CHECK_FALSE(marker->successor().has_value());  // this process is no successor of itself

  pid_t child = announcingChild(pins.path(), HandoverMarker::State::kStarting);
  auto successor = marker->successor();
  REQUIRE(successor.has_value());
  CHECK(successor->pid == child);
  CHECK(successor->state == HandoverMarker::State::kStarting);
  marker->withdraw();  // names the child: left alone
  CHECK(std::filesystem::exists(pins.path() / "weft_handover"));
  reap(child);
  CHECK_FALSE(marker->successor().has_value());  // a successor that died is none

  REQUIRE(marker->announce(HandoverMarker::State::kReady));
  marker->withdraw();
  CHECK_FALSE(std::filesystem::exists(pins.path() / "weft_handover"));
}

TEST_CASE("hand-over: hooks see a successor adopt them and pin again what a failed one unpinned") {
  requireRoot();
  ScratchCgroup cgroup;
  ScratchPinDir pins;
  auto first = weft::bpf::CaptureHooks::attach({.cgroupRoot = cgroup.path(), .pinDir = pins.path()});
  REQUIRE_MESSAGE(first.has_value(), first.error().describe());
  CHECK_FALSE((*first)->adoptedBySuccessor());
  {
    auto second = weft::bpf::CaptureHooks::attach({.cgroupRoot = cgroup.path(), .pinDir = pins.path()});
    REQUIRE_MESSAGE(second.has_value(), second.error().describe());
    CHECK((*second)->adoptedExistingLinks());
    CHECK((*first)->adoptedBySuccessor());
    CHECK_FALSE((*second)->adoptedBySuccessor());
  }  // the successor goes without --keep-bpf: it unpins links and maps
  CHECK_FALSE(std::filesystem::exists(pins.path() / "links" / "connect4"));
  CHECK_FALSE(std::filesystem::exists(pins.path() / "weft_enrolled"));
  (*first)->keepAttachedOnExit(true);
  first->reset();
  CHECK(std::filesystem::exists(pins.path() / "links" / "connect4"));
  CHECK(std::filesystem::exists(pins.path() / "weft_enrolled"));
  // What stayed is adoptable: a third agent takes it over.
  auto third = weft::bpf::CaptureHooks::attach({.cgroupRoot = cgroup.path(), .pinDir = pins.path()});
  REQUIRE_MESSAGE(third.has_value(), third.error().describe());
  CHECK((*third)->adoptedExistingLinks());
}

TEST_CASE("hand-over: PeerAuthentication maps a failed successor unpinned are pinned again") {
  requireRoot();
  ScratchPinDir pins;
  auto first = weft::bpf::PeerAuthHooks::load(pins.path(), {});
  REQUIRE_MESSAGE(first.has_value(), first.error().describe());
  {
    auto second = weft::bpf::PeerAuthHooks::load(pins.path(), {});
    REQUIRE_MESSAGE(second.has_value(), second.error().describe());
  }  // without --keep-bpf: it unpins the maps it shares with the first
  CHECK_FALSE(std::filesystem::exists(pins.path() / "weft_mtls_modes"));
  (*first)->keepAttachedOnExit(true);
  first->reset();
  CHECK(std::filesystem::exists(pins.path() / "weft_mtls_modes"));
  CHECK(std::filesystem::exists(pins.path() / "weft_inbound_listener"));
}

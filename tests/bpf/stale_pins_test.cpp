// Pins an earlier weft left in another shape (an upgrade with --keep-bpf):
// maps that hold only counters or trace events are replaced and the hooks
// load; a map that holds state (enrolled pods) is left alone, and the load
// fails naming the way out (weft-agent --cleanup).
#include <bpf/bpf.h>

#include <doctest/doctest.h>

#include <string>

#include "bpf_test_support.h"
#include "weft/bpf/capture_hooks.h"
#include "weft/bpf_abi/flow_events.h"
#include "weft/common/unique_fd.h"

using namespace weft::testing;

namespace {

// A map of the first version's shape, pinned where the agent pins by name.
void pinOldMap(const std::filesystem::path& pinDir, const char* name, bpf_map_type type, __u32 keySize,
               __u32 valueSize, __u32 entries) {
  weft::UniqueFd fd(bpf_map_create(type, name, keySize, valueSize, entries, nullptr));
  REQUIRE(fd.valid());
  std::filesystem::create_directories(pinDir);  // bpffs takes mkdir
  REQUIRE(bpf_obj_pin(fd.get(), (pinDir / name).c_str()) == 0);
}

__u32 pinnedType(const std::filesystem::path& pin) {
  weft::UniqueFd fd(bpf_obj_get(pin.c_str()));
  REQUIRE(fd.valid());
  bpf_map_info info{};
  __u32 length = sizeof info;
  REQUIRE(bpf_obj_get_info_by_fd(fd.get(), &info, &length) == 0);
  return info.type;
}

}  // namespace

TEST_CASE("stale pins: the first flow-event maps (one ring, one switch) are replaced and the hooks load") {
  requireRoot();
  ScratchCgroup cgroup;
  ScratchPinDir pins;
  pinOldMap(pins.path(), WEFT_FLOW_EVENTS_MAP, BPF_MAP_TYPE_RINGBUF, 0, 0, WEFT_FLOW_RINGBUF_BYTES);
  pinOldMap(pins.path(), WEFT_FLOW_SWITCH_MAP, BPF_MAP_TYPE_ARRAY, 4, 16, 1);
  pinOldMap(pins.path(), WEFT_FLOW_LOST_MAP, BPF_MAP_TYPE_PERCPU_ARRAY, 4, 8, 1);
  auto hooks = weft::bpf::CaptureHooks::attach({.cgroupRoot = cgroup.path(), .pinDir = pins.path()});
  REQUIRE_MESSAGE(hooks.has_value(), hooks.error().describe());
  CHECK(pinnedType(pins.path() / WEFT_FLOW_EVENTS_MAP) == BPF_MAP_TYPE_ARRAY_OF_MAPS);
}

TEST_CASE("stale pins: a map holding state in another shape is kept and the load names weft-agent --cleanup") {
  requireRoot();
  ScratchCgroup cgroup;
  ScratchPinDir pins;
  pinOldMap(pins.path(), "weft_enrolled", BPF_MAP_TYPE_HASH, 8, 8, 16);  // wrong value size
  auto hooks = weft::bpf::CaptureHooks::attach({.cgroupRoot = cgroup.path(), .pinDir = pins.path()});
  REQUIRE_FALSE(hooks.has_value());
  CHECK(hooks.error().message.find("--cleanup") != std::string::npos);
  CHECK(pinnedType(pins.path() / "weft_enrolled") == BPF_MAP_TYPE_HASH);
}

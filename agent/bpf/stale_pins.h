// Pinned maps an older weft left in a different shape. libbpf refuses to
// reuse a pin whose type, key, value or size differs from the object's map,
// and the object then does not load: an upgrade with --keep-bpf would leave
// the node without hooks. Maps that hold only counters or trace events are
// safe to start afresh, so their stale pins are removed before the load;
// any other mismatch is left for the load to report (weft-agent --cleanup).
#pragma once

#include <span>
#include <string_view>

struct bpf_object;

namespace weft::bpf {

// For an opened, not yet loaded object whose maps pin under their pin paths:
// removes the pins of the maps named in `disposable` that do not match.
void removeStaleDisposablePins(bpf_object* object, std::span<const std::string_view> disposable);

}  // namespace weft::bpf

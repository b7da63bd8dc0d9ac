#include "stale_pins.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <unistd.h>

#include <algorithm>

#include "weft/common/log.h"
#include "weft/common/unique_fd.h"

namespace weft::bpf {

void removeStaleDisposablePins(bpf_object* object, std::span<const std::string_view> disposable) {
  bpf_map* map = nullptr;
  bpf_object__for_each_map(map, object) {
    const char* pin = bpf_map__pin_path(map);
    if (!pin || std::find(disposable.begin(), disposable.end(), bpf_map__name(map)) == disposable.end()) continue;
    UniqueFd pinned(bpf_obj_get(pin));
    if (!pinned.valid()) continue;  // none yet
    bpf_map_info info{};
    __u32 length = sizeof info;
    if (bpf_obj_get_info_by_fd(pinned.get(), &info, &length) != 0) continue;
    if (info.type == static_cast<__u32>(bpf_map__type(map)) && info.key_size == bpf_map__key_size(map) &&
        info.value_size == bpf_map__value_size(map) && info.max_entries == bpf_map__max_entries(map) &&
        info.map_flags == bpf_map__map_flags(map))
      continue;
    if (::unlink(pin) == 0)
      log::info("bpf", "{}: pinned by an earlier weft in another shape; replaced (it holds only counters or events)",
                pin);
  }
}

}  // namespace weft::bpf

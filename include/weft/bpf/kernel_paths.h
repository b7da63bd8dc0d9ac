// Finding and checking the kernel filesystems weft's BPF state lives in:
// the cgroup v2 hierarchy (where the connect hooks attach) and bpffs (where
// programs, links and maps are pinned so that they outlive an agent restart).
#pragma once

#include <filesystem>
#include <string>

#include "weft/common/error.h"

namespace weft::bpf {

// The first cgroup2 mount in /proc/self/mounts (e.g. /sys/fs/cgroup or, on a
// hybrid host, /sys/fs/cgroup/unified).
[[nodiscard]] Result<std::filesystem::path> findCgroup2Mount();

// Fails with a clear message unless `path` is a directory on cgroup2.
[[nodiscard]] Status checkCgroup2Dir(const std::filesystem::path& path);

// Creates `dir` (and parents) inside a mounted bpffs; fails naming the cause
// when bpffs is not mounted there.
[[nodiscard]] Status ensureBpffsDir(const std::filesystem::path& dir);

// Where a node's agent pins programs, links and maps unless told otherwise
// (--bpffs-dir): /sys/fs/bpf/weft/<node>. weft-trace looks there too.
[[nodiscard]] std::filesystem::path defaultPinDir(const std::string& nodeName);

// Removes a pin directory and everything pinned under it. Missing is fine.
[[nodiscard]] Status removePinDir(const std::filesystem::path& dir);

// Pins the object behind `fd` at `path` when nothing is pinned there (an
// agent leaving its hooks after a failed successor unpinned them); logged.
void pinAgainIfMissing(int fd, const std::filesystem::path& path);

}  // namespace weft::bpf

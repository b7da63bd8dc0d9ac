#include "weft/bpf/kernel_paths.h"

#include <bpf/bpf.h>
#include <linux/magic.h>
#include <sys/statfs.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <system_error>

#include "weft/common/log.h"

namespace weft::bpf {
namespace fs = std::filesystem;

Result<fs::path> findCgroup2Mount() {
  std::ifstream mounts("/proc/self/mounts");
  if (!mounts) return failErrno("open /proc/self/mounts");
  std::string line;
  while (std::getline(mounts, line)) {
    std::istringstream fields(line);
    std::string device, mountPoint, type;
    fields >> device >> mountPoint >> type;
    if (type == "cgroup2") return fs::path(mountPoint);
  }
  return fail(ErrorCode::kUnsupported,
              "no cgroup2 filesystem is mounted; mount one (mount -t cgroup2 none /sys/fs/cgroup/unified) "
              "or pass --cgroup-root");
}

Status checkCgroup2Dir(const fs::path& path) {
  struct statfs info {};
  if (::statfs(path.c_str(), &info) != 0) return failErrno("cgroup root " + path.string());
  if (info.f_type != CGROUP2_SUPER_MAGIC)
    return fail(ErrorCode::kInvalidArgument,
                "cgroup root " + path.string() + " is not on a cgroup v2 filesystem (cgroup v1 cannot carry connect hooks)");
  return {};
}

Status ensureBpffsDir(const fs::path& dir) {
  // Check the nearest existing ancestor: creating directories anywhere but on
  // bpffs would "succeed" and pins would then fail with a confusing error.
  fs::path probe = dir;
  std::error_code ec;
  while (!probe.empty() && !fs::exists(probe, ec)) probe = probe.parent_path();
  struct statfs info {};
  if (probe.empty() || ::statfs(probe.c_str(), &info) != 0) return failErrno("bpffs directory " + dir.string());
  if (info.f_type != BPF_FS_MAGIC)
    return fail(ErrorCode::kUnsupported, "pin directory " + dir.string() + " is not on a bpffs (mount -t bpf bpf /sys/fs/bpf)");
  fs::create_directories(dir, ec);
  if (ec) return fail(ErrorCode::kSystem, "create " + dir.string() + ": " + ec.message());
  return {};
}

void pinAgainIfMissing(int fd, const fs::path& path) {
  std::error_code ec;
  if (fd < 0 || fs::exists(path, ec)) return;
  fs::create_directories(path.parent_path(), ec);
  if (bpf_obj_pin(fd, path.c_str()) == 0) log::warn("bpf", "pinned {} again", path.string());
  else log::error("bpf", "cannot pin {} again: {}", path.string(), std::strerror(errno));
}

fs::path defaultPinDir(const std::string& nodeName) { return fs::path("/sys/fs/bpf/weft") / nodeName; }

Status removePinDir(const fs::path& dir) {
  std::error_code ec;
  fs::remove_all(dir, ec);
  if (ec && ec != std::errc::no_such_file_or_directory)
    return fail(ErrorCode::kSystem, "remove pins under " + dir.string() + ": " + ec.message());
  return {};
}

}  // namespace weft::bpf

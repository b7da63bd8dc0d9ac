#include "weft/bpf/handover_marker.h"

#include <bpf/bpf.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>

#include "weft/bpf/kernel_paths.h"

namespace weft::bpf {
namespace {

constexpr const char* kPinName = "weft_handover";

struct Entry {
  std::uint32_t pid;
  std::uint32_t state;
};

bool alive(pid_t pid) { return pid > 0 && (::kill(pid, 0) == 0 || errno == EPERM); }

}  // namespace

Result<HandoverMarker> HandoverMarker::open(const std::filesystem::path& pinDir) {
  if (auto ok = ensureBpffsDir(pinDir); !ok) return std::unexpected(ok.error());
  const std::filesystem::path path = pinDir / kPinName;
  UniqueFd fd(bpf_obj_get(path.c_str()));
  if (!fd.valid()) {
    fd = UniqueFd(bpf_map_create(BPF_MAP_TYPE_ARRAY, kPinName, sizeof(std::uint32_t), sizeof(Entry), 1, nullptr));
    if (!fd.valid()) return failErrno("create the hand-over marker map");
    // Two agents starting at once: one pin wins, the other takes it.
    if (bpf_obj_pin(fd.get(), path.c_str()) != 0) {
      if (errno != EEXIST) return failErrno("pin the hand-over marker at " + path.string());
      fd = UniqueFd(bpf_obj_get(path.c_str()));
      if (!fd.valid()) return failErrno("open the hand-over marker at " + path.string());
    }
  }
  return HandoverMarker(std::move(fd), path);
}

Status HandoverMarker::announce(State state) const {
  const std::uint32_t key = 0;
  const Entry entry{static_cast<std::uint32_t>(::getpid()), static_cast<std::uint32_t>(state)};
  if (bpf_map_update_elem(fd_.get(), &key, &entry, BPF_ANY) != 0) return failErrno("write the hand-over marker");
  return {};
}

std::optional<HandoverMarker::Agent> HandoverMarker::read() const {
  const std::uint32_t key = 0;
  Entry entry{};
  if (bpf_map_lookup_elem(fd_.get(), &key, &entry) != 0 || entry.pid == 0) return std::nullopt;
  return Agent{static_cast<pid_t>(entry.pid), static_cast<State>(entry.state)};
}

std::optional<HandoverMarker::Agent> HandoverMarker::successor() const {
  auto newest = read();
  if (!newest || newest->pid == ::getpid() || !alive(newest->pid)) return std::nullopt;
  return newest;
}

void HandoverMarker::withdraw() const {
  auto newest = read();
  if (newest && newest->pid == ::getpid()) ::unlink(path_.c_str());
}

}  // namespace weft::bpf

#include "weft/bpf/flow_event_reader.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <string>
#include <vector>

#include "libbpf_logging.h"
#include "weft/bpf_abi/flow_events.h"
#include "weft/common/unique_fd.h"

namespace weft::bpf {
namespace fs = std::filesystem;

struct FlowEventReader::Impl {
  fs::path pinDir;
  UniqueFd events;
  UniqueFd lost;
  UniqueFd flowSwitch;
  std::uint32_t eventsId = 0;
  ring_buffer* ring = nullptr;
  Handler handler;
  bool started = false;
  bool discarding = false;  // while draining what an earlier reader left

  ~Impl() {
    if (ring) ring_buffer__free(ring);
  }

  static int onEvent(void* context, void* data, size_t size) {
    auto* self = static_cast<Impl*>(context);
    if (!self->discarding) self->handler({static_cast<const std::byte*>(data), size});
    return 0;
  }

  Result<weft_flow_switch> readSwitch() const {
    std::uint32_t zero = 0;
    weft_flow_switch value{};
    if (bpf_map_lookup_elem(flowSwitch.get(), &zero, &value) != 0) return failErrno("read the flow event switch");
    return value;
  }

  Status writeSwitch(const weft_flow_switch& value) const {
    std::uint32_t zero = 0;
    if (bpf_map_update_elem(flowSwitch.get(), &zero, &value, BPF_ANY) != 0)
      return failErrno("set the flow event switch");
    return {};
  }
};

namespace {

std::uint32_t mapId(int fd) {
  bpf_map_info info{};
  __u32 length = sizeof info;
  return bpf_obj_get_info_by_fd(fd, &info, &length) == 0 ? info.id : 0;
}

Result<UniqueFd> openPinned(const fs::path& pinDir, const char* name, bpf_map_type type) {
  const fs::path path = pinDir / name;
  UniqueFd fd(bpf_obj_get(path.c_str()));
  if (!fd.valid()) {
    int err = errno;
    std::error_code ec;
    if (err == ENOENT && !fs::exists(pinDir, ec))
      return fail(ErrorCode::kNotFound, "no pinned ring buffer at " + path.string() +
                                            ": is the agent running on this node? expected its pin directory " +
                                            pinDir.string() + " (--bpffs-dir)");
    if (err == ENOENT)
      return fail(ErrorCode::kNotFound, "no " + path.string() + " in the agent's pin directory: is the agent running "
                                        "on this node, and does it have flow events (a weft that predates weft-trace "
                                        "does not)?");
    return failErrno("open " + path.string() + (err == EPERM || err == EACCES ? " (needs root: CAP_BPF)" : ""), err);
  }
  bpf_map_info info{};
  __u32 length = sizeof info;
  if (bpf_obj_get_info_by_fd(fd.get(), &info, &length) != 0) return failErrno("inspect " + path.string());
  if (info.type != static_cast<__u32>(type))
    return fail(ErrorCode::kInvalidArgument, path.string() + " is a map of another type (" +
                                                 std::to_string(info.type) + "): pinned by another weft version?");
  return fd;
}

// The clock of bpf_ktime_get_ns.
std::uint64_t monotonicNs() {
  timespec now{};
  ::clock_gettime(CLOCK_MONOTONIC, &now);
  return static_cast<std::uint64_t>(now.tv_sec) * 1'000'000'000ull + static_cast<std::uint64_t>(now.tv_nsec);
}

}  // namespace

FlowEventReader::FlowEventReader(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

FlowEventReader::~FlowEventReader() { stop(); }

Result<std::unique_ptr<FlowEventReader>> FlowEventReader::open(const fs::path& pinDir, Handler handler) {
  installLibbpfLogging();
  auto impl = std::make_unique<Impl>();
  impl->pinDir = pinDir;
  impl->handler = std::move(handler);
  auto events = openPinned(pinDir, WEFT_FLOW_EVENTS_MAP, BPF_MAP_TYPE_RINGBUF);
  if (!events) return std::unexpected(events.error());
  auto lost = openPinned(pinDir, WEFT_FLOW_LOST_MAP, BPF_MAP_TYPE_PERCPU_ARRAY);
  if (!lost) return std::unexpected(lost.error());
  auto flowSwitch = openPinned(pinDir, WEFT_FLOW_SWITCH_MAP, BPF_MAP_TYPE_ARRAY);
  if (!flowSwitch) return std::unexpected(flowSwitch.error());
  impl->events = std::move(*events);
  impl->lost = std::move(*lost);
  impl->flowSwitch = std::move(*flowSwitch);
  impl->eventsId = mapId(impl->events.get());
  impl->ring = ring_buffer__new(impl->events.get(), &Impl::onEvent, impl.get(), nullptr);
  if (!impl->ring) return failErrno("map the flow event ring buffer");
  return std::unique_ptr<FlowEventReader>(new FlowEventReader(std::move(impl)));
}

Status FlowEventReader::start() {
  auto current = impl_->readSwitch();
  if (!current) return std::unexpected(current.error());
  const auto self = static_cast<std::uint32_t>(::getpid());
  const std::uint64_t now = monotonicNs();
  if (!impl_->started && current->enabled && now - current->heartbeat_ns < WEFT_FLOW_READER_TIMEOUT_NS)
    return fail(ErrorCode::kAlreadyExists,
                "process " + std::to_string(current->reader) + " is reading this node's flow events (another "
                "weft-trace?); a BPF ring buffer has one reader: stop that one first");
  // Whatever an earlier reader left behind is old news.
  impl_->discarding = true;
  (void)ring_buffer__consume(impl_->ring);
  impl_->discarding = false;
  if (auto ok = impl_->writeSwitch({.enabled = 1, .reader = self, .heartbeat_ns = now}); !ok) return ok;
  impl_->started = true;
  return {};
}

Status FlowEventReader::heartbeat() {
  if (!impl_->started) return {};
  return impl_->writeSwitch(
      {.enabled = 1, .reader = static_cast<std::uint32_t>(::getpid()), .heartbeat_ns = monotonicNs()});
}

void FlowEventReader::stop() {
  if (!impl_ || !impl_->started) return;
  impl_->started = false;
  // Off only if the switch is still ours: a successor may have taken over.
  auto current = impl_->readSwitch();
  if (current && current->reader == static_cast<std::uint32_t>(::getpid())) (void)impl_->writeSwitch({});
}

int FlowEventReader::fd() const { return ring_buffer__epoll_fd(impl_->ring); }

Result<std::size_t> FlowEventReader::consume() {
  int n = ring_buffer__consume(impl_->ring);
  if (n < 0) return failErrno("read the flow event ring buffer", -n);
  return static_cast<std::size_t>(n);
}

Result<std::uint64_t> FlowEventReader::lost() const {
  int cpus = libbpf_num_possible_cpus();
  if (cpus <= 0) return fail(ErrorCode::kSystem, "cannot count possible CPUs");
  std::vector<std::uint64_t> perCpu(static_cast<std::size_t>(cpus));
  std::uint32_t zero = 0;
  if (bpf_map_lookup_elem(impl_->lost.get(), &zero, perCpu.data()) != 0) return failErrno("read the lost events");
  std::uint64_t total = 0;
  for (auto v : perCpu) total += v;
  return total;
}

bool FlowEventReader::pinsUnchanged() const {
  UniqueFd pinned(bpf_obj_get((impl_->pinDir / WEFT_FLOW_EVENTS_MAP).c_str()));
  return pinned.valid() && mapId(pinned.get()) == impl_->eventsId;
}

}  // namespace weft::bpf

#include "weft/bpf/flow_event_reader.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <optional>
#include <string>
#include <vector>

#include "libbpf_logging.h"
#include "weft/bpf_abi/flow_events.h"
#include "weft/common/unique_fd.h"

namespace weft::bpf {
namespace fs = std::filesystem;

struct FlowEventReader::Impl {
  fs::path pinDir;
  UniqueFd events;  // the outer map: each reader's ring by slot
  UniqueFd lost;
  UniqueFd flowSwitch;
  std::uint32_t eventsId = 0;
  UniqueFd ownRing;  // this reader's ring, made at start()
  ring_buffer* ring = nullptr;
  Handler handler;
  std::optional<std::uint32_t> slot;  // claimed by start()

  ~Impl() {
    if (ring) ring_buffer__free(ring);
  }

  static int onEvent(void* context, void* data, size_t size) {
    static_cast<Impl*>(context)->handler({static_cast<const std::byte*>(data), size});
    return 0;
  }

  Result<weft_flow_switch> readSwitch(std::uint32_t index) const {
    weft_flow_switch value{};
    if (bpf_map_lookup_elem(flowSwitch.get(), &index, &value) != 0) return failErrno("read the flow event switch");
    return value;
  }

  Status writeSwitch(std::uint32_t index, const weft_flow_switch& value) const {
    if (bpf_map_update_elem(flowSwitch.get(), &index, &value, BPF_ANY) != 0)
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
  auto events = openPinned(pinDir, WEFT_FLOW_EVENTS_MAP, BPF_MAP_TYPE_ARRAY_OF_MAPS);
  if (!events) return std::unexpected(events.error());
  auto lost = openPinned(pinDir, WEFT_FLOW_LOST_MAP, BPF_MAP_TYPE_PERCPU_ARRAY);
  if (!lost) return std::unexpected(lost.error());
  auto flowSwitch = openPinned(pinDir, WEFT_FLOW_SWITCH_MAP, BPF_MAP_TYPE_ARRAY);
  if (!flowSwitch) return std::unexpected(flowSwitch.error());
  impl->events = std::move(*events);
  impl->lost = std::move(*lost);
  impl->flowSwitch = std::move(*flowSwitch);
  impl->eventsId = mapId(impl->events.get());
  // This reader's own ring, shaped as the programs' template (a ring buffer
  // has one consumer position: readers cannot share one).
  impl->ownRing = UniqueFd(bpf_map_create(BPF_MAP_TYPE_RINGBUF, "weft_flow_ring", 0, 0, WEFT_FLOW_RINGBUF_BYTES,
                                          nullptr));
  if (!impl->ownRing.valid()) return failErrno("create a flow event ring buffer");
  impl->ring = ring_buffer__new(impl->ownRing.get(), &Impl::onEvent, impl.get(), nullptr);
  if (!impl->ring) return failErrno("map the flow event ring buffer");
  return std::unique_ptr<FlowEventReader>(new FlowEventReader(std::move(impl)));
}

Status FlowEventReader::start() {
  if (impl_->slot) return {};
  const auto self = static_cast<std::uint32_t>(::getpid());
  std::string holders;
  for (std::uint32_t index = 0; index < WEFT_FLOW_READERS; ++index) {
    auto current = impl_->readSwitch(index);
    if (!current) return std::unexpected(current.error());
    const std::uint64_t now = monotonicNs();
    if (current->reader != 0 && now - current->heartbeat_ns < WEFT_FLOW_READER_TIMEOUT_NS) {
      holders += (holders.empty() ? "" : ", ") + std::to_string(current->reader);
      continue;
    }
    // Claimed with the pid, not yet on; a reader claiming the same slot at
    // the same moment overwrites it, and whichever sees another pid after a
    // pause moves on, so one slot never ends up with two rings.
    if (auto ok = impl_->writeSwitch(index, {.enabled = 0, .reader = self, .heartbeat_ns = now}); !ok) return ok;
    ::usleep(20'000);
    auto claimed = impl_->readSwitch(index);
    if (!claimed) return std::unexpected(claimed.error());
    if (claimed->reader != self) {
      holders += (holders.empty() ? "" : ", ") + std::to_string(claimed->reader);
      continue;
    }
    const int ringFd = impl_->ownRing.get();
    if (bpf_map_update_elem(impl_->events.get(), &index, &ringFd, BPF_ANY) != 0) {
      (void)impl_->writeSwitch(index, {});
      return failErrno("put the ring buffer into the flow event map");
    }
    // The slot's lost count starts from zero for this reader.
    int cpus = libbpf_num_possible_cpus();
    if (cpus > 0) {
      std::vector<std::uint64_t> zeros(static_cast<std::size_t>(cpus));
      (void)bpf_map_update_elem(impl_->lost.get(), &index, zeros.data(), BPF_ANY);
    }
    if (auto ok = impl_->writeSwitch(index, {.enabled = 1, .reader = self, .heartbeat_ns = monotonicNs()}); !ok)
      return ok;
    impl_->slot = index;
    return {};
  }
  return fail(ErrorCode::kAlreadyExists,
              "all " + std::to_string(WEFT_FLOW_READERS) + " flow event readers of this node are taken (processes " +
                  holders + "): stop one of those weft-trace sessions first");
}

Status FlowEventReader::heartbeat() {
  if (!impl_->slot) return {};
  const auto self = static_cast<std::uint32_t>(::getpid());
  // A slot taken from under this reader (it stalled past the timeout, or
  // another claimed it in the same instant) is said, not silently shared.
  auto current = impl_->readSwitch(*impl_->slot);
  if (!current) return std::unexpected(current.error());
  if (current->reader != self)
    return fail(ErrorCode::kAlreadyExists, "process " + std::to_string(current->reader) +
                                               " took this reader's flow event slot; start weft-trace again");
  return impl_->writeSwitch(*impl_->slot, {.enabled = 1, .reader = self, .heartbeat_ns = monotonicNs()});
}

void FlowEventReader::stop() {
  if (!impl_ || !impl_->slot) return;
  const std::uint32_t index = *impl_->slot;
  impl_->slot.reset();
  // Only if the slot is still ours: after a stall past the timeout another
  // reader may have taken it, with its own ring.
  auto current = impl_->readSwitch(index);
  if (!current || current->reader != static_cast<std::uint32_t>(::getpid())) return;
  (void)impl_->writeSwitch(index, {});
  (void)bpf_map_delete_elem(impl_->events.get(), &index);
}

int FlowEventReader::fd() const { return ring_buffer__epoll_fd(impl_->ring); }

Result<std::size_t> FlowEventReader::consume() {
  int n = ring_buffer__consume(impl_->ring);
  if (n < 0) return failErrno("read the flow event ring buffer", -n);
  return static_cast<std::size_t>(n);
}

Result<std::uint64_t> FlowEventReader::lost() const {
  if (!impl_->slot) return std::uint64_t{0};
  int cpus = libbpf_num_possible_cpus();
  if (cpus <= 0) return fail(ErrorCode::kSystem, "cannot count possible CPUs");
  std::vector<std::uint64_t> perCpu(static_cast<std::size_t>(cpus));
  const std::uint32_t index = *impl_->slot;
  if (bpf_map_lookup_elem(impl_->lost.get(), &index, perCpu.data()) != 0) return failErrno("read the lost events");
  std::uint64_t total = 0;
  for (auto v : perCpu) total += v;
  return total;
}

bool FlowEventReader::pinsUnchanged() const {
  UniqueFd pinned(bpf_obj_get((impl_->pinDir / WEFT_FLOW_EVENTS_MAP).c_str()));
  return pinned.valid() && mapId(pinned.get()) == impl_->eventsId;
}

}  // namespace weft::bpf

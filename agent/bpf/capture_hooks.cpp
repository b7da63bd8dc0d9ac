#include "weft/bpf/capture_hooks.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <fcntl.h>
#include <sys/stat.h>

#include <arpa/inet.h>

#include <algorithm>
#include <cstring>
#include <string>

#include "flow_tracepoints.h"
#include "libbpf_logging.h"
#include "stale_pins.h"
#include "weft/bpf/kernel_paths.h"
#include "weft/bpf_abi/capture.h"
#include "weft/bpf_abi/sockmap.h"
#include "weft/bpf_skel/capture.skel.h"
#include "weft/common/log.h"
#include "weft/common/unique_fd.h"

namespace weft::bpf {
namespace fs = std::filesystem;
namespace {

// Pinned maps that hold only counters or trace events: an earlier weft's
// pins of another shape are replaced rather than failing the load.
constexpr std::string_view kDisposableMaps[] = {"weft_capture_stats", "weft_flow_events", "weft_flow_lost",
                                                "weft_flow_switch"};

// The agent's netns, where its proxy's sockets live; 0 if unknown.
std::uint64_t ownNetnsCookie() {
  UniqueFd probe(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  std::uint64_t cookie = 0;
  socklen_t length = sizeof cookie;
  if (!probe.valid() || ::getsockopt(probe.get(), SOL_SOCKET, SO_NETNS_COOKIE, &cookie, &length) != 0) return 0;
  return cookie;
}

}  // namespace

struct CaptureHooks::Impl {
  weft_capture* skeleton = nullptr;
  UniqueFd cgroupFd;
  struct PinnedLink {
    fs::path pinPath;
    UniqueFd fd;
  };
  std::vector<PinnedLink> links;
  // TCP events for weft-trace: not pinned (a successor attaches its own), so
  // they go with this process; the cgroup hooks are what must not lapse.
  std::vector<BpfLinkPtr> tracepointLinks;
  bool skMsgAttached = false;

  int mapFd(bpf_map* map) const { return bpf_map__fd(map); }

  std::vector<FlowTracepoint> tracepoints() const {
    return {{skeleton->progs.weft_trace_tcp_state, "inet_sock_set_state"},
            {skeleton->progs.weft_trace_tcp_retransmit, "tcp_retransmit_skb"}};
  }

  // Opens and loads the object. The TCP event programs are optional: when
  // the object does not load with them, it is loaded again without them.
  int openAndLoad(const bpf_object_open_opts& openOptions) {
    skeleton = weft_capture__open_opts(&openOptions);
    if (!skeleton) return -errno;
    removeStaleDisposablePins(skeleton->obj, kDisposableMaps);
    skeleton->rodata->weft_node_netns_cookie = ownNetnsCookie();
    skipMissingTracepoints(tracepoints());
    int err = weft_capture__load(skeleton);
    if (err == 0 || !anyTracepointLoaded(tracepoints())) return err;
    weft_capture__destroy(skeleton);  // libbpf unpinned the maps this attempt created
    skeleton = weft_capture__open_opts(&openOptions);
    if (!skeleton) return -errno;
    skeleton->rodata->weft_node_netns_cookie = ownNetnsCookie();
    skipAllTracepoints(tracepoints(), std::string("the object did not load with them: ") + std::strerror(-err));
    return weft_capture__load(skeleton);
  }

  ~Impl() {
    tracepointLinks.clear();  // before the programs they run
    if (skeleton) weft_capture__destroy(skeleton);
  }
};

namespace {

// The cgroup a pinned link is attached to, to tell an adoptable link from a
// stale one left by an agent that ran with another --cgroup-root.
bool linkAttachedToCgroup(int linkFd, const fs::path& cgroupRoot) {
  bpf_link_info info{};
  __u32 length = sizeof info;
  if (bpf_obj_get_info_by_fd(linkFd, &info, &length) != 0) return false;
  struct stat st {};
  if (::stat(cgroupRoot.c_str(), &st) != 0) return false;
  return info.type == BPF_LINK_TYPE_CGROUP && info.cgroup.cgroup_id == st.st_ino;
}

// Replaces the program behind a pinned link when one exists (no moment without
// a hook, so no connect escapes capture across an agent restart); otherwise
// creates the link and pins it.
Result<UniqueFd> attachOrAdopt(int progFd, int cgroupFd, const fs::path& cgroupRoot, bpf_attach_type type,
                               const fs::path& pinPath, bool& adopted) {
  if (fs::exists(pinPath)) {
    UniqueFd existing(bpf_obj_get(pinPath.c_str()));
    if (existing.valid() && linkAttachedToCgroup(existing.get(), cgroupRoot) &&
        bpf_link_update(existing.get(), progFd, nullptr) == 0) {
      adopted = true;
      return existing;
    }
    log::warn("bpf", "replacing stale pinned link {}", pinPath.string());
    ::unlink(pinPath.c_str());
  }
  UniqueFd link(bpf_link_create(progFd, cgroupFd, type, nullptr));
  if (!link.valid()) return failErrno("attach " + pinPath.filename().string() + " to cgroup " + cgroupRoot.string());
  if (bpf_obj_pin(link.get(), pinPath.c_str()) != 0) return failErrno("pin link at " + pinPath.string());
  return link;
}

// Every key of a BPF hash map. `previous` points into the vector only until
// the next push_back, which is after the kernel has read it.
template <class Key>
Result<std::vector<Key>> mapKeys(int fd, std::string_view what) {
  std::vector<Key> keys;
  Key key{};
  const Key* previous = nullptr;
  while (bpf_map_get_next_key(fd, previous, &key) == 0) {
    keys.push_back(key);
    previous = &keys.back();
  }
  if (errno != ENOENT) return failErrno("list " + std::string(what));
  return keys;
}

}  // namespace

CaptureHooks::CaptureHooks(CaptureOptions options) : options_(std::move(options)), impl_(std::make_unique<Impl>()) {}

Result<std::unique_ptr<CaptureHooks>> CaptureHooks::attach(const CaptureOptions& options) {
  installLibbpfLogging();
  if (auto ok = checkCgroup2Dir(options.cgroupRoot); !ok) return std::unexpected(ok.error());
  if (auto ok = ensureBpffsDir(options.pinDir / "links"); !ok) return std::unexpected(ok.error());

  std::unique_ptr<CaptureHooks> hooks(new CaptureHooks(options));
  Impl& impl = *hooks->impl_;

  impl.cgroupFd.reset(::open(options.cgroupRoot.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!impl.cgroupFd.valid()) return failErrno("open cgroup " + options.cgroupRoot.string());

  const std::string pinRoot = options.pinDir.string();
  LIBBPF_OPTS(bpf_object_open_opts, openOptions, .pin_root_path = pinRoot.c_str());
  if (int err = impl.openAndLoad(openOptions); err != 0) {
    if (!impl.skeleton) return failErrno("open BPF object capture", -err);
    return failErrno("load BPF object capture (the log above names the cause: a verifier rejection, or maps "
                     "pinned in " + options.pinDir.string() + " by an incompatible weft: weft-agent --cleanup)", -err);
  }

  struct Hook {
    bpf_program* program;
    bpf_attach_type type;
    const char* pinName;
  };
  const Hook hookList[] = {
      {impl.skeleton->progs.weft_connect4, BPF_CGROUP_INET4_CONNECT, "connect4"},
      {impl.skeleton->progs.weft_connect6, BPF_CGROUP_INET6_CONNECT, "connect6"},
      {impl.skeleton->progs.weft_getpeername4, BPF_CGROUP_INET4_GETPEERNAME, "getpeername4"},
      {impl.skeleton->progs.weft_getpeername6, BPF_CGROUP_INET6_GETPEERNAME, "getpeername6"},
      {impl.skeleton->progs.weft_sockops, BPF_CGROUP_SOCK_OPS, "sockops"},
  };
  for (const Hook& hook : hookList) {
    fs::path pinPath = options.pinDir / "links" / hook.pinName;
    auto link = attachOrAdopt(bpf_program__fd(hook.program), impl.cgroupFd.get(), options.cgroupRoot, hook.type,
                              pinPath, hooks->adopted_);
    if (!link) return std::unexpected(link.error());
    impl.links.push_back({pinPath, std::move(*link)});
  }
  impl.tracepointLinks = attachTracepoints(impl.tracepoints());
  log::info("bpf", "capture hooks {} at cgroup {} (pins in {})", hooks->adopted_ ? "adopted" : "attached",
            options.cgroupRoot.string(), options.pinDir.string());
  return hooks;
}

// What stays must stay pinned: a successor that adopted these links and then
// failed cleans up as an agent without --keep-bpf does, unpinning links and
// maps that this process still holds. Pinned again, they outlive it (enrolled
// connects keep failing closed) and the next agent adopts them; otherwise
// they would go with this process's descriptors and connects would escape.
void CaptureHooks::restoreMissingPins() {
  for (auto& link : impl_->links) pinAgainIfMissing(link.fd.get(), link.pinPath);
  bpf_map* map = nullptr;
  bpf_object__for_each_map(map, impl_->skeleton->obj) {
    if (const char* path = bpf_map__pin_path(map)) pinAgainIfMissing(bpf_map__fd(map), path);
  }
}

bool CaptureHooks::adoptedBySuccessor() const {
  if (impl_->links.empty()) return false;
  // The link is the pinned kernel object itself, so its program is whatever
  // the last agent to adopt it put there.
  bpf_link_info link{};
  __u32 linkLength = sizeof link;
  bpf_prog_info own{};
  __u32 ownLength = sizeof own;
  if (bpf_obj_get_info_by_fd(impl_->links.front().fd.get(), &link, &linkLength) != 0 ||
      bpf_obj_get_info_by_fd(bpf_program__fd(impl_->skeleton->progs.weft_connect4), &own, &ownLength) != 0)
    return false;
  return link.prog_id != own.id;
}

CaptureHooks::~CaptureHooks() {
  if (!impl_) return;
  if (keepAttached_) {
    restoreMissingPins();
    log::info("bpf", "leaving capture hooks attached and pinned in {}", options_.pinDir.string());
    return;
  }
  // Unpinning and closing the last fd detaches a link; maps go with their pins.
  if (impl_->skMsgAttached)
    bpf_prog_detach2(bpf_program__fd(impl_->skeleton->progs.weft_sk_msg),
                     bpf_map__fd(impl_->skeleton->maps.weft_sockhash), BPF_SK_MSG_VERDICT);
  for (auto& link : impl_->links) ::unlink(link.pinPath.c_str());
  impl_->links.clear();
  if (impl_->skeleton) bpf_object__unpin_maps(impl_->skeleton->obj, nullptr);
  std::error_code ec;
  fs::remove(options_.pinDir / "links", ec);
  fs::remove(options_.pinDir, ec);  // only if empty: never remove what others pinned
  log::info("bpf", "capture hooks detached and unpinned");
}

Result<CaptureCounters> CaptureHooks::counters() const {
  int cpus = libbpf_num_possible_cpus();
  if (cpus <= 0) return fail(ErrorCode::kSystem, "cannot count possible CPUs");
  std::vector<std::uint64_t> perCpu(static_cast<size_t>(cpus));
  std::uint64_t totals[WEFT_CAP_COUNTER_MAX] = {};
  int fd = bpf_map__fd(impl_->skeleton->maps.weft_capture_stats);
  for (std::uint32_t key = 0; key < WEFT_CAP_COUNTER_MAX; ++key) {
    if (bpf_map_lookup_elem(fd, &key, perCpu.data()) != 0) return failErrno("read capture counters");
    for (auto v : perCpu) totals[key] += v;
  }
  return CaptureCounters{
      .connectSeen = totals[WEFT_CAP_CONNECT_SEEN],
      .notEnrolled = totals[WEFT_CAP_NOT_ENROLLED],
      .enrolled = totals[WEFT_CAP_ENROLLED],
      .redirected = totals[WEFT_CAP_REDIRECTED],
      .excludedPort = totals[WEFT_CAP_EXCLUDED_PORT],
      .localDestination = totals[WEFT_CAP_LOCAL_DST],
      .notTcp = totals[WEFT_CAP_NOT_TCP],
      .noProxy = totals[WEFT_CAP_NO_PROXY],
      .originalDstRecorded = totals[WEFT_CAP_ORIG_DST_RECORDED],
      .sockmapAdded = totals[WEFT_CAP_SOCKMAP_ADDED],
      .msgRedirected = totals[WEFT_CAP_MSG_REDIRECTED],
      .msgDirect = totals[WEFT_CAP_MSG_DIRECT],
      .msgRedirectedBytes = totals[WEFT_CAP_MSG_REDIRECTED_BYTES],
      .msgDirectBytes = totals[WEFT_CAP_MSG_DIRECT_BYTES],
  };
}

Status CaptureHooks::upsertEnrolled(const EnrolledPod& pod) {
  weft_enrolled_pod value{};
  value.flags = WEFT_POD_F_ENROLLED;
  if (pod.ipv4) value.ipv4 = pod.ipv4->s_addr;
  if (pod.ipv6) std::memcpy(value.ipv6, pod.ipv6->s6_addr, sizeof value.ipv6);
  if (bpf_map_update_elem(bpf_map__fd(impl_->skeleton->maps.weft_enrolled), &pod.netnsCookie, &value, BPF_ANY) != 0)
    return failErrno("enroll netns cookie " + std::to_string(pod.netnsCookie));
  return {};
}

Status CaptureHooks::removeEnrolled(std::uint64_t netnsCookie) {
  if (bpf_map_delete_elem(bpf_map__fd(impl_->skeleton->maps.weft_enrolled), &netnsCookie) != 0 && errno != ENOENT)
    return failErrno("remove netns cookie " + std::to_string(netnsCookie));
  return {};
}

std::vector<CaptureHooks::MapOccupancy> CaptureHooks::mapOccupancy() const {
  auto& maps = impl_->skeleton->maps;
  std::vector<MapOccupancy> out;
  for (const bpf_map* map : {maps.weft_enrolled, maps.weft_local_pods, maps.weft_excluded_ports, maps.weft_original_dst,
                             maps.weft_sockhash, maps.weft_relay_control, maps.weft_relay_progress}) {
    // Keys as opaque bytes; a map changing meanwhile may be counted off by a
    // few, and the walk is bounded for a map that keeps changing.
    std::vector<unsigned char> key(bpf_map__key_size(map)), next(key.size());
    const std::size_t capacity = bpf_map__max_entries(map);
    std::size_t entries = 0;
    const void* previous = nullptr;
    while (entries < 2 * capacity && bpf_map_get_next_key(bpf_map__fd(map), previous, next.data()) == 0) {
      ++entries;
      key.swap(next);
      previous = key.data();
    }
    out.push_back({bpf_map__name(map), std::min(entries, capacity), capacity});
  }
  return out;
}

Result<std::vector<std::uint64_t>> CaptureHooks::enrolledCookies() const {
  return mapKeys<std::uint64_t>(bpf_map__fd(impl_->skeleton->maps.weft_enrolled), "enrolled netns cookies");
}

namespace {

weft_endpoint toAbi(const Endpoint& e) {
  weft_endpoint out{};
  std::memcpy(out.addr, e.address.s6_addr, 16);
  out.port = htons(e.port);
  return out;
}

weft_sock_key toAbi(const SocketTuple& t) {
  weft_sock_key key{};
  std::memcpy(key.local, t.local.address.s6_addr, 16);
  std::memcpy(key.remote, t.remote.address.s6_addr, 16);
  key.local_port = htons(t.local.port);
  key.remote_port = htons(t.remote.port);
  return key;
}

}  // namespace

Status CaptureHooks::addLocalPod(const in6_addr& address) {
  std::uint8_t one = 1;
  if (bpf_map_update_elem(bpf_map__fd(impl_->skeleton->maps.weft_local_pods), address.s6_addr, &one, BPF_ANY) != 0)
    return failErrno("add local pod address");
  return {};
}

Status CaptureHooks::removeLocalPod(const in6_addr& address) {
  if (bpf_map_delete_elem(bpf_map__fd(impl_->skeleton->maps.weft_local_pods), address.s6_addr) != 0 && errno != ENOENT)
    return failErrno("remove local pod address");
  return {};
}

Result<std::vector<in6_addr>> CaptureHooks::localPods() const {
  return mapKeys<in6_addr>(bpf_map__fd(impl_->skeleton->maps.weft_local_pods), "local pod addresses");
}

Status CaptureHooks::steer(const ProxySteering& steering) {
  weft_capture_config config{};
  config.proxy_ipv4 = steering.proxyAddress.s_addr;
  config.proxy_port = htons(steering.outboundPort);
  config.flags = steering.sockmap ? WEFT_CFG_F_SOCKMAP : 0;
  std::uint32_t zero = 0;
  if (bpf_map_update_elem(bpf_map__fd(impl_->skeleton->maps.weft_capture_config), &zero, &config, BPF_ANY) != 0)
    return failErrno("write capture config");
  int progFd = bpf_program__fd(impl_->skeleton->progs.weft_sk_msg);
  int hashFd = bpf_map__fd(impl_->skeleton->maps.weft_sockhash);
  if (steering.sockmap) {
    // Attaching replaces a program an earlier agent left on the pinned map.
    if (bpf_prog_attach(progFd, hashFd, BPF_SK_MSG_VERDICT, 0) != 0) return failErrno("attach sk_msg to sockhash");
    impl_->skMsgAttached = true;
  } else {
    bpf_prog_detach2(progFd, hashFd, BPF_SK_MSG_VERDICT);
    impl_->skMsgAttached = false;
  }
  return {};
}

Status CaptureHooks::setExcludedPorts(const std::vector<std::uint16_t>& ports) {
  int fd = bpf_map__fd(impl_->skeleton->maps.weft_excluded_ports);
  auto existing = mapKeys<std::uint16_t>(fd, "excluded ports");
  if (!existing) return std::unexpected(existing.error());
  for (auto port : *existing)
    if (std::find(ports.begin(), ports.end(), port) == ports.end()) bpf_map_delete_elem(fd, &port);
  std::uint8_t one = 1;
  for (auto port : ports)
    if (bpf_map_update_elem(fd, &port, &one, BPF_ANY) != 0) return failErrno("exclude port " + std::to_string(port));
  return {};
}

std::optional<Endpoint> CaptureHooks::takeOriginalDestination(const Endpoint& client) {
  int fd = bpf_map__fd(impl_->skeleton->maps.weft_original_dst);
  weft_endpoint key = toAbi(client);
  weft_endpoint value{};
  // One syscall per accepted connection; kernels without lookup-and-delete
  // for hash maps (before 5.14) take two.
  if (bpf_map_lookup_and_delete_elem(fd, &key, &value) != 0) {
    if (bpf_map_lookup_elem(fd, &key, &value) != 0) return std::nullopt;
    bpf_map_delete_elem(fd, &key);
  }
  Endpoint out;
  std::memcpy(out.address.s6_addr, value.addr, 16);
  out.port = ntohs(value.port);
  return out;
}

Status CaptureHooks::requestRelayJoin(const SocketTuple& a, const SocketTuple& b) {
  int controlFd = bpf_map__fd(impl_->skeleton->maps.weft_relay_control);
  int progressFd = bpf_map__fd(impl_->skeleton->maps.weft_relay_progress);
  for (auto [from, to] : {std::pair{&a, &b}, std::pair{&b, &a}}) {
    weft_sock_key key = toAbi(*from);
    weft_relay_progress progress{};
    // Progress first, so that the sender starts counting before it may switch;
    // BPF_NOEXIST keeps counts the sender already made.
    bpf_map_update_elem(progressFd, &key, &progress, BPF_NOEXIST);
    weft_relay_control control{};
    control.peer_app = toAbi(*to);
    control.state = WEFT_RELAY_JOIN_REQUESTED;
    if (bpf_map_update_elem(controlFd, &key, &control, BPF_ANY) != 0) return failErrno("request relay join");
  }
  return {};
}

Status CaptureHooks::reportForwarded(const SocketTuple& from, const SocketTuple& to, std::uint64_t bytes) {
  // The proxy is the only writer of a control entry: write it whole, without
  // reading it first. BPF_EXIST: a relay already forgotten is not re-created.
  weft_sock_key key = toAbi(from);
  weft_relay_control control{};
  control.peer_app = toAbi(to);
  control.forwarded = bytes;
  control.state = WEFT_RELAY_JOIN_REQUESTED;
  if (bpf_map_update_elem(bpf_map__fd(impl_->skeleton->maps.weft_relay_control), &key, &control, BPF_EXIST) != 0 &&
      errno != ENOENT)
    return failErrno("report forwarded bytes");
  return {};
}

void CaptureHooks::forgetRelay(const SocketTuple& a, const SocketTuple& b) {
  for (const SocketTuple* t : {&a, &b}) {
    weft_sock_key key = toAbi(*t);
    bpf_map_delete_elem(bpf_map__fd(impl_->skeleton->maps.weft_relay_control), &key);
    bpf_map_delete_elem(bpf_map__fd(impl_->skeleton->maps.weft_relay_progress), &key);
  }
}

bool CaptureHooks::inSockhash(const SocketTuple& tuple) const {
  weft_sock_key key = toAbi(tuple);
  std::uint64_t cookie = 0;
  return bpf_map_lookup_elem(bpf_map__fd(impl_->skeleton->maps.weft_sockhash), &key, &cookie) == 0;
}

}  // namespace weft::bpf

#include "weft/bpf/peer_auth_hooks.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <unistd.h>

#include <cstring>
#include <map>
#include <string>

#include "libbpf_logging.h"
#include "stale_pins.h"
#include "weft/bpf/kernel_paths.h"
#include "weft/bpf_abi/capture.h"
#include "weft/bpf_abi/peer_auth.h"
#include "weft/bpf_skel/peer_auth.skel.h"
#include "weft/common/log.h"
#include "weft/common/unique_fd.h"

namespace weft::bpf {
namespace fs = std::filesystem;
namespace {

static_assert(kMarkFromProxy == WEFT_MARK_FROM_PROXY && kMarkIntercept == WEFT_MARK_INTERCEPT &&
              kInterceptRouteTable == WEFT_ROUTE_TABLE && kInterceptRulePriority == WEFT_ROUTE_RULE_PRIORITY);
static_assert(static_cast<int>(MtlsMode::kStrict) == WEFT_MTLS_STRICT &&
              static_cast<int>(MtlsMode::kPermissive) == WEFT_MTLS_PERMISSIVE &&
              static_cast<int>(MtlsMode::kDisable) == WEFT_MTLS_DISABLE);

// Pinned maps that hold only counters or trace events: an earlier weft's
// pins of another shape are replaced rather than failing the load.
constexpr std::string_view kDisposableMaps[] = {"weft_peer_auth_counters", "weft_flow_events", "weft_flow_lost",
                                                "weft_flow_switch"};

// libbpf 1.1 predates tcx: the kernel's attach types, by number.
constexpr int kTcxIngress = 46;
constexpr int kTcxEgress = 47;

}  // namespace

struct PeerAuthHooks::Impl {
  weft_peer_auth* skeleton = nullptr;
  fs::path pinDir;
  // "strict-<ifindex>" / "permissive-<ifindex>" -> link fd (pinned under pinDir/tc).
  std::map<std::string, UniqueFd> links;

  ~Impl() {
    if (skeleton) weft_peer_auth__destroy(skeleton);
  }

  fs::path pinOf(const std::string& name) const { return pinDir / "tc" / name; }

  // A pinned link from an earlier agent gets the new program (no moment
  // without the hook); otherwise a new link is made and pinned.
  Status attachOne(const std::string& name, bpf_program* program, int ifindex, int type) {
    if (links.contains(name)) return {};
    const int progFd = bpf_program__fd(program);
    fs::path pin = pinOf(name);
    if (fs::exists(pin)) {
      UniqueFd existing(bpf_obj_get(pin.c_str()));
      if (existing.valid() && bpf_link_update(existing.get(), progFd, nullptr) == 0) {
        links.emplace(name, std::move(existing));
        return {};
      }
      ::unlink(pin.c_str());
    }
    UniqueFd link(bpf_link_create(progFd, ifindex, static_cast<bpf_attach_type>(type), nullptr));
    if (!link.valid())
      return failErrno("attach " + name + " (tcx on ifindex " + std::to_string(ifindex) + ", kernel 6.6 or later)");
    if (bpf_obj_pin(link.get(), pin.c_str()) != 0) return failErrno("pin " + pin.string());
    links.emplace(name, std::move(link));
    return {};
  }

  // As the capture hooks do (CaptureHooks::restoreMissingPins): a successor
  // that failed after adopting these links unpinned them and the maps this
  // agent leaves; pinned again, STRICT keeps holding until the next agent.
  void restoreMissingPins() {
    for (const auto& [name, fd] : links) pinAgainIfMissing(fd.get(), pinOf(name));
    if (!skeleton) return;
    for (bpf_map* map : {skeleton->maps.weft_mtls_modes, skeleton->maps.weft_peer_auth_counters,
                         skeleton->maps.weft_inbound_listener})
      if (const char* path = bpf_map__pin_path(map)) pinAgainIfMissing(bpf_map__fd(map), path);
  }

  void detachOne(const std::string& name) {
    ::unlink(pinOf(name).c_str());
    links.erase(name);  // closing the last fd of an unpinned link detaches it
  }
};

PeerAuthHooks::PeerAuthHooks() : impl_(std::make_unique<Impl>()) {}

Result<std::unique_ptr<PeerAuthHooks>> PeerAuthHooks::load(const fs::path& pinDir, PeerAuthOptions options) {
  installLibbpfLogging();
  if (auto ok = ensureBpffsDir(pinDir / "tc"); !ok) return std::unexpected(ok.error());
  std::unique_ptr<PeerAuthHooks> hooks(new PeerAuthHooks());
  Impl& impl = *hooks->impl_;
  impl.pinDir = pinDir;
  const std::string pinRoot = pinDir.string();
  LIBBPF_OPTS(bpf_object_open_opts, openOptions, .pin_root_path = pinRoot.c_str());
  impl.skeleton = weft_peer_auth__open_opts(&openOptions);
  if (!impl.skeleton) return failErrno("open BPF object peer_auth");
  removeStaleDisposablePins(impl.skeleton->obj, kDisposableMaps);
  impl.skeleton->rodata->strict_allow_node = options.strictAllowsNode ? 1 : 0;
  if (int err = weft_peer_auth__load(impl.skeleton); err != 0)
    return failErrno("load BPF object peer_auth (the log above names the cause)", -err);
  // Links an earlier agent left: adopted when wanted again, removed otherwise.
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(pinDir / "tc", ec)) {
    UniqueFd fd(bpf_obj_get(entry.path().c_str()));
    if (fd.valid()) impl.links.emplace(entry.path().filename().string(), std::move(fd));
  }
  return hooks;
}

PeerAuthHooks::~PeerAuthHooks() {
  if (!impl_) return;
  if (keep_) {
    impl_->restoreMissingPins();
    return;
  }
  for (auto& [name, fd] : impl_->links) ::unlink(impl_->pinOf(name).c_str());
  impl_->links.clear();
  if (impl_->skeleton) {
    // The shared excluded-ports map belongs to the capture object.
    bpf_map__unpin(impl_->skeleton->maps.weft_mtls_modes, nullptr);
    bpf_map__unpin(impl_->skeleton->maps.weft_peer_auth_counters, nullptr);
    bpf_map__unpin(impl_->skeleton->maps.weft_inbound_listener, nullptr);
  }
  std::error_code ec;
  fs::remove(impl_->pinDir / "tc", ec);
  fs::remove(impl_->pinDir, ec);  // only if empty
}

Status PeerAuthHooks::setModes(const std::vector<PortMtls>& modes) {
  const int fd = bpf_map__fd(impl_->skeleton->maps.weft_mtls_modes);
  std::map<std::string, std::uint8_t> wanted;  // key bytes -> mode
  for (const auto& entry : modes) {
    weft_endpoint key{};
    std::memcpy(key.addr, entry.address.s6_addr, sizeof key.addr);
    key.port = htons(entry.port);
    wanted[std::string(reinterpret_cast<const char*>(&key), sizeof key)] = static_cast<std::uint8_t>(entry.mode);
  }
  // Remove what is no longer wanted, then write the rest.
  std::vector<weft_endpoint> stale;
  weft_endpoint key{};
  const weft_endpoint* previous = nullptr;
  weft_endpoint last{};
  while (bpf_map_get_next_key(fd, previous, &key) == 0) {
    if (!wanted.contains(std::string(reinterpret_cast<const char*>(&key), sizeof key))) stale.push_back(key);
    last = key;
    previous = &last;
  }
  for (const auto& k : stale) bpf_map_delete_elem(fd, &k);
  for (const auto& [bytes, mode] : wanted)
    if (bpf_map_update_elem(fd, bytes.data(), &mode, BPF_ANY) != 0) return failErrno("write an mTLS mode");
  return {};
}

Status PeerAuthHooks::attach(const std::set<int>& strictIfindexes, const std::set<int>& permissiveIfindexes) {
  std::map<std::string, std::pair<bpf_program*, std::pair<int, int>>> wanted;
  for (int ifindex : strictIfindexes)
    wanted["strict-" + std::to_string(ifindex)] = {impl_->skeleton->progs.weft_strict_egress, {ifindex, kTcxEgress}};
  for (int ifindex : permissiveIfindexes)
    wanted["permissive-" + std::to_string(ifindex)] = {impl_->skeleton->progs.weft_permissive_ingress,
                                                       {ifindex, kTcxIngress}};
  std::vector<std::string> stale;
  for (const auto& [name, fd] : impl_->links)
    if (!wanted.contains(name)) stale.push_back(name);
  for (const auto& name : stale) impl_->detachOne(name);
  Status result;
  for (const auto& [name, spec] : wanted)
    if (auto ok = impl_->attachOne(name, spec.first, spec.second.first, spec.second.second); !ok && result)
      result = ok;  // keep attaching the others; report the first failure
  return result;
}

Status PeerAuthHooks::setInboundListener(int fd) {
  std::uint32_t zero = 0;
  std::uint64_t value = static_cast<std::uint64_t>(fd);
  if (bpf_map_update_elem(bpf_map__fd(impl_->skeleton->maps.weft_inbound_listener), &zero, &value, BPF_ANY) != 0)
    return failErrno("register the inbound listener for PERMISSIVE plaintext");
  return {};
}

Result<PeerAuthCounters> PeerAuthHooks::counters() const {
  int cpus = libbpf_num_possible_cpus();
  if (cpus <= 0) return fail(ErrorCode::kSystem, "cannot count possible CPUs");
  std::vector<std::uint64_t> perCpu(static_cast<std::size_t>(cpus));
  std::uint64_t totals[WEFT_PA_COUNTERS] = {};
  int fd = bpf_map__fd(impl_->skeleton->maps.weft_peer_auth_counters);
  for (std::uint32_t key = 0; key < WEFT_PA_COUNTERS; ++key) {
    if (bpf_map_lookup_elem(fd, &key, perCpu.data()) != 0) return failErrno("read peer authentication counters");
    for (auto v : perCpu) totals[key] += v;
  }
  return PeerAuthCounters{.strictDropped = totals[WEFT_PA_STRICT_DROPPED],
                          .strictAllowed = totals[WEFT_PA_STRICT_ALLOWED],
                          .intercepted = totals[WEFT_PA_INTERCEPTED],
                          .noListener = totals[WEFT_PA_NO_LISTENER],
                          .strictNodeAllowed = totals[WEFT_PA_STRICT_NODE_ALLOWED]};
}

std::size_t PeerAuthHooks::attachedLinks() const { return impl_->links.size(); }

}  // namespace weft::bpf

#include "weft/redirect/peer_authentication.h"

#include <arpa/inet.h>
#include <net/if.h>

#include <algorithm>

#include "weft/common/log.h"
#include "weft/common/socket_address.h"
#include "weft/redirect/enrollment.h"
#include "weft/redirect/netlink_routes.h"

namespace weft::redirect {
namespace {

using config::MtlsMode;

bool selects(const config::WorkloadSelector& selector, const config::Labels& labels) {
  return std::ranges::all_of(selector.matchLabels, [&labels](const auto& item) {
    auto it = labels.find(item.first);
    return it != labels.end() && it->second == item.second;
  });
}

std::string nameOf(const config::PeerAuthentication& policy) {
  return policy.meta.namespace_ + "/" + policy.meta.name;
}

bpf::MtlsMode toKernel(MtlsMode mode) {
  switch (mode) {
    case MtlsMode::kStrict: return bpf::MtlsMode::kStrict;
    case MtlsMode::kDisable: return bpf::MtlsMode::kDisable;
    default: return bpf::MtlsMode::kPermissive;
  }
}

constexpr LocalDelivery kLocalDelivery{.mark = bpf::kMarkIntercept,
                                       .table = bpf::kInterceptRouteTable,
                                       .priority = bpf::kInterceptRulePriority};

}  // namespace

std::vector<PodPeerAuthentication> effectivePeerAuthentication(const config::Snapshot& snapshot,
                                                              std::string_view node) {
  // Several policies at one level: the first by namespace/name decides, so
  // the choice never depends on file order (Istio takes the oldest).
  std::vector<const config::PeerAuthentication*> policies;
  for (const auto& policy : snapshot.peerAuthentications) policies.push_back(&policy);
  std::ranges::sort(policies, {}, [](const auto* p) { return nameOf(*p); });
  const config::PeerAuthentication* mesh = nullptr;
  for (const auto* p : policies)
    if (!mesh && p->meta.namespace_ == kMeshRootNamespace && !p->selector) mesh = p;

  std::vector<PodPeerAuthentication> result;
  for (const config::Pod* pod : podsToEnroll(snapshot, node)) {
    const config::PeerAuthentication* namespaceWide = nullptr;
    const config::PeerAuthentication* workload = nullptr;
    for (const auto* p : policies) {
      if (p->meta.namespace_ != pod->meta.namespace_) continue;
      if (!p->selector) {
        if (!namespaceWide) namespaceWide = p;
      } else if (!workload && selects(*p->selector, pod->meta.labels)) {
        workload = p;
      }
    }
    PodPeerAuthentication effective{.pod = pod, .source = "default"};
    // From the widest to the narrowest: each set mode overrides.
    for (const auto* p : {mesh, namespaceWide, workload}) {
      if (p && p->mode != MtlsMode::kUnset) {
        effective.mode = p->mode;
        effective.source = nameOf(*p);
      }
    }
    if (workload)
      for (const auto& [port, mode] : workload->portLevelMtls)
        effective.ports[port] = mode == MtlsMode::kUnset ? effective.mode : mode;
    result.push_back(std::move(effective));
  }
  return result;
}

void PeerAuthEnforcement::reconcile(const config::Snapshot& snapshot) {
  failures_.clear();
  pods_ = nlohmann::json::array();
  std::vector<bpf::PortMtls> modes;
  std::set<int> strictInterfaces;
  bool anyPermissive = false;
  for (const auto& effective : effectivePeerAuthentication(snapshot, node_)) {
    const config::Pod& pod = *effective.pod;
    nlohmann::json ports = nlohmann::json::object();
    for (const auto& [port, mode] : effective.ports) ports[std::to_string(port)] = config::mtlsModeName(mode);
    nlohmann::json entry{{"pod", pod.meta.namespace_ + "/" + pod.meta.name},
                         {"mode", config::mtlsModeName(effective.mode)},
                         {"ports", ports},
                         {"policy", effective.source}};
    bool strict = effective.mode == MtlsMode::kStrict;
    anyPermissive = anyPermissive || effective.mode == MtlsMode::kPermissive;
    for (const auto& [port, mode] : effective.ports) {
      strict = strict || mode == MtlsMode::kStrict;
      anyPermissive = anyPermissive || mode == MtlsMode::kPermissive;
    }
    for (const auto& ip : pod.podIPs) {
      in_addr v4{};
      if (inet_pton(AF_INET, ip.c_str(), &v4) != 1) continue;  // IPv4 only, as capture
      in6_addr address = v4Mapped(v4);
      modes.push_back({.address = address, .port = 0, .mode = toKernel(effective.mode)});
      for (const auto& [port, mode] : effective.ports)
        modes.push_back({.address = address, .port = port, .mode = toKernel(mode)});
      if (!strict) continue;
      auto ifindex = routeInterface(v4);
      if (!ifindex) {
        failures_.push_back(entry["pod"].get<std::string>() + ": its veth: " + ifindex.error().describe());
        continue;
      }
      strictInterfaces.insert(*ifindex);
      char name[IF_NAMESIZE] = {};
      entry["interface"] = if_indextoname(*ifindex, name) ? name : std::to_string(*ifindex);
    }
    pods_.push_back(std::move(entry));
  }
  // PERMISSIVE plaintext can arrive on any interface of the node.
  std::set<int> permissiveInterfaces;
  if (anyPermissive) {
    if (auto ok = ensureLocalDelivery(kLocalDelivery); ok) routingInstalled_ = true;
    else failures_.push_back("policy routing for PERMISSIVE: " + ok.error().describe());
    if (struct if_nameindex* list = ::if_nameindex()) {
      for (auto* i = list; i->if_index != 0; ++i)
        if (std::string_view(i->if_name) != "lo") permissiveInterfaces.insert(static_cast<int>(i->if_index));
      if_freenameindex(list);
    }
  }
  if (auto ok = hooks_.setModes(modes); !ok) failures_.push_back(ok.error().describe());
  if (auto ok = hooks_.attach(strictInterfaces, permissiveInterfaces); !ok) failures_.push_back(ok.error().describe());
  for (const auto& failure : failures_) log::warn("peerauth", "{}", failure);
}

PeerAuthEnforcement::~PeerAuthEnforcement() {
  if (routingInstalled_ && !keep_) removeLocalDelivery(kLocalDelivery);
}

nlohmann::json PeerAuthEnforcement::toJson() const {
  nlohmann::json out{{"pods", pods_}, {"failures", failures_}};
  if (auto counters = hooks_.counters()) {
    out["strictDropped"] = counters->strictDropped;
    out["strictAllowed"] = counters->strictAllowed;
    out["intercepted"] = counters->intercepted;
    out["noListener"] = counters->noListener;
    out["strictNodeAllowed"] = counters->strictNodeAllowed;
  }
  out["links"] = hooks_.attachedLinks();
  return out;
}

}  // namespace weft::redirect

#include "workload_peer.h"

#include <algorithm>
#include <charconv>
#include <initializer_list>
#include <tuple>

#include "service_selection.h"

namespace weft::runtime {

namespace {

const std::string* label(const config::Pod& pod, std::initializer_list<const char*> keys) {
  for (const char* key : keys)
    if (auto it = pod.meta.labels.find(key); it != pod.meta.labels.end() && !it->second.empty()) return &it->second;
  return nullptr;
}

}  // namespace

std::string workloadName(const config::Pod& pod) {
  const std::string& name = pod.meta.name;
  if (const std::string* hash = label(pod, {"pod-template-hash"})) {
    // <deployment>-<hash>-<suffix>
    std::size_t last = name.rfind('-');
    if (last != std::string::npos && last > 0) {
      std::size_t before = name.rfind('-', last - 1);
      if (before != std::string::npos && name.compare(before + 1, last - before - 1, *hash) == 0)
        return name.substr(0, before);
    }
  }
  return name;
}

telemetry::Peer workloadPeer(const config::Pod& pod, const config::Snapshot& snapshot, const identity::SpiffeId& id) {
  telemetry::Peer peer;
  peer.workload = workloadName(pod);
  peer.namespace_ = pod.meta.namespace_;
  peer.principal = id.uri();
  peer.pod = pod.meta.namespace_ + "/" + pod.meta.name;
  if (const std::string* app = label(pod, {"app"})) peer.app = *app;
  if (const std::string* version = label(pod, {"version"})) peer.version = *version;
  const std::string* canonical = label(pod, {"service.istio.io/canonical-name", "app.kubernetes.io/name", "app"});
  peer.canonicalService = canonical ? *canonical : peer.workload;
  if (const std::string* revision =
          label(pod, {"service.istio.io/canonical-revision", "app.kubernetes.io/version", "version"}))
    peer.canonicalRevision = *revision;
  // Several Services may select the pod: the first by name, so that labels are stable.
  const config::Service* chosen = nullptr;
  for (const auto& service : snapshot.services) {
    if (!serviceSelects(service, pod)) continue;
    if (!chosen || service.meta.name < chosen->meta.name) chosen = &service;
    for (const auto& port : service.ports) {
      // A named targetPort needs the container's ports, which the agent does not keep.
      unsigned target = port.port;
      if (!port.targetPort.empty()) {
        auto [end, ec] = std::from_chars(port.targetPort.data(), port.targetPort.data() + port.targetPort.size(), target);
        if (ec != std::errc() || end != port.targetPort.data() + port.targetPort.size() || target == 0 || target > 65535)
          continue;
      }
      peer.portServices.push_back({static_cast<std::uint16_t>(target),
                                   service.meta.name + "." + service.meta.namespace_ + ".svc.cluster.local",
                                   service.meta.name, service.meta.namespace_});
    }
  }
  // Stable whatever the snapshot's order: by port, then Service name.
  std::sort(peer.portServices.begin(), peer.portServices.end(),
            [](const auto& a, const auto& b) { return std::tie(a.port, a.name) < std::tie(b.port, b.name); });
  if (chosen) {
    peer.serviceName = chosen->meta.name;
    peer.serviceNamespace = chosen->meta.namespace_;
    peer.service = chosen->meta.name + "." + chosen->meta.namespace_ + ".svc.cluster.local";
  }
  return peer;
}

}  // namespace weft::runtime

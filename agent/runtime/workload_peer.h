// How metrics and access logs name a pod, by Istio's rules, so that
// dashboards built on Istio's labels group weft's series the same way.
#pragma once

#include <string>

#include "weft/config/snapshot.h"
#include "weft/identity/spiffe_id.h"
#include "weft/telemetry/peer.h"

namespace weft::runtime {

// The workload a pod belongs to: a Deployment's pod "web-7d4f8b9c6d-x2x9q"
// (label pod-template-hash 7d4f8b9c6d) is workload "web"; other pods are
// their own workload.
[[nodiscard]] std::string workloadName(const config::Pod& pod);

// Canonical service and revision from the labels Istio reads
// (service.istio.io/canonical-*, app.kubernetes.io/*, app, version), the
// first Service that selects the pod, and its SPIFFE ID.
[[nodiscard]] telemetry::Peer workloadPeer(const config::Pod& pod, const config::Snapshot& snapshot,
                                           const identity::SpiffeId& id);

}  // namespace weft::runtime

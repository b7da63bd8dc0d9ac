// Who is at either end of a proxied connection, as metrics and access logs
// name them. The label names and their defaults are Istio's, so that
// dashboards and Kiali built on istio_requests_total read weft's metrics.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "weft/common/socket_address.h"

namespace weft::telemetry {

// A Service that reaches a pod's port (its numeric targetPort).
struct PortService {
  std::uint16_t port = 0;
  std::string service;  // name.ns.svc.cluster.local
  std::string name;
  std::string namespace_;
};

struct Peer {
  std::string workload = "unknown";   // the Deployment-style owner's name, else the pod's
  std::string namespace_ = "unknown";
  std::string principal = "unknown";  // SPIFFE ID; "unknown" without a proven identity
  std::string app = "unknown";        // label app
  std::string version = "unknown";    // label version
  std::string canonicalService = "unknown";
  std::string canonicalRevision = "latest";
  std::string service = "unknown";    // FQDN of a Service selecting the pod: name.ns.svc.cluster.local
  std::string serviceName = "unknown";
  std::string serviceNamespace = "unknown";
  // Services by the pod port they reach: a destination is named by the
  // Service of the port it was dialled on (else the first by name, above).
  std::vector<PortService> portServices;
  std::string pod;                    // "namespace/name", for access logs (never a label: unbounded)
};

enum class Reporter : unsigned char { kSource, kDestination };

// One connection's ends as this proxy knows them.
struct FlowEnds {
  Peer source;
  Peer destination;
  std::optional<SocketAddress> sourceAddress;
  SocketAddress destinationAddress;
  bool mutualTls = false;  // carried in a tunnel between nodes (connection_security_policy)
  // Which proxies' views this one reports: the source's (the connection
  // left a pod of this node), the destination's (it reached one), or both
  // (between two pods of this node).
  bool reportsSource = false;
  bool reportsDestination = false;
};

}  // namespace weft::telemetry

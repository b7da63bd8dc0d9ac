// What the destination node decides for a connection to one of its pods:
// whether it is admitted (AuthorizationPolicy at L4) and which L7 filter, if
// any, handles its bytes (HTTP/1.1, HTTP/2 with per-request authorization).
// The agent implements it from its config (policy and http modules); the
// proxy asks once per connection, on the worker thread, without locks.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "weft/common/socket_address.h"
#include "weft/http/request_observer.h"
#include "weft/http/stream_filter.h"
#include "weft/identity/spiffe_id.h"
#include "weft/proxy/mesh_directory.h"

namespace weft::proxy {

struct InboundConnection {
  std::optional<SocketAddress> source;  // the client's address, when known and credible
  SocketAddress destination;            // the pod's ip:port
  const MeshWorkload* workload = nullptr;  // the destination pod
  // Proven by the tunnel's mTLS (or the enrolled pod of this node that
  // connected); none for plaintext accepted in PERMISSIVE mode.
  std::optional<identity::SpiffeId> sourceIdentity;
  // Hears of each HTTP request the connection's filter handles (metrics,
  // access logs); outlives the filter. May be null.
  http::RequestObserver* observer = nullptr;
};

struct InboundPlan {
  bool admitted = true;
  std::string reason;                          // why not admitted: the deciding policy, for logs
  std::unique_ptr<http::StreamFilter> filter;  // null: the bytes pass as they are
};

class InboundPolicy {
 public:
  virtual ~InboundPolicy() = default;
  [[nodiscard]] virtual InboundPlan plan(const InboundConnection& connection) const = 0;
};

}  // namespace weft::proxy

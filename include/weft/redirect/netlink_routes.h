// The few rtnetlink requests PeerAuthentication needs, made directly (no
// iproute2 in the agent's image): where the node routes a pod's address
// (its veth), and the policy routing that delivers intercepted plaintext
// locally (rule fwmark M lookup T; route local 0.0.0.0/0 dev lo table T).
#pragma once

#include <netinet/in.h>

#include <cstdint>

#include "weft/common/error.h"

namespace weft::redirect {

// The interface the node's routing sends `destination` out of.
[[nodiscard]] Result<int> routeInterface(in_addr destination);

struct LocalDelivery {
  std::uint32_t mark;
  std::uint32_t table;
  std::uint32_t priority;
};
// Idempotent: an existing rule or route is fine.
[[nodiscard]] Status ensureLocalDelivery(const LocalDelivery& delivery);
void removeLocalDelivery(const LocalDelivery& delivery);

}  // namespace weft::redirect

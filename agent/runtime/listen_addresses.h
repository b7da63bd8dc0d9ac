// The addresses an agent listens on, checked against each other before any is
// bound. Every listener of an agent joins an SO_REUSEPORT group, so that a
// successor agent can bind the same addresses during a hand-over; the kernel
// therefore no longer refuses two of one agent's own listeners on one
// address (--metrics-addr equal to --admin-addr would share the port
// silently, each answering half the connections). This check does instead.
#pragma once

#include <string>
#include <vector>

#include "weft/common/error.h"
#include "weft/common/socket_address.h"

namespace weft::runtime {

struct ListenAddress {
  std::string flag;  // how the user set it, e.g. "--metrics-addr"
  SocketAddress address;
};

// An error naming both flags when two addresses overlap: the same port, and
// the same IP or a wildcard (0.0.0.0, ::) on either side.
[[nodiscard]] Status checkDistinctListeners(const std::vector<ListenAddress>& listeners);

}  // namespace weft::runtime

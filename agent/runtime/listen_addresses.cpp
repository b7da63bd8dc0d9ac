#include "listen_addresses.h"

#include <netinet/in.h>

#include <cstring>

namespace weft::runtime {
namespace {

bool isWildcard(const SocketAddress& a) {
  if (a.family() == AF_INET)
    return reinterpret_cast<const sockaddr_in*>(&a.storage)->sin_addr.s_addr == htonl(INADDR_ANY);
  if (a.family() == AF_INET6) {
    const in6_addr& ip = reinterpret_cast<const sockaddr_in6*>(&a.storage)->sin6_addr;
    return std::memcmp(&ip, &in6addr_any, sizeof ip) == 0;
  }
  return false;
}

bool sameIp(const SocketAddress& a, const SocketAddress& b) {
  if (a.family() != b.family()) return false;
  if (a.family() == AF_INET)
    return reinterpret_cast<const sockaddr_in*>(&a.storage)->sin_addr.s_addr ==
           reinterpret_cast<const sockaddr_in*>(&b.storage)->sin_addr.s_addr;
  return std::memcmp(&reinterpret_cast<const sockaddr_in6*>(&a.storage)->sin6_addr,
                     &reinterpret_cast<const sockaddr_in6*>(&b.storage)->sin6_addr, sizeof(in6_addr)) == 0;
}

// A wildcard of either family overlaps everything on its port (an IPv6
// wildcard takes IPv4 too unless IPV6_V6ONLY, which the agent does not set).
bool overlap(const SocketAddress& a, const SocketAddress& b) {
  return a.port() == b.port() && (isWildcard(a) || isWildcard(b) || sameIp(a, b));
}

}  // namespace

Status checkDistinctListeners(const std::vector<ListenAddress>& listeners) {
  for (std::size_t i = 0; i < listeners.size(); ++i)
    for (std::size_t j = i + 1; j < listeners.size(); ++j)
      if (overlap(listeners[i].address, listeners[j].address))
        return fail(ErrorCode::kInvalidArgument,
                    listeners[j].flag + " " + listeners[j].address.toString() + ": Address already in use (by " +
                        listeners[i].flag + " " + listeners[i].address.toString() + " of this agent)");
  return {};
}

}  // namespace weft::runtime

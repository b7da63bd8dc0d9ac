#include "bpf_steering.h"

#include <arpa/inet.h>


namespace weft::runtime {
namespace {

bpf::Endpoint toEndpoint(const SocketAddress& address) {
  bpf::Endpoint e;
  e.port = address.port();
  if (address.family() == AF_INET)
    e.address = v4Mapped(reinterpret_cast<const sockaddr_in*>(&address.storage)->sin_addr);
  else
    e.address = reinterpret_cast<const sockaddr_in6*>(&address.storage)->sin6_addr;
  return e;
}

SocketAddress toSocketAddress(const bpf::Endpoint& e) {
  SocketAddress out;
  if (auto v4 = v4Unmapped(e.address)) {
    auto* sin = reinterpret_cast<sockaddr_in*>(&out.storage);
    sin->sin_family = AF_INET;
    sin->sin_port = htons(e.port);
    sin->sin_addr = *v4;
    out.length = sizeof(sockaddr_in);
  } else {
    auto* sin6 = reinterpret_cast<sockaddr_in6*>(&out.storage);
    sin6->sin6_family = AF_INET6;
    sin6->sin6_port = htons(e.port);
    sin6->sin6_addr = e.address;
    out.length = sizeof(sockaddr_in6);
  }
  return out;
}

bpf::SocketTuple toTuple(const proxy::SocketTuple& t) { return {toEndpoint(t.local), toEndpoint(t.remote)}; }
bpf::SocketTuple reversed(const bpf::SocketTuple& t) { return {t.remote, t.local}; }

}  // namespace

std::optional<SocketAddress> BpfSteering::takeOriginalDestination(const SocketAddress& client) {
  auto original = hooks_.takeOriginalDestination(toEndpoint(client));
  if (!original) return std::nullopt;
  return toSocketAddress(*original);
}

// Joining is safe only when all four sockets are in the sockhash: the proxy's
// own sends must land in the peer app's queue synchronously, or a byte sent
// directly could overtake one still in the proxy's send queue.
bool BpfSteering::canJoin(const proxy::SocketTuple& clientApp, const proxy::SocketTuple& serverApp) {
  auto a = toTuple(clientApp);
  auto b = toTuple(serverApp);
  return hooks_.inSockhash(a) && hooks_.inSockhash(reversed(a)) && hooks_.inSockhash(b) &&
         hooks_.inSockhash(reversed(b));
}

bool BpfSteering::requestJoin(const proxy::SocketTuple& clientApp, const proxy::SocketTuple& serverApp) {
  return hooks_.requestRelayJoin(toTuple(clientApp), toTuple(serverApp)).has_value();
}

void BpfSteering::reportForwarded(const proxy::SocketTuple& fromApp, const proxy::SocketTuple& toApp,
                                  std::uint64_t totalBytes) {
  (void)hooks_.reportForwarded(toTuple(fromApp), toTuple(toApp), totalBytes);
}

void BpfSteering::forgetJoin(const proxy::SocketTuple& clientApp, const proxy::SocketTuple& serverApp) {
  hooks_.forgetRelay(toTuple(clientApp), toTuple(serverApp));
}

}  // namespace weft::runtime

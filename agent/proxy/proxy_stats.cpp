#include "weft/proxy/proxy_stats.h"

namespace weft::proxy {

namespace {

// How the kernel spread connections over the workers' SO_REUSEPORT listeners.
nlohmann::json perWorker(const ProxyCounters* const* workers, std::size_t count) {
  nlohmann::json list = nlohmann::json::array();
  for (std::size_t i = 0; i < count; ++i)
    list.push_back({{"accepted", workers[i]->accepted.load(std::memory_order_relaxed)},
                    {"active", workers[i]->active.load(std::memory_order_relaxed)},
                    {"inboundPlaintextAccepted", workers[i]->inboundPlaintextAccepted.load(std::memory_order_relaxed)},
                    {"tunnelsAccepted", workers[i]->tunnelsAccepted.load(std::memory_order_relaxed)}});
  return list;
}

}  // namespace

nlohmann::json toJson(const ProxyCounters* const* workers, std::size_t count) {
  auto sum = [&](auto member) {
    std::uint64_t total = 0;
    for (std::size_t i = 0; i < count; ++i) total += (workers[i]->*member).load(std::memory_order_relaxed);
    return total;
  };
  return {
      {"connections", {{"accepted", sum(&ProxyCounters::accepted)},
                       {"active", sum(&ProxyCounters::active)},
                       {"closed", sum(&ProxyCounters::closed)},
                       {"resets", sum(&ProxyCounters::resets)},
                       {"idleTimeouts", sum(&ProxyCounters::idleTimeouts)},
                       {"notCaptured", sum(&ProxyCounters::notCaptured)}}},
      {"bytes", {{"fromClients", sum(&ProxyCounters::bytesFromClients)},
                 {"fromUpstreams", sum(&ProxyCounters::bytesFromUpstreams)}}},
      {"connectFailures", {{"refused", sum(&ProxyCounters::connectRefused)},
                           {"timeout", sum(&ProxyCounters::connectTimeout)},
                           {"unreachable", sum(&ProxyCounters::connectUnreachable)},
                           {"other", sum(&ProxyCounters::connectOther)}}},
      {"fastPath", {{"relaysJoined", sum(&ProxyCounters::relaysJoined)}}},
      {"io", {{"bufferWaits", sum(&ProxyCounters::bufferWaits)}, {"ringOverflows", sum(&ProxyCounters::ringOverflows)}}},
      {"inboundPlaintextAccepted", sum(&ProxyCounters::inboundPlaintextAccepted)},
      {"tunnelsOpened", sum(&ProxyCounters::tunnelsOpened)},
      {"tunnelsAccepted", sum(&ProxyCounters::tunnelsAccepted)},
      {"tunnelHandshakeFailures", sum(&ProxyCounters::tunnelHandshakeFailures)},
      {"tunnelPeerRejected", sum(&ProxyCounters::tunnelPeerRejected)},
      {"streamsOpened", sum(&ProxyCounters::streamsOpened)},
      {"streamsAccepted", sum(&ProxyCounters::streamsAccepted)},
      {"streamsReset", sum(&ProxyCounters::streamsReset)},
      {"streamsRefused", sum(&ProxyCounters::streamsRefused)},
      {"streamsDenied", sum(&ProxyCounters::streamsDenied)},
      {"connectionsDenied", sum(&ProxyCounters::connectionsDenied)},
      {"perWorker", perWorker(workers, count)},
  };
}

}  // namespace weft::proxy

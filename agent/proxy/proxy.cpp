#include "weft/proxy/proxy.h"

#include <vector>

#include "weft/common/log.h"
#include "worker.h"

namespace weft::proxy {

struct Proxy::Impl {
  std::vector<std::unique_ptr<Worker>> workers;
};

Proxy::Proxy(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Proxy::~Proxy() = default;

Result<std::unique_ptr<Proxy>> Proxy::start(const ProxyOptions& options, const io::UringFeatures& features,
                                            KernelSteering& steering) {
  // What the relay cannot work without; multishot accept is optional (the
  // worker falls back to one accept at a time).
  const std::pair<bool, const char*> required[] = {
      {features.providedBufferRing, "provided buffer rings (IORING_REGISTER_PBUF_RING, 5.19)"},
      {features.linkTimeout, "IORING_OP_LINK_TIMEOUT (connect timeouts)"},
      {features.shutdown, "IORING_OP_SHUTDOWN (half-close)"},
      {features.socketCancelAll, "IORING_ASYNC_CANCEL_FD|ALL (closing a relay, 5.19)"},
  };
  for (const auto& [present, what] : required)
    if (!present) return fail(ErrorCode::kUnsupported, std::string("the proxy needs io_uring ") + what);
  if (!features.multishotAccept) log::warn("proxy", "no multishot accept: accepting one connection per submission");
  auto impl = std::make_unique<Impl>();
  // Bind every listener first: a port in use fails the start, not a worker.
  for (unsigned i = 0; i < options.workers; ++i) {
    auto worker = Worker::create(i, options, features, steering);
    if (!worker) return std::unexpected(worker.error());
    impl->workers.push_back(std::move(*worker));
  }
  for (auto& worker : impl->workers)
    if (auto ok = worker->start(); !ok) return std::unexpected(ok.error());
  log::info("proxy", "outbound listener {} with {} worker(s); io_uring {}", options.outboundListen.toString(),
            options.workers, features.describe());
  if (options.mesh) log::info("proxy", "tunnel listener {} (mTLS, HTTP/2 CONNECT)", options.mesh->tunnelListen.toString());
  if (options.inboundListen) log::info("proxy", "inbound plaintext listener {}", options.inboundListen->toString());
  return std::unique_ptr<Proxy>(new Proxy(std::move(impl)));
}

nlohmann::json Proxy::tunnels() const {
  nlohmann::json list = nlohmann::json::array();
  for (const auto& worker : impl_->workers)
    for (auto& tunnel : worker->tunnels()) list.push_back(std::move(tunnel));
  return {{"tunnels", std::move(list)}};
}

nlohmann::json Proxy::connections() const {
  nlohmann::json list = nlohmann::json::array();
  std::vector<std::future<nlohmann::json>> answers;
  for (const auto& worker : impl_->workers) answers.push_back(worker->describeConnections());
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
  std::size_t silent = 0;  // a worker stuck for seconds is news in itself
  for (std::size_t i = 0; i < answers.size(); ++i) {
    if (answers[i].wait_until(deadline) != std::future_status::ready) {
      impl_->workers[i]->forgetDescribe();
      ++silent;
      continue;
    }
    for (auto& c : answers[i].get()) list.push_back(std::move(c));
  }
  return {{"connections", std::move(list)}, {"workersNotAnswering", silent}};
}

void Proxy::stopAccepting() {
  std::vector<std::future<void>> done;
  for (auto& worker : impl_->workers) done.push_back(worker->stopAccepting());
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
  for (auto& d : done) d.wait_until(deadline);
}

std::uint64_t Proxy::activeRelays() const {
  std::uint64_t active = 0;
  for (const auto& worker : impl_->workers) active += worker->counters().active.load(std::memory_order_relaxed);
  return active;
}

int Proxy::inboundListenerFd() const { return impl_->workers.empty() ? -1 : impl_->workers[0]->inboundListenerFd(); }

nlohmann::json Proxy::stats() const {
  std::vector<const ProxyCounters*> counters;
  for (const auto& worker : impl_->workers) counters.push_back(&worker->counters());
  auto json = toJson(counters.data(), counters.size());
  json["workers"] = impl_->workers.size();
  return json;
}

}  // namespace weft::proxy

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
  if (!features.providedBufferRing)
    return fail(ErrorCode::kUnsupported, "io_uring buffer rings (kernel 5.19+) are required by the proxy");
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
  return std::unique_ptr<Proxy>(new Proxy(std::move(impl)));
}

nlohmann::json Proxy::stats() const {
  std::vector<const ProxyCounters*> counters;
  for (const auto& worker : impl_->workers) counters.push_back(&worker->counters());
  auto json = toJson(counters.data(), counters.size());
  json["workers"] = impl_->workers.size();
  return json;
}

}  // namespace weft::proxy

// churn: a new TCP connection per request, C in flight at once. The server
// closes first (one-shot header flag), so the client's ports do not pile up
// in TIME_WAIT and a long run does not exhaust them.
#include <barrier>
#include <memory>
#include <thread>
#include <vector>

#include "weft-bench/file_limit.h"
#include "weft-bench/command_support.h"
#include "weft-bench/commands.h"
#include "weft-bench/load_worker.h"
#include "weft-bench/report.h"
#include "weft/common/log.h"

namespace weft::bench {

int runChurn(const ChurnOptions& o) {
  const std::string_view mode = "churn";
  const ClientOptions& c = o.client;
  if (auto ok = ensureFileLimit(o.connections + 64ULL); !ok) return emitFailure(mode, ok.error());
  std::uint64_t seed = chooseSeed(c);
  armDeadline(std::string(mode), overallDeadline(c, o.durationSeconds));
  unsigned threads = workerThreads(c.threads, o.connections);
  log::info("churn", "{} connection(s) in flight to {} for {} s in {} thread(s)", o.connections, c.connect,
            o.durationSeconds, threads);

  LoadSpec spec{c.address, o.requestSize, o.responseSize, millis(c.connectTimeoutMs), millis(c.ioTimeoutMs), seed};
  auto perWorker = splitEvenly(o.connections, threads);
  std::vector<std::unique_ptr<LoadWorker>> workers;
  std::size_t first = 0;
  for (unsigned i = 0; i < threads; ++i) {
    workers.push_back(std::make_unique<LoadWorker>(spec, first, perWorker[i]));
    first += perWorker[i];
  }
  Nanos start = 0;
  std::barrier sync(threads, [&]() noexcept { start = nowNs(); });
  std::vector<std::thread> pool;
  for (unsigned i = 0; i < threads; ++i) {
    pool.emplace_back([&, i] {
      sync.arrive_and_wait();
      workers[i]->runChurn(start + secondsToNs(o.durationSeconds));
    });
  }
  for (auto& t : pool) t.join();
  double seconds = nsToSeconds(nowNs() - start);

  LoadStats total;
  for (auto& w : workers) total.merge(w->stats());
  Report report{{"mode", mode},
                        {"concurrency", o.connections},
                        {"connections", total.finished},
                        {"errors", total.errors},
                        {"seconds", seconds},
                        {"cps", seconds > 0 ? static_cast<double>(total.finished) / seconds : 0.0},
                        {"request_size", o.requestSize},
                        {"response_size", o.responseSize},
                        {"latency_us", latencyJson(total.latency)},
                        {"connect_us", latencyJson(total.connectLatency)},
                        {"seed", seed}};
  return emitOutcome(report, total.firstError ? &*total.firstError : nullptr);
}

}  // namespace weft::bench

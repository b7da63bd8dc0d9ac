// rr: request/response load. Closed loop: each connection sends its next
// request when the previous response is complete. Open loop (--rate): requests
// fall due on a fixed schedule and latency counts from when a request was
// due, so a stall shows in the percentiles instead of just slowing the load
// (coordinated omission).
#include <atomic>
#include <barrier>
#include <fmt/format.h>
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

int runRr(const RrOptions& o) {
  const std::string_view mode = "rr";
  const ClientOptions& c = o.client;
  if (auto ok = ensureFileLimit(o.connections + 64ULL); !ok) return emitFailure(mode, ok.error());
  std::uint64_t seed = chooseSeed(c);
  bool timeBound = o.requests == 0;
  armDeadline(std::string(mode), overallDeadline(c, timeBound ? o.warmupSeconds + o.durationSeconds : 0));
  unsigned threads = workerThreads(c.threads, o.connections);
  log::info("rr", "{} connection(s) to {} in {} thread(s), {}", o.connections, c.connect, threads,
            o.rate > 0 ? fmt::format("open loop at {} requests/s", o.rate) : std::string("closed loop"));

  LoadSpec spec{c.address, o.requestSize, o.responseSize, millis(c.connectTimeoutMs), millis(c.ioTimeoutMs), seed};
  auto perWorker = splitEvenly(o.connections, threads);
  auto quotas = splitEvenly(o.requests, threads);
  std::vector<std::unique_ptr<LoadWorker>> workers;
  std::size_t first = 0;
  for (unsigned i = 0; i < threads; ++i) {
    workers.push_back(std::make_unique<LoadWorker>(spec, first, perWorker[i]));
    first += perWorker[i];
  }

  std::atomic<std::uint64_t> connectErrors{0};
  Nanos start = 0;
  std::barrier sync(threads, [&]() noexcept { start = nowNs(); });
  std::vector<std::thread> pool;
  for (unsigned i = 0; i < threads; ++i) {
    pool.emplace_back([&, i] {
      LoadWorker& w = *workers[i];
      w.connectAll();
      connectErrors += w.stats().errors;
      sync.arrive_and_wait();
      if (connectErrors == 0) {  // a run that cannot connect everything has failed already
        LoadPlan plan;
        plan.start = start;
        plan.warmupEnd = start + secondsToNs(o.warmupSeconds);
        plan.end = timeBound ? plan.warmupEnd + secondsToNs(o.durationSeconds) : INT64_MAX;
        plan.quota = timeBound ? UINT64_MAX : quotas[i];
        plan.rate = o.rate * static_cast<double>(perWorker[i]) / o.connections;
        w.runLoad(plan);
      }
      w.closeAll();
    });
  }
  for (auto& t : pool) t.join();

  LoadStats total;
  for (auto& w : workers) total.merge(w->stats());
  Nanos warmupEnd = start + secondsToNs(o.warmupSeconds);
  double seconds = connectErrors > 0 ? 0
                   : timeBound     ? o.durationSeconds
                             : (total.lastCompletion > warmupEnd ? nsToSeconds(total.lastCompletion - warmupEnd) : 0);
  Report report{{"mode", mode},
                        {"loop", o.rate > 0 ? "open" : "closed"},
                        {"connections", o.connections},
                        {"established", total.established},
                        {"threads", threads},
                        {"request_size", o.requestSize},
                        {"response_size", o.responseSize},
                        {"seconds", seconds},
                        {"requests", total.requests},
                        {"errors", total.errors},
                        {"rps", seconds > 0 ? static_cast<double>(total.requests) / seconds : 0.0},
                        {"latency_us", latencyJson(total.latency)},
                        {"seed", seed}};
  if (o.rate > 0) {
    report["target_rps"] = o.rate;
    report["unsent"] = total.unsent;
  }
  return emitOutcome(report, total.firstError ? &*total.firstError : nullptr);
}

}  // namespace weft::bench

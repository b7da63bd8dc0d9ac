// idle: N connections, each checked with one round trip, then held idle
// (tests restart or reconfigure the mesh meanwhile), then each checked again.
// "ready N" on stderr tells a waiting test that all N are up.
#include <signal.h>
#include <sys/signalfd.h>

#include <cstdio>

#include "weft-bench/file_limit.h"
#include "weft-bench/command_support.h"
#include "weft-bench/commands.h"
#include "weft-bench/load_worker.h"
#include "weft-bench/report.h"
#include "weft/common/log.h"
#include "weft/common/unique_fd.h"

namespace weft::bench {

int runIdle(const IdleOptions& o) {
  const std::string_view mode = "idle";
  const ClientOptions& c = o.client;
  if (auto ok = ensureFileLimit(o.connections + 64ULL); !ok) return emitFailure(mode, ok.error());
  // Blocked before any thread starts, so that only the signalfd sees them.
  sigset_t stopSignals;
  sigemptyset(&stopSignals);
  sigaddset(&stopSignals, SIGINT);
  sigaddset(&stopSignals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stopSignals, nullptr);
  UniqueFd stop(::signalfd(-1, &stopSignals, SFD_CLOEXEC | SFD_NONBLOCK));
  std::uint64_t seed = chooseSeed(c);
  armDeadline(std::string(mode), overallDeadline(c, o.holdSeconds + 30));

  // One thread: holding costs nothing, and 10,000 round trips take well under a second.
  LoadSpec spec{c.address, 64, 64, millis(c.connectTimeoutMs), millis(c.ioTimeoutMs), seed};
  LoadWorker worker(spec, 0, o.connections);
  Report report{{"mode", mode},         {"connections", o.connections}, {"established", 0},
                {"verified_at_end", 0},  {"errors", 0},                  {"held_seconds", 0.0},
                {"interrupted", false}, {"seed", seed}};
  auto finish = [&](LoadStats& stats) {
    report["established"] = stats.established;
    report["errors"] = stats.errors;
    return emitOutcome(report, stats.firstError ? &*stats.firstError : nullptr);
  };

  worker.connectAll();
  if (worker.stats().errors == 0) worker.roundTripAll();
  if (worker.stats().errors > 0) {
    worker.closeAll();
    return finish(worker.stats());
  }
  std::fprintf(stderr, "ready %u\n", o.connections);
  std::fflush(stderr);
  Nanos heldFrom = nowNs();
  worker.hold(heldFrom + secondsToNs(o.holdSeconds), stop.get());
  report["held_seconds"] = nsToSeconds(nowNs() - heldFrom);
  report["interrupted"] = worker.stopRequested();
  worker.roundTripAll();
  report["verified_at_end"] = worker.open();
  worker.closeAll();
  return finish(worker.stats());
}

}  // namespace weft::bench

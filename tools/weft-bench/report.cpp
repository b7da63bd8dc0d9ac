#include "weft-bench/report.h"

#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <fmt/format.h>
#include <thread>

namespace weft::bench {
namespace {

std::atomic<bool> gReported{false};

void print(const Report& report) {
  std::string text = report.dump() + "\n";
  std::fwrite(text.data(), 1, text.size(), stdout);
  std::fflush(stdout);
}

}  // namespace

int emitReport(const Report& report, int exitCode) {
  if (gReported.exchange(true)) {
    for (;;) ::pause();  // the deadline's report is out; its thread exits the process
  }
  print(report);
  return exitCode;
}

int emitFailure(std::string_view mode, const RunError& error) {
  Report report{{"mode", mode}};
  addErrorFields(report, error);
  std::fprintf(stderr, "weft-bench %.*s: %s\n", static_cast<int>(mode.size()), mode.data(), error.message.c_str());
  return emitReport(report, exitCodeFor(error.kind));
}

void armDeadline(std::string mode, Nanos after) {
  std::thread([mode = std::move(mode), after] {
    std::this_thread::sleep_for(std::chrono::nanoseconds(after));
    if (gReported.exchange(true)) return;
    RunError error = timeoutFailure("deadline", fmt::format("overall deadline of {:.3g} s exceeded", nsToSeconds(after)));
    Report report{{"mode", mode}};
    addErrorFields(report, error);
    std::fprintf(stderr, "weft-bench %s: %s\n", mode.c_str(), error.message.c_str());
    print(report);
    std::fflush(stderr);
    std::_Exit(kExitTimeout);
  }).detach();
}

int emitOutcome(Report& report, const RunError* firstError) {
  if (!firstError) return emitReport(report, kExitOk);
  addErrorFields(report, *firstError);
  return emitReport(report, exitCodeFor(firstError->kind));
}

}  // namespace weft::bench

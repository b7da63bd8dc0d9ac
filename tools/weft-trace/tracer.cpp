#include "weft-trace/tracer.h"

#include <poll.h>
#include <signal.h>
#include <sys/signalfd.h>

#include <chrono>
#include <cstdio>
#include <memory>
#include <optional>
#include <vector>

#include "weft-trace/agent_events.h"
#include "weft-trace/event_printer.h"
#include "weft-trace/kernel_events.h"
#include "weft-trace/workload_feed.h"
#include "weft/common/unique_fd.h"

namespace weft::trace {
namespace {

using Clock = std::chrono::steady_clock;
constexpr auto kTick = std::chrono::seconds(1);  // heartbeat, lost counters, reconnects
constexpr auto kWorkloadRefresh = std::chrono::seconds(5);

void say(const std::string& message) { std::fprintf(stderr, "weft-trace: %s\n", message.c_str()); }

// SIGINT and SIGTERM as a readable fd; blocked before any thread starts, so
// that the workload thread never takes them. A shell starts background
// commands with SIGINT ignored, and an ignored signal never reaches a
// signalfd: back to the default first.
UniqueFd stopSignals() {
  ::signal(SIGINT, SIG_DFL);
  ::signal(SIGTERM, SIG_DFL);
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  return UniqueFd(::signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK));
}

class Run {
 public:
  Run(const TraceOptions& options)
      : options_(options), printer_(options.format, options.filter, options.count, stdout) {}

  int execute();

 private:
  [[nodiscard]] bool openKernel();
  void tick();
  void drainKernel();
  void onAgentReady(short revents);
  [[nodiscard]] bool finished(Clock::time_point now) const;
  void summary() const;

  const TraceOptions& options_;
  EventPrinter printer_;
  std::unique_ptr<WorkloadFeed> workloads_;
  std::unique_ptr<KernelEventSource> kernel_;
  std::optional<AgentEventStream> agent_;
  std::optional<Clock::time_point> deadline_;
  bool failed_ = false;
  bool reopenAnnounced_ = false;
};

bool Run::openKernel() {
  auto kernel = KernelEventSource::start(options_.bpffsDir, [this](FlowEvent e) { printer_.offer(std::move(e)); });
  if (!kernel) {
    say(kernel.error().message);
    return false;
  }
  kernel_ = std::move(*kernel);
  return true;
}

void Run::drainKernel() {
  if (!kernel_) return;
  if (auto ok = kernel_->drain(); !ok) {
    say(ok.error().message);
    failed_ = true;
  }
}

void Run::tick() {
  if (workloads_) {
    printer_.setNames(workloads_->current());
    for (const auto& n : workloads_->takeNotices()) say(n);
  }
  if (agent_) {
    agent_->maintain(Clock::now());
    for (const auto& n : agent_->takeNotices()) say(n);
  }
  if (kernel_ && kernel_->stale()) {
    say("the agent's event maps in " + options_.bpffsDir.string() +
        " were removed or replaced (the agent stopped or restarted); waiting for them");
    kernel_.reset();
    reopenAnnounced_ = true;
  }
  if (!kernel_ && reopenAnnounced_) {
    auto kernel = KernelEventSource::start(options_.bpffsDir, [this](FlowEvent e) { printer_.offer(std::move(e)); });
    if (kernel) {
      kernel_ = std::move(*kernel);
      reopenAnnounced_ = false;
      say("reading kernel events again");
    }
  }
  if (kernel_) {
    auto lost = kernel_->tick();
    if (!lost) {
      say(lost.error().message);
      failed_ = true;
    } else {
      printer_.lost(Origin::kKernel, *lost);
    }
  }
}

void Run::onAgentReady(short revents) {
  std::vector<AgentLine> lines;
  agent_->onReady(revents, lines);
  for (auto& line : lines) {
    if (auto* event = std::get_if<FlowEvent>(&line)) printer_.offer(std::move(*event));
    else if (auto* lost = std::get_if<AgentLost>(&line)) printer_.lost(Origin::kAgent, lost->count);
    else say(std::get<AgentLineError>(line).message);
  }
  for (const auto& n : agent_->takeNotices()) say(n);
}

bool Run::finished(Clock::time_point now) const {
  return failed_ || printer_.limitReached() || printer_.outputFailed() || (deadline_ && now >= *deadline_);
}

void Run::summary() const {
  const TraceCounts& c = printer_.counts();
  std::fprintf(stderr, "weft-trace: %llu events shown, %llu filtered out; lost: %llu kernel, %llu agent\n",
               static_cast<unsigned long long>(c.shown), static_cast<unsigned long long>(c.filteredOut),
               static_cast<unsigned long long>(c.lostKernel), static_cast<unsigned long long>(c.lostAgent));
}

int Run::execute() {
  UniqueFd signals = stopSignals();
  if (!signals.valid()) {
    say("cannot watch SIGINT/SIGTERM (signalfd)");
    return kExitFailure;
  }
  if (!options_.kernelOnly) {
    auto feed = WorkloadFeed::start(options_.admin, kWorkloadRefresh);
    if (!feed) {
      say(feed.error().message);
      return kExitFailure;
    }
    workloads_ = std::move(*feed);
    printer_.setNames(workloads_->current());
    for (const auto& n : workloads_->takeNotices()) say(n);
  }
  if (!openKernel()) return kExitFailure;
  if (!options_.kernelOnly) agent_.emplace(options_.admin);
  if (options_.durationSeconds)
    deadline_ = Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                   std::chrono::duration<double>(*options_.durationSeconds));
  say("tracing the flows of this node (kernel events from " + options_.bpffsDir.string() +
      (options_.kernelOnly ? "" : ", L7 events and pod names from " + options_.admin.toString()) +
      "); Ctrl-C stops");
  printer_.header();
  printer_.flush();

  bool stopped = false;
  auto nextTick = Clock::now();
  while (!stopped) {
    auto now = Clock::now();
    if (now >= nextTick) {
      tick();
      nextTick = now + kTick;
    }
    if (finished(now)) break;
    auto until = nextTick;
    if (deadline_ && *deadline_ < until) until = *deadline_;
    int timeoutMs = static_cast<int>(std::chrono::duration_cast<std::chrono::milliseconds>(until - now).count()) + 1;

    pollfd fds[3] = {{signals.get(), POLLIN, 0}, {-1, POLLIN, 0}, {-1, 0, 0}};
    if (kernel_) fds[1].fd = kernel_->fd();
    if (agent_ && agent_->fd() >= 0) fds[2] = {agent_->fd(), agent_->pollEvents(), 0};
    int n = ::poll(fds, 3, timeoutMs);
    if (n < 0 && errno != EINTR) {
      say("poll failed");
      failed_ = true;
      break;
    }
    if (n > 0 && (fds[0].revents & POLLIN)) stopped = true;
    if (n > 0 && (fds[1].revents & POLLIN)) drainKernel();
    if (n > 0 && fds[2].revents && agent_) onAgentReady(fds[2].revents);
    printer_.flush();
  }
  // Switch off first, then show what was already queued and what was lost.
  if (kernel_) {
    kernel_->stop();
    if (!printer_.limitReached()) drainKernel();
    if (auto lost = kernel_->tick(); lost) printer_.lost(Origin::kKernel, *lost);
    if (kernel_->undecodable() > 0)
      say(std::to_string(kernel_->undecodable()) + " kernel events could not be decoded");
  }
  printer_.flush();
  summary();
  return failed_ ? kExitFailure : 0;
}

}  // namespace

int runTrace(const TraceOptions& options) {
  Run run(options);
  return run.execute();
}

}  // namespace weft::trace

#include "weft-trace/workload_feed.h"

#include "admin_api/admin_client.h"

namespace weft::trace {
namespace {
constexpr auto kFetchTimeout = std::chrono::milliseconds(2000);
}

Result<WorkloadFeed::Fetched> WorkloadFeed::fetch() const {
  auto response = tools::adminExchange(admin_, "GET", "/workloads", kFetchTimeout);
  if (!response) return std::unexpected(response.error());
  if (response->status == 404)
    return Fetched{std::make_shared<const WorkloadNames>(),
                   "the agent at " + admin_.toString() + " has no /workloads; ends are shown by address"};
  if (response->status != 200)
    return fail(ErrorCode::kSystem, "GET /workloads from the agent at " + admin_.toString() + " answered " +
                                        std::to_string(response->status));
  auto workloads = parseWorkloads(response->body);
  if (!workloads) return std::unexpected(workloads.error());
  return Fetched{std::make_shared<const WorkloadNames>(std::move(*workloads)), ""};
}

Result<std::unique_ptr<WorkloadFeed>> WorkloadFeed::start(const SocketAddress& admin,
                                                          std::chrono::milliseconds period) {
  std::unique_ptr<WorkloadFeed> feed(new WorkloadFeed(admin, period));
  auto first = feed->fetch();
  if (!first)
    return fail(first.error().code, first.error().message +
                                        " (is the agent running in this network namespace? --admin, or --kernel-only)");
  feed->names_.store(first->names);
  if (!first->notice.empty()) feed->notice(first->notice);
  feed->thread_ = std::thread([f = feed.get()] { f->run(); });
  return feed;
}

WorkloadFeed::~WorkloadFeed() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void WorkloadFeed::notice(std::string message) {
  std::lock_guard lock(mutex_);
  notices_.push_back(std::move(message));
}

std::vector<std::string> WorkloadFeed::takeNotices() {
  std::lock_guard lock(mutex_);
  return std::exchange(notices_, {});
}

void WorkloadFeed::run() {
  for (;;) {
    {
      std::unique_lock lock(mutex_);
      if (wake_.wait_for(lock, period_, [this] { return stopping_; })) return;
    }
    auto fetched = fetch();
    if (fetched) {
      names_.store(fetched->names);
      failing_ = false;
    } else if (!failing_) {
      failing_ = true;  // said once; the last names stay in use
      notice("refreshing pod names: " + fetched.error().message + "; keeping the last list");
    }
  }
}

}  // namespace weft::trace

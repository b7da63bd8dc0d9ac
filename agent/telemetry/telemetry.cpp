#include "weft/telemetry/telemetry.h"

#include <fmt/format.h>

#include <chrono>
#include <ctime>

namespace weft::telemetry {

namespace {
constexpr std::size_t kLogBufferFlushBytes = 32 * 1024;
}

WorkerTelemetry::WorkerTelemetry(const TelemetryOptions& options, MetricsShard* shard, AccessLog* log,
                                 EventHub& events, SpanExporter* spans, unsigned seed)
    : options_(options), shard_(shard), log_(log), events_(events), spans_(spans), random_(seed + 1) {}

bool WorkerTelemetry::chance(double share) {
  if (share >= 1) return true;
  if (share <= 0) return false;
  return std::uniform_real_distribution<double>(0, 1)(random_) < share;
}

bool WorkerTelemetry::sampled() { return chance(log_ ? log_->sample() : 0); }
bool WorkerTelemetry::traceSampled() { return chance(options_.tracing.sample); }

void WorkerTelemetry::endLine(bool log, bool stream) {
  buffer_ += '\n';
  if (stream) events_.publish(std::string_view(buffer_).substr(lineStart_));
  if (!log) {
    buffer_.resize(lineStart_);  // for the events only
    return;
  }
  lines_.add();
  if (buffer_.size() >= kLogBufferFlushBytes) flush();
}

std::string WorkerTelemetry::timestamp() {
  auto now = std::chrono::system_clock::now();
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count();
  std::int64_t second = ms / 1000;
  if (second != stampSecond_) {
    std::time_t t = static_cast<std::time_t>(second);
    std::tm tm{};
    ::gmtime_r(&t, &tm);
    stampPrefix_ = fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                               tm.tm_hour, tm.tm_min, tm.tm_sec);
    stampSecond_ = second;
  }
  return fmt::format("{}.{:03}Z", stampPrefix_, ms % 1000);
}

void WorkerTelemetry::flush() {
  if (!log_ || buffer_.empty()) return;
  log_->write(buffer_);
  buffer_.clear();
}

Result<std::unique_ptr<Telemetry>> Telemetry::create(TelemetryOptions options, unsigned workers) {
  if (options.maxSeries == 0) return fail(ErrorCode::kInvalidArgument, "--metrics-max-series: at least 1");
  std::unique_ptr<Telemetry> t(new Telemetry(std::move(options)));
  if (!t->options_.accessLog.path.empty()) {
    auto log = AccessLog::open(t->options_.accessLog);
    if (!log) return std::unexpected(log.error());
    t->log_ = std::move(*log);
  }
  if (!t->options_.tracing.collector.empty()) {
    if (!(t->options_.tracing.sample >= 0 && t->options_.tracing.sample <= 1))
      return fail(ErrorCode::kInvalidArgument, "--trace-sample: a share between 0 and 1");
    auto spans = SpanExporter::create({.collectorUrl = t->options_.tracing.collector});
    if (!spans) return fail(spans.error().code, "--trace-collector: " + spans.error().message);
    t->spans_ = std::move(*spans);
  }
  for (unsigned i = 0; i < workers; ++i) {
    MetricsShard* shard = nullptr;
    if (t->options_.metrics) shard = t->shards_.emplace_back(std::make_unique<MetricsShard>(t->options_.maxSeries)).get();
    t->workers_.push_back(std::make_unique<WorkerTelemetry>(t->options_, shard, t->log_.get(), t->events_, t->spans_.get(), i));
  }
  return t;
}

std::string Telemetry::renderMetrics(std::vector<SelfSample> self) const {
  std::vector<const MetricsShard*> shards;
  for (const auto& s : shards_) shards.push_back(s.get());
  return renderPrometheus(shards, options_.naming, self);
}

std::uint64_t Telemetry::accessLogLines() const {
  std::uint64_t n = 0;
  for (const auto& w : workers_) n += w->linesLogged();
  return n;
}

}  // namespace weft::telemetry

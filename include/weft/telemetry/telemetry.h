// The node proxy's telemetry: metrics shards and access-log buffers, one per
// worker, and what the agent's scrape endpoint renders from them.
#pragma once

#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "weft/common/error.h"
#include "weft/telemetry/access_log.h"
#include "weft/telemetry/event_hub.h"
#include "weft/telemetry/metrics.h"
#include "weft/telemetry/span_exporter.h"

namespace weft::telemetry {

struct TelemetryOptions {
  bool metrics = true;
  MetricNaming naming = MetricNaming::kWeft;
  std::string clusterId = "Kubernetes";  // source_cluster/destination_cluster, Istio's default
  std::size_t maxSeries = 10000;         // label sets per worker before the overflow series
  AccessLogOptions accessLog;
  // Tracing: a span per request of this node's L7 filters, sent by OTLP/HTTP
  // JSON to `collector` ("" off: no trace header is touched either).
  struct Tracing {
    std::string collector;
    double sample = 0.01;  // share of new traces sampled (Istio's default 1%); a caller's decision is kept
  } tracing;
  std::string node;  // the spans' k8s.node.name
};

// One worker's part: its metrics shard and its access-log buffer. Worker
// thread only.
class WorkerTelemetry {
 public:
  WorkerTelemetry(const TelemetryOptions& options, MetricsShard* shard, AccessLog* log, EventHub& events,
                  SpanExporter* spans, unsigned seed);
  [[nodiscard]] MetricsShard* metrics() const { return shard_; }  // null: metrics off
  [[nodiscard]] bool logging() const { return log_ != nullptr; }
  // Whether a reader follows the live events (weft-trace); it sees every
  // line, sampled or not.
  [[nodiscard]] bool streaming() const { return events_.active(); }
  // Whether a connection needs a FlowTelemetry at all.
  [[nodiscard]] bool wanted() const { return shard_ || log_ || spans_ || streaming(); }
  // Tracing: where spans go (null: tracing off), and whether a new trace is sampled.
  [[nodiscard]] SpanExporter* spans() const { return spans_; }
  [[nodiscard]] bool traceSampled();
  [[nodiscard]] const TelemetryOptions& options() const { return options_; }
  // Whether an ordinary entry is written (failures always are).
  [[nodiscard]] bool sampled();
  // One line: the caller appends a JSON object to beginLine()'s buffer, then
  // calls endLine(), saying where it goes: the access log (its buffer goes
  // out when it is large, and at least once a second, flush from the sweep)
  // and the live events.
  std::string& beginLine() {
    lineStart_ = buffer_.size();
    return buffer_;
  }
  void endLine(bool log, bool stream);
  void flush();
  // Now in UTC, RFC 3339 with milliseconds (the seconds formatted once per second).
  [[nodiscard]] std::string timestamp();
  [[nodiscard]] std::uint64_t linesLogged() const { return lines_.get(); }

 private:
  bool chance(double share);

  const TelemetryOptions& options_;
  MetricsShard* shard_;
  AccessLog* log_;
  EventHub& events_;
  SpanExporter* spans_;
  std::string buffer_;
  std::size_t lineStart_ = 0;
  std::minstd_rand random_;
  Counter lines_;
  std::int64_t stampSecond_ = -1;
  std::string stampPrefix_;  // "YYYY-MM-DDTHH:MM:SS" of stampSecond_
};

class Telemetry {
 public:
  [[nodiscard]] static Result<std::unique_ptr<Telemetry>> create(TelemetryOptions options, unsigned workers);
  [[nodiscard]] WorkerTelemetry& worker(unsigned index) { return *workers_.at(index); }
  [[nodiscard]] const TelemetryOptions& options() const { return options_; }
  // Any thread: the exposition text of every shard plus the agent's own samples.
  [[nodiscard]] std::string renderMetrics(std::vector<SelfSample> self) const;
  [[nodiscard]] std::uint64_t accessLogLines() const;
  [[nodiscard]] std::uint64_t accessLogWriteErrors() const { return log_ ? log_->writeErrors.get() : 0; }
  [[nodiscard]] EventHub& events() { return events_; }
  [[nodiscard]] const SpanExporter* spans() const { return spans_.get(); }

 private:
  explicit Telemetry(TelemetryOptions options) : options_(std::move(options)) {}
  TelemetryOptions options_;
  std::unique_ptr<AccessLog> log_;
  EventHub events_;  // before the workers, which hold a reference to it
  std::unique_ptr<SpanExporter> spans_;
  std::vector<std::unique_ptr<MetricsShard>> shards_;
  std::vector<std::unique_ptr<WorkerTelemetry>> workers_;
};

}  // namespace weft::telemetry

// Sends finished spans to an OpenTelemetry collector (OTLP/HTTP JSON) from a
// thread of its own, so that a worker only queues a span: a slow or absent
// collector costs spans, counted, never request latency.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "weft/common/error.h"
#include "weft/telemetry/span.h"

namespace weft::telemetry {

// http://host:port[/path]. Plain HTTP only: the collector is expected on the
// node or behind the mesh, which adds mTLS on its own path.
struct CollectorUrl {
  std::string host;       // name or address, IPv6 without brackets
  std::uint16_t port = 0;
  std::string target;     // request target: path and query; "/v1/traces" when the URL has none
  std::string authority;  // Host header: host (IPv6 in brackets) ":" port
};

[[nodiscard]] Result<CollectorUrl> parseCollectorUrl(std::string_view url);

struct SpanExporterOptions {
  std::string collectorUrl;
  std::size_t batchSize = 512;                     // spans per request at most
  std::chrono::milliseconds flushInterval{1000};   // a partial batch waits this long at most
  std::size_t queueLimit = 8192;                   // spans waiting (besides those being sent); more are dropped
  std::chrono::milliseconds connectTimeout{1000};
  std::chrono::milliseconds requestTimeout{5000};  // one POST: send and response
  std::chrono::milliseconds shutdownTimeout{2000}; // what the destructor may spend sending the rest
  // A batch the collector could not take for now (no connection, or 429,
  // 502, 503, 504: OTLP/HTTP's retryable answers) is sent again this many
  // times, after retryBackoff, then twice that, ...; other answers are final.
  unsigned maxRetries = 2;
  std::chrono::milliseconds retryBackoff{200};
};

struct SpanExporterStats {
  std::uint64_t exportedSpans = 0;  // accepted by the collector (2xx)
  std::uint64_t exportedBatches = 0;
  std::uint64_t failedBatches = 0;  // not sent, or answered other than 2xx
  std::uint64_t failedSpans = 0;    // the spans of the failed batches: lost
  std::uint64_t retriedBatches = 0; // sends repeated after a retryable failure
  std::uint64_t droppedSpans = 0;   // refused by submit(): the queue was full
  std::string lastError;            // of the latest failed batch; empty if none failed
};

class CollectorConnection;

class SpanExporter {
 public:
  [[nodiscard]] static Result<std::unique_ptr<SpanExporter>> create(SpanExporterOptions options);
  // Sends what is queued (bounded by shutdownTimeout), then stops the thread.
  ~SpanExporter();
  SpanExporter(const SpanExporter&) = delete;
  SpanExporter& operator=(const SpanExporter&) = delete;

  // Any thread; a lock held for a push_back, never I/O.
  void submit(Span&& span);
  // Any thread.
  [[nodiscard]] SpanExporterStats stats() const;
  [[nodiscard]] const CollectorUrl& collector() const { return url_; }

 private:
  using Clock = std::chrono::steady_clock;
  SpanExporter(SpanExporterOptions options, CollectorUrl url);
  void run();
  void sendAll(std::vector<Span>& spans);
  // One batch, retried while retryable and time allows; an error when it failed.
  [[nodiscard]] Status sendBatch(std::span<const Span> batch);
  void recordFailure(std::size_t spans, std::string error);

  const SpanExporterOptions options_;
  const CollectorUrl url_;
  std::unique_ptr<CollectorConnection> connection_;  // the exporter thread's alone

  std::mutex mutex_;
  std::condition_variable wake_;
  std::vector<Span> queue_;
  bool stopping_ = false;

  // When the destructor began, plus shutdownTimeout; a request in flight
  // gives up by then. Nanoseconds of Clock; max while running.
  std::atomic<std::int64_t> cutoff_;
  std::atomic<std::uint64_t> exportedSpans_{0};
  std::atomic<std::uint64_t> exportedBatches_{0};
  std::atomic<std::uint64_t> failedBatches_{0};
  std::atomic<std::uint64_t> failedSpans_{0};
  std::atomic<std::uint64_t> retriedBatches_{0};
  std::atomic<std::uint64_t> droppedSpans_{0};
  mutable std::mutex errorMutex_;
  std::string lastError_;
  bool failing_ = false;  // exporter thread: log a failure once until it recovers

  std::thread thread_;
};

}  // namespace weft::telemetry

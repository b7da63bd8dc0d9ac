// The SpanExporter's HTTP/1.1 client: one keep-alive connection to the
// collector on the exporter's thread, every step bounded by a deadline. A
// client of its own rather than a library because it needs one request shape
// (POST a JSON body, read a status); the response is read by llhttp
// (http::ResponseDecoder).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "weft/common/error.h"
#include "weft/common/unique_fd.h"
#include "weft/telemetry/span_exporter.h"

namespace weft::telemetry {

struct CollectorResponse {
  int status = 0;
  std::string body;  // its start, for an error text
};

class CollectorConnection {
 public:
  using Clock = std::chrono::steady_clock;

  // `cutoff` (Clock nanoseconds) ends any wait early once it has passed: the
  // exporter moves it when it shuts down.
  CollectorConnection(CollectorUrl url, std::chrono::milliseconds connectTimeout,
                      std::chrono::milliseconds requestTimeout, const std::atomic<std::int64_t>& cutoff)
      : url_(std::move(url)), connectTimeout_(connectTimeout), requestTimeout_(requestTimeout), cutoff_(cutoff) {}

  // POSTs `body` as application/json to the URL's target. The connection is
  // reused while the collector keeps it open; a request on a reused one that
  // fails before any answer is tried once more on a new one (the collector
  // may have closed it while idle).
  [[nodiscard]] Result<CollectorResponse> post(std::string_view body);
  [[nodiscard]] bool connected() const { return fd_.valid(); }

 private:
  using Deadline = Clock::time_point;
  [[nodiscard]] Status connect(Deadline deadline);
  [[nodiscard]] Result<CollectorResponse> exchange(std::string_view body, Deadline deadline);
  [[nodiscard]] Status sendAll(std::string_view bytes, Deadline deadline);
  // Appends what arrives to buffer_; 0 at EOF.
  [[nodiscard]] Result<std::size_t> receiveSome(Deadline deadline, std::string_view what);
  [[nodiscard]] Status wait(short events, Deadline deadline, std::string_view what);
  [[nodiscard]] bool idleAndOpen() const;

  const CollectorUrl url_;
  const std::chrono::milliseconds connectTimeout_;
  const std::chrono::milliseconds requestTimeout_;
  const std::atomic<std::int64_t>& cutoff_;
  UniqueFd fd_;
  std::string buffer_;       // received, not yet parsed
  bool answered_ = false;    // the current response has begun
  bool peerClosed_ = false;  // the current exchange met EOF, EPIPE or ECONNRESET
};

}  // namespace weft::telemetry

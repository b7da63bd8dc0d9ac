#include "weft/telemetry/span_exporter.h"

#include <arpa/inet.h>
#include <pthread.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <limits>
#include <span>
#include <thread>

#include "collector_connection.h"
#include "weft/common/log.h"
#include "weft/telemetry/otlp_json.h"

namespace weft::telemetry {
namespace {

constexpr std::string_view kLogModule = "tracing";
constexpr std::string_view kDefaultTarget = "/v1/traces";

// RFC 1123 names: labels of letters, digits and inner hyphens.
bool validHostName(std::string_view host) {
  if (host.empty() || host.size() > 253) return false;
  if (host.back() == '.') host.remove_suffix(1);  // fully qualified
  std::size_t start = 0;
  for (;;) {
    std::size_t dot = host.find('.', start);
    std::string_view label = host.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start);
    if (label.empty() || label.size() > 63 || label.front() == '-' || label.back() == '-') return false;
    for (unsigned char c : label)
      if (!std::isalnum(c) && c != '-') return false;
    if (dot == std::string_view::npos) return true;
    start = dot + 1;
  }
}

std::int64_t ticks(std::chrono::steady_clock::time_point t) { return t.time_since_epoch().count(); }

// A collector's error body on one line, for the log and the admin API.
std::string oneLine(std::string text) {
  for (char& c : text)
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = ' ';
  return text;
}

}  // namespace

Result<CollectorUrl> parseCollectorUrl(std::string_view url) {
  auto bad = [&](std::string_view why) {
    return fail(ErrorCode::kInvalidArgument, fmt::format("collector URL '{}': {}", url, why));
  };
  std::size_t schemeEnd = url.find("://");
  if (schemeEnd == std::string_view::npos) return bad("expected http://host:port/path");
  std::string scheme(url.substr(0, schemeEnd));
  std::ranges::transform(scheme, scheme.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (scheme == "https") return bad("https is not supported; use http (a collector on the node, or one the mesh reaches with mTLS)");
  if (scheme != "http") return bad(fmt::format("scheme '{}' is not supported; use http", scheme));

  std::string_view rest = url.substr(schemeEnd + 3);
  std::size_t authorityEnd = rest.find_first_of("/?#");
  std::string_view authority = rest.substr(0, authorityEnd);
  std::string_view target = authorityEnd == std::string_view::npos ? std::string_view() : rest.substr(authorityEnd);
  if (authority.find('@') != std::string_view::npos) return bad("user information is not supported");
  if (target.find('#') != std::string_view::npos) return bad("a fragment is not supported");
  for (unsigned char c : target)
    if (c <= 0x20 || c == 0x7f) return bad("the path has a space or a control character");

  CollectorUrl out;
  std::string_view portText;
  if (authority.starts_with('[')) {
    std::size_t close = authority.find(']');
    if (close == std::string_view::npos) return bad("bad host: '[' without ']'");
    out.host = authority.substr(1, close - 1);
    in6_addr v6{};
    if (::inet_pton(AF_INET6, out.host.c_str(), &v6) != 1) return bad(fmt::format("bad host '{}': not an IPv6 address", out.host));
    if (close + 1 == authority.size()) return bad("no port");
    if (authority[close + 1] != ':') return bad("bad host: expected ':' after ']'");
    portText = authority.substr(close + 2);
  } else {
    std::size_t colon = authority.rfind(':');
    if (colon == std::string_view::npos) return bad("no port");
    out.host = authority.substr(0, colon);
    portText = authority.substr(colon + 1);
    if (out.host.empty()) return bad("no host");
    if (out.host.find(':') != std::string::npos) return bad("bad host: write an IPv6 address in brackets, [addr]:port");
    in_addr v4{};
    if (::inet_pton(AF_INET, out.host.c_str(), &v4) != 1 && !validHostName(out.host))
      return bad(fmt::format("bad host '{}'", out.host));
  }
  if (portText.empty()) return bad("no port");
  unsigned port = 0;
  auto [end, ec] = std::from_chars(portText.data(), portText.data() + portText.size(), port);
  if (ec != std::errc{} || end != portText.data() + portText.size() || port == 0 || port > 65535)
    return bad(fmt::format("bad port '{}': expected 1 to 65535", portText));
  out.port = static_cast<std::uint16_t>(port);
  out.authority = fmt::format("{}:{}", authority.substr(0, authority.size() - portText.size() - 1), port);
  if (target.empty())
    out.target = kDefaultTarget;
  else
    out.target = target.starts_with('?') ? "/" + std::string(target) : std::string(target);
  return out;
}

Result<std::unique_ptr<SpanExporter>> SpanExporter::create(SpanExporterOptions options) {
  auto url = parseCollectorUrl(options.collectorUrl);
  if (!url) return std::unexpected(url.error());
  using std::chrono::milliseconds;
  if (options.batchSize == 0 || options.queueLimit == 0)
    return fail(ErrorCode::kInvalidArgument, "span exporter: batch size and queue limit must be at least 1");
  if (options.flushInterval <= milliseconds::zero() || options.connectTimeout <= milliseconds::zero() ||
      options.requestTimeout <= milliseconds::zero() || options.shutdownTimeout < milliseconds::zero())
    return fail(ErrorCode::kInvalidArgument, "span exporter: intervals and timeouts must be positive");
  return std::unique_ptr<SpanExporter>(new SpanExporter(std::move(options), std::move(*url)));
}

SpanExporter::SpanExporter(SpanExporterOptions options, CollectorUrl url)
    : options_(std::move(options)),
      url_(std::move(url)),
      cutoff_(std::numeric_limits<std::int64_t>::max()) {
  connection_ = std::make_unique<CollectorConnection>(url_, options_.connectTimeout, options_.requestTimeout, cutoff_);
  queue_.reserve(std::min(options_.batchSize, options_.queueLimit));
  thread_ = std::thread([this] { run(); });
}

SpanExporter::~SpanExporter() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
    cutoff_.store(ticks(Clock::now() + options_.shutdownTimeout), std::memory_order_relaxed);
  }
  wake_.notify_one();
  thread_.join();
}

void SpanExporter::submit(Span&& span) {
  bool full = false;
  {
    std::lock_guard lock(mutex_);
    if (queue_.size() >= options_.queueLimit) {
      droppedSpans_.fetch_add(1, std::memory_order_relaxed);
      return;
    }
    queue_.push_back(std::move(span));
    full = queue_.size() == options_.batchSize;
  }
  if (full) wake_.notify_one();
}

SpanExporterStats SpanExporter::stats() const {
  SpanExporterStats out;
  out.exportedSpans = exportedSpans_.load(std::memory_order_relaxed);
  out.exportedBatches = exportedBatches_.load(std::memory_order_relaxed);
  out.failedBatches = failedBatches_.load(std::memory_order_relaxed);
  out.failedSpans = failedSpans_.load(std::memory_order_relaxed);
  out.retriedBatches = retriedBatches_.load(std::memory_order_relaxed);
  out.droppedSpans = droppedSpans_.load(std::memory_order_relaxed);
  std::lock_guard lock(errorMutex_);
  out.lastError = lastError_;
  return out;
}

void SpanExporter::run() {
  ::pthread_setname_np(::pthread_self(), "weft-spans");
  // Swapped with queue_, so both keep their capacity and submit() seldom allocates.
  std::vector<Span> batch;
  batch.reserve(std::min(options_.batchSize, options_.queueLimit));
  std::unique_lock lock(mutex_);
  auto nextFlush = Clock::now() + options_.flushInterval;
  for (;;) {
    wake_.wait_until(lock, nextFlush, [&] { return stopping_ || queue_.size() >= options_.batchSize; });
    if (stopping_) break;
    if (queue_.size() < options_.batchSize && Clock::now() < nextFlush) continue;
    nextFlush = Clock::now() + options_.flushInterval;
    if (queue_.empty()) continue;
    batch.swap(queue_);
    lock.unlock();
    sendAll(batch);
    lock.lock();
  }
  batch.swap(queue_);
  lock.unlock();
  sendAll(batch);
}

void SpanExporter::sendAll(std::vector<Span>& spans) {
  for (std::size_t first = 0; first < spans.size(); first += options_.batchSize) {
    std::span<const Span> chunk = std::span(spans).subspan(first, std::min(options_.batchSize, spans.size() - first));
    if (auto sent = sendBatch(chunk); !sent) {
      recordFailure(chunk.size(), sent.error().message);
      continue;
    }
    exportedSpans_.fetch_add(chunk.size(), std::memory_order_relaxed);
    exportedBatches_.fetch_add(1, std::memory_order_relaxed);
    if (failing_) log::info(kLogModule, "collector {} accepts spans again", url_.authority);
    failing_ = false;
  }
  spans.clear();
}

Status SpanExporter::sendBatch(std::span<const Span> batch) {
  const std::string body = encodeOtlpTraces(batch);
  auto backoff = options_.retryBackoff;
  for (unsigned attempt = 0;; ++attempt) {
    auto response = connection_->post(body);
    bool retryable = !response;  // no connection, or it broke: the collector may be restarting
    std::string error;
    if (!response) {
      error = response.error().message;
    } else if (response->status >= 200 && response->status <= 299) {
      return {};
    } else {
      const int status = response->status;
      retryable = status == 429 || status == 502 || status == 503 || status == 504;
      error = fmt::format("collector {} answered {} to POST {}: {}", url_.authority, status, url_.target,
                          oneLine(response->body));
    }
    // Not past the shutdown cutoff, and never in a failing streak's every
    // batch: a collector that stays down costs one try per batch.
    const bool timeLeft = ticks(Clock::now() + backoff) < cutoff_.load(std::memory_order_relaxed);
    if (!retryable || attempt >= options_.maxRetries || !timeLeft || failing_)
      return fail(ErrorCode::kSystem, std::move(error));
    retriedBatches_.fetch_add(1, std::memory_order_relaxed);
    std::this_thread::sleep_for(backoff);
    backoff *= 2;
  }
}

void SpanExporter::recordFailure(std::size_t spans, std::string error) {
  failedBatches_.fetch_add(1, std::memory_order_relaxed);
  failedSpans_.fetch_add(spans, std::memory_order_relaxed);
  // Once per outage: a collector that is down would otherwise log every second.
  if (!failing_) log::warn(kLogModule, "spans are being lost, {} in this batch: {}", spans, error);
  failing_ = true;
  std::lock_guard lock(errorMutex_);
  lastError_ = std::move(error);
}

}  // namespace weft::telemetry

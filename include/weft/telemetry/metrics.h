// The mesh's traffic metrics: series interned per label set, one shard per
// proxy worker. A worker is the only writer of its shard: counters are
// relaxed atomics it stores without a read-modify-write, and the scrape
// thread only loads them and adds the shards up. The shard's mutex guards
// only the series lists (a worker adding a label set while a scrape walks
// them); per request, a worker touches no lock.
//
// Cardinality is bounded: past maxSeries label sets a shard folds new ones
// into one overflow series (labelled overflow="true") and counts them.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace weft::telemetry {

struct Counter {
  std::atomic<std::uint64_t> value{0};
  void add(std::uint64_t n = 1) { value.store(value.load(std::memory_order_relaxed) + n, std::memory_order_relaxed); }
  [[nodiscard]] std::uint64_t get() const { return value.load(std::memory_order_relaxed); }
};

// Istio's buckets: request duration in milliseconds, sizes in bytes.
inline constexpr std::array<double, 19> kDurationBucketsMs = {0.5,  1,    5,     10,    25,     50,     100,
                                                              250,  500,  1000,  2500,  5000,   10000,  30000,
                                                              60000, 300000, 600000, 1800000, 3600000};
inline constexpr std::array<double, 9> kSizeBuckets = {1, 10, 100, 1000, 10000, 100000, 1000000, 10000000, 100000000};

// Cumulative buckets are made at render time; here each observation lands in
// exactly one (the last is +Inf). `sum` is in the observation's unit.
template <std::size_t N>
struct Histogram {
  std::array<Counter, N + 1> buckets;
  Counter sum;
  // `scale` converts the bucket bounds to the observation's unit (1000 for
  // microseconds observed against millisecond bounds).
  void observe(std::uint64_t value, const std::array<double, N>& bounds, double scale = 1) {
    std::size_t i = 0;
    while (i < N && static_cast<double>(value) > bounds[i] * scale) ++i;
    buckets[i].add();
    sum.add(value);
  }
};

struct TcpSeries {
  explicit TcpSeries(std::string l) : labels(std::move(l)) {}
  std::string labels;  // the label pairs, rendered: a="b",c="d"
  Counter opened, closed;
  Counter sent;      // bytes to the client (the response direction), as Istio counts them
  Counter received;  // bytes from the client
};

struct HttpSeries {
  explicit HttpSeries(std::string l) : labels(std::move(l)) {}
  std::string labels;
  Counter requests;
  Histogram<kDurationBucketsMs.size()> durationUs;  // microseconds
  Histogram<kSizeBuckets.size()> requestBytes;
  Histogram<kSizeBuckets.size()> responseBytes;
};

class MetricsShard {
 public:
  explicit MetricsShard(std::size_t maxSeries) : maxSeries_(maxSeries) {}
  MetricsShard(const MetricsShard&) = delete;
  MetricsShard& operator=(const MetricsShard&) = delete;

  // The series of this label set (the shard's writer only). References stay
  // valid for the shard's life.
  TcpSeries& tcp(const std::string& labels);
  HttpSeries& http(const std::string& labels);

  // For the scrape (any thread): calls f on every series, under the lock.
  template <class TcpFn, class HttpFn>
  void visit(TcpFn&& onTcp, HttpFn&& onHttp) const {
    std::lock_guard lock(mutex_);
    for (const TcpSeries& s : tcp_) onTcp(s);
    for (const HttpSeries& s : http_) onHttp(s);
  }
  [[nodiscard]] std::uint64_t overflowed() const { return overflowed_.get(); }
  [[nodiscard]] std::size_t seriesCount() const;

 private:
  template <class Series>
  Series& intern(const std::string& labels, std::deque<Series>& list,
                 std::unordered_map<std::string, Series*>& index);

  std::size_t maxSeries_;
  mutable std::mutex mutex_;
  std::deque<TcpSeries> tcp_;
  std::deque<HttpSeries> http_;
  std::unordered_map<std::string, TcpSeries*> tcpIndex_;  // writer only
  std::unordered_map<std::string, HttpSeries*> httpIndex_;
  Counter overflowed_;  // label sets folded into the overflow series
};

// Metric names: weft's own (base units, what `promtool check metrics`
// accepts) or Istio's standard names (milliseconds), for existing
// dashboards and Kiali.
enum class MetricNaming : unsigned char { kWeft, kIstio };

// One sample of the agent's own metrics (weft_agent_*), rendered as given.
struct SelfSample {
  std::string name;    // without the weft_agent_ prefix
  std::string type;    // counter or gauge
  std::string help;
  std::string labels;  // rendered label pairs, may be empty
  double value = 0;
};

// The exposition text (format 0.0.4) of the shards' series summed by label
// set, then the self samples (grouped by name in the order given).
[[nodiscard]] std::string renderPrometheus(const std::vector<const MetricsShard*>& shards, MetricNaming naming,
                                           const std::vector<SelfSample>& self);

// A label value escaped for the exposition format (backslash, quote, newline).
void appendLabel(std::string& out, std::string_view name, std::string_view value);

}  // namespace weft::telemetry

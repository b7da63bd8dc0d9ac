// The Prometheus text exposition format (0.0.4): # HELP and # TYPE once per
// family, counters ending in _total, histograms as cumulative _bucket lines
// with le and +Inf, then _sum and _count.
#include <fmt/format.h>

#include <map>

#include "weft/telemetry/metrics.h"

namespace weft::telemetry {

namespace {

struct TcpSums {
  std::uint64_t opened = 0, closed = 0, sent = 0, received = 0;
};

template <std::size_t N>
struct HistogramSums {
  std::array<std::uint64_t, N + 1> buckets{};
  std::uint64_t sum = 0;
  void add(const Histogram<N>& h) {
    for (std::size_t i = 0; i <= N; ++i) buckets[i] += h.buckets[i].get();
    sum += h.sum.get();
  }
  [[nodiscard]] std::uint64_t count() const {
    std::uint64_t n = 0;
    for (auto b : buckets) n += b;
    return n;
  }
};

struct HttpSums {
  std::uint64_t requests = 0;
  HistogramSums<kDurationBucketsMs.size()> duration;
  HistogramSums<kSizeBuckets.size()> requestBytes, responseBytes;
};

void family(std::string& out, std::string_view name, std::string_view type, std::string_view help) {
  fmt::format_to(std::back_inserter(out), "# HELP {} {}\n# TYPE {} {}\n", name, help, name, type);
}

void sample(std::string& out, std::string_view name, std::string_view labels, std::string_view value) {
  out += name;
  if (!labels.empty()) {
    out += '{';
    out += labels;
    out += '}';
  }
  out += ' ';
  out += value;
  out += '\n';
}

// A number as the format wants it: integers without a fraction, others in
// the shortest form that reads back exactly.
std::string number(double v) {
  if (v == static_cast<double>(static_cast<std::int64_t>(v))) return fmt::format("{}", static_cast<std::int64_t>(v));
  return fmt::format("{}", v);
}

template <std::size_t N>
void histogram(std::string& out, std::string_view name, const std::map<std::string, HttpSums>& rows,
               HistogramSums<N> HttpSums::*field, const std::array<double, N>& bounds, double boundDivisor,
               double sumDivisor) {
  // Divisions, not multiplications by 0.001: a quotient of exact numbers is
  // rounded once, so bounds and sums print as 0.0005, not 0.0005000000000000001.
  for (const auto& [labels, sums] : rows) {
    const HistogramSums<N>& h = sums.*field;
    std::uint64_t cumulative = 0;
    std::string sep = labels.empty() ? "" : ",";
    for (std::size_t i = 0; i <= N; ++i) {
      cumulative += h.buckets[i];
      std::string le = i < N ? number(bounds[i] / boundDivisor) : "+Inf";
      sample(out, fmt::format("{}_bucket", name), fmt::format("{}{}le=\"{}\"", labels, sep, le),
             fmt::format("{}", cumulative));
    }
    sample(out, fmt::format("{}_sum", name), labels, number(static_cast<double>(h.sum) / sumDivisor));
    sample(out, fmt::format("{}_count", name), labels, fmt::format("{}", h.count()));
  }
}

}  // namespace

void appendLabel(std::string& out, std::string_view name, std::string_view value) {
  if (!out.empty() && out.back() != '{') out += ',';
  out += name;
  out += "=\"";
  for (char c : value) {
    switch (c) {
      case '\\': out += "\\\\"; break;
      case '"': out += "\\\""; break;
      case '\n': out += "\\n"; break;
      default: out += c;
    }
  }
  out += '"';
}

std::string renderPrometheus(const std::vector<const MetricsShard*>& shards, MetricNaming naming,
                             const std::vector<SelfSample>& self) {
  // Workers report the same label set apart: summed here, in a stable order.
  std::map<std::string, TcpSums> tcp;
  std::map<std::string, HttpSums> http;
  std::uint64_t overflowed = 0;
  for (const MetricsShard* shard : shards) {
    overflowed += shard->overflowed();
    shard->visit(
        [&](const TcpSeries& s) {
          TcpSums& t = tcp[s.labels];
          t.opened += s.opened.get();
          t.closed += s.closed.get();
          t.sent += s.sent.get();
          t.received += s.received.get();
        },
        [&](const HttpSeries& s) {
          HttpSums& h = http[s.labels];
          h.requests += s.requests.get();
          h.duration.add(s.durationUs);
          h.requestBytes.add(s.requestBytes);
          h.responseBytes.add(s.responseBytes);
        });
  }

  const bool istio = naming == MetricNaming::kIstio;
  const std::string prefix = istio ? "istio_" : "weft_";
  std::string out;
  out.reserve(4096 + (tcp.size() + http.size() * 40) * 400);
  auto counter = [&](std::string_view name, std::string_view help, auto value) {
    std::string full = prefix + std::string(name);
    family(out, full, "counter", help);
    for (const auto& [labels, sums] : tcp) sample(out, full, labels, fmt::format("{}", value(sums)));
  };
  if (!tcp.empty()) {
    counter("tcp_connections_opened_total", "TCP connections opened through the mesh.",
            [](const TcpSums& t) { return t.opened; });
    counter("tcp_connections_closed_total", "TCP connections closed through the mesh.",
            [](const TcpSums& t) { return t.closed; });
    counter("tcp_sent_bytes_total", "Bytes sent to the client (the response direction) of TCP connections.",
            [](const TcpSums& t) { return t.sent; });
    counter("tcp_received_bytes_total", "Bytes received from the client (the request direction) of TCP connections.",
            [](const TcpSums& t) { return t.received; });
  }
  if (!http.empty()) {
    std::string name = prefix + "requests_total";
    family(out, name, "counter", "HTTP and gRPC requests, by response code.");
    for (const auto& [labels, sums] : http) sample(out, name, labels, fmt::format("{}", sums.requests));
    // Durations are observed in microseconds against millisecond bounds.
    name = prefix + (istio ? "request_duration_milliseconds" : "request_duration_seconds");
    family(out, name, "histogram", "Time from the request head to the end of the response.");
    histogram(out, name, http, &HttpSums::duration, kDurationBucketsMs, istio ? 1 : 1000, istio ? 1000 : 1000000);
    name = prefix + "request_bytes";
    family(out, name, "histogram", "Request body sizes.");
    histogram(out, name, http, &HttpSums::requestBytes, kSizeBuckets, 1, 1);
    name = prefix + "response_bytes";
    family(out, name, "histogram", "Response body sizes.");
    histogram(out, name, http, &HttpSums::responseBytes, kSizeBuckets, 1, 1);
  }

  family(out, "weft_agent_metrics_series_overflow_total", "counter",
         "Label sets folded into the overflow series because a worker reached --metrics-max-series.");
  sample(out, "weft_agent_metrics_series_overflow_total", "", fmt::format("{}", overflowed));
  std::string_view last;
  for (const SelfSample& s : self) {
    std::string name = "weft_agent_" + s.name;
    if (s.name != last) family(out, name, s.type, s.help);
    last = s.name;
    sample(out, name, s.labels, number(s.value));
  }
  return out;
}

}  // namespace weft::telemetry

// Metrics shards and their exposition text: series interned per label set,
// the overflow bound, shards summed, histograms cumulative with +Inf, both
// naming schemes, label escaping.
#include <doctest/doctest.h>

#include "weft/telemetry/metrics.h"

namespace {

using namespace weft::telemetry;

bool has(const std::string& text, std::string_view line) { return text.find(line) != std::string::npos; }

}  // namespace

TEST_CASE("metrics shard: one series per label set and an overflow series past the bound") {
  MetricsShard shard(3);
  TcpSeries& a = shard.tcp("x=\"1\"");
  CHECK(&shard.tcp("x=\"1\"") == &a);
  HttpSeries& h = shard.http("x=\"1\"");
  CHECK(&shard.http("x=\"1\"") == &h);
  shard.tcp("x=\"2\"");
  CHECK(shard.seriesCount() == 3);
  CHECK(shard.overflowed() == 0);
  TcpSeries& over = shard.tcp("x=\"3\"");
  CHECK(over.labels == "overflow=\"true\"");
  CHECK(&shard.tcp("x=\"4\"") == &over);  // every later label set folds into it
  CHECK(shard.overflowed() == 2);
  CHECK(shard.seriesCount() == 4);
  CHECK(&shard.tcp("x=\"1\"") == &a);  // known ones keep their series
}

TEST_CASE("metrics text: shards are summed per label set and counters end in _total") {
  MetricsShard one(100), two(100);
  one.tcp("reporter=\"source\"").opened.add(2);
  two.tcp("reporter=\"source\"").opened.add(3);
  two.tcp("reporter=\"source\"").sent.add(1000);
  one.tcp("reporter=\"destination\"").closed.add(1);
  std::string text = renderPrometheus({&one, &two}, MetricNaming::kWeft, {});
  CHECK(has(text, "# TYPE weft_tcp_connections_opened_total counter\n"));
  CHECK(has(text, "weft_tcp_connections_opened_total{reporter=\"source\"} 5\n"));
  CHECK(has(text, "weft_tcp_sent_bytes_total{reporter=\"source\"} 1000\n"));
  CHECK(has(text, "weft_tcp_connections_closed_total{reporter=\"destination\"} 1\n"));
  CHECK(has(text, "weft_agent_metrics_series_overflow_total 0\n"));
  CHECK_FALSE(has(text, "weft_requests_total"));  // no HTTP series: no empty family
}

TEST_CASE("metrics text: a duration histogram is cumulative with +Inf in seconds or Istio's milliseconds") {
  MetricsShard shard(100);
  HttpSeries& s = shard.http("response_code=\"200\"");
  s.requests.add(3);
  // 300 us, 2 ms and 7 s, against millisecond bounds scaled to microseconds.
  for (std::uint64_t us : {300u, 2000u, 7000000u}) s.durationUs.observe(us, kDurationBucketsMs, 1000);
  s.responseBytes.observe(1024, kSizeBuckets);

  std::string weft = renderPrometheus({&shard}, MetricNaming::kWeft, {});
  CHECK(has(weft, "weft_requests_total{response_code=\"200\"} 3\n"));
  CHECK(has(weft, "# TYPE weft_request_duration_seconds histogram\n"));
  CHECK(has(weft, "weft_request_duration_seconds_bucket{response_code=\"200\",le=\"0.0005\"} 1\n"));
  CHECK(has(weft, "weft_request_duration_seconds_bucket{response_code=\"200\",le=\"0.005\"} 2\n"));
  CHECK(has(weft, "weft_request_duration_seconds_bucket{response_code=\"200\",le=\"5\"} 2\n"));
  CHECK(has(weft, "weft_request_duration_seconds_bucket{response_code=\"200\",le=\"10\"} 3\n"));
  CHECK(has(weft, "weft_request_duration_seconds_bucket{response_code=\"200\",le=\"+Inf\"} 3\n"));
  CHECK(has(weft, "weft_request_duration_seconds_sum{response_code=\"200\"} 7.0023\n"));
  CHECK(has(weft, "weft_request_duration_seconds_count{response_code=\"200\"} 3\n"));
  CHECK(has(weft, "weft_response_bytes_bucket{response_code=\"200\",le=\"1000\"} 0\n"));
  CHECK(has(weft, "weft_response_bytes_bucket{response_code=\"200\",le=\"10000\"} 1\n"));

  std::string istio = renderPrometheus({&shard}, MetricNaming::kIstio, {});
  CHECK(has(istio, "istio_requests_total{response_code=\"200\"} 3\n"));
  CHECK(has(istio, "istio_request_duration_milliseconds_bucket{response_code=\"200\",le=\"0.5\"} 1\n"));
  CHECK(has(istio, "istio_request_duration_milliseconds_sum{response_code=\"200\"} 7002.3\n"));
  CHECK(has(istio, "istio_response_bytes_count{response_code=\"200\"} 1\n"));
}

TEST_CASE("metrics text: label values are escaped and self samples share one HELP and TYPE") {
  std::string labels;
  appendLabel(labels, "path", "a\"b\\c\nd");
  appendLabel(labels, "x", "y");
  CHECK(labels == "path=\"a\\\"b\\\\c\\nd\",x=\"y\"");
  std::string text = renderPrometheus({}, MetricNaming::kWeft,
                                      {{"bpf_map_entries", "gauge", "Entries.", "map=\"a\"", 3},
                                       {"bpf_map_entries", "gauge", "Entries.", "map=\"b\"", 4},
                                       {"up_seconds", "gauge", "Up.", "", 1.5}});
  CHECK(has(text, "# TYPE weft_agent_bpf_map_entries gauge\nweft_agent_bpf_map_entries{map=\"a\"} 3\n"
                  "weft_agent_bpf_map_entries{map=\"b\"} 4\n# HELP weft_agent_up_seconds Up.\n"));
  CHECK(has(text, "weft_agent_up_seconds 1.5\n"));
}

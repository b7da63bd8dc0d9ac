#include <doctest/doctest.h>

#include <algorithm>
#include <random>
#include <vector>

#include "weft-bench/histogram.h"

using weft::bench::Histogram;

namespace {

std::uint64_t referencePercentile(const std::vector<std::uint64_t>& sorted, double p) {
  return sorted[Histogram::rankOf(p, sorted.size()) - 1];
}

void checkAgainstReference(const Histogram& h, std::vector<std::uint64_t> values) {
  std::sort(values.begin(), values.end());
  for (double p : {0.0, 1.0, 10.0, 50.0, 90.0, 99.0, 99.9, 99.99, 100.0}) {
    std::uint64_t exact = referencePercentile(values, p);
    std::uint64_t reported = h.valueAtPercentile(p);
    CAPTURE(p);
    CAPTURE(exact);
    CAPTURE(reported);
    // Same bucket as the exact sample, reported as its upper edge: never
    // below the truth, at most 1/128 above it.
    CHECK(Histogram::bucketIndex(reported) == Histogram::bucketIndex(exact));
    CHECK(reported >= exact);
    CHECK(static_cast<double>(reported - exact) <= static_cast<double>(exact) / 128.0);
  }
  CHECK(h.min() == values.front());
  CHECK(h.max() == values.back());
  CHECK(h.count() == values.size());
}

}  // namespace

TEST_CASE("bench: Histogram buckets are exact below 256 and within 1/128 above") {
  for (std::uint64_t v = 0; v < 256; ++v) {
    CHECK(Histogram::bucketLowest(Histogram::bucketIndex(v)) == v);
    CHECK(Histogram::bucketHighest(Histogram::bucketIndex(v)) == v);
  }
  std::mt19937_64 rng(3);
  for (int i = 0; i < 100'000; ++i) {
    std::uint64_t v = rng() >> (rng() % 64);
    std::size_t index = Histogram::bucketIndex(v);
    CHECK(Histogram::bucketLowest(index) <= v);
    CHECK(Histogram::bucketHighest(index) >= v);
    if (v >= 256) CHECK(Histogram::bucketHighest(index) - Histogram::bucketLowest(index) + 1 <= v / 128 + 1);
  }
  // Buckets tile the range without gaps at the octave boundaries.
  for (std::size_t i = 1; i < Histogram::bucketIndex(UINT64_MAX); ++i)
    REQUIRE(Histogram::bucketLowest(i) == Histogram::bucketHighest(i - 1) + 1);
  CHECK(Histogram::bucketHighest(Histogram::bucketIndex(UINT64_MAX)) == UINT64_MAX);
}

TEST_CASE("bench: Histogram percentiles match a sorted reference on random data") {
  std::mt19937_64 rng(11);
  SUBCASE("log-normal latencies in nanoseconds") {
    std::lognormal_distribution<double> latency(std::log(50'000.0), 0.8);
    Histogram h;
    std::vector<std::uint64_t> values;
    for (int i = 0; i < 200'000; ++i) {
      auto v = static_cast<std::uint64_t>(latency(rng));
      h.record(v);
      values.push_back(v);
    }
    checkAgainstReference(h, values);
  }
  SUBCASE("wide uniform range, few samples") {
    Histogram h;
    std::vector<std::uint64_t> values;
    for (int i = 0; i < 997; ++i) {
      std::uint64_t v = rng() >> (rng() % 60);
      h.record(v);
      values.push_back(v);
    }
    checkAgainstReference(h, values);
  }
  SUBCASE("merged per-thread histograms equal one histogram") {
    Histogram a, b, all;
    std::vector<std::uint64_t> values;
    for (int i = 0; i < 50'000; ++i) {
      std::uint64_t v = 1000 + rng() % 1'000'000;
      (i % 3 ? a : b).record(v);
      all.record(v);
      values.push_back(v);
    }
    a.merge(b);
    checkAgainstReference(a, values);
    for (double p : {50.0, 99.0, 99.9}) CHECK(a.valueAtPercentile(p) == all.valueAtPercentile(p));
    CHECK(a.mean() == doctest::Approx(all.mean()));
  }
}

TEST_CASE("bench: Histogram edge cases") {
  Histogram empty;
  CHECK(empty.count() == 0);
  CHECK(empty.valueAtPercentile(50) == 0);
  CHECK(empty.min() == 0);
  CHECK(empty.mean() == 0.0);

  Histogram one;
  one.record(123'456);
  CHECK(one.valueAtPercentile(0) == 123'456);  // capped at the maximum, so exact
  CHECK(one.valueAtPercentile(99.9) == 123'456);
  CHECK(one.mean() == 123'456.0);

  Histogram h;
  for (std::uint64_t v = 1; v <= 1000; ++v) h.record(v);
  CHECK(h.valueAtPercentile(99.9) == 999);  // rank 999 exactly, not 1000 through rounding
  CHECK(h.valueAtPercentile(50) == 501);  // the upper edge of bucket [500, 501]
  CHECK(h.mean() == doctest::Approx(500.5));
}

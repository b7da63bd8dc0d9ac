// A log-linear latency histogram in the manner of HdrHistogram: exact below
// 256, then 128 linear buckets per power of two, so a reported value is within
// 1/128 (< 0.8%) of the true one over the whole 64-bit range, in fixed memory
// (~58 KiB) and O(1) per record. Each worker thread keeps its own and the
// command merges them, so recording never synchronises.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace weft::bench {

class Histogram {
 public:
  static constexpr int kSubBucketBits = 7;
  static constexpr std::uint64_t kSubBuckets = 1ULL << kSubBucketBits;  // 128
  static constexpr std::uint64_t kExactBelow = 2 * kSubBuckets;        // 256

  Histogram();

  void record(std::uint64_t value);
  void merge(const Histogram& other);

  [[nodiscard]] std::uint64_t count() const { return count_; }
  [[nodiscard]] std::uint64_t min() const { return count_ ? min_ : 0; }
  [[nodiscard]] std::uint64_t max() const { return max_; }
  [[nodiscard]] double mean() const;

  // The value at or below which `percentile` percent of the samples fall:
  // the sample of rank ceil(p/100 * count), reported as the highest value its
  // bucket can hold (never an underestimate), capped at the recorded maximum.
  [[nodiscard]] std::uint64_t valueAtPercentile(double percentile) const;

  [[nodiscard]] static std::size_t bucketIndex(std::uint64_t value);
  [[nodiscard]] static std::uint64_t bucketLowest(std::size_t index);
  [[nodiscard]] static std::uint64_t bucketHighest(std::size_t index);
  // 1-based rank of the sample at `percentile` among `count` samples.
  [[nodiscard]] static std::uint64_t rankOf(double percentile, std::uint64_t count);

 private:
  std::vector<std::uint64_t> counts_;
  std::uint64_t count_ = 0;
  std::uint64_t min_ = UINT64_MAX;
  std::uint64_t max_ = 0;
  unsigned __int128 sum_ = 0;
};

}  // namespace weft::bench

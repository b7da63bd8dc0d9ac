#include "weft-bench/histogram.h"

#include <algorithm>
#include <bit>
#include <cmath>

namespace weft::bench {
namespace {

// 256 exact buckets, then 128 per octave for shifts 1..56.
constexpr std::size_t kBucketCount = Histogram::kExactBelow + (64 - Histogram::kSubBucketBits - 1) * Histogram::kSubBuckets;

}  // namespace

Histogram::Histogram() : counts_(kBucketCount, 0) {}

std::size_t Histogram::bucketIndex(std::uint64_t value) {
  if (value < kExactBelow) return static_cast<std::size_t>(value);
  int msb = 63 - std::countl_zero(value);      // >= 8
  int shift = msb - kSubBucketBits;              // >= 1: bucket width 2^shift
  std::uint64_t mantissa = value >> shift;       // in [128, 256)
  return kExactBelow + static_cast<std::size_t>(shift - 1) * kSubBuckets + (mantissa - kSubBuckets);
}

std::uint64_t Histogram::bucketLowest(std::size_t index) {
  if (index < kExactBelow) return index;
  std::size_t above = index - kExactBelow;
  int shift = static_cast<int>(above / kSubBuckets) + 1;
  std::uint64_t mantissa = kSubBuckets + above % kSubBuckets;
  return mantissa << shift;
}

std::uint64_t Histogram::bucketHighest(std::size_t index) {
  if (index < kExactBelow) return index;
  int shift = static_cast<int>((index - kExactBelow) / kSubBuckets) + 1;
  return bucketLowest(index) + ((std::uint64_t{1} << shift) - 1);
}

std::uint64_t Histogram::rankOf(double percentile, std::uint64_t count) {
  double p = std::clamp(percentile, 0.0, 100.0);
  // The epsilon keeps 99.9% of 1000 at rank 999 despite binary rounding.
  auto rank = static_cast<std::uint64_t>(std::ceil(p / 100.0 * static_cast<double>(count) - 1e-9));
  return std::clamp<std::uint64_t>(rank, 1, count);
}

void Histogram::record(std::uint64_t value) {
  ++counts_[bucketIndex(value)];
  ++count_;
  min_ = std::min(min_, value);
  max_ = std::max(max_, value);
  sum_ += value;
}

void Histogram::merge(const Histogram& other) {
  for (std::size_t i = 0; i < counts_.size(); ++i) counts_[i] += other.counts_[i];
  count_ += other.count_;
  min_ = std::min(min_, other.min_);
  max_ = std::max(max_, other.max_);
  sum_ += other.sum_;
}

double Histogram::mean() const {
  return count_ ? static_cast<double>(sum_) / static_cast<double>(count_) : 0.0;
}

std::uint64_t Histogram::valueAtPercentile(double percentile) const {
  if (count_ == 0) return 0;
  std::uint64_t rank = rankOf(percentile, count_);
  std::uint64_t seen = 0;
  for (std::size_t i = 0; i < counts_.size(); ++i) {
    seen += counts_[i];
    if (seen >= rank) return std::min(bucketHighest(i), max_);
  }
  return max_;
}

}  // namespace weft::bench

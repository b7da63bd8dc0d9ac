// XXH64 (the 64-bit xxHash) computed incrementally. The sink server and the
// bulk client hash the same byte stream cut into different reads and writes,
// so the digest must not depend on chunking. XXH64 rather than FNV-1a: it takes
// 32 bytes per step in four independent lanes (several GB/s per core), so
// verification never limits a bulk run, and it is a published algorithm the
// unit tests check against the reference library's vectors.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

namespace weft::bench {

class StreamHash {
 public:
  explicit StreamHash(std::uint64_t seed = 0);

  void update(std::span<const std::uint8_t> data);
  [[nodiscard]] std::uint64_t digest() const;
  [[nodiscard]] std::uint64_t size() const { return total_; }

  [[nodiscard]] static std::uint64_t of(std::span<const std::uint8_t> data, std::uint64_t seed = 0);

 private:
  static constexpr std::size_t kStripe = 32;

  std::uint64_t seed_;
  std::uint64_t lanes_[4];
  std::uint8_t pending_[kStripe];  // a partial stripe waiting for the next update
  std::size_t pendingSize_ = 0;
  std::uint64_t total_ = 0;
};

}  // namespace weft::bench

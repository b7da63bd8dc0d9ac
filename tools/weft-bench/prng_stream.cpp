#include "weft-bench/prng_stream.h"

#include <algorithm>
#include <cstring>

namespace weft::bench {
namespace {

constexpr std::uint64_t kGamma = 0x9E3779B97F4A7C15ULL;

inline std::uint64_t mix(std::uint64_t z) {
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

}  // namespace

std::uint64_t PrngStream::wordAt(std::uint64_t index) const { return mix(seed_ + (index + 1) * kGamma); }

void PrngStream::fill(std::uint64_t offset, std::span<std::uint8_t> out) const {
  std::uint8_t* p = out.data();
  std::size_t n = out.size();
  std::uint64_t word = offset / 8;
  if (std::size_t skip = offset % 8; skip != 0 && n > 0) {
    std::uint8_t bytes[8];
    std::uint64_t w = wordAt(word++);
    std::memcpy(bytes, &w, 8);
    std::size_t take = std::min(n, 8 - skip);
    std::memcpy(p, bytes + skip, take);
    p += take;
    n -= take;
  }
  // The state advances by a constant, so the loop needs no multiply for it
  // and the compiler can overlap iterations.
  std::uint64_t state = seed_ + (word + 1) * kGamma;
  for (; n >= 8; p += 8, n -= 8, state += kGamma) {
    std::uint64_t w = mix(state);
    std::memcpy(p, &w, 8);
  }
  if (n > 0) {
    std::uint64_t w = mix(state);
    std::memcpy(p, &w, n);
  }
}

std::optional<std::uint64_t> PrngStream::firstMismatch(std::uint64_t offset,
                                                       std::span<const std::uint8_t> data) const {
  std::uint8_t expected[256];
  std::uint64_t done = 0;
  while (done < data.size()) {
    std::size_t n = std::min<std::size_t>(sizeof expected, data.size() - done);
    fill(offset + done, {expected, n});
    if (std::memcmp(expected, data.data() + done, n) != 0) {
      for (std::size_t i = 0; i < n; ++i)
        if (expected[i] != data[done + i]) return offset + done + i;
    }
    done += n;
  }
  return std::nullopt;
}

}  // namespace weft::bench

#include "weft-bench/prng_stream.h"

#include <algorithm>
#include <cstring>

namespace weft::bench {
namespace {

constexpr std::uint64_t kGamma = 0x9E3779B97F4A7C15ULL;
constexpr std::uint64_t kKeySalt = 0x6B65797361C7A3E1ULL;

// splitmix64's output function.
inline std::uint64_t mix(std::uint64_t z) {
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

}  // namespace

PrngStream::PrngStream(std::uint64_t seed) : seed_(seed) {
  for (std::size_t j = 0; j < kBlockWords; ++j) base_[j] = mix(seed + (j + 1) * kGamma);
}

std::uint64_t PrngStream::blockKey(std::uint64_t block) const { return mix((seed_ ^ kKeySalt) + (block + 1) * kGamma); }

std::uint64_t PrngStream::wordAt(std::uint64_t index) const {
  return base_[index % kBlockWords] ^ blockKey(index / kBlockWords);
}

void PrngStream::fill(std::uint64_t offset, std::span<std::uint8_t> out) const {
  std::uint8_t* p = out.data();
  std::size_t n = out.size();
  std::uint64_t word = offset / 8;
  if (std::size_t skip = offset % 8; skip != 0 && n > 0) {
    std::uint64_t w = wordAt(word++);
    std::uint8_t bytes[8];
    std::memcpy(bytes, &w, 8);
    std::size_t take = std::min(n, 8 - skip);
    std::memcpy(p, bytes + skip, take);
    p += take;
    n -= take;
  }
  while (n >= 8) {
    std::uint64_t key = blockKey(word / kBlockWords);
    std::size_t from = word % kBlockWords;
    std::size_t words = std::min(kBlockWords - from, n / 8);
    for (std::size_t j = 0; j < words; ++j) {
      std::uint64_t w = base_[from + j] ^ key;
      std::memcpy(p + 8 * j, &w, 8);
    }
    p += 8 * words;
    n -= 8 * words;
    word += words;
  }
  if (n > 0) {
    std::uint64_t w = wordAt(word);
    std::memcpy(p, &w, n);
  }
}

std::optional<std::uint64_t> PrngStream::firstMismatch(std::uint64_t offset,
                                                       std::span<const std::uint8_t> data) const {
  std::uint8_t expected[4096];
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

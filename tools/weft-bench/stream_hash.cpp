#include "weft-bench/stream_hash.h"

#include <bit>
#include <cstring>

namespace weft::bench {
namespace {

static_assert(std::endian::native == std::endian::little, "the wire formats assume a little-endian host");

constexpr std::uint64_t kPrime1 = 0x9E3779B185EBCA87ULL;
constexpr std::uint64_t kPrime2 = 0xC2B2AE3D27D4EB4FULL;
constexpr std::uint64_t kPrime3 = 0x165667B19E3779F9ULL;
constexpr std::uint64_t kPrime4 = 0x85EBCA77C2B2AE63ULL;
constexpr std::uint64_t kPrime5 = 0x27D4EB2F165667C5ULL;

inline std::uint64_t load64(const std::uint8_t* p) {
  std::uint64_t v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

inline std::uint32_t load32(const std::uint8_t* p) {
  std::uint32_t v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

inline std::uint64_t round(std::uint64_t acc, std::uint64_t input) {
  acc += input * kPrime2;
  acc = std::rotl(acc, 31);
  return acc * kPrime1;
}

inline std::uint64_t mergeRound(std::uint64_t acc, std::uint64_t lane) {
  acc ^= round(0, lane);
  return acc * kPrime1 + kPrime4;
}

inline void consumeStripe(std::uint64_t* lanes, const std::uint8_t* p) {
  lanes[0] = round(lanes[0], load64(p));
  lanes[1] = round(lanes[1], load64(p + 8));
  lanes[2] = round(lanes[2], load64(p + 16));
  lanes[3] = round(lanes[3], load64(p + 24));
}

}  // namespace

StreamHash::StreamHash(std::uint64_t seed)
    : seed_(seed), lanes_{seed + kPrime1 + kPrime2, seed + kPrime2, seed, seed - kPrime1} {}

void StreamHash::update(std::span<const std::uint8_t> data) {
  const std::uint8_t* p = data.data();
  std::size_t n = data.size();
  total_ += n;
  if (n == 0) return;
  if (pendingSize_ > 0) {
    std::size_t take = std::min(n, kStripe - pendingSize_);
    std::memcpy(pending_ + pendingSize_, p, take);
    pendingSize_ += take;
    p += take;
    n -= take;
    if (pendingSize_ < kStripe) return;
    consumeStripe(lanes_, pending_);
    pendingSize_ = 0;
  }
  // Local copies let the compiler keep the four lanes in registers.
  std::uint64_t lanes[4] = {lanes_[0], lanes_[1], lanes_[2], lanes_[3]};
  for (; n >= kStripe; p += kStripe, n -= kStripe) consumeStripe(lanes, p);
  std::memcpy(lanes_, lanes, sizeof lanes);
  std::memcpy(pending_, p, n);
  pendingSize_ = n;
}

std::uint64_t StreamHash::digest() const {
  std::uint64_t h;
  if (total_ >= kStripe) {
    h = std::rotl(lanes_[0], 1) + std::rotl(lanes_[1], 7) + std::rotl(lanes_[2], 12) + std::rotl(lanes_[3], 18);
    for (std::uint64_t lane : lanes_) h = mergeRound(h, lane);
  } else {
    h = seed_ + kPrime5;
  }
  h += total_;
  const std::uint8_t* p = pending_;
  std::size_t n = pendingSize_;
  for (; n >= 8; p += 8, n -= 8) {
    h ^= round(0, load64(p));
    h = std::rotl(h, 27) * kPrime1 + kPrime4;
  }
  if (n >= 4) {
    h ^= static_cast<std::uint64_t>(load32(p)) * kPrime1;
    h = std::rotl(h, 23) * kPrime2 + kPrime3;
    p += 4;
    n -= 4;
  }
  for (; n > 0; ++p, --n) {
    h ^= *p * kPrime5;
    h = std::rotl(h, 11) * kPrime1;
  }
  h ^= h >> 33;
  h *= kPrime2;
  h ^= h >> 29;
  h *= kPrime3;
  h ^= h >> 32;
  return h;
}

std::uint64_t StreamHash::of(std::span<const std::uint8_t> data, std::uint64_t seed) {
  StreamHash hash(seed);
  hash.update(data);
  return hash.digest();
}

}  // namespace weft::bench

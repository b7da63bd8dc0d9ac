#include <doctest/doctest.h>

#include <random>
#include <string_view>
#include <vector>

#include "weft-bench/stream_hash.h"

using weft::bench::StreamHash;

namespace {

std::span<const std::uint8_t> bytes(std::string_view s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

}  // namespace

// Vectors from the reference implementation (libxxhash 0.8.1, XXH64).
TEST_CASE("bench: StreamHash matches XXH64 reference vectors") {
  CHECK(StreamHash::of({}) == 0xEF46DB3751D8E999ULL);
  CHECK(StreamHash::of(bytes("a")) == 0xD24EC4F1A98C6E5BULL);
  CHECK(StreamHash::of(bytes("abc")) == 0x44BC2CF5AD770999ULL);
  CHECK(StreamHash::of(bytes("abc"), 1) == 0xBEA9CA8199328908ULL);
  CHECK(StreamHash::of(bytes("The quick brown fox jumps over the lazy dog")) == 0x0B242D361FDA71BCULL);
  std::vector<std::uint8_t> counting(1024);
  for (std::size_t i = 0; i < counting.size(); ++i) counting[i] = static_cast<std::uint8_t>(i);
  CHECK(StreamHash::of(counting) == 0x6F3914F18FE4DF57ULL);
  CHECK(StreamHash::of({counting.data(), 100}, 12345) == 0x028BA1AE2DE4DE27ULL);
}

TEST_CASE("bench: StreamHash is independent of how the stream is chunked") {
  std::mt19937_64 rng(42);
  std::vector<std::uint8_t> data(100'003);
  for (auto& b : data) b = static_cast<std::uint8_t>(rng());
  const std::uint64_t whole = StreamHash::of(data, 7);
  for (int round = 0; round < 50; ++round) {
    StreamHash hash(7);
    std::size_t pos = 0;
    // Mostly tiny chunks around the 32-byte stripe, some large.
    while (pos < data.size()) {
      std::size_t n = rng() % 4 == 0 ? rng() % 5000 : rng() % 70;
      n = std::min(n, data.size() - pos);
      hash.update({data.data() + pos, n});
      pos += n;
    }
    CHECK(hash.size() == data.size());
    CHECK(hash.digest() == whole);
  }
  // Digest does not disturb the running state.
  StreamHash hash;
  hash.update({data.data(), 10});
  (void)hash.digest();
  hash.update({data.data() + 10, 90});
  CHECK(hash.digest() == StreamHash::of({data.data(), 100}));
}

TEST_CASE("bench: StreamHash notices a single flipped bit") {
  std::vector<std::uint8_t> data(4096, 0x5A);
  std::uint64_t before = StreamHash::of(data);
  data[2049] ^= 0x10;
  CHECK(StreamHash::of(data) != before);
}

#include <doctest/doctest.h>

#include <random>
#include <vector>

#include "weft-bench/prng_stream.h"

using weft::bench::PrngStream;

TEST_CASE("bench: PrngStream's format is pinned (client and server builds must agree)") {
  // Computed from the definition in prng_stream.h by an independent script.
  PrngStream stream(0);
  CHECK(stream.wordAt(0) == 0x976745AE04B6C8BCULL);
  CHECK(stream.wordAt(1) == 0x1B3F73FDDE1260E7ULL);
  CHECK(stream.wordAt(1023) == 0x5998CC92D4813062ULL);
  CHECK(stream.wordAt(1024) == 0xE492F9399AB5D18AULL);  // second block: same base, new key
  CHECK(stream.wordAt(5000) == 0x285D35C066F3CE19ULL);
  std::uint8_t first[8];
  stream.fill(0, first);
  CHECK(first[0] == 0xBC);  // little-endian
  CHECK(first[7] == 0x97);
}

TEST_CASE("bench: PrngStream blocks differ from each other in every word") {
  PrngStream stream(77);
  for (std::uint64_t j = 0; j < PrngStream::kBlockWords; ++j) {
    REQUIRE(stream.wordAt(j) != stream.wordAt(j + PrngStream::kBlockWords));
    REQUIRE(stream.wordAt(j) != stream.wordAt(j + 1000 * PrngStream::kBlockWords));
  }
}

TEST_CASE("bench: PrngStream is reproducible and independent of chunking") {
  PrngStream stream(0x1234);
  std::vector<std::uint8_t> whole(50'003);  // several blocks, ragged end
  stream.fill(0, whole);
  std::vector<std::uint8_t> again(whole.size());
  PrngStream(0x1234).fill(0, again);
  CHECK(whole == again);

  std::mt19937_64 rng(1);
  for (int round = 0; round < 20; ++round) {
    std::vector<std::uint8_t> pieces(whole.size());
    std::size_t pos = 0;
    while (pos < pieces.size()) {
      std::size_t n = std::min<std::size_t>(rng() % 4 == 0 ? rng() % 20'000 : rng() % 100, pieces.size() - pos);
      stream.fill(pos, {pieces.data() + pos, n});
      pos += n;
    }
    CHECK(pieces == whole);
  }
  // Any window at any offset is the same bytes.
  std::vector<std::uint8_t> window(77);
  stream.fill(12'345, window);
  CHECK(std::equal(window.begin(), window.end(), whole.begin() + 12'345));

  std::vector<std::uint8_t> other(whole.size());
  PrngStream(0x1235).fill(0, other);
  CHECK(other != whole);
}

TEST_CASE("bench: PrngStream::firstMismatch finds the first corrupted byte") {
  PrngStream stream(9);
  std::vector<std::uint8_t> data(3000);
  stream.fill(1001, data);
  CHECK_FALSE(stream.firstMismatch(1001, data).has_value());
  data[2500] ^= 1;
  data[2900] ^= 1;
  auto bad = stream.firstMismatch(1001, data);
  REQUIRE(bad.has_value());
  CHECK(*bad == 1001 + 2500);
  // Data claimed at the wrong offset mismatches at once.
  CHECK(stream.firstMismatch(1000, data) == std::optional<std::uint64_t>(1000));
}

// The deterministic byte stream that bulk transfers and request bodies carry.
// Byte i depends only on (seed, i), so either end can generate or check any
// range on its own, however the transfer was chunked, and a corruption is
// reported with its offset.
//
// Word k (8 bytes, little-endian) is base[k mod 1024] XOR key(k / 1024), where
// base[j] = splitmix64(seed + (j + 1) * gamma) and key(b) = splitmix64 of
// (seed XOR kKeySalt) + (b + 1) * gamma. Generating is then a load and an XOR
// per word from an 8 KiB table in L1 (over 20 GB/s) instead of two multiplies,
// so the generator costs less than the kernel's copy and never limits a bulk
// run; every 8 KiB block still differs from every other in every word, so a
// misplaced block is caught. The format is part of the wire protocol: a
// client and a server from different builds must agree on it.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>

namespace weft::bench {

class PrngStream {
 public:
  static constexpr std::size_t kBlockWords = 1024;

  explicit PrngStream(std::uint64_t seed);

  [[nodiscard]] std::uint64_t wordAt(std::uint64_t index) const;

  // Writes stream bytes [offset, offset + out.size()).
  void fill(std::uint64_t offset, std::span<std::uint8_t> out) const;

  // The stream offset of the first byte of `data` (which claims to be the
  // stream from `offset` on) that differs from the stream; nullopt if none.
  [[nodiscard]] std::optional<std::uint64_t> firstMismatch(std::uint64_t offset,
                                                           std::span<const std::uint8_t> data) const;

 private:
  [[nodiscard]] std::uint64_t blockKey(std::uint64_t block) const;

  std::uint64_t seed_;
  std::array<std::uint64_t, kBlockWords> base_;
};

// Request and response bodies of rr: a fixed stream so that both ends can
// check every byte of a message without sharing state.
inline constexpr std::uint64_t kBodySeed = 0x77656674;  // "weft"

}  // namespace weft::bench

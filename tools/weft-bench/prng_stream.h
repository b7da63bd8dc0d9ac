// The deterministic byte stream that bulk transfers and request bodies carry.
// Byte i depends only on (seed, i), so either end can generate or check any
// range on its own, however the transfer was chunked, and a corruption is
// reported with its offset. Word k (8 bytes, little-endian) is splitmix64's
// output for the state seed + (k + 1) * gamma. The format is part of the wire
// protocol: a client and a server from different builds must agree on it.
#pragma once

#include <cstdint>
#include <optional>
#include <span>

namespace weft::bench {

class PrngStream {
 public:
  explicit PrngStream(std::uint64_t seed) : seed_(seed) {}

  [[nodiscard]] std::uint64_t wordAt(std::uint64_t index) const;

  // Writes stream bytes [offset, offset + out.size()).
  void fill(std::uint64_t offset, std::span<std::uint8_t> out) const;

  // The stream offset of the first byte of `data` (which claims to be the
  // stream from `offset` on) that differs from the stream; nullopt if none.
  [[nodiscard]] std::optional<std::uint64_t> firstMismatch(std::uint64_t offset,
                                                           std::span<const std::uint8_t> data) const;

 private:
  std::uint64_t seed_;
};

// Request and response bodies of rr/echo: a fixed stream so that both ends
// can check every byte of a message without sharing state.
inline constexpr std::uint64_t kBodySeed = 0x77656674;  // "weft"

}  // namespace weft::bench

// A minimal HTTP/1.1 origin so that curl, wrk and h2load's HTTP/1.1 mode can
// be pointed at `weft-bench serve`: every request gets 200 with a body of the
// configured size (or `?size=N` in the target), keep-alive unless the client
// asks to close, pipelined requests answered in order. It is not a general
// server: chunked request bodies are refused with 501.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace weft::bench {

class HttpResponder {
 public:
  static constexpr std::size_t kMaxHead = 64 * 1024;
  static constexpr std::uint64_t kMaxBody = 64ULL << 20;

  explicit HttpResponder(std::uint64_t bodySize) : bodySize_(bodySize) {}

  enum class Verdict { kContinue, kClose };

  // Consumes request bytes and appends responses to `out`. After kClose the
  // caller sends what is in `out` and closes; further input is ignored.
  Verdict consume(std::span<const std::uint8_t> in, std::vector<std::uint8_t>& out);

  [[nodiscard]] std::uint64_t requests() const { return requests_; }

 private:
  Verdict answer(std::string_view head, std::vector<std::uint8_t>& out);

  std::uint64_t bodySize_;
  std::string head_;               // the request head received so far
  std::uint64_t bodyToSkip_ = 0;   // request body bytes still to discard
  std::uint64_t requests_ = 0;
  bool closed_ = false;
};

}  // namespace weft::bench

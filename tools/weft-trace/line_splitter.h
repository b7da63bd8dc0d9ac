// The NDJSON body of the agent's /events, as lines: a byte stream split at
// '\n' (a trailing '\r' dropped), with memory bounded. No I/O here.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace weft::trace {

// A line longer than maxLine is dropped whole and counted.
class LineSplitter {
 public:
  explicit LineSplitter(std::size_t maxLine = 1 << 20) : maxLine_(maxLine) {}
  // Appends `bytes`; complete lines (not empty) go to `lines`.
  void feed(std::string_view bytes, std::vector<std::string>& lines);
  [[nodiscard]] std::size_t oversized() const { return oversized_; }

 private:
  std::string partial_;
  std::size_t maxLine_;
  bool skipping_ = false;  // inside an oversized line
  std::size_t oversized_ = 0;
};

}  // namespace weft::trace

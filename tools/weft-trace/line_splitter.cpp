#include "weft-trace/line_splitter.h"

namespace weft::trace {

void LineSplitter::feed(std::string_view bytes, std::vector<std::string>& lines) {
  while (!bytes.empty()) {
    auto end = bytes.find('\n');
    std::string_view piece = bytes.substr(0, end);
    bytes = end == std::string_view::npos ? std::string_view{} : bytes.substr(end + 1);
    if (!skipping_) partial_.append(piece);
    if (partial_.size() > maxLine_) {
      partial_.clear();
      if (!skipping_) ++oversized_;
      skipping_ = true;
    }
    if (end == std::string_view::npos) return;
    if (!skipping_) {
      if (!partial_.empty() && partial_.back() == '\r') partial_.pop_back();
      if (!partial_.empty()) lines.push_back(std::move(partial_));
    }
    partial_.clear();
    skipping_ = false;
  }
}

}  // namespace weft::trace

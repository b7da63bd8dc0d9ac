// Aligned text tables, as kubectl prints them: upper-case headers, columns
// padded to their widest cell, three spaces apart.
#pragma once

#include <string>
#include <vector>

namespace weft::ctl {

class Table {
 public:
  explicit Table(std::vector<std::string> headers) : rows_{std::move(headers)} {}
  void add(std::vector<std::string> row) { rows_.push_back(std::move(row)); }
  [[nodiscard]] std::string render() const;
  [[nodiscard]] std::size_t rows() const { return rows_.size() - 1; }

 private:
  std::vector<std::vector<std::string>> rows_;
};

}  // namespace weft::ctl

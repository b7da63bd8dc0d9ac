#include "weft/telemetry/metrics.h"

namespace weft::telemetry {

namespace {
const std::string kOverflowLabels = "overflow=\"true\"";
}

template <class Series>
Series& MetricsShard::intern(const std::string& labels, std::deque<Series>& list,
                             std::unordered_map<std::string, Series*>& index) {
  if (auto it = index.find(labels); it != index.end()) return *it->second;
  bool full = tcpIndex_.size() + httpIndex_.size() >= maxSeries_;
  const std::string& key = full ? kOverflowLabels : labels;
  if (full) {
    overflowed_.add();
    if (auto it = index.find(key); it != index.end()) return *it->second;
  }
  Series* series;
  {
    std::lock_guard lock(mutex_);
    series = &list.emplace_back(key);
  }
  index.emplace(key, series);
  return *series;
}

TcpSeries& MetricsShard::tcp(const std::string& labels) { return intern(labels, tcp_, tcpIndex_); }
HttpSeries& MetricsShard::http(const std::string& labels) { return intern(labels, http_, httpIndex_); }

std::size_t MetricsShard::seriesCount() const {
  std::lock_guard lock(mutex_);
  return tcp_.size() + http_.size();
}

}  // namespace weft::telemetry

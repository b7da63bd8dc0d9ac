// The end of weft-trace's pipeline: names each event's ends, applies the
// filter, prints what passes (flushing per batch, so that a pipe sees events
// live), reports lost events, and keeps the counts of the summary.
#pragma once

#include <cstdint>
#include <cstdio>
#include <memory>
#include <optional>

#include "weft-trace/event_filter.h"
#include "weft-trace/formatting.h"
#include "weft-trace/workload_names.h"

namespace weft::trace {

struct TraceCounts {
  std::uint64_t shown = 0;
  std::uint64_t filteredOut = 0;
  std::uint64_t lostKernel = 0;
  std::uint64_t lostAgent = 0;
};

class EventPrinter {
 public:
  EventPrinter(OutputFormat format, EventFilter filter, std::optional<std::uint64_t> limit, std::FILE* out);

  void setNames(std::shared_ptr<const WorkloadNames> names) { names_ = std::move(names); }
  void header();
  // Ignored once the limit was reached.
  void offer(FlowEvent event);
  void lost(Origin origin, std::uint64_t count);
  void flush();

  [[nodiscard]] bool limitReached() const { return limit_ && counts_.shown >= *limit_; }
  // stdout went away (a closed pipe): nothing more can be shown.
  [[nodiscard]] bool outputFailed() const { return failed_; }
  [[nodiscard]] const TraceCounts& counts() const { return counts_; }

 private:
  void write(const std::string& line);

  OutputFormat format_;
  EventFilter filter_;
  std::optional<std::uint64_t> limit_;
  std::FILE* out_;
  std::shared_ptr<const WorkloadNames> names_;
  TraceCounts counts_;
  bool failed_ = false;
};

}  // namespace weft::trace

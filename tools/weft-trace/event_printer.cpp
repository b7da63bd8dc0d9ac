#include "weft-trace/event_printer.h"

namespace weft::trace {

EventPrinter::EventPrinter(OutputFormat format, EventFilter filter, std::optional<std::uint64_t> limit,
                           std::FILE* out)
    : format_(format), filter_(std::move(filter)), limit_(limit), out_(out) {}

void EventPrinter::write(const std::string& line) {
  if (failed_) return;
  if (std::fwrite(line.data(), 1, line.size(), out_) != line.size()) failed_ = true;
}

void EventPrinter::header() {
  if (format_ == OutputFormat::kTable) write(tableHeader());
}

void EventPrinter::offer(FlowEvent event) {
  if (limitReached()) return;
  if (names_) names_->name(event);
  if (!filter_.matches(event)) {
    ++counts_.filteredOut;
    return;
  }
  ++counts_.shown;
  write(formatEvent(event, format_));
}

void EventPrinter::lost(Origin origin, std::uint64_t count) {
  if (count == 0) return;
  (origin == Origin::kKernel ? counts_.lostKernel : counts_.lostAgent) += count;
  write(formatLost(origin, count, format_));
}

void EventPrinter::flush() {
  if (!failed_ && std::fflush(out_) != 0) failed_ = true;
}

}  // namespace weft::trace

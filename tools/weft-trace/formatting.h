// How weft-trace prints: a table (one aligned line per event, under a
// header) or JSON lines with stable field names (README.md lists them).
#pragma once

#include <cstdint>
#include <string>

#include "weft-trace/flow_event.h"

namespace weft::trace {

enum class OutputFormat { kTable, kJson };

[[nodiscard]] std::string tableHeader();
[[nodiscard]] std::string formatEvent(const FlowEvent& event, OutputFormat format);  // one line, with '\n'
// Events that the kernel or the agent could not deliver.
[[nodiscard]] std::string formatLost(Origin origin, std::uint64_t count, OutputFormat format);

// "14:00:00.123456" (UTC) and "2026-12-03T14:00:00.123456Z".
[[nodiscard]] std::string clockTime(std::int64_t wallNs);
[[nodiscard]] std::string isoTime(std::int64_t wallNs);

// "demo/n1-p1:8080", else "198.19.1.11:8080"; "-" when nothing is known.
[[nodiscard]] std::string endName(const Peer& peer);
// The table's last column: what happened, in words.
[[nodiscard]] std::string details(const FlowEvent& event);

}  // namespace weft::trace

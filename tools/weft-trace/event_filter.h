// Which events weft-trace shows: --pod (either end), --namespace (either
// end), --verdict, --protocol and --type. Every condition given must hold.
#pragma once

#include <optional>
#include <set>
#include <string>

#include "weft-trace/flow_event.h"

namespace weft::trace {

struct EventFilter {
  std::optional<std::string> pod;  // "name" (any namespace) or "namespace/name"
  std::optional<std::string> ns;
  std::optional<Verdict> verdict;
  std::optional<Protocol> protocol;
  std::set<EventType> types;  // empty: all

  // Events are named (WorkloadNames::name) before they are matched.
  [[nodiscard]] bool matches(const FlowEvent& event) const;
};

}  // namespace weft::trace

// weft-trace's run: opens the sources (the admin API's workloads and event
// stream, the kernel's ring buffer), then one poll loop moves events from
// both to the printer until SIGINT/SIGTERM, --count or --duration; at exit
// the kernel's switch goes off and a summary goes to stderr.
#pragma once

#include "weft-trace/options.h"

namespace weft::trace {

// The process exit code: 0 after a normal stop, kExitFailure when a source
// could not be opened or failed.
[[nodiscard]] int runTrace(const TraceOptions& options);

}  // namespace weft::trace

// The one JSON object a client command prints, and the overall deadline that
// bounds every run. Exactly one object reaches stdout: when the deadline
// fires, its report wins and the process exits 4 at once, even if a worker is
// stuck in a syscall.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "weft-bench/clock.h"
#include "weft-bench/run_error.h"

namespace weft::bench {

// Prints `report` and returns `exitCode`; never returns if the deadline fired first.
int emitReport(const Report& report, int exitCode);
// The end of every client command: the report with the run's first error (if
// any) added, and the exit code that error calls for.
int emitOutcome(Report& report, const RunError* firstError);

// A report for a run that failed before it measured anything.
int emitFailure(std::string_view mode, const RunError& error);

void armDeadline(std::string mode, Nanos after);

}  // namespace weft::bench

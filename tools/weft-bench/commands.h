// The client subcommands. Each prints one JSON report on stdout and returns
// the process exit status (run_error.h).
#pragma once

#include "weft-bench/options.h"

namespace weft::bench {

int runBulk(const BulkOptions& options);
int runRr(const RrOptions& options);
int runChurn(const ChurnOptions& options);
int runIdle(const IdleOptions& options);
int runExpectRefused(const ExpectRefusedOptions& options);

}  // namespace weft::bench

// `weft-bench serve`: one epoll worker per thread, each with its own
// SO_REUSEPORT listener (shared nothing, like the proxy it measures), every
// connection driven by a ServerSession, until SIGTERM or SIGINT.
#pragma once

#include "weft-bench/options.h"

namespace weft::bench {

// Returns the process exit status.
int runServe(const ServeOptions& options);

}  // namespace weft::bench

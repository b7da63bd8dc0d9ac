// What the client commands share: seeds, thread counts, overall deadlines,
// and the latency block of their reports.
#pragma once

#include <cstdint>
#include <vector>

#include "weft-bench/clock.h"
#include "weft-bench/histogram.h"
#include "weft-bench/options.h"
#include "weft-bench/run_error.h"

namespace weft::bench {

// Count-bound runs (bulk, rr --requests) have no natural end; this bounds them.
inline constexpr double kDefaultCountBoundDeadlineSeconds = 600;

// The --seed given, or a random one (reported, so a failing run can be replayed).
[[nodiscard]] std::uint64_t chooseSeed(const ClientOptions& options);

[[nodiscard]] unsigned workerThreads(unsigned requested, std::size_t connections);

// --deadline-s if given; else the run's own bound plus room for connecting
// and draining; count-bound runs (boundSeconds 0) get the fixed default.
[[nodiscard]] Nanos overallDeadline(const ClientOptions& options, double boundSeconds);

// {"p50","p90","p99","p999","max","mean","min"} in microseconds, 0.1 us resolution.
[[nodiscard]] Report latencyJson(const Histogram& nanoseconds);

// `total` split into `parts` shares that differ by at most one, larger first.
[[nodiscard]] std::vector<std::uint64_t> splitEvenly(std::uint64_t total, std::size_t parts);

[[nodiscard]] inline Nanos millis(std::int64_t ms) { return ms * kNanosPerMilli; }

}  // namespace weft::bench

// One monotonic clock, in nanoseconds, for every latency, rate and deadline.
#pragma once

#include <time.h>

#include <cstdint>

namespace weft::bench {

using Nanos = std::int64_t;

inline constexpr Nanos kNanosPerMilli = 1'000'000;
inline constexpr Nanos kNanosPerSecond = 1'000'000'000;

inline Nanos nowNs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<Nanos>(ts.tv_sec) * kNanosPerSecond + ts.tv_nsec;
}

inline Nanos secondsToNs(double seconds) { return static_cast<Nanos>(seconds * 1e9); }
inline double nsToSeconds(Nanos ns) { return static_cast<double>(ns) / 1e9; }

}  // namespace weft::bench

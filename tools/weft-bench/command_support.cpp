#include "weft-bench/command_support.h"

#include <algorithm>
#include <cmath>
#include <random>
#include <thread>

namespace weft::bench {

std::uint64_t chooseSeed(const ClientOptions& options) {
  if (options.seedGiven) return options.seed;
  // 53 bits: the report's readers (jq, Python) hold JSON numbers in doubles,
  // and a seed that does not survive them cannot replay the run.
  std::random_device device;
  return ((static_cast<std::uint64_t>(device()) << 32) | device()) & ((std::uint64_t{1} << 53) - 1);
}

unsigned workerThreads(unsigned requested, std::size_t connections) {
  unsigned threads = requested ? requested : std::max(1u, std::thread::hardware_concurrency());
  return static_cast<unsigned>(std::clamp<std::size_t>(connections, 1, threads));
}

Nanos overallDeadline(const ClientOptions& options, double boundSeconds) {
  if (options.deadlineSeconds > 0) return secondsToNs(options.deadlineSeconds);
  if (boundSeconds <= 0) return secondsToNs(kDefaultCountBoundDeadlineSeconds);
  return secondsToNs(boundSeconds + 10) + millis(options.connectTimeoutMs) + 2 * millis(options.ioTimeoutMs);
}

Report latencyJson(const Histogram& h) {
  auto us = [](double ns) { return std::round(ns / 100.0) / 10.0; };
  auto at = [&](double p) { return us(static_cast<double>(h.valueAtPercentile(p))); };
  return {{"p50", at(50)},   {"p90", at(90)},
          {"p99", at(99)},   {"p999", at(99.9)},
          {"max", us(static_cast<double>(h.max()))}, {"mean", us(h.mean())},
          {"min", us(static_cast<double>(h.min()))}};
}

std::vector<std::uint64_t> splitEvenly(std::uint64_t total, std::size_t parts) {
  std::vector<std::uint64_t> shares(parts, total / parts);
  for (std::size_t i = 0; i < total % parts; ++i) ++shares[i];
  return shares;
}

}  // namespace weft::bench

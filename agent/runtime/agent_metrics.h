// The agent's own metrics (weft_agent_*): the data path's counters, BPF map
// occupancy, certificate expiry and config objects rejected, as samples for
// the scrape endpoint.
#pragma once

#include <chrono>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "weft/bpf/capture_hooks.h"
#include "weft/telemetry/metrics.h"

namespace weft::runtime {

struct AgentMetricSources {
  const nlohmann::json* stats = nullptr;  // what /stats serves (capture, proxy, authorization)
  std::vector<bpf::CaptureHooks::MapOccupancy> maps;
  std::vector<std::pair<std::string, std::chrono::system_clock::time_point>> certificateExpiries;
  std::size_t configObjectsRejected = 0;
  std::uint64_t accessLogEntries = 0;
  std::uint64_t accessLogWriteErrors = 0;
};

[[nodiscard]] std::vector<telemetry::SelfSample> agentMetrics(const AgentMetricSources& sources);

}  // namespace weft::runtime

// The admin API's routes for a running agent. Providers are callbacks so that
// the admin module needs no knowledge of BPF or the proxy.
#pragma once

#include <atomic>
#include <functional>

#include <nlohmann/json.hpp>

#include "weft/admin/admin_server.h"
#include "weft/config/snapshot_store.h"

namespace weft::admin {

struct AgentView {
  std::string nodeName;
  const config::SnapshotStore* snapshots = nullptr;
  const std::atomic<bool>* ready = nullptr;   // set once config and hooks are in place
  std::function<nlohmann::json()> stats;      // counters of the data path
  std::function<nlohmann::json()> certificates;  // workload SVIDs (empty: no mesh)
  std::function<nlohmann::json()> tunnels;       // open tunnels between nodes
};

// GET /healthz/ready, /config_dump, /stats, /certs, /tunnels;
// POST /logging?level=debug.
void registerAgentRoutes(AdminServer& server, AgentView view);

}  // namespace weft::admin

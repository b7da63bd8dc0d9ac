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
  // A successor agent took this node over (it adopted the hooks): this one is
  // not ready any more, whatever `ready` says, so that a readiness probe on a
  // port both share (SO_REUSEPORT) calls the node ready only when the
  // successor says so. Null: never.
  std::function<bool()> replaced;
  std::function<nlohmann::json()> stats;      // counters of the data path
  std::function<nlohmann::json()> certificates;  // workload SVIDs (empty: no mesh)
  std::function<nlohmann::json()> tunnels;       // open tunnels between nodes
  std::function<nlohmann::json()> workloads;     // pods known, with identity, enrollment and policies
  std::function<nlohmann::json()> policies;      // AuthorizationPolicy and PeerAuthentication, as enforced
  std::function<nlohmann::json()> connections;   // the proxy's live connections (null: no proxy)
  std::function<nlohmann::json()> bpfMaps;       // what the BPF maps hold
  // The proxy's decision for a question put as a query string (null: no mesh).
  std::function<Result<nlohmann::json>(std::string_view query)> policyCheck;
  StreamHandler events;                          // live request and connection events (null: none)
};

// GET /healthz/ready, /config_dump, /stats, /certs, /tunnels, /workloads,
// /policies, /policy/check, /connections, /bpf, /events (streamed);
// POST /logging?level=debug.
void registerAgentRoutes(AdminServer& server, AgentView view);
// GET /healthz/ready alone (the health port, 15021).
void registerReadinessRoute(AdminServer& server, const AgentView& view);

}  // namespace weft::admin

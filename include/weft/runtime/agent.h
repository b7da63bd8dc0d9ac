// The agent's life: load config, attach the BPF hooks, start the proxy,
// steer captured connects to it, enroll pods, serve the admin API, follow
// config changes, and shut down cleanly on SIGTERM/SIGINT.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "weft/telemetry/telemetry.h"

namespace weft::runtime {

struct AgentOptions {
  std::string configDir;
  std::string nodeName;
  std::string adminAddr = "127.0.0.1:15000";
  std::string cgroupRoot;  // default: the cgroup2 mount
  std::string bpffsDir;    // default: /sys/fs/bpf/weft/<node>
  bool keepBpf = false;
  // Capture: where pods reach the proxy. Empty: hooks only classify.
  std::string proxyAddress;
  std::uint16_t outboundPort = 15001;
  std::vector<std::uint16_t> excludePorts;
  unsigned workers = 0;  // 0: one per CPU
  // Off by default: with it, blocking reads in apps can end early (ARCHITECTURE.md).
  bool sockmap = false;
  std::chrono::milliseconds connectTimeout{5000};
  std::chrono::seconds idleTimeout{3600};
  // SIGTERM once a successor adopted the hooks: how long relays in progress
  // may take to finish (under a DaemonSet's terminationGracePeriodSeconds).
  std::chrono::seconds drainTimeout{25};
  // The mesh between nodes: on when nodeIp is set (with capture).
  std::string nodeIp;                         // tunnel listener address (this node's IP)
  std::uint16_t tunnelPort = 15008;
  std::uint16_t inboundPort = 15006;          // PERMISSIVE plaintext listener, on proxyAddress
  std::string caDir = "/var/lib/weft/ca";
  std::string trustDomain = "cluster.local";
  std::chrono::seconds svidLifetime{24 * 3600};
  // STRICT PeerAuthentication lets in the node's own connections (kubelet
  // probes); --strict-node-traffic drop turns that off.
  bool strictAllowsNode = true;
  // AuthorizationPolicy paths: merge repeated slashes before matching (and
  // forward the merged form), as Istio's meshConfig.pathNormalization MERGE_SLASHES.
  bool mergeSlashes = true;
  std::chrono::microseconds testDelayPerBatch{0};  // --test-slow-us: scripts/perf's regression check only
  // Prometheus scrape endpoint (/metrics, /stats/prometheus); empty: none.
  std::string metricsAddr = "0.0.0.0:15020";
  std::string healthAddr = "0.0.0.0:15021";  // /healthz/ready for kubelet; empty: none
  telemetry::TelemetryOptions telemetry;  // metrics names, access logs
};

// Runs until SIGTERM/SIGINT; returns the process exit code.
int runAgent(const AgentOptions& options);

// Removes the pinned BPF state of a node (weft-agent --cleanup).
int cleanupNode(const std::string& nodeName, const std::string& bpffsDir);

}  // namespace weft::runtime

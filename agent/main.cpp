// weft-agent: flags in, runtime out. Each module's behaviour lives in its folder.
#include <CLI/CLI.hpp>

#include "weft/common/log.h"
#include "weft/runtime/agent.h"

int main(int argc, char** argv) {
  CLI::App app{"weft-agent: the per-node sidecarless service mesh agent"};
  weft::runtime::AgentOptions options;
  std::string logLevel = "info";
  std::string sockmap = "off";
  std::string mergeSlashes = "on";
  std::string strictNodeTraffic = "allow";
  long connectTimeoutMs = options.connectTimeout.count();
  long idleTimeoutS = options.idleTimeout.count();
  long drainTimeoutS = options.drainTimeout.count();
  long svidLifetimeS = options.svidLifetime.count();
  bool cleanup = false;

  app.add_option("--config-dir", options.configDir, "Directory of YAML manifests (as kubectl apply -f takes)")
      ->check(CLI::ExistingDirectory);
  app.add_option("--node-name", options.nodeName, "This node's name (default: host name)");
  app.add_option("--admin-addr", options.adminAddr, "Admin API address")->capture_default_str();
  app.add_option("--log-level", logLevel, "trace, debug, info, warn, error or off")
      ->capture_default_str()
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "off"}));
  app.add_option("--cgroup-root", options.cgroupRoot, "cgroup v2 directory to attach hooks to (default: the cgroup2 mount)");
  app.add_option("--bpffs-dir", options.bpffsDir, "bpffs directory for pins (default: /sys/fs/bpf/weft/<node>)");
  app.add_flag("--keep-bpf", options.keepBpf,
               "Leave BPF programs attached and pinned at exit: enrolled pods then fail closed until a restarted "
               "agent adopts them");
  app.add_flag("--cleanup", cleanup, "Remove this node's pinned BPF state and exit");
  app.add_option("--proxy-addr", options.proxyAddress,
                 "IPv4 address pods reach the node proxy at; enables capture (default: capture off)");
  app.add_option("--outbound-port", options.outboundPort, "Outbound capture listener port")->capture_default_str();
  app.add_option("--exclude-ports", options.excludePorts, "Destination ports never captured (comma separated)")
      ->delimiter(',');
  app.add_option("--workers", options.workers, "Proxy worker threads (default: one per CPU)");
  app.add_option("--sockmap", sockmap, "Same-node sockmap fast path: on (experimental) or off")
      ->capture_default_str()
      ->check(CLI::IsMember({"on", "off"}));
  app.add_option("--connect-timeout-ms", connectTimeoutMs, "Upstream connect timeout")->capture_default_str();
  app.add_option("--idle-timeout-s", idleTimeoutS, "Close relayed connections idle this long")->capture_default_str();
  app.add_option("--drain-timeout-s", drainTimeoutS,
                 "Hand-over: on SIGTERM with a successor agent running, how long it may take to get ready and "
                 "relays in progress to finish while new connections go to it")
      ->capture_default_str()
      ->check(CLI::Range(0L, 3600L));
  app.add_option("--node-ip", options.nodeIp,
                 "This node's IP: the mTLS tunnel listener binds it and traffic between enrolled pods of "
                 "different nodes goes through tunnels (needs --proxy-addr)");
  app.add_option("--tunnel-port", options.tunnelPort, "Tunnel listener port (HTTP/2 CONNECT over mTLS)")
      ->capture_default_str();
  app.add_option("--inbound-port", options.inboundPort, "Inbound plaintext listener port (PERMISSIVE)")
      ->capture_default_str();
  app.add_option("--ca-dir", options.caDir, "Mesh CA directory: ca.crt and ca.key, created when both are absent")
      ->capture_default_str();
  app.add_option("--trust-domain", options.trustDomain, "SPIFFE trust domain")->capture_default_str();
  app.add_option("--svid-lifetime-s", svidLifetimeS, "Workload certificate lifetime; renewed at half-life")
      ->capture_default_str()
      ->check(CLI::Range(10L, 366L * 24 * 3600));
  app.add_option("--strict-node-traffic", strictNodeTraffic,
                 "Connections the node itself makes to STRICT pods (kubelet's probes): allow (as Istio ambient "
                 "and Cilium) or drop (only the node proxy's reach them)")
      ->capture_default_str()
      ->check(CLI::IsMember({"allow", "drop"}));
  app.add_option("--merge-slashes", mergeSlashes,
                 "AuthorizationPolicy paths: merge repeated slashes before matching (the pod gets the merged "
                 "path)")
      ->capture_default_str()
      ->check(CLI::IsMember({"on", "off"}));
  app.add_option("--health-addr", options.healthAddr,
                 "Readiness endpoint (/healthz/ready) for kubelet's probe; \"off\": none")
      ->capture_default_str();
  std::string metricsNames = "weft";
  app.add_option("--metrics-addr", options.metricsAddr,
                 "Prometheus scrape endpoint (/metrics); \"off\": no endpoint and no traffic series kept")
      ->capture_default_str();
  app.add_option("--metrics-names", metricsNames,
                 "Metric names: weft (weft_requests_total, durations in seconds) or istio (istio_requests_total, "
                 "milliseconds: existing dashboards and Kiali work unchanged); the labels are Istio's either way")
      ->capture_default_str()
      ->check(CLI::IsMember({"weft", "istio"}));
  app.add_option("--metrics-max-series", options.telemetry.maxSeries,
                 "Label sets per proxy worker before new ones fold into one overflow series")
      ->capture_default_str()
      ->check(CLI::Range(std::size_t{1}, std::size_t{1000000}));
  app.add_option("--cluster-id", options.telemetry.clusterId, "The source_cluster/destination_cluster label")
      ->capture_default_str();
  app.add_option("--access-log", options.telemetry.accessLog.path,
                 "Access log, one JSON line per connection and per HTTP request: a file, \"-\" for stdout, or "
                 "\"off\"")
      ->default_str("off");
  app.add_option("--access-log-sample", options.telemetry.accessLog.sample,
                 "Share of ordinary entries written (0 to 1); failed and denied ones are always written")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 1.0));
  app.add_option("--trace-collector", options.telemetry.tracing.collector,
                 "OpenTelemetry collector for spans, OTLP/HTTP JSON (http://host:4318/v1/traces); \"off\": no "
                 "tracing, and trace headers pass untouched")
      ->default_str("off");
  app.add_option("--trace-sample", options.telemetry.tracing.sample,
                 "Share of new traces sampled (0 to 1); a caller's sampling decision is kept")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 1.0));
  long testSlowUs = 0;
  app.add_option("--test-slow-us", testSlowUs,
                 "Testing only: each proxy worker sleeps this long per batch of completions (scripts/perf checks "
                 "that --compare catches a slower agent)")
      ->check(CLI::Range(0L, 100000L));
  CLI11_PARSE(app, argc, argv);

  if (auto level = weft::log::parseLevel(logLevel)) weft::log::setLevel(*level);
  if (cleanup) return weft::runtime::cleanupNode(options.nodeName, options.bpffsDir);
  options.sockmap = sockmap == "on";
  if (options.metricsAddr == "off") {  // nothing could read them: no series are kept
    options.metricsAddr.clear();
    options.telemetry.metrics = false;
  }
  if (options.healthAddr == "off") options.healthAddr.clear();
  if (options.telemetry.accessLog.path == "off") options.telemetry.accessLog.path.clear();
  if (options.telemetry.tracing.collector == "off") options.telemetry.tracing.collector.clear();
  options.telemetry.naming =
      metricsNames == "istio" ? weft::telemetry::MetricNaming::kIstio : weft::telemetry::MetricNaming::kWeft;
  options.mergeSlashes = mergeSlashes == "on";
  options.strictAllowsNode = strictNodeTraffic == "allow";
  options.testDelayPerBatch = std::chrono::microseconds(testSlowUs);
  options.connectTimeout = std::chrono::milliseconds(connectTimeoutMs);
  options.idleTimeout = std::chrono::seconds(idleTimeoutS);
  options.drainTimeout = std::chrono::seconds(drainTimeoutS);
  options.svidLifetime = std::chrono::seconds(svidLifetimeS);
  return weft::runtime::runAgent(options);
}

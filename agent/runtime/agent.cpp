#include "weft/runtime/agent.h"

#include <arpa/inet.h>
#include <poll.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <fstream>
#include <mutex>
#include <thread>

#include "bpf_steering.h"
#include "mesh_directory_builder.h"
#include "admin_views.h"
#include "agent_metrics.h"
#include "listen_addresses.h"
#include "mesh_inbound_policy.h"
#include "weft/identity/local_ca.h"
#include "weft/identity/workload_certificates.h"
#include "weft/tunnel/tunnel_tls.h"
#include "weft/admin/admin_server.h"
#include "weft/admin/agent_routes.h"
#include "weft/bpf/capture_hooks.h"
#include "weft/bpf/handover_marker.h"
#include "weft/bpf/kernel_paths.h"
#include "weft/bpf/peer_auth_hooks.h"
#include "weft/common/log.h"
#include "weft/common/unique_fd.h"
#include "weft/config/directory_watcher.h"
#include "weft/config/last_good.h"
#include "weft/config/manifest_loader.h"
#include "weft/config/snapshot_store.h"
#include "weft/io/uring_features.h"
#include "weft/proxy/proxy.h"
#include "weft/redirect/enrollment.h"
#include "weft/redirect/peer_authentication.h"

namespace weft::runtime {
namespace {

namespace fs = std::filesystem;

std::string hostName() {
  char name[256] = {};
  ::gethostname(name, sizeof name - 1);
  return name;
}

fs::path pinDirFor(const std::string& node, const std::string& bpffsDir) {
  return bpffsDir.empty() ? bpf::defaultPinDir(node) : fs::path(bpffsDir);
}

// Loads the directory and publishes it, keeping last good objects. A
// directory that cannot be read at all leaves the current snapshot in force.
bool reloadConfig(const fs::path& dir, config::SnapshotStore& store) {
  auto loaded = config::loadManifestDirectory(dir);
  if (!loaded) {
    log::error("config", "cannot read {}: {}; keeping generation {}", dir.string(), loaded.error().describe(),
               store.current()->generation);
    return false;
  }
  auto published = store.publish(config::keepLastGood(std::move(*loaded), *store.current()));
  log::info("config", "generation {}: {} namespaces, {} pods, {} services, {} peer authentications, "
            "{} authorization policies, {} other resources, {} rejected",
            published->generation, published->namespaces.size(), published->pods.size(), published->services.size(),
            published->peerAuthentications.size(), published->authorizationPolicies.size(),
            published->otherResources.size(), published->rejected.size());
  return true;
}

nlohmann::json captureJson(const bpf::CaptureHooks& hooks) {
  auto c = hooks.counters();
  if (!c) return {{"error", c.error().describe()}};
  return {{"connectSeen", c->connectSeen},         {"notEnrolled", c->notEnrolled},
          {"enrolled", c->enrolled},               {"redirected", c->redirected},
          {"excludedPort", c->excludedPort},       {"localDestination", c->localDestination},
          {"notTcp", c->notTcp},                   {"noProxy", c->noProxy},
          {"originalDstRecorded", c->originalDstRecorded}, {"sockmapAdded", c->sockmapAdded},
          {"msgRedirected", c->msgRedirected},     {"msgDirect", c->msgDirect},
          {"msgRedirectedBytes", c->msgRedirectedBytes}, {"msgDirectBytes", c->msgDirectBytes}};
}

// Blocks SIGTERM/SIGINT/SIGHUP and returns a signalfd for them, so that the
// main loop handles signals synchronously (no work in a signal handler).
Result<UniqueFd> blockSignals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGHUP);
  if (pthread_sigmask(SIG_BLOCK, &set, nullptr) != 0) return failErrno("block signals");
  UniqueFd fd(::signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK));
  if (!fd.valid()) return failErrno("signalfd");
  return fd;
}

// Everything the running agent owns, destroyed in reverse order of creation:
// the proxy stops before the hooks detach.
class Agent {
 public:
  explicit Agent(const AgentOptions& options) : options_(options) {}
  int run();

 private:
  Status setUp();
  Status bindAdminPorts();
  Status setUpMesh(proxy::ProxyOptions& proxyOptions);
  void registerRoutes();
  void applyConfig();
  void serve(int signalFd);
  void handOver(int signalFd);
  void noticeSuccessor();
  bool successorComing() const;
  bool successorReady() const;
  nlohmann::json stats();
  std::string metricsText();

  AgentOptions options_;
  std::string node_;
  config::SnapshotStore store_;
  std::optional<config::DirectoryWatcher> watcher_;
  std::optional<bpf::HandoverMarker> marker_;  // the node's newest agent (hand-over)
  std::unique_ptr<bpf::CaptureHooks> hooks_;
  std::unique_ptr<BpfSteering> steering_;
  std::unique_ptr<bpf::PeerAuthHooks> peerAuthHooks_;
  std::unique_ptr<redirect::PeerAuthEnforcement> peerAuth_;
  // The mesh between nodes (--node-ip): CA, workload SVIDs, TLS, directory.
  std::unique_ptr<identity::LocalCa> ca_;
  std::unique_ptr<identity::WorkloadCertificates> certificates_;
  std::shared_ptr<tunnel::TunnelTls> tunnelTls_;
  proxy::MeshDirectoryHolder directory_;
  MeshInboundPolicy inboundPolicy_;  // AuthorizationPolicy and port protocols, for the proxy
  std::unique_ptr<telemetry::Telemetry> telemetry_;  // outlives the proxy's workers that write to it
  std::unique_ptr<proxy::Proxy> proxy_;
  std::mutex enrollmentMutex_;  // reconcile (main thread) vs /stats (admin thread)
  std::unique_ptr<redirect::Enrollment> enrollment_;
  std::atomic<bool> ready_{false};
  // Last, so destroyed first: their threads call stats(), which reads the rest.
  std::unique_ptr<admin::AdminServer> admin_;
  std::unique_ptr<admin::AdminServer> metrics_;  // the Prometheus scrape endpoint (15020)
  std::unique_ptr<admin::AdminServer> health_;   // /healthz/ready for kubelet (15021)
  bool replacedNoticed_ = false;  // a ready successor was seen and the shared ports left to it
};

// The admin API, metrics and health ports, checked against each other and
// the proxy's listeners first: all are SO_REUSEPORT (shared with a successor
// during a hand-over), so the kernel would let two of them share a port.
Status Agent::bindAdminPorts() {
  struct Wanted {
    const char* flag;
    std::string text;
    std::unique_ptr<admin::AdminServer>* server;  // null: a proxy listener, only checked
  };
  std::vector<Wanted> wanted{{"--admin-addr", options_.adminAddr, &admin_}};
  if (!options_.metricsAddr.empty()) wanted.push_back({"--metrics-addr", options_.metricsAddr, &metrics_});
  if (!options_.healthAddr.empty()) wanted.push_back({"--health-addr", options_.healthAddr, &health_});
  std::vector<ListenAddress> addresses;
  for (const Wanted& w : wanted) {
    auto address = parseSocketAddress(w.text);
    if (!address) return fail(ErrorCode::kInvalidArgument, std::string(w.flag) + ": " + address.error().message);
    addresses.push_back({w.flag, *address});
  }
  // The proxy's own addresses: malformed ones are reported where they are used.
  auto proxyListener = [&](const char* flag, const std::string& ip, std::uint16_t port) {
    if (ip.empty()) return;
    if (auto address = parseSocketAddress(ip + ":" + std::to_string(port))) addresses.push_back({flag, *address});
  };
  proxyListener("--proxy-addr/--outbound-port", options_.proxyAddress, options_.outboundPort);
  if (!options_.nodeIp.empty()) {
    proxyListener("--proxy-addr/--inbound-port", options_.proxyAddress, options_.inboundPort);
    proxyListener("--node-ip/--tunnel-port", options_.nodeIp, options_.tunnelPort);
  }
  if (auto ok = checkDistinctListeners(addresses); !ok) return ok;
  for (std::size_t i = 0; i < wanted.size(); ++i) {
    auto server = admin::AdminServer::listen(addresses[i].address, true);
    if (!server) {
      if (i == 0) return std::unexpected(server.error());  // "admin API bind ADDR: cause"
      return fail(server.error().code, std::string(wanted[i].flag) + " " + wanted[i].text + ": " +
                                           server.error().message);
    }
    *wanted[i].server = std::move(*server);
  }
  return {};
}

Status Agent::setUp() {
  node_ = options_.nodeName.empty() ? hostName() : options_.nodeName;
  if (auto ok = bindAdminPorts(); !ok) return ok;
  // Before anything touches the kernel: a bad --access-log fails the start
  // with its cause and leaves no hooks behind.
  const unsigned workers = options_.workers ? options_.workers : std::max(1u, std::thread::hardware_concurrency());
  options_.telemetry.node = node_;
  auto telemetry = telemetry::Telemetry::create(options_.telemetry, options_.proxyAddress.empty() ? 0 : workers);
  if (!telemetry) return std::unexpected(telemetry.error());
  telemetry_ = std::move(*telemetry);

  if (!options_.configDir.empty()) {
    reloadConfig(options_.configDir, store_);
    if (auto w = config::DirectoryWatcher::watch(options_.configDir)) watcher_.emplace(std::move(*w));
    else log::warn("config", "{}; changes need SIGHUP", w.error().describe());
  }

  fs::path cgroupRoot = options_.cgroupRoot;
  if (cgroupRoot.empty()) {
    auto mount = bpf::findCgroup2Mount();
    if (!mount) return std::unexpected(mount.error());
    cgroupRoot = *mount;
  }
  // This agent is the node's newest from now: one that runs still says "not
  // ready" and, stopped, waits for this one (handOver).
  auto marker = bpf::HandoverMarker::open(pinDirFor(node_, options_.bpffsDir));
  if (!marker) return std::unexpected(marker.error());
  marker_.emplace(std::move(*marker));
  if (auto ok = marker_->announce(bpf::HandoverMarker::State::kStarting); !ok) return ok;
  auto hooks = bpf::CaptureHooks::attach({.cgroupRoot = cgroupRoot, .pinDir = pinDirFor(node_, options_.bpffsDir)});
  if (!hooks) return fail(hooks.error().code, "BPF capture hooks: " + hooks.error().message);
  hooks_ = std::move(*hooks);
  hooks_->keepAttachedOnExit(options_.keepBpf);
  steering_ = std::make_unique<BpfSteering>(*hooks_);
  enrollment_ = std::make_unique<redirect::Enrollment>(*hooks_, node_);

  if (options_.proxyAddress.empty()) {
    log::warn("agent", "no --proxy-addr: connects are classified but not captured");
  } else {
    in_addr proxyIp{};
    if (inet_pton(AF_INET, options_.proxyAddress.c_str(), &proxyIp) != 1)
      return fail(ErrorCode::kInvalidArgument, "--proxy-addr '" + options_.proxyAddress + "' is not an IPv4 address");
    auto features = io::probeUringFeatures();
    if (!features) return fail(features.error().code, "io_uring: " + features.error().message);
    proxy::ProxyOptions proxyOptions;
    proxyOptions.outboundListen =
        parseSocketAddress(options_.proxyAddress + ":" + std::to_string(options_.outboundPort)).value();
    proxyOptions.workers = workers;
    proxyOptions.telemetry = telemetry_.get();
    proxyOptions.connectTimeout = options_.connectTimeout;
    proxyOptions.idleTimeout = options_.idleTimeout;
    proxyOptions.testDelayPerBatch = options_.testDelayPerBatch;
    if (options_.testDelayPerBatch.count() > 0)
      log::warn("agent", "--test-slow-us {}: every proxy worker is slowed on purpose (testing only)",
                options_.testDelayPerBatch.count());
    proxyOptions.joinSameNodeRelays = options_.sockmap;
    proxyOptions.upstreamMark = bpf::kMarkFromProxy;  // what STRICT pods let in
    if (auto ok = setUpMesh(proxyOptions); !ok) return ok;
    auto started = proxy::Proxy::start(proxyOptions, *features, *steering_);
    if (!started) return std::unexpected(started.error());
    proxy_ = std::move(*started);
    if (peerAuthHooks_ && proxy_->inboundListenerFd() >= 0)
      if (auto ok = peerAuthHooks_->setInboundListener(proxy_->inboundListenerFd()); !ok) return ok;
    // Steer only once the listener is up: a connect captured before it
    // would be refused.
    if (auto ok = hooks_->setExcludedPorts(options_.excludePorts); !ok) return ok;
    if (auto ok = hooks_->steer({.proxyAddress = proxyIp, .outboundPort = options_.outboundPort,
                                 .sockmap = options_.sockmap});
        !ok)
      return ok;
    log::info("agent", "capturing enrolled pods' connects to {}:{} (sockmap {})", options_.proxyAddress,
              options_.outboundPort, options_.sockmap ? "on" : "off");
    if (options_.sockmap)
      log::warn("agent", "--sockmap on: blocking reads in enrolled apps can end early with EAGAIN "
                "(kernel sockmap behaviour; see ARCHITECTURE.md, same-node fast path)");
  }
  applyConfig();

  auto scrape = [this](const http::Request&) {
    admin::Response r = admin::Response::text(metricsText());
    r.contentType = "text/plain; version=0.0.4; charset=utf-8";
    return r;
  };
  admin_->route("GET", "/stats/prometheus", scrape);
  if (metrics_) {
    metrics_->route("GET", "/metrics", scrape);
    metrics_->route("GET", "/stats/prometheus", scrape);
    metrics_->start();
    log::info("agent", "metrics on http://{}/metrics ({} names)", metrics_->address().toString(),
              options_.telemetry.naming == telemetry::MetricNaming::kIstio ? "Istio's" : "weft's");
  }
  if (!options_.telemetry.accessLog.path.empty())
    log::info("agent", "access log to {} (sampling {})", options_.telemetry.accessLog.path,
              options_.telemetry.accessLog.sample);
  if (telemetry_->spans())
    log::info("agent", "spans to {} (sampling {} of new traces)", options_.telemetry.tracing.collector,
              options_.telemetry.tracing.sample);

  registerRoutes();
  admin_->start();
  return {};
}

// The admin API's view of this agent; what needs the mesh or the proxy is
// absent (404) without them.
void Agent::registerRoutes() {
  using Provider = std::function<nlohmann::json()>;
  bool mesh = certificates_ != nullptr;
  admin::AgentView view{.nodeName = node_, .snapshots = &store_, .ready = &ready_, .stats = [this] { return stats(); }};
  view.replaced = [this] { return successorComing(); };
  if (health_) {
    admin::registerReadinessRoute(*health_, view);
    health_->start();
  }
  view.workloads = [this] {
    nlohmann::json enrolled;
    {
      std::lock_guard lock(enrollmentMutex_);
      enrolled = enrollment_->toJson()["workloads"];
    }
    return workloadsJson(*store_.current(), node_, options_.trustDomain, enrolled,
                         certificates_ ? &inboundPolicy_ : nullptr);
  };
  view.bpfMaps = [this] {
    nlohmann::json out = bpfMapsJson(*hooks_);
    out["capture"] = captureJson(*hooks_);
    std::lock_guard lock(enrollmentMutex_);
    if (peerAuth_) out["peerAuthentication"] = peerAuth_->toJson();
    return out;
  };
  if (mesh) {
    view.certificates = [this] { return certificates_->toJson(); };
    view.policies = [this] { return policiesJson(*store_.current(), node_, inboundPolicy_); };
    view.policyCheck = [this](std::string_view query) -> Result<nlohmann::json> {
      auto question = policyQuestion(query, *store_.current(), options_.trustDomain);
      if (!question) return std::unexpected(question.error());
      return policyAnswerJson(*question, inboundPolicy_.check(*question));
    };
  }
  if (proxy_) {
    view.connections = [this] { return proxy_->connections(); };
    if (mesh) view.tunnels = Provider([this] { return proxy_->tunnels(); });
    view.events = [this](const http::Request&) -> Result<admin::StreamSource> {
      auto subscription = telemetry_->events().subscribe();
      return admin::StreamSource{.fd = subscription->fd(),
                                 .take = [s = subscription.get()] { return s->take(); },
                                 .owner = subscription};
    };
  }
  admin::registerAgentRoutes(*admin_, std::move(view));
}

Status Agent::setUpMesh(proxy::ProxyOptions& proxyOptions) {
  if (options_.nodeIp.empty()) {
    log::warn("agent", "no --node-ip: no mTLS tunnels; traffic between nodes is relayed as plain TCP");
    return {};
  }
  auto tunnelListen = parseSocketAddress(options_.nodeIp + ":" + std::to_string(options_.tunnelPort));
  if (!tunnelListen) return fail(ErrorCode::kInvalidArgument, "--node-ip: " + tunnelListen.error().message);
  if (auto ok = identity::validateTrustDomain(options_.trustDomain); !ok)
    return fail(ErrorCode::kInvalidArgument, "--trust-domain: " + ok.error().message);
  auto ca = identity::LocalCa::loadOrCreate(options_.caDir, options_.trustDomain);
  if (!ca) return fail(ca.error().code, "mesh CA in " + options_.caDir + ": " + ca.error().message);
  ca_ = std::move(*ca);
  certificates_ = std::make_unique<identity::WorkloadCertificates>(
      *ca_, identity::WorkloadCertificatesOptions{.lifetime = options_.svidLifetime});
  auto tls = tunnel::TunnelTls::create(*certificates_);
  if (!tls) return std::unexpected(tls.error());
  tunnelTls_ = std::move(*tls);
  // Certificates and directory before the listeners: the first connection
  // may come at once.
  const auto& snapshot = *store_.current();
  certificates_->setWanted(localIdentities(snapshot, node_, options_.trustDomain));
  directory_.publish(buildMeshDirectory(snapshot, node_, options_.trustDomain));
  inboundPolicy_.update(snapshot, redirect::kMeshRootNamespace, {.mergeSlashes = options_.mergeSlashes});
  proxyOptions.mesh = proxy::MeshOptions{.tunnelListen = *tunnelListen,
                                         .tunnelPort = options_.tunnelPort,
                                         .tls = tunnelTls_,
                                         .certificates = certificates_.get(),
                                         .directory = &directory_,
                                         .inbound = &inboundPolicy_};
  proxyOptions.inboundListen =
      parseSocketAddress(options_.proxyAddress + ":" + std::to_string(options_.inboundPort)).value();
  auto peerAuthHooks = bpf::PeerAuthHooks::load(pinDirFor(node_, options_.bpffsDir),
                                                {.strictAllowsNode = options_.strictAllowsNode});
  if (!peerAuthHooks) return fail(peerAuthHooks.error().code, "PeerAuthentication: " + peerAuthHooks.error().message);
  peerAuthHooks_ = std::move(*peerAuthHooks);
  peerAuthHooks_->keepAttachedOnExit(options_.keepBpf);
  peerAuth_ = std::make_unique<redirect::PeerAuthEnforcement>(*peerAuthHooks_, node_);
  peerAuth_->keepOnExit(options_.keepBpf);
  log::info("agent", "mesh: trust domain {}, CA {}, tunnels on {}", options_.trustDomain, options_.caDir,
            tunnelListen->toString());
  return {};
}

void Agent::applyConfig() {
  std::lock_guard lock(enrollmentMutex_);
  const auto& snapshot = *store_.current();
  enrollment_->reconcile(snapshot);
  if (peerAuth_) peerAuth_->reconcile(snapshot);
  if (certificates_) {
    certificates_->setWanted(localIdentities(snapshot, node_, options_.trustDomain));
    directory_.publish(buildMeshDirectory(snapshot, node_, options_.trustDomain));
    inboundPolicy_.update(snapshot, redirect::kMeshRootNamespace, {.mergeSlashes = options_.mergeSlashes});
  }
}

std::string Agent::metricsText() {
  nlohmann::json s = stats();
  AgentMetricSources sources{.stats = &s,
                             .maps = hooks_->mapOccupancy(),
                             .configObjectsRejected = store_.current()->rejected.size(),
                             .accessLogEntries = telemetry_->accessLogLines(),
                             .accessLogWriteErrors = telemetry_->accessLogWriteErrors()};
  if (certificates_) sources.certificateExpiries = certificates_->expiries();
  return telemetry_->renderMetrics(agentMetrics(sources));
}

nlohmann::json Agent::stats() {
  nlohmann::json out;
  out["capture"] = captureJson(*hooks_);
  if (proxy_) out["proxy"] = proxy_->stats();
  out["eventReaders"] = telemetry_->events().readers();  // weft-trace sessions following /events
  std::lock_guard lock(enrollmentMutex_);
  out["enrollment"] = enrollment_->toJson();
  if (peerAuth_) out["peerAuthentication"] = peerAuth_->toJson();
  if (certificates_) out["authorization"] = inboundPolicy_.toJson();
  if (const auto* spans = telemetry_->spans()) {
    auto s = spans->stats();
    out["tracing"] = {{"collector", options_.telemetry.tracing.collector},
                      {"exportedSpans", s.exportedSpans},
                      {"failedSpans", s.failedSpans},
                      {"droppedSpans", s.droppedSpans},
                      {"failedBatches", s.failedBatches},
                      {"retriedBatches", s.retriedBatches},
                      {"lastError", s.lastError}};
  }
  return out;
}

// Runs until SIGTERM or SIGINT; reloads on SIGHUP or a change in the directory.
void Agent::serve(int signalFd) {
  using Clock = std::chrono::steady_clock;
  constexpr auto kQuietPeriod = std::chrono::milliseconds(200);  // let editors finish writing
  constexpr auto kResync = std::chrono::seconds(10);  // netns that appeared after their Pod object
  constexpr auto kNever = Clock::time_point::max();
  constexpr auto kSuccessorCheck = std::chrono::seconds(1);
  auto reloadAt = kNever;  // set when the directory changed
  auto resyncAt = Clock::now() + kResync;
  auto successorCheckAt = Clock::now() + kSuccessorCheck;
  while (true) {
    pollfd fds[2] = {{signalFd, POLLIN, 0}, {watcher_ ? watcher_->fd() : -1, POLLIN, 0}};
    auto renewAt = kNever;
    if (certificates_) {
      // Capped, so that a far or unset next refresh cannot overflow.
      auto untilNext = std::chrono::duration_cast<std::chrono::milliseconds>(
          std::min(certificates_->nextRefresh(), std::chrono::system_clock::now() + std::chrono::hours(1)) -
          std::chrono::system_clock::now());
      renewAt = Clock::now() + std::max(untilNext, std::chrono::milliseconds(0));
    }
    auto wakeAt = std::min({reloadAt, resyncAt, renewAt, successorCheckAt});
    int timeout = static_cast<int>(
        std::max<long>(0, std::chrono::duration_cast<std::chrono::milliseconds>(wakeAt - Clock::now()).count()));
    if (::poll(fds, 2, timeout) < 0 && errno != EINTR) return;
    if (fds[0].revents & POLLIN) {
      signalfd_siginfo info{};
      while (::read(signalFd, &info, sizeof info) == sizeof info) {
        if (info.ssi_signo == SIGHUP) {
          log::info("agent", "SIGHUP: reloading {}", options_.configDir);
          if (!options_.configDir.empty() && reloadConfig(options_.configDir, store_)) applyConfig();
        } else {
          log::info("agent", "signal {}: shutting down", info.ssi_signo == SIGTERM ? "SIGTERM" : "SIGINT");
          return;
        }
      }
    }
    if (watcher_ && (fds[1].revents & POLLIN) && watcher_->drain()) reloadAt = Clock::now() + kQuietPeriod;
    auto now = Clock::now();
    if (now >= reloadAt) {
      reloadAt = kNever;
      if (reloadConfig(options_.configDir, store_)) applyConfig();
    }
    if (now >= resyncAt) {
      applyConfig();
      resyncAt = now + kResync;
    }
    if (certificates_ && now >= renewAt) {
      std::lock_guard lock(enrollmentMutex_);
      certificates_->refresh();
    }
    if (now >= successorCheckAt) {
      successorCheckAt = now + kSuccessorCheck;
      noticeSuccessor();
    }
  }
}

// A live successor announced itself in the node's hand-over marker (it is
// starting or ready).
bool Agent::successorComing() const { return marker_ && marker_->successor(); }

// Ready: it finished its start (listeners bound, hooks adopted).
bool Agent::successorReady() const {
  auto successor = marker_ ? marker_->successor() : std::nullopt;
  return successor && successor->state == bpf::HandoverMarker::State::kReady && hooks_ &&
         hooks_->adoptedBySuccessor();
}

// A successor is ready (see handOver): the admin, metrics and health
// ports, which both bind with SO_REUSEPORT, are left to it, so that
// weftctl, Prometheus and kubelet reach the node's current agent only. This
// one keeps serving its proxy's connections until SIGTERM.
void Agent::noticeSuccessor() {
  if (replacedNoticed_ || !successorReady()) return;
  replacedNoticed_ = true;
  ready_ = false;
  log::info("agent", "a successor agent is ready: leaving the admin, metrics and health ports to it; serving until "
                     "SIGTERM");
  health_.reset();
  metrics_.reset();
  admin_.reset();
}

// Up to `wait` for SIGTERM or SIGINT (SIGHUP is dropped: no reload now).
bool waitForSignal(int signalFd, std::chrono::milliseconds wait) {
  pollfd fd{signalFd, POLLIN, 0};
  if (::poll(&fd, 1, static_cast<int>(wait.count())) <= 0) return false;
  signalfd_siginfo info{};
  bool stop = false;
  while (::read(signalFd, &info, sizeof info) == sizeof info) stop = stop || info.ssi_signo != SIGHUP;
  return stop;
}

// Connections still queued at this agent's listeners when they close move to
// the successor's listeners of the same SO_REUSEPORT groups instead of being
// reset (net.ipv4.tcp_migrate_req, Linux 5.14, per network namespace).
void allowListenerMigration() {
  std::ofstream migrate("/proc/sys/net/ipv4/tcp_migrate_req");
  if (!(migrate << "1" << std::flush))
    log::warn("agent", "cannot set net.ipv4.tcp_migrate_req ({}): connections queued at the listeners as they "
                       "close are reset", std::strerror(errno));
}

// A SIGTERM after another agent adopted the pinned hooks (a DaemonSet rollout
// with maxSurge, or an operator starting the new agent before stopping the
// old): what this agent attached runs the successor's programs now, so it is
// all left in place, and no connection is refused or cut. The proxy closes
// its listeners, so that the successor's sockets of the same SO_REUSEPORT
// groups take every new connection, asks the nodes whose tunnels it serves to
// open new ones (which reach the successor), and lets its relays finish, up
// to --drain-timeout-s or a second signal. Without a successor, SIGTERM stops
// at once as before (--keep-bpf decides what stays).
void Agent::handOver(int signalFd) {
  // kubelet may stop this agent as soon as a probe on the shared port was
  // answered by the successor, or an operator right after starting it: the
  // successor gets to finish its start first.
  const auto deadline = std::chrono::steady_clock::now() + options_.drainTimeout;
  bool stopNow = false;
  if (successorComing() && !successorReady()) {
    log::info("agent", "SIGTERM while a successor starts: waiting for it to be ready");
    while (!stopNow && successorComing() && !successorReady() && std::chrono::steady_clock::now() < deadline)
      stopNow = waitForSignal(signalFd, std::chrono::milliseconds(100));
  }
  if (!successorReady()) {
    if (marker_) marker_->withdraw();
    if (hooks_ && hooks_->adoptedBySuccessor()) {
      // An agent adopted the hooks and is gone (or never got ready): they run
      // its programs, which steer to the same proxy address. Detached, enrolled
      // connects would escape capture until the next agent; kept, they fail
      // closed.
      log::warn("agent", "the hooks were adopted by an agent that is not running: leaving them attached");
      hooks_->keepAttachedOnExit(true);
      if (peerAuthHooks_) peerAuthHooks_->keepAttachedOnExit(true);
      if (peerAuth_) peerAuth_->keepOnExit(true);
    }
    return;  // no successor: SIGTERM stops at once, as ever
  }
  noticeSuccessor();
  hooks_->keepAttachedOnExit(true);
  if (peerAuthHooks_) peerAuthHooks_->keepAttachedOnExit(true);
  if (peerAuth_) peerAuth_->keepOnExit(true);
  if (!proxy_) {
    log::info("agent", "a successor adopted this node's hooks: leaving them to it");
    return;
  }
  allowListenerMigration();
  proxy_->stopAccepting();
  log::info("agent", "a successor adopted this node's hooks: handing over; new connections go to it, {} relay(s) in "
                     "progress get up to {} s to finish", proxy_->activeRelays(), options_.drainTimeout.count());
  // Done when no relay has been open for a quiet period: a client node may
  // have sent a stream on an inbound tunnel before the shutdown notice
  // reached it, and connections accepted just before the listeners closed
  // may still be on their way into relays.
  constexpr auto kQuiet = std::chrono::milliseconds(500);
  auto quietSince = std::chrono::steady_clock::now();
  while (!stopNow && std::chrono::steady_clock::now() < deadline) {
    const auto now = std::chrono::steady_clock::now();
    if (proxy_->activeRelays() > 0) quietSince = now;
    else if (now - quietSince >= kQuiet) break;
    stopNow = waitForSignal(signalFd, std::chrono::milliseconds(50));
  }
  if (stopNow) log::info("agent", "second signal: stopping the hand-over now");
  const std::uint64_t left = proxy_->activeRelays();
  if (left > 0) log::warn("agent", "hand-over: {} relay(s) still open are reset", left);
  else log::info("agent", "hand-over done: every relay finished");
}

// Every relayed connection holds two descriptors; the usual soft limit of
// 1024 would cap a node at 500 connections. With CAP_SYS_RESOURCE the hard
// limit may go up to fs.nr_open as well.
void raiseDescriptorLimit() {
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) != 0) return;
  rlim_t ceiling = limit.rlim_max;
  if (std::ifstream nrOpen("/proc/sys/fs/nr_open"); nrOpen) nrOpen >> ceiling;
  rlimit wanted{.rlim_cur = std::max(ceiling, limit.rlim_max), .rlim_max = std::max(ceiling, limit.rlim_max)};
  if (::setrlimit(RLIMIT_NOFILE, &wanted) == 0) return;
  wanted = {.rlim_cur = limit.rlim_max, .rlim_max = limit.rlim_max};
  if (::setrlimit(RLIMIT_NOFILE, &wanted) != 0)
    log::warn("agent", "cannot raise the descriptor limit: {}", std::strerror(errno));
  log::info("agent", "descriptor limit {} (could not raise it to fs.nr_open)", limit.rlim_max);
}

int Agent::run() {
  raiseDescriptorLimit();
  auto signals = blockSignals();
  if (!signals) {
    log::error("agent", "{}", signals.error().describe());
    return 1;
  }
  if (auto ok = setUp(); !ok) {
    if (marker_) marker_->withdraw();  // a start that failed is no successor
    log::error("agent", "{}", ok.error().describe());
    return ok.error().code == ErrorCode::kInvalidArgument ? 2 : 1;
  }
  ready_ = true;
  if (auto ok = marker_->announce(bpf::HandoverMarker::State::kReady); !ok)
    log::warn("agent", "{}: an agent this one replaces cannot know it is ready", ok.error().describe());
  log::info("agent", "node {} ready", node_);
  serve(signals->get());
  ready_ = false;
  handOver(signals->get());
  return 0;
}

}  // namespace

int runAgent(const AgentOptions& options) {
  Agent agent(options);
  return agent.run();
}

int cleanupNode(const std::string& nodeName, const std::string& bpffsDir) {
  fs::path pinDir = pinDirFor(nodeName.empty() ? hostName() : nodeName, bpffsDir);
  if (auto ok = bpf::removePinDir(pinDir); !ok) {
    log::error("agent", "cleanup: {}", ok.error().describe());
    return 1;
  }
  log::info("agent", "cleanup: removed BPF pins under {}", pinDir.string());
  return 0;
}

}  // namespace weft::runtime

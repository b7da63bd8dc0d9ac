// The configuration object model: the Kubernetes and weft resources that the
// agent acts on, as plain value types. Both config sources (a directory of
// manifests, later the Kubernetes API) produce exactly these objects.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace weft::config {

using Labels = std::map<std::string, std::string>;

// Where an object came from, so that every message about it can point there.
struct SourceLocation {
  std::string file;  // path as found in the config directory
  int line = 0;      // 1-based line of the document's first key, 0 if unknown
};

struct ObjectMeta {
  std::string name;
  std::string namespace_;  // empty for cluster-scoped kinds (Namespace)
  Labels labels;
  Labels annotations;
  SourceLocation source;
};

// --- core/v1 ----------------------------------------------------------------

struct Namespace {
  ObjectMeta meta;
};

struct Pod {
  ObjectMeta meta;
  std::string nodeName;             // spec.nodeName
  std::string serviceAccount;       // spec.serviceAccountName, "default" when absent
  std::vector<std::string> podIPs;  // status.podIPs[*].ip, else status.podIP
  std::string hostIP;               // status.hostIP: where the pod's node takes tunnels
  std::string netnsPath;            // annotation weft.dev/netns (CNI netns path)
};

struct ServicePort {
  std::string name;
  std::uint16_t port = 0;
  std::string targetPort;   // a number or a container port name, as written
  std::string protocol;     // TCP (default), UDP, SCTP
  std::string appProtocol;  // e.g. http, http2, grpc, kubernetes.io/h2c
};

struct Service {
  ObjectMeta meta;
  std::vector<std::string> clusterIPs;  // spec.clusterIPs, else spec.clusterIP ("None" kept)
  Labels selector;
  std::vector<ServicePort> ports;
};

// --- weft.dev/v1alpha1 -------------------------------------------------------

struct WorkloadSelector {
  Labels matchLabels;
};

enum class MtlsMode { kUnset, kStrict, kPermissive, kDisable };
// "UNSET", "STRICT", "PERMISSIVE", "DISABLE": as written in manifests.
[[nodiscard]] std::string_view mtlsModeName(MtlsMode mode);

struct PeerAuthentication {
  ObjectMeta meta;
  std::optional<WorkloadSelector> selector;
  MtlsMode mode = MtlsMode::kUnset;                 // spec.mtls.mode
  std::map<std::uint16_t, MtlsMode> portLevelMtls;  // spec.portLevelMtls
};

enum class AuthzAction { kAllow, kDeny, kAudit };

// A field with its negative form, as Istio writes them (paths / notPaths).
struct MatchList {
  std::vector<std::string> values;
  std::vector<std::string> notValues;
  [[nodiscard]] bool empty() const { return values.empty() && notValues.empty(); }
};

struct AuthzSource {
  MatchList principals;
  MatchList namespaces;
  MatchList ipBlocks;  // CIDRs or single addresses, validated at load
};

struct AuthzOperation {
  MatchList hosts;
  MatchList ports;
  MatchList methods;
  MatchList paths;
};

struct AuthzCondition {
  std::string key;  // e.g. request.headers[x-user], source.ip, destination.port
  std::vector<std::string> values;
  std::vector<std::string> notValues;
};

struct AuthzRule {
  std::vector<AuthzSource> from;
  std::vector<AuthzOperation> to;
  std::vector<AuthzCondition> when;
};

struct AuthorizationPolicy {
  ObjectMeta meta;
  std::optional<WorkloadSelector> selector;
  AuthzAction action = AuthzAction::kAllow;
  std::vector<AuthzRule> rules;  // ALLOW with no rules denies everything it selects
};

// Kinds that later modules type in full (TrafficPolicy, HTTPRoute, GRPCRoute):
// checked for a well-formed envelope now, kept with their spec as JSON.
struct GenericResource {
  std::string apiVersion;
  std::string kind;
  ObjectMeta meta;
  nlohmann::json spec;
};

}  // namespace weft::config

// The agent's answer to the proxy's question "what happens to this inbound
// connection?" (proxy::InboundPolicy): AuthorizationPolicy compiled by the
// policy module, and each pod port's protocol from the Services that select
// the pod. Rebuilt on every config change on the main thread and published
// whole; workers read the current set per connection without locks. A
// connection keeps the set it started with, as Envoy's filter chains do.
//
// Which path a connection takes:
//   port declared http        -> HTTP/1.1 filter (smuggling defences), authorizer if policies select the pod
//   port declared http2/grpc  -> HTTP/2 filter, likewise
//   port declared tcp         -> plain relay; L4 decision when policies select the pod
//   not declared, policies    -> detecting filter: HTTP/1.1, HTTP/2 or opaque (L4 decision then)
//   not declared, no policy   -> plain relay, the L4 fast path (nothing to enforce, nothing parsed)
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <netinet/in.h>

#include <nlohmann/json.hpp>

#include "weft/config/snapshot.h"
#include "weft/policy/path_normalization.h"
#include "weft/proxy/inbound_policy.h"

namespace weft::runtime {

// `weftctl policy check`: would this request or connection be admitted?
struct PolicyQuestion {
  std::string pod;  // the destination, "namespace/name"
  std::uint16_t port = 0;
  std::string principal;  // the source's SPIFFE ID; empty: plaintext
  std::optional<in6_addr> sourceIp;
  std::optional<in6_addr> destinationIp;
  bool http = true;  // an HTTP request; false: a TCP connection
  std::string method = "GET";
  std::string host;
  std::string path = "/";
  std::vector<std::pair<std::string, std::string>> headers;  // lower-case names
};

struct PolicyAnswer {
  bool allowed = true;
  std::string policy;  // the deciding policy, "namespace/name"; empty when none did
  std::vector<std::string> audits;
  std::string layer;         // "http" or "tcp": how the proxy decides such a connection
  std::string portProtocol;  // the port as Services declare it: http, http2, tcp or undeclared
  std::string path;          // the path the rules saw (normalised)
  std::vector<std::string> selecting;  // every policy that selects the pod
  std::string reason;        // why, in a sentence
};

class MeshInboundPolicy final : public proxy::InboundPolicy {
 public:
  MeshInboundPolicy();
  ~MeshInboundPolicy() override;

  // Main thread. Policies that cannot be compiled are left out and listed
  // (toJson); the others take effect.
  void update(const config::Snapshot& snapshot, std::string_view rootNamespace,
              policy::PathNormalization normalization = {});

  [[nodiscard]] proxy::InboundPlan plan(const proxy::InboundConnection& connection) const override;

  // The decision the proxy would take, by the same code and rules.
  [[nodiscard]] PolicyAnswer check(const PolicyQuestion& question) const;
  // The policies that select pod "namespace/name".
  [[nodiscard]] std::vector<std::string> policiesFor(const std::string& pod) const;
  // How a pod's port is declared: http, http2, tcp or undeclared.
  [[nodiscard]] std::string portProtocol(const std::string& pod, std::uint16_t port) const;

  // For /stats: policies in force, rejected ones with their reasons, and
  // decision counters.
  [[nodiscard]] nlohmann::json toJson() const;

  struct Rules;
  struct Counters {
    std::atomic<std::uint64_t> allowed{0};
    std::atomic<std::uint64_t> denied{0};
    std::atomic<std::uint64_t> audited{0};
  };

 private:
  std::atomic<std::shared_ptr<const Rules>> rules_;
  std::shared_ptr<Counters> counters_ = std::make_shared<Counters>();
};

}  // namespace weft::runtime

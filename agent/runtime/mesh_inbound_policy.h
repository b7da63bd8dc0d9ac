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
#include <string>

#include <nlohmann/json.hpp>

#include "weft/config/snapshot.h"
#include "weft/policy/path_normalization.h"
#include "weft/proxy/inbound_policy.h"

namespace weft::runtime {

class MeshInboundPolicy final : public proxy::InboundPolicy {
 public:
  MeshInboundPolicy();
  ~MeshInboundPolicy() override;

  // Main thread. Policies that cannot be compiled are left out and listed
  // (toJson); the others take effect.
  void update(const config::Snapshot& snapshot, std::string_view rootNamespace,
              policy::PathNormalization normalization = {});

  [[nodiscard]] proxy::InboundPlan plan(const proxy::InboundConnection& connection) const override;

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

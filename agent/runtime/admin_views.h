// What the admin API shows of the agent's state beyond counters: the
// workloads it knows, the policies and how they apply, what is in the BPF
// maps, and `policy check`'s question put to the proxy's own rules. Built on
// the admin thread from the current snapshot; nothing here is on the data path.
#pragma once

#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "mesh_inbound_policy.h"
#include "weft/bpf/capture_hooks.h"
#include "weft/common/error.h"
#include "weft/config/snapshot.h"

namespace weft::runtime {

// Every pod of the snapshot: where it runs, whether it is in the mesh, its
// identity and how metrics name it, the policies that select it. Pods of
// this node that are enrolled carry their netns cookie (from the
// enrollment's JSON, `enrolledWorkloads`), so that kernel events can be named.
[[nodiscard]] nlohmann::json workloadsJson(const config::Snapshot& snapshot, std::string_view node,
                                           std::string_view trustDomain, const nlohmann::json& enrolledWorkloads,
                                           const MeshInboundPolicy* policies);

// AuthorizationPolicies and PeerAuthentications as written, with whether each
// is enforced (or why not), the pods of this node it selects, and the
// objects the agent rejected with their reasons.
[[nodiscard]] nlohmann::json policiesJson(const config::Snapshot& snapshot, std::string_view node,
                                          const MeshInboundPolicy& policies);

// The capture maps: each map's fill and capacity, the enrolled netns cookies
// and this node's pod addresses (the sockmap's same-node set).
[[nodiscard]] nlohmann::json bpfMapsJson(const bpf::CaptureHooks& hooks);

// GET /policy/check?from=..&to=..&port=..&method=..&path=..&host=..&header=name:value&tcp=1
// `from` is a pod ("namespace/name" or a unique name), an IP address
// (plaintext from outside the mesh) or a SPIFFE ID; `to` is a pod.
[[nodiscard]] Result<PolicyQuestion> policyQuestion(std::string_view query, const config::Snapshot& snapshot,
                                                    std::string_view trustDomain);
[[nodiscard]] nlohmann::json policyAnswerJson(const PolicyQuestion& question, const PolicyAnswer& answer);

}  // namespace weft::runtime

// AuthorizationPolicy (weft.dev/v1alpha1), compiled. Semantics are Istio's:
// DENY before ALLOW; AUDIT only records; when any ALLOW policy selects a
// workload a request must match one of its rules; an ALLOW policy without
// rules allows nothing; a rule without fields matches everything. Selection:
// a selector's matchLabels on pods of the policy's namespace, no selector =
// the whole namespace, a policy in the root namespace = every namespace.
//
// Compiled once per config change, on the main thread, into one immutable
// object; workers look a pod up once per connection (forPod) and decide per
// request without locks. A decision does not scan every policy: rules are
// indexed by exact path (hash) and path prefix (a trie), and only the rules
// that can match the request's path, plus those without a path condition,
// are evaluated.
//
// TCP connections follow Istio: an ALLOW rule with an HTTP-only field
// (hosts, methods, paths, request.headers) never matches them; in a DENY or
// AUDIT rule those fields are ignored, so the DENY is stricter, not weaker.
#pragma once

#include <netinet/in.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "weft/config/snapshot.h"

namespace weft::policy {

// What a decision looks at. Views into the caller's data, valid for the call.
struct RequestAttributes {
  // The source's SPIFFE ID ("spiffe://td/ns/x/sa/y"); empty for plaintext.
  std::string_view principal;
  std::optional<in6_addr> sourceIp;  // v4 as v4-mapped
  std::optional<in6_addr> destinationIp;
  std::uint16_t destinationPort = 0;
  bool http = false;  // false: a TCP connection, only L4 fields apply
  std::string_view host;
  std::string_view method;
  std::string_view path;  // normalised (path_normalization.h), without the query
  const std::vector<std::pair<std::string, std::string>>* headers = nullptr;  // lower-case names
};

struct Decision {
  bool allowed = true;
  std::string policy;               // "namespace/name" that decided; empty when none did (allowed by default)
  std::vector<std::string> audits;  // AUDIT policies that matched
};

struct PolicyRejection {
  std::string policy;  // "namespace/name"
  std::string reason;
};

class CompiledPolicies;  // the rules of one workload

class Authorization {
 public:
  struct Compiled;
  ~Authorization();

  // Policies that cannot be compiled are left out and listed with their
  // reason; the others take effect.
  [[nodiscard]] static std::shared_ptr<const Authorization> compile(const config::Snapshot& snapshot,
                                                                    std::string_view rootNamespace,
                                                                    std::vector<PolicyRejection>* rejected = nullptr);

  // The rules that select pod "namespace/name"; nullptr when none does (then
  // everything is allowed and the proxy need not parse anything).
  [[nodiscard]] const CompiledPolicies* forPod(std::string_view podKey) const;
  [[nodiscard]] std::size_t policyCount() const;

  explicit Authorization(std::unique_ptr<Compiled> compiled);

 private:
  std::unique_ptr<Compiled> compiled_;
};

[[nodiscard]] Decision decide(const CompiledPolicies& policies, const RequestAttributes& request);

// The policies ("namespace/name") of a workload's rules, whatever their action.
[[nodiscard]] const std::vector<std::string>& policyNames(const CompiledPolicies& policies);
// Whether an ALLOW policy selects the workload (then a request must match one).
[[nodiscard]] bool hasAllowPolicy(const CompiledPolicies& policies);

// The namespace of a SPIFFE ID "spiffe://td/ns/<ns>/sa/<sa>", empty if none.
[[nodiscard]] std::string_view principalNamespace(std::string_view principal);

}  // namespace weft::policy

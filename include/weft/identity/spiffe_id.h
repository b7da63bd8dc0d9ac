// SPIFFE IDs (https://github.com/spiffe/spiffe/blob/main/standards/SPIFFE-ID.md):
// the workload identities weft proves in its tunnels, in the form
// spiffe://<trust-domain>/ns/<namespace>/sa/<service-account>. Parsing is
// strict: an ID that another SPIFFE implementation would reject must not be
// accepted here, since identities are compared as text in policy.
#pragma once

#include <compare>
#include <string>
#include <string_view>

#include "weft/common/error.h"

namespace weft::identity {

inline constexpr std::size_t kMaxSpiffeIdLength = 2048;
inline constexpr std::string_view kDefaultTrustDomain = "cluster.local";

struct SpiffeId {
  std::string trustDomain;  // e.g. cluster.local
  std::string path;         // e.g. /ns/demo/sa/default ("" only for a trust-domain ID)

  [[nodiscard]] std::string uri() const;  // spiffe://cluster.local/ns/demo/sa/default
  auto operator<=>(const SpiffeId&) const = default;
};

// kParse errors name the rule the input breaks.
[[nodiscard]] Result<SpiffeId> parseSpiffeId(std::string_view uri);
// kInvalidArgument errors name the rule the trust domain breaks.
[[nodiscard]] Status validateTrustDomain(std::string_view trustDomain);
// spiffe://<trustDomain>/ns/<ns>/sa/<serviceAccount>, checked like a parsed ID.
[[nodiscard]] Result<SpiffeId> workloadSpiffeId(std::string_view trustDomain, std::string_view ns,
                                                std::string_view serviceAccount);

}  // namespace weft::identity

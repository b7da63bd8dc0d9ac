// SPIFFE IDs (https://github.com/spiffe/spiffe/blob/main/standards/SPIFFE-ID.md):
// spiffe://<trust domain>/<path>. Workloads of the mesh are
// spiffe://<trust domain>/ns/<namespace>/sa/<service account>.
#pragma once

#include <compare>
#include <string>
#include <string_view>

#include "weft/common/error.h"

namespace weft::identity {

struct SpiffeId {
  std::string trustDomain;  // e.g. cluster.local
  std::string path;         // e.g. /ns/demo/sa/default; empty for the trust domain's own ID
  [[nodiscard]] std::string uri() const { return "spiffe://" + trustDomain + path; }
  auto operator<=>(const SpiffeId&) const = default;
};

// Errors (kParse) name the rule the text breaks.
[[nodiscard]] Result<SpiffeId> parseSpiffeId(std::string_view uri);
[[nodiscard]] Status validateTrustDomain(std::string_view trustDomain);
[[nodiscard]] Result<SpiffeId> workloadSpiffeId(std::string_view trustDomain, std::string_view ns,
                                                std::string_view serviceAccount);

}  // namespace weft::identity

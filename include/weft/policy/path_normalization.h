// Request paths as authorization compares them. A rule on /private must hold
// for every spelling of /private that the upstream would serve as /private:
// /public/../private, /public/%2e%2e/private, //private, /./private. So the
// path is normalised once, before matching, and the normalised form is what
// the proxy forwards (what was checked is what the upstream sees).
//
// Choices (Istio's BASE normalisation plus slash merging, on by default):
// - %XX of an unreserved character (ALPHA DIGIT - . _ ~) is decoded; any other
//   %XX is kept, upper-cased. %2F and %5C stay encoded: decoding them would
//   change which segments the upstream sees, and most upstreams do not split
//   on them either (Envoy's KEEP_UNCHANGED).
// - "." and ".." segments are resolved; ".." never climbs above the root.
// - Repeated slashes merge into one (mergeSlashes, default on).
// - Rejected: a path not starting with '/', a bad or truncated %XX, %00, and
//   control characters. "*" (OPTIONS *) is returned as it is.
#pragma once

#include <string>
#include <string_view>

#include "weft/common/error.h"

namespace weft::policy {

struct PathNormalization {
  bool mergeSlashes = true;
};

[[nodiscard]] Result<std::string> normalizePath(std::string_view path, const PathNormalization& options = {});

}  // namespace weft::policy

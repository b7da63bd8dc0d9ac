// Fuzz target: manifests as users write them, through the loader and the
// AuthorizationPolicy compiler, then a few decisions on every pod the input
// declares. Nothing may crash; a policy that cannot be compiled is listed.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "weft/config/manifest_loader.h"
#include "weft/policy/authorization.h"
#include "weft/policy/path_normalization.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  weft::config::Snapshot snapshot;
  weft::config::loadManifestText(text, "fuzz.yaml", snapshot);
  std::vector<weft::policy::PolicyRejection> rejected;
  auto authorization = weft::policy::Authorization::compile(snapshot, "weft-system", &rejected);
  std::vector<std::pair<std::string, std::string>> headers{{"x-team", "blue"}, {"x-debug", "on"}};
  for (const auto& pod : snapshot.pods) {
    const auto* set = authorization->forPod(pod.meta.namespace_ + "/" + pod.meta.name);
    if (!set) continue;
    for (std::string_view rawPath : {"/", "/admin/../private", "/api/v1/x", "/%2e%2e/a"}) {
      auto path = weft::policy::normalizePath(rawPath);
      weft::policy::RequestAttributes request;
      request.principal = "spiffe://cluster.local/ns/shop/sa/frontend";
      request.destinationPort = 8080;
      request.http = path.has_value();
      request.method = "GET";
      request.host = "web.shop:8080";
      request.path = path ? std::string_view(*path) : std::string_view{};
      request.headers = &headers;
      (void)weft::policy::decide(*set, request);
    }
  }
  return 0;
}

// Readers for the body of each kind the agent acts on, from an already
// opened document. The envelope (apiVersion, kind) is the loader's job; these
// check metadata and spec/status, and fail on the first invalid field.
// Private to the config module.
#pragma once

#include "weft/config/objects.h"
#include "yaml_reader.h"

namespace weft::config::detail {

enum class NameRule {
  kDns1123Subdomain,  // most kinds
  kDns1123Label,      // Namespace
  kDns1035Label,      // Service (its name is a DNS label and must start with a letter)
};

// metadata.name and, for namespaced kinds, metadata.namespace ("default"
// when absent). Only name and namespace_ are filled.
[[nodiscard]] Parsed<ObjectMeta> readIdentity(const MapView& document, NameRule rule, bool namespaced);
// metadata.labels and metadata.annotations into `meta`.
[[nodiscard]] Checked readLabelsAndAnnotations(const MapView& document, ObjectMeta& meta);

[[nodiscard]] Parsed<Pod> readPod(const MapView& document, ObjectMeta meta);
[[nodiscard]] Parsed<Service> readService(const MapView& document, ObjectMeta meta);
[[nodiscard]] Parsed<PeerAuthentication> readPeerAuthentication(const MapView& document, ObjectMeta meta);
[[nodiscard]] Parsed<AuthorizationPolicy> readAuthorizationPolicy(const MapView& document, ObjectMeta meta);
// spec, which must be a mapping, as JSON.
[[nodiscard]] Parsed<nlohmann::json> readGenericSpec(const MapView& document);

}  // namespace weft::config::detail

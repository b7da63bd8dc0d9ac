// Syntax checks for the values that manifests carry (Kubernetes names, IP
// addresses, CIDRs, ports, Istio-style match values). Each returns an empty
// string when the value is fine, else the reason in words, so that callers can
// prefix the field path. Private to the config module.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace weft::config::detail {

// RFC 1123 subdomain as Kubernetes checks it (most object names).
[[nodiscard]] std::string checkDns1123Subdomain(std::string_view value);
// RFC 1123 label (namespace names, label-like names).
[[nodiscard]] std::string checkDns1123Label(std::string_view value);
// RFC 1035 label: Service names, which become DNS labels and must start with a letter.
[[nodiscard]] std::string checkDns1035Label(std::string_view value);

[[nodiscard]] bool isIpAddress(std::string_view value);
// "10.0.0.0/8", "fd00::/64" or a single address.
[[nodiscard]] std::string checkCidrOrAddress(std::string_view value);

// Decimal digits only, 1..65535; no sign, no spaces, no hex.
[[nodiscard]] std::optional<std::uint16_t> parsePort(std::string_view value);
// Kubernetes IANA_SVC_NAME: a named container port.
[[nodiscard]] std::string checkPortName(std::string_view value);

// Istio string match: exact, "*", "prefix*" or "*suffix".
[[nodiscard]] std::string checkMatchValue(std::string_view value);
// As checkMatchValue, and the value must start with '/' or '*'.
[[nodiscard]] std::string checkPathMatch(std::string_view value);
// An HTTP method token (or a wildcard form); must not contain lower case.
[[nodiscard]] std::string checkMethodMatch(std::string_view value);

// Returns `value` unchanged when it is valid UTF-8 (as nlohmann::json's dump
// checks it), else a copy with every invalid sequence replaced by U+FFFD.
[[nodiscard]] std::string utf8Safe(std::string_view value);

}  // namespace weft::config::detail

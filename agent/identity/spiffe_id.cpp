#include "weft/identity/spiffe_id.h"

namespace weft::identity {
namespace {

constexpr std::size_t kMaxLength = 2048;  // SPIFFE-ID.md 2.3
constexpr std::string_view kScheme = "spiffe://";

bool isLowerAlnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }
bool isTrustDomainChar(char c) { return isLowerAlnum(c) || c == '.' || c == '-' || c == '_'; }
bool isPathChar(char c) { return isTrustDomainChar(c) || (c >= 'A' && c <= 'Z'); }

std::unexpected<Error> broken(std::string_view text, std::string rule) {
  return fail(ErrorCode::kParse, "'" + std::string(text.substr(0, 200)) + "' is no SPIFFE ID: " + rule);
}

Status validateSegment(std::string_view uri, std::string_view segment) {
  if (segment.empty()) return broken(uri, "the path has an empty segment");
  if (segment == "." || segment == "..") return broken(uri, "the path has a '.' or '..' segment");
  for (char c : segment) {
    if (c == '%') return broken(uri, "percent-encoding is not allowed");
    if (!isPathChar(c))
      return broken(uri, std::string("the path has '") + c + "' (allowed: letters, digits, '.', '-', '_')");
  }
  return {};
}

}  // namespace

Status validateTrustDomain(std::string_view trustDomain) {
  if (trustDomain.empty()) return fail(ErrorCode::kParse, "the trust domain is empty");
  for (char c : trustDomain) {
    if (c >= 'A' && c <= 'Z')
      return fail(ErrorCode::kParse, "trust domain '" + std::string(trustDomain) + "' has uppercase letters");
    if (c == ':') return fail(ErrorCode::kParse, "trust domain '" + std::string(trustDomain) + "' has a port");
    if (c == '@') return fail(ErrorCode::kParse, "trust domain '" + std::string(trustDomain) + "' has user info");
    if (c == '%') return fail(ErrorCode::kParse, "trust domain '" + std::string(trustDomain) + "' is percent-encoded");
    if (!isTrustDomainChar(c))
      return fail(ErrorCode::kParse, "trust domain '" + std::string(trustDomain) + "' has '" + std::string(1, c) +
                                         "' (allowed: a-z, 0-9, '.', '-', '_')");
  }
  return {};
}

Result<SpiffeId> parseSpiffeId(std::string_view uri) {
  if (uri.empty()) return broken(uri, "it is empty");
  if (uri.size() > kMaxLength) return broken(uri, "it is longer than 2048 bytes");
  if (!uri.starts_with(kScheme)) {
    if (uri.size() >= kScheme.size()) {
      std::string head(uri.substr(0, kScheme.size()));
      for (char& c : head) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      if (head == kScheme) return broken(uri, "the scheme must be lowercase 'spiffe'");
    }
    return broken(uri, "it does not start with spiffe://");
  }
  std::string_view rest = uri.substr(kScheme.size());
  if (rest.find_first_of("?#") != std::string_view::npos) return broken(uri, "a query or fragment is not allowed");
  auto slash = rest.find('/');
  std::string_view trustDomain = rest.substr(0, slash);
  std::string_view path = slash == std::string_view::npos ? std::string_view{} : rest.substr(slash);
  if (trustDomain.empty()) return broken(uri, "the trust domain is empty");
  if (auto ok = validateTrustDomain(trustDomain); !ok) return broken(uri, ok.error().message);
  if (!path.empty()) {
    if (path.back() == '/') return broken(uri, "a trailing '/' is not allowed");
    std::string_view segments = path.substr(1);
    while (true) {
      auto end = segments.find('/');
      if (auto ok = validateSegment(uri, segments.substr(0, end)); !ok) return std::unexpected(ok.error());
      if (end == std::string_view::npos) break;
      segments.remove_prefix(end + 1);
    }
  }
  return SpiffeId{std::string(trustDomain), std::string(path)};
}

Result<SpiffeId> workloadSpiffeId(std::string_view trustDomain, std::string_view ns, std::string_view serviceAccount) {
  return parseSpiffeId("spiffe://" + std::string(trustDomain) + "/ns/" + std::string(ns) + "/sa/" +
                       std::string(serviceAccount));
}

}  // namespace weft::identity

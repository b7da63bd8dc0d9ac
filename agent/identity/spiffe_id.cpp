#include "weft/identity/spiffe_id.h"

#include <fmt/format.h>

namespace weft::identity {

namespace {

constexpr std::string_view kScheme = "spiffe://";

bool isLowerAlnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }
bool isTrustDomainChar(char c) { return isLowerAlnum(c) || c == '.' || c == '-' || c == '_'; }
bool isPathChar(char c) { return isTrustDomainChar(c) || (c >= 'A' && c <= 'Z'); }

// Inputs can be anything (peer certificates, fuzzers): quote them short and printable.
std::string quote(std::string_view text) {
  std::string out = "'";
  for (char c : text.substr(0, 128)) {
    if (c >= 0x20 && c < 0x7f) {
      out += c;
    } else {
      out += fmt::format("\\x{:02x}", static_cast<unsigned char>(c));
    }
  }
  if (text.size() > 128) out += "...";
  return out + "'";
}

std::string describeChar(char c) {
  if (c >= 0x20 && c < 0x7f) return fmt::format("'{}'", c);
  return fmt::format("byte 0x{:02x}", static_cast<unsigned char>(c));
}

// The reason a trust domain is invalid, or "" when it is valid.
std::string trustDomainProblem(std::string_view td) {
  if (td.empty()) return "the trust domain is empty";
  if (td.find('@') != std::string_view::npos) return "the trust domain has user info ('@'), which SPIFFE forbids";
  if (td.find(':') != std::string_view::npos) return "the trust domain has a port (':'), which SPIFFE forbids";
  for (char c : td) {
    if (c >= 'A' && c <= 'Z') return "the trust domain has uppercase letters; it must be lowercase";
    if (c == '%') return "the trust domain is percent-encoded ('%'), which SPIFFE forbids";
    if (!isTrustDomainChar(c)) {
      return "the trust domain has " + describeChar(c) + "; only a-z 0-9 '.' '-' '_' are allowed";
    }
  }
  return {};
}

std::string pathProblem(std::string_view path) {
  if (path.empty()) return {};
  if (path.back() == '/') return "the path ends with '/'; SPIFFE forbids a trailing slash";
  std::size_t start = 1;  // path[0] is '/'
  while (start <= path.size()) {
    std::size_t end = path.find('/', start);
    if (end == std::string_view::npos) end = path.size();
    std::string_view segment = path.substr(start, end - start);
    if (segment.empty()) return "the path has an empty segment ('//')";
    if (segment == "." || segment == "..") return "the path has a dot segment " + quote(segment);
    for (char c : segment) {
      if (c == '%') return "the path is percent-encoded ('%'), which SPIFFE forbids";
      if (!isPathChar(c)) return "the path has " + describeChar(c) + "; only A-Z a-z 0-9 '.' '-' '_' are allowed";
    }
    start = end + 1;
  }
  return {};
}

}  // namespace

std::string SpiffeId::uri() const { return std::string(kScheme) + trustDomain + path; }

Status validateTrustDomain(std::string_view trustDomain) {
  std::string problem = trustDomainProblem(trustDomain);
  if (!problem.empty()) return fail(ErrorCode::kInvalidArgument, "trust domain " + quote(trustDomain) + ": " + problem);
  return {};
}

Result<SpiffeId> parseSpiffeId(std::string_view uri) {
  auto bad = [&](std::string_view why) {
    return fail(ErrorCode::kParse, "SPIFFE ID " + quote(uri) + ": " + std::string(why));
  };
  if (uri.size() > kMaxSpiffeIdLength) {
    return bad(fmt::format("{} bytes; a SPIFFE ID has at most {}", uri.size(), kMaxSpiffeIdLength));
  }
  if (!uri.starts_with(kScheme)) {
    bool otherCase = uri.size() >= kScheme.size();
    for (std::size_t i = 0; otherCase && i < kScheme.size(); ++i) {
      otherCase = (uri[i] | 0x20) == kScheme[i];
    }
    return bad(otherCase ? "the scheme must be lowercase 'spiffe://'" : "the scheme must be 'spiffe://'");
  }
  std::string_view rest = uri.substr(kScheme.size());
  if (rest.find('?') != std::string_view::npos) return bad("it has a query ('?'), which SPIFFE forbids");
  if (rest.find('#') != std::string_view::npos) return bad("it has a fragment ('#'), which SPIFFE forbids");
  std::size_t slash = rest.find('/');
  std::string_view td = rest.substr(0, slash);
  std::string_view path = slash == std::string_view::npos ? std::string_view() : rest.substr(slash);
  if (std::string problem = trustDomainProblem(td); !problem.empty()) return bad(problem);
  if (std::string problem = pathProblem(path); !problem.empty()) return bad(problem);
  return SpiffeId{std::string(td), std::string(path)};
}

Result<SpiffeId> workloadSpiffeId(std::string_view trustDomain, std::string_view ns, std::string_view serviceAccount) {
  if (ns.empty()) return fail(ErrorCode::kInvalidArgument, "workload SPIFFE ID: the namespace is empty");
  if (serviceAccount.empty()) return fail(ErrorCode::kInvalidArgument, "workload SPIFFE ID: the service account is empty");
  // Slashes would add segments and move the identity: ns "a/sa/b" must not
  // produce the ID of another service account.
  if (ns.find('/') != std::string_view::npos || serviceAccount.find('/') != std::string_view::npos) {
    return fail(ErrorCode::kInvalidArgument,
                "workload SPIFFE ID: namespace " + quote(ns) + " or service account " + quote(serviceAccount) + " has '/'");
  }
  auto id = parseSpiffeId(fmt::format("{}{}/ns/{}/sa/{}", kScheme, trustDomain, ns, serviceAccount));
  if (!id) return fail(ErrorCode::kInvalidArgument, "workload " + id.error().message);
  return id;
}

}  // namespace weft::identity

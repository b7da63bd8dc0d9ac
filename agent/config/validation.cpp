#include "validation.h"

#include <arpa/inet.h>

#include <charconv>

#include <fmt/format.h>

namespace weft::config::detail {
namespace {

bool isLowerAlnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }
bool isDigit(char c) { return c >= '0' && c <= '9'; }

// One RFC 1123 label without the length check: [a-z0-9]([-a-z0-9]*[a-z0-9])?
bool isLabelShape(std::string_view s) {
  if (s.empty() || !isLowerAlnum(s.front()) || !isLowerAlnum(s.back())) return false;
  for (char c : s)
    if (!isLowerAlnum(c) && c != '-') return false;
  return true;
}

// RFC 9110 tchar.
bool isTokenChar(char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || isDigit(c)) return true;
  return std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

}  // namespace

std::string checkDns1123Subdomain(std::string_view value) {
  if (value.empty()) return "must not be empty";
  if (value.size() > 253) return fmt::format("must be at most 253 characters (has {})", value.size());
  std::string_view rest = value;
  while (true) {
    auto dot = rest.find('.');
    if (!isLabelShape(rest.substr(0, dot)))
      return "must be a DNS-1123 subdomain: lower case letters, digits, '-' and '.', starting and ending with a "
             "letter or digit";
    if (dot == std::string_view::npos) return {};
    rest.remove_prefix(dot + 1);
  }
}

std::string checkDns1123Label(std::string_view value) {
  if (value.empty()) return "must not be empty";
  if (value.size() > 63) return fmt::format("must be at most 63 characters (has {})", value.size());
  if (!isLabelShape(value))
    return "must be a DNS-1123 label: lower case letters, digits and '-', starting and ending with a letter or digit";
  return {};
}

std::string checkDns1035Label(std::string_view value) {
  if (value.empty()) return "must not be empty";
  if (value.size() > 63) return fmt::format("must be at most 63 characters (has {})", value.size());
  if (!isLabelShape(value) || isDigit(value.front()))
    return "must be a DNS-1035 label: lower case letters, digits and '-', starting with a letter and ending with a "
           "letter or digit";
  return {};
}

bool isIpAddress(std::string_view value) {
  if (value.empty() || value.size() >= INET6_ADDRSTRLEN) return false;
  std::string text(value);  // inet_pton wants a NUL-terminated string
  unsigned char buffer[16];
  return ::inet_pton(AF_INET, text.c_str(), buffer) == 1 || ::inet_pton(AF_INET6, text.c_str(), buffer) == 1;
}

std::string checkCidrOrAddress(std::string_view value) {
  auto slash = value.find('/');
  std::string_view address = value.substr(0, slash);
  if (address.empty() || address.size() >= INET6_ADDRSTRLEN) return "must be an IP address or a CIDR";
  std::string text(address);
  unsigned char buffer[16];
  int maxPrefix = 0;
  if (::inet_pton(AF_INET, text.c_str(), buffer) == 1) maxPrefix = 32;
  else if (::inet_pton(AF_INET6, text.c_str(), buffer) == 1) maxPrefix = 128;
  else return fmt::format("\"{}\" is not an IPv4 or IPv6 address", address);
  if (slash == std::string_view::npos) return {};
  std::string_view prefix = value.substr(slash + 1);
  int bits = -1;
  bool digitsOnly = !prefix.empty() && prefix.size() <= 3;
  for (char c : prefix) digitsOnly = digitsOnly && isDigit(c);
  if (digitsOnly) std::from_chars(prefix.data(), prefix.data() + prefix.size(), bits);
  if (bits < 0 || bits > maxPrefix) return fmt::format("prefix length must be a number from 0 to {}", maxPrefix);
  return {};
}

std::optional<std::uint16_t> parsePort(std::string_view value) {
  if (value.empty() || value.size() > 5) return std::nullopt;
  for (char c : value)
    if (!isDigit(c)) return std::nullopt;
  unsigned port = 0;
  std::from_chars(value.data(), value.data() + value.size(), port);
  if (port < 1 || port > 65535) return std::nullopt;
  return static_cast<std::uint16_t>(port);
}

std::string checkPortName(std::string_view value) {
  if (value.empty() || value.size() > 15) return "must be 1 to 15 characters";
  bool hasLetter = false;
  for (char c : value) {
    if (!isLowerAlnum(c) && c != '-') return "may contain only lower case letters, digits and '-'";
    hasLetter = hasLetter || (c >= 'a' && c <= 'z');
  }
  if (!hasLetter) return "must contain at least one letter";
  if (value.front() == '-' || value.back() == '-') return "must not start or end with '-'";
  if (value.find("--") != std::string_view::npos) return "must not contain \"--\"";
  return {};
}

std::string checkMatchValue(std::string_view value) {
  if (value.empty()) return "must not be empty";
  if (value == "*") return {};
  auto star = value.find('*');
  if (star == std::string_view::npos) return {};
  bool atEdge = star == 0 || star == value.size() - 1;
  if (!atEdge || value.find('*', star + 1) != std::string_view::npos)
    return "'*' is allowed only once, as the first or the last character (\"*\", \"prefix*\", \"*suffix\")";
  return {};
}

std::string checkPathMatch(std::string_view value) {
  if (!value.empty() && value.front() != '/' && value.front() != '*') return "a path must start with '/' or '*'";
  return checkMatchValue(value);
}

std::string checkMethodMatch(std::string_view value) {
  if (std::string reason = checkMatchValue(value); !reason.empty()) return reason;
  for (char c : value) {
    if (!isTokenChar(c)) return "an HTTP method may contain only token characters";
    // Methods are case-sensitive, so "get" would never match a GET request:
    // in a DENY policy that silently opens what the author meant to close.
    if (c >= 'a' && c <= 'z') return "HTTP methods are case-sensitive: write them in upper case (GET, not get)";
  }
  return {};
}

std::string utf8Safe(std::string_view value) {
  // Strict decoding (no overlong forms, no surrogates, nothing above
  // U+10FFFF), the same rules nlohmann::json applies when it dumps, so that a
  // dump of our JSON never throws.
  std::string out;
  bool changed = false;
  std::size_t i = 0;
  while (i < value.size()) {
    auto c = static_cast<unsigned char>(value[i]);
    std::size_t length = 0;
    unsigned char lo = 0x80, hi = 0xBF;  // bounds for the second byte
    if (c < 0x80) length = 1;
    else if (c >= 0xC2 && c <= 0xDF) length = 2;
    else if (c >= 0xE0 && c <= 0xEF) {
      length = 3;
      if (c == 0xE0) lo = 0xA0;
      if (c == 0xED) hi = 0x9F;
    } else if (c >= 0xF0 && c <= 0xF4) {
      length = 4;
      if (c == 0xF0) lo = 0x90;
      if (c == 0xF4) hi = 0x8F;
    }
    bool valid = length != 0 && i + length <= value.size();
    for (std::size_t k = 1; valid && k < length; ++k) {
      auto next = static_cast<unsigned char>(value[i + k]);
      valid = k == 1 ? (next >= lo && next <= hi) : (next >= 0x80 && next <= 0xBF);
    }
    if (valid) {
      if (changed) out.append(value.substr(i, length));
      i += length;
      continue;
    }
    if (!changed) {
      out.assign(value.substr(0, i));
      changed = true;
    }
    out += "\xEF\xBF\xBD";
    ++i;
  }
  return changed ? out : std::string(value);
}

}  // namespace weft::config::detail

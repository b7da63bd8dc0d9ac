// RFC 9110 rules for header fields that the HTTP/1.1 codecs share: which
// names are valid, which fields are hop-by-hop, and the small string helpers
// header handling needs (ASCII case, OWS trimming, comma-separated tokens).
#pragma once

#include <algorithm>
#include <cctype>
#include <string>
#include <string_view>

namespace weft::http {

// RFC 9110 5.6.2 token characters: what a field name (and a method) may contain.
inline bool isTokenChar(unsigned char c) {
  return std::isalnum(c) != 0 || std::string_view("!#$%&'*+-.^_`|~").find(static_cast<char>(c)) != std::string_view::npos;
}

inline bool isFieldName(std::string_view name) {
  return !name.empty() && std::all_of(name.begin(), name.end(), [](char c) { return isTokenChar(static_cast<unsigned char>(c)); });
}

inline bool equalsIgnoringCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

inline std::string lowerCase(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

inline std::string trim(std::string_view s) {
  auto ows = [](char c) { return c == ' ' || c == '\t'; };
  while (!s.empty() && ows(s.front())) s.remove_prefix(1);
  while (!s.empty() && ows(s.back())) s.remove_suffix(1);
  return std::string(s);
}

// Calls `each` with every lower-cased, trimmed, non-empty element of a
// comma-separated field value (Connection, TE).
template <class Each>
void forEachToken(std::string_view value, Each each) {
  while (!value.empty()) {
    std::size_t comma = value.find(',');
    std::string token = lowerCase(trim(value.substr(0, comma)));
    if (!token.empty()) each(std::move(token));
    if (comma == std::string_view::npos) break;
    value.remove_prefix(comma + 1);
  }
}

// RFC 9110 7.6.1: meaningful for one connection only, never forwarded as
// they are (the fields Connection names are dropped by the caller too).
inline bool isHopByHop(std::string_view lowerName) {
  return lowerName == "connection" || lowerName == "keep-alive" || lowerName == "proxy-connection" ||
         lowerName == "te" || lowerName == "transfer-encoding" || lowerName == "upgrade";
}

// Framing the proxy re-derives for the next hop.
inline bool isFramingField(std::string_view lowerName) {
  return lowerName == "content-length" || lowerName == "transfer-encoding";
}

}  // namespace weft::http

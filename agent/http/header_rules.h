// RFC 9110 rules for header fields that the HTTP codecs share: which names
// are valid, which fields are hop-by-hop, and the small string helpers header
// handling needs (ASCII case, OWS trimming, comma-separated tokens).
//
// Every field of every message passes through these, so they neither
// allocate unless they return a string nor call the C library's
// locale-aware <cctype> (which showed as 4% of the destination agent's CPU
// on HTTP/1.1 keep-alive traffic): HTTP is ASCII whatever the locale.
#pragma once

#include <algorithm>
#include <array>
#include <string>
#include <string_view>

namespace weft::http {

constexpr char asciiLower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

namespace detail {
constexpr std::array<bool, 256> tokenCharTable() {
  std::array<bool, 256> table{};
  for (int c = '0'; c <= '9'; ++c) table[c] = true;
  for (int c = 'a'; c <= 'z'; ++c) table[c] = table[c - 'a' + 'A'] = true;
  for (char c : std::string_view("!#$%&'*+-.^_`|~")) table[static_cast<unsigned char>(c)] = true;
  return table;
}
inline constexpr std::array<bool, 256> kTokenChars = tokenCharTable();
}  // namespace detail

// RFC 9110 5.6.2 token characters: what a field name (and a method) may contain.
constexpr bool isTokenChar(unsigned char c) { return detail::kTokenChars[c]; }

constexpr bool isFieldName(std::string_view name) {
  return !name.empty() && std::all_of(name.begin(), name.end(), [](char c) { return isTokenChar(static_cast<unsigned char>(c)); });
}

constexpr bool equalsIgnoringCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() &&
         std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) { return asciiLower(x) == asciiLower(y); });
}

inline std::string lowerCase(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = asciiLower(c);
  return out;
}

// Without the optional whitespace (SP, HTAB) around a field value.
constexpr std::string_view trimmed(std::string_view s) {
  auto ows = [](char c) { return c == ' ' || c == '\t'; };
  while (!s.empty() && ows(s.front())) s.remove_prefix(1);
  while (!s.empty() && ows(s.back())) s.remove_suffix(1);
  return s;
}

inline std::string trim(std::string_view s) { return std::string(trimmed(s)); }

// Calls `each` with every lower-cased, trimmed, non-empty element of a
// comma-separated field value (Connection, TE).
template <class Each>
void forEachToken(std::string_view value, Each each) {
  while (!value.empty()) {
    std::size_t comma = value.find(',');
    std::string token = lowerCase(trimmed(value.substr(0, comma)));
    if (!token.empty()) each(std::move(token));
    if (comma == std::string_view::npos) break;
    value.remove_prefix(comma + 1);
  }
}

// RFC 9110 7.6.1: meaningful for one connection only, never forwarded as
// they are (the fields Connection names are dropped by the caller too).
// Names in any case.
constexpr bool isHopByHop(std::string_view name) {
  return equalsIgnoringCase(name, "connection") || equalsIgnoringCase(name, "keep-alive") ||
         equalsIgnoringCase(name, "proxy-connection") || equalsIgnoringCase(name, "te") ||
         equalsIgnoringCase(name, "transfer-encoding") || equalsIgnoringCase(name, "upgrade");
}

// Framing the proxy re-derives for the next hop. Names in any case.
constexpr bool isFramingField(std::string_view name) {
  return equalsIgnoringCase(name, "content-length") || equalsIgnoringCase(name, "transfer-encoding");
}

}  // namespace weft::http

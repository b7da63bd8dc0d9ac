#include "matchers.h"

#include <arpa/inet.h>

#include <algorithm>
#include <charconv>
#include <cstring>

namespace weft::policy {
namespace {

char lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

bool equalsIgnoringCase(std::string_view a, std::string_view lowerB) {
  return a.size() == lowerB.size() &&
         std::equal(a.begin(), a.end(), lowerB.begin(), [](char x, char y) { return lower(x) == y; });
}

}  // namespace

StringMatch StringMatch::parse(std::string_view pattern, bool caseInsensitive) {
  StringMatch m;
  if (pattern == "*") {
    m.kind = Kind::kPresence;
    return m;
  }
  if (pattern.size() > 1 && pattern.back() == '*') {
    m.kind = Kind::kPrefix;
    pattern.remove_suffix(1);
  } else if (pattern.size() > 1 && pattern.front() == '*') {
    m.kind = Kind::kSuffix;
    pattern.remove_prefix(1);
  }
  m.value = pattern;
  if (caseInsensitive) std::transform(m.value.begin(), m.value.end(), m.value.begin(), lower);
  return m;
}

bool StringMatch::matches(std::string_view text, bool caseInsensitive) const {
  auto same = [&](std::string_view part) { return caseInsensitive ? equalsIgnoringCase(part, value) : part == value; };
  switch (kind) {
    case Kind::kPresence: return !text.empty();
    case Kind::kExact: return same(text);
    case Kind::kPrefix: return text.size() >= value.size() && same(text.substr(0, value.size()));
    case Kind::kSuffix: return text.size() >= value.size() && same(text.substr(text.size() - value.size()));
  }
  return false;
}

Result<Cidr> Cidr::parse(std::string_view text) {
  auto slash = text.find('/');
  std::string address(text.substr(0, slash));
  Cidr cidr;
  in_addr v4{};
  int maxBits = 128;
  if (::inet_pton(AF_INET, address.c_str(), &v4) == 1) {
    std::memset(&cidr.base, 0, sizeof cidr.base);
    cidr.base.s6_addr[10] = cidr.base.s6_addr[11] = 0xff;
    std::memcpy(&cidr.base.s6_addr[12], &v4, 4);
    maxBits = 32;
  } else if (::inet_pton(AF_INET6, address.c_str(), &cidr.base) != 1) {
    return fail(ErrorCode::kInvalidArgument, "\"" + std::string(text) + "\" is not an IP address or CIDR");
  }
  int bits = maxBits;
  if (slash != std::string_view::npos) {
    std::string_view prefix = text.substr(slash + 1);
    auto [end, ec] = std::from_chars(prefix.data(), prefix.data() + prefix.size(), bits);
    if (ec != std::errc() || end != prefix.data() + prefix.size() || bits < 0 || bits > maxBits)
      return fail(ErrorCode::kInvalidArgument, "\"" + std::string(text) + "\" has a bad prefix length");
  }
  cidr.bits = bits + (maxBits == 32 ? 96 : 0);
  return cidr;
}

bool Cidr::contains(const in6_addr& address) const {
  int full = bits / 8;
  if (std::memcmp(base.s6_addr, address.s6_addr, full) != 0) return false;
  int rest = bits % 8;
  if (rest == 0) return true;
  auto mask = static_cast<unsigned char>(0xff << (8 - rest));
  return (base.s6_addr[full] & mask) == (address.s6_addr[full] & mask);
}

}  // namespace weft::policy

// The value matchers of AuthorizationPolicy fields: strings (exact, "prefix*",
// "*suffix", "*" presence), CIDRs, and a field's values with its not-form.
#pragma once

#include <netinet/in.h>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "weft/common/error.h"

namespace weft::policy {

struct StringMatch {
  enum class Kind { kExact, kPrefix, kSuffix, kPresence };
  Kind kind = Kind::kExact;
  std::string value;  // without the '*'; lower case when caseInsensitive

  static StringMatch parse(std::string_view pattern, bool caseInsensitive = false);
  [[nodiscard]] bool matches(std::string_view text, bool caseInsensitive = false) const;
};

struct Cidr {
  in6_addr base{};  // IPv4 as v4-mapped, so one comparison serves both
  int bits = 128;

  static Result<Cidr> parse(std::string_view text);
  [[nodiscard]] bool contains(const in6_addr& address) const;
};

// A field with its not-form: matches when the value matches one of `values`
// (if any are given) and none of `notValues`. An absent value matches no
// value and so passes every not-form, as Envoy's RBAC has it.
template <class Matcher>
struct Field {
  std::vector<Matcher> values;
  std::vector<Matcher> notValues;
  [[nodiscard]] bool empty() const { return values.empty() && notValues.empty(); }
  template <class Value, class Test>
  [[nodiscard]] bool matches(const std::optional<Value>& value, Test test) const {
    auto any = [&](const std::vector<Matcher>& list) {
      if (!value) return false;
      for (const Matcher& m : list)
        if (test(m, *value)) return true;
      return false;
    };
    if (!values.empty() && !any(values)) return false;
    return notValues.empty() || !any(notValues);
  }
};

}  // namespace weft::policy

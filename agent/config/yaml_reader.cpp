#include "yaml_reader.h"

#include <charconv>
#include <cstdint>
#include <set>

#include <fmt/format.h>

#include "validation.h"

namespace weft::config::detail {
namespace {

bool isIdentifierChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
}

std::string nodesExhausted() {
  return fmt::format("document too large: more than {} nodes once YAML aliases are expanded", kMaxNodesPerDocument);
}

bool isPlain(const YAML::Node& node) { return node.Tag() == "?"; }

// YAML 1.2 core schema resolution of a plain scalar. Infinity and NaN stay
// strings because JSON cannot carry them.
nlohmann::json resolvePlainScalar(const std::string& text) {
  if (text == "true" || text == "True" || text == "TRUE") return true;
  if (text == "false" || text == "False" || text == "FALSE") return false;
  if (text.empty()) return text;

  std::string_view digits = text;
  bool negative = false;
  if (digits.front() == '-' || digits.front() == '+') {
    negative = digits.front() == '-';
    digits.remove_prefix(1);
  }
  auto allOf = [](std::string_view s, auto pred) {
    if (s.empty()) return false;
    for (char c : s)
      if (!pred(c)) return false;
    return true;
  };
  auto isDec = [](char c) { return c >= '0' && c <= '9'; };
  auto isOct = [](char c) { return c >= '0' && c <= '7'; };
  auto isHex = [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); };

  // 0o17 and 0x1f carry no sign in the core schema.
  if (digits.size() == text.size() && text.size() > 2 && text[0] == '0' && (text[1] == 'o' || text[1] == 'x')) {
    std::string_view body = std::string_view(text).substr(2);
    int base = text[1] == 'o' ? 8 : 16;
    if (base == 8 ? allOf(body, isOct) : allOf(body, isHex)) {
      std::uint64_t value = 0;
      auto [end, ec] = std::from_chars(body.data(), body.data() + body.size(), value, base);
      if (ec == std::errc() && end == body.data() + body.size()) return value;
    }
    return text;
  }
  if (allOf(digits, isDec)) {
    std::int64_t value = 0;
    auto [end, ec] = std::from_chars(text.data() + (text[0] == '+' ? 1 : 0), text.data() + text.size(), value);
    if (ec == std::errc() && end == text.data() + text.size()) return value;
    if (!negative) {
      std::uint64_t big = 0;
      auto [end2, ec2] = std::from_chars(digits.data(), digits.data() + digits.size(), big);
      if (ec2 == std::errc() && end2 == digits.data() + digits.size()) return big;
    }
    // Too large for 64 bits: fall through to a double.
  }
  // [-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?
  std::string_view rest = digits;
  std::size_t intDigits = 0;
  while (intDigits < rest.size() && isDec(rest[intDigits])) ++intDigits;
  rest.remove_prefix(intDigits);
  std::size_t fracDigits = 0;
  if (!rest.empty() && rest.front() == '.') {
    rest.remove_prefix(1);
    while (fracDigits < rest.size() && isDec(rest[fracDigits])) ++fracDigits;
    rest.remove_prefix(fracDigits);
  }
  if (intDigits == 0 && fracDigits == 0) return text;
  if (!rest.empty() && (rest.front() == 'e' || rest.front() == 'E')) {
    rest.remove_prefix(1);
    if (!rest.empty() && (rest.front() == '+' || rest.front() == '-')) rest.remove_prefix(1);
    if (!allOf(rest, isDec)) return text;
    rest = {};
  }
  if (!rest.empty()) return text;
  double value = 0;
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
  if (ec != std::errc() || end != digits.data() + digits.size()) return text;
  return negative ? -value : value;
}

}  // namespace

Cursor::Cursor(YAML::Node node, std::string path, int fallbackLine, int lineOffset, NodeBudget* budget)
    : node_(std::move(node)), path_(std::move(path)), line_(fallbackLine), lineOffset_(lineOffset), budget_(budget) {
  if (node_.IsDefined()) {
    YAML::Mark mark = node_.Mark();
    if (mark.line >= 0) line_ = lineOffset_ + mark.line + 1;
  }
}

Cursor Cursor::child(YAML::Node node, std::string pathSuffix, std::optional<int> line) const {
  std::string path = path_;
  if (path.empty() && !pathSuffix.empty() && pathSuffix.front() == '.') path = pathSuffix.substr(1);
  else path += pathSuffix;
  Cursor result(std::move(node), std::move(path), line_, lineOffset_, budget_);
  if (line) result.line_ = *line;
  return result;
}

std::string_view describeNode(const YAML::Node& node) {
  if (!node.IsDefined() || node.IsNull()) return "null";
  if (node.IsMap()) return "a mapping";
  if (node.IsSequence()) return "a list";
  if (node.IsScalar()) return "a string";
  return "an unknown node";
}

std::string keySegment(std::string_view key) {
  bool plain = !key.empty();
  for (char c : key) plain = plain && isIdentifierChar(c);
  if (plain) return fmt::format(".{}", key);
  std::string escaped;
  for (char c : key) {
    if (c == '"' || c == '\\') escaped += '\\';
    escaped += c;
  }
  return fmt::format("[\"{}\"]", escaped);
}

Parsed<MapView> MapView::open(const Cursor& cursor) {
  MapView view(cursor);
  if (cursor.isNull()) return view;
  if (!cursor.node().IsMap())
    return std::unexpected(cursor.error(fmt::format("expected a mapping, got {}", describeNode(cursor.node()))));
  std::set<std::string, std::less<>> seen;
  for (auto it = cursor.node().begin(); it != cursor.node().end(); ++it) {
    if (!cursor.budget().spend()) return std::unexpected(cursor.error(nodesExhausted()));
    YAML::Node key = it->first;
    Cursor keyCursor = cursor.child(key, "");
    if (!key.IsScalar())
      return std::unexpected(keyCursor.error(fmt::format("map keys must be strings, got {}", describeNode(key))));
    const std::string& name = key.Scalar();
    // yaml-cpp does not implement merge keys; taking "<<" as an ordinary key
    // would silently drop the merged fields.
    if (name == "<<" && isPlain(key))
      return std::unexpected(keyCursor.error("YAML merge keys (<<) are not supported"));
    if (!seen.insert(name).second)
      return std::unexpected(cursor.child(key, keySegment(name), keyCursor.line()).error("duplicate key"));
    view.entries_.emplace_back(name, cursor.child(it->second, keySegment(name), keyCursor.line()));
  }
  return view;
}

std::optional<Cursor> MapView::find(std::string_view key) const {
  for (const auto& [name, value] : entries_)
    if (name == key) return value;
  return std::nullopt;
}

std::optional<Cursor> MapView::get(std::string_view key) const {
  auto value = find(key);
  if (!value || value->isNull()) return std::nullopt;
  return value;
}

Cursor MapView::at(std::string_view key) const {
  if (auto value = find(key)) return *value;
  return cursor_.child(YAML::Node(), keySegment(key));
}

Checked MapView::allowOnly(std::initializer_list<std::string_view> known,
                           std::initializer_list<std::string_view> unsupported) const {
  for (const auto& [name, value] : entries_) {
    bool isKnown = false;
    for (auto k : known) isKnown = isKnown || k == name;
    if (isKnown) continue;
    for (auto u : unsupported)
      if (u == name) return std::unexpected(value.error("field not supported by weft"));
    return std::unexpected(value.error("unknown field"));
  }
  return {};
}

Parsed<std::string> readString(const Cursor& cursor) {
  if (cursor.isNull() || !cursor.node().IsScalar())
    return std::unexpected(cursor.error(fmt::format("expected a string, got {}", describeNode(cursor.node()))));
  if (!cursor.budget().spend()) return std::unexpected(cursor.error(nodesExhausted()));
  return cursor.node().Scalar();
}

Parsed<std::string> readNonEmptyString(const Cursor& cursor) {
  auto value = readString(cursor);
  if (value && value->empty()) return std::unexpected(cursor.error("must not be empty"));
  return value;
}

Parsed<std::vector<Cursor>> readList(const Cursor& cursor) {
  std::vector<Cursor> items;
  if (cursor.isNull()) return items;
  if (!cursor.node().IsSequence())
    return std::unexpected(cursor.error(fmt::format("expected a list, got {}", describeNode(cursor.node()))));
  std::size_t index = 0;
  for (auto it = cursor.node().begin(); it != cursor.node().end(); ++it, ++index) {
    if (!cursor.budget().spend()) return std::unexpected(cursor.error(nodesExhausted()));
    items.push_back(cursor.child(*it, fmt::format("[{}]", index)));
  }
  return items;
}

Parsed<std::vector<std::string>> readStringList(const Cursor& cursor) {
  if (!cursor.isNull() && !cursor.node().IsSequence())
    return std::unexpected(
        cursor.error(fmt::format("expected a list of strings, got {}", describeNode(cursor.node()))));
  auto items = readList(cursor);
  if (!items) return std::unexpected(items.error());
  std::vector<std::string> values;
  values.reserve(items->size());
  for (const Cursor& item : *items) {
    auto value = readString(item);
    if (!value) return std::unexpected(value.error());
    values.push_back(std::move(*value));
  }
  return values;
}

Parsed<Labels> readStringMap(const Cursor& cursor) {
  auto view = MapView::open(cursor);
  if (!view) return std::unexpected(view.error());
  Labels labels;
  for (const auto& [name, value] : view->entries()) {
    if (name.empty()) return std::unexpected(value.error("key must not be empty"));
    if (value.isNull()) {
      labels[name] = "";
      continue;
    }
    auto text = readString(value);
    if (!text) return std::unexpected(text.error());
    labels[name] = std::move(*text);
  }
  return labels;
}

Parsed<nlohmann::json> toJsonValue(const Cursor& cursor, int depth) {
  if (depth > kMaxJsonDepth)
    return std::unexpected(cursor.error(fmt::format("nested deeper than {} levels", kMaxJsonDepth)));
  if (!cursor.budget().spend()) return std::unexpected(cursor.error(nodesExhausted()));
  const YAML::Node& node = cursor.node();
  if (cursor.isNull()) return nlohmann::json(nullptr);
  if (node.IsScalar()) {
    // Strings go out through nlohmann::json's dump, which throws on bad UTF-8.
    std::string text = utf8Safe(node.Scalar());
    if (isPlain(node)) return resolvePlainScalar(text);
    return nlohmann::json(std::move(text));
  }
  if (node.IsSequence()) {
    auto items = readList(cursor);
    if (!items) return std::unexpected(items.error());
    nlohmann::json array = nlohmann::json::array();
    for (const Cursor& item : *items) {
      auto value = toJsonValue(item, depth + 1);
      if (!value) return value;
      array.push_back(std::move(*value));
    }
    return array;
  }
  if (node.IsMap()) {
    auto view = MapView::open(cursor);
    if (!view) return std::unexpected(view.error());
    nlohmann::json object = nlohmann::json::object();
    for (const auto& [name, value] : view->entries()) {
      auto converted = toJsonValue(value, depth + 1);
      if (!converted) return converted;
      // Two keys that differ only in invalid bytes collapse after the repair;
      // the first one wins, as with any JSON reader.
      object.emplace(utf8Safe(name), std::move(*converted));
    }
    return object;
  }
  return std::unexpected(cursor.error("unsupported YAML node"));
}

}  // namespace weft::config::detail

// Typed, path-aware reading of yaml-cpp nodes. Every failure names the field
// (spec.rules[0].to[0].operation.methods[1]) and its line in the file, and no
// yaml-cpp call that can throw on a wrong node type is made without checking
// the type first. Private to the config module.
#pragma once

#include <cstddef>
#include <expected>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>
#include <yaml-cpp/yaml.h>

#include "weft/config/objects.h"

// Early return for Parsed<T> / Checked inside functions that return one:
//   WEFT_CONFIG_TRY(auto view, MapView::open(cursor));
//   WEFT_CONFIG_CHECK(view.allowOnly({"a", "b"}));
#define WEFT_CONFIG_CONCAT_INNER(a, b) a##b
#define WEFT_CONFIG_CONCAT(a, b) WEFT_CONFIG_CONCAT_INNER(a, b)
#define WEFT_CONFIG_TRY(lhs, expr)                                                                    \
  auto WEFT_CONFIG_CONCAT(weftTry_, __LINE__) = (expr);                                               \
  if (!WEFT_CONFIG_CONCAT(weftTry_, __LINE__))                                                        \
    return std::unexpected(std::move(WEFT_CONFIG_CONCAT(weftTry_, __LINE__)).error());                \
  lhs = std::move(*WEFT_CONFIG_CONCAT(weftTry_, __LINE__))
#define WEFT_CONFIG_CHECK(expr)                                                                       \
  do {                                                                                                \
    if (auto weftCheck = (expr); !weftCheck) return std::unexpected(std::move(weftCheck).error());   \
  } while (false)

namespace weft::config::detail {

struct FieldError {
  int line = 0;
  std::string path;  // empty for the document itself
  std::string message;

  // "spec.ports[0].port: must be 1..65535" (or just the message at the root).
  [[nodiscard]] std::string describe() const { return path.empty() ? message : path + ": " + message; }
};

template <class T>
using Parsed = std::expected<T, FieldError>;
using Checked = std::expected<void, FieldError>;

// Limits that keep hostile input from exhausting memory or stack: YAML aliases
// let a few hundred bytes name billions of nodes once expanded.
inline constexpr std::size_t kMaxNodesPerDocument = 1'000'000;
inline constexpr int kMaxJsonDepth = 64;

// Counts the nodes read from one document.
class NodeBudget {
 public:
  // False once the document has used up its budget.
  [[nodiscard]] bool spend(std::size_t nodes = 1) {
    used_ += nodes;
    return used_ <= kMaxNodesPerDocument;
  }

 private:
  std::size_t used_ = 0;
};

// A node with the path and line that messages about it should show.
class Cursor {
 public:
  // `lineOffset` is the 0-based line in the file where the parsed text
  // started (documents are parsed chunk by chunk); `fallbackLine` is used for
  // nodes without a mark.
  Cursor(YAML::Node node, std::string path, int fallbackLine, int lineOffset, NodeBudget* budget);

  [[nodiscard]] const YAML::Node& node() const { return node_; }
  [[nodiscard]] const std::string& path() const { return path_; }
  [[nodiscard]] int line() const { return line_; }
  [[nodiscard]] bool isNull() const { return !node_.IsDefined() || node_.IsNull(); }

  // `line` overrides this node's own mark (a map value is reported on its key's line).
  [[nodiscard]] Cursor child(YAML::Node node, std::string pathSuffix, std::optional<int> line = std::nullopt) const;
  [[nodiscard]] FieldError error(std::string message) const { return {line_, path_, std::move(message)}; }
  [[nodiscard]] NodeBudget& budget() const { return *budget_; }

 private:
  YAML::Node node_;
  std::string path_;
  int line_ = 0;
  int lineOffset_ = 0;
  NodeBudget* budget_ = nullptr;
};

// "a mapping", "a list", "a string", "null": for "expected X, got Y".
[[nodiscard]] std::string_view describeNode(const YAML::Node& node);

// The entries of a YAML mapping, checked once for non-string and duplicate
// keys (YAML forbids duplicates; yaml-cpp keeps both, and which one a reader
// sees would be an accident).
class MapView {
 public:
  // A null node opens as an empty map.
  [[nodiscard]] static Parsed<MapView> open(const Cursor& cursor);

  [[nodiscard]] const Cursor& cursor() const { return cursor_; }
  [[nodiscard]] bool empty() const { return entries_.empty(); }
  [[nodiscard]] const std::vector<std::pair<std::string, Cursor>>& entries() const { return entries_; }

  // The value under `key`, also when it is null; nullopt when absent.
  [[nodiscard]] std::optional<Cursor> find(std::string_view key) const;
  // The value under `key`; nullopt when absent or null (YAML `key:` or `key: ~`).
  [[nodiscard]] std::optional<Cursor> get(std::string_view key) const;
  // The value under `key`, or a null node with the right path when absent.
  [[nodiscard]] Cursor at(std::string_view key) const;
  // Fails on the first key outside `known`; keys in `unsupported` are named as
  // such. Used wherever an ignored typo would change what a policy allows.
  [[nodiscard]] Checked allowOnly(std::initializer_list<std::string_view> known,
                                  std::initializer_list<std::string_view> unsupported = {}) const;

 private:
  explicit MapView(Cursor cursor) : cursor_(std::move(cursor)) {}
  Cursor cursor_;
  std::vector<std::pair<std::string, Cursor>> entries_;
};

// Turns a validator's reason (empty when fine) into an error at `cursor`.
[[nodiscard]] inline Checked failIf(const Cursor& cursor, std::string reason) {
  if (reason.empty()) return {};
  return std::unexpected(cursor.error(std::move(reason)));
}

// A scalar's text as written (numbers and booleans keep their spelling).
[[nodiscard]] Parsed<std::string> readString(const Cursor& cursor);
// As readString, and the value must not be empty.
[[nodiscard]] Parsed<std::string> readNonEmptyString(const Cursor& cursor);
// A list of scalars; null reads as empty. A bare string is an error, not a
// one-element list.
[[nodiscard]] Parsed<std::vector<std::string>> readStringList(const Cursor& cursor);
// A map of scalars (labels, annotations, selectors); null values read as "".
[[nodiscard]] Parsed<Labels> readStringMap(const Cursor& cursor);
// The items of a list, each with its own path; null reads as empty.
[[nodiscard]] Parsed<std::vector<Cursor>> readList(const Cursor& cursor);

// The node as JSON: plain scalars resolved with the YAML 1.2 core schema
// (null, booleans, integers, floats), quoted or tagged ones kept as strings.
[[nodiscard]] Parsed<nlohmann::json> toJsonValue(const Cursor& cursor, int depth = 0);

// Path segment for a map key: `.key`, or `["weft.dev/netns"]` when the key
// is not a plain identifier.
[[nodiscard]] std::string keySegment(std::string_view key);

}  // namespace weft::config::detail

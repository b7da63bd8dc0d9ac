#include "weft/telemetry/json_line.h"

#include <fmt/format.h>

#include <cmath>
#include <iterator>

namespace weft::telemetry {

namespace {

// Length of the valid UTF-8 sequence at text[i], 0 if none starts there
// (RFC 3629: no overlongs, no surrogates, nothing above U+10FFFF).
std::size_t utf8Length(std::string_view text, std::size_t i) {
  auto byte = [&](std::size_t k) { return static_cast<unsigned char>(text[k]); };
  unsigned char c = byte(i);
  std::size_t n;
  unsigned char lo = 0x80, hi = 0xbf;
  if (c >= 0xc2 && c <= 0xdf) n = 2;
  else if (c >= 0xe0 && c <= 0xef) {
    n = 3;
    if (c == 0xe0) lo = 0xa0;
    if (c == 0xed) hi = 0x9f;
  } else if (c >= 0xf0 && c <= 0xf4) {
    n = 4;
    if (c == 0xf0) lo = 0x90;
    if (c == 0xf4) hi = 0x8f;
  } else return 0;
  if (i + n > text.size()) return 0;
  if (byte(i + 1) < lo || byte(i + 1) > hi) return 0;
  for (std::size_t k = 2; k < n; ++k)
    if (byte(i + k) < 0x80 || byte(i + k) > 0xbf) return 0;
  return n;
}

}  // namespace

void appendJsonEscaped(std::string& out, std::string_view text) {
  for (std::size_t i = 0; i < text.size();) {
    // Runs of bytes that need nothing go in one append (most of a log line).
    std::size_t run = i;
    while (run < text.size()) {
      auto b = static_cast<unsigned char>(text[run]);
      if (b < 0x20 || b >= 0x7f || b == '"' || b == '\\') break;
      ++run;
    }
    if (run > i) {
      out.append(text.data() + i, run - i);
      i = run;
      continue;
    }
    auto c = static_cast<unsigned char>(text[i]);
    if (c >= 0x80) {
      std::size_t n = utf8Length(text, i);
      if (n == 0) {
        out += "\\ufffd";
        ++i;
      } else {
        out.append(text.substr(i, n));
        i += n;
      }
      continue;
    }
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c < 0x20 || c == 0x7f) fmt::format_to(std::back_inserter(out), "\\u{:04x}", c);
        else out += static_cast<char>(c);
    }
    ++i;
  }
}

void JsonLine::key(std::string_view name) {
  out_.append(first_ ? "\"" : ",\"", first_ ? 1 : 2);
  first_ = false;
  out_.append(name);  // names are the program's own: no escaping needed
  out_.append("\":", 2);
}

JsonLine& JsonLine::field(std::string_view name, std::string_view value) {
  key(name);
  out_ += '"';
  appendJsonEscaped(out_, value);
  out_ += '"';
  return *this;
}

JsonLine& JsonLine::field(std::string_view name, std::int64_t value) {
  key(name);
  fmt::format_to(std::back_inserter(out_), "{}", value);
  return *this;
}

JsonLine& JsonLine::field(std::string_view name, std::uint64_t value) {
  key(name);
  fmt::format_to(std::back_inserter(out_), "{}", value);
  return *this;
}

JsonLine& JsonLine::field(std::string_view name, double value) {
  key(name);
  if (std::isfinite(value)) fmt::format_to(std::back_inserter(out_), "{:.3f}", value);
  else out_ += "null";
  return *this;
}

JsonLine& JsonLine::field(std::string_view name, bool value) {
  key(name);
  out_ += value ? "true" : "false";
  return *this;
}

JsonLine& JsonLine::beginObject(std::string_view name) {
  key(name);
  out_ += '{';
  first_ = true;
  return *this;
}

JsonLine& JsonLine::endObject() {
  out_ += '}';
  first_ = false;
  return *this;
}

}  // namespace weft::telemetry

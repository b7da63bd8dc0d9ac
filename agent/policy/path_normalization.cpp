#include "weft/policy/path_normalization.h"

#include <vector>

namespace weft::policy {
namespace {

int hexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool isUnreserved(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
         c == '_' || c == '~';
}

// Decodes %XX of unreserved characters, upper-cases the others.
Result<std::string> decodeUnreserved(std::string_view path) {
  std::string out;
  out.reserve(path.size());
  for (std::size_t i = 0; i < path.size(); ++i) {
    auto c = static_cast<unsigned char>(path[i]);
    if (c < 0x20 || c == 0x7f) return fail(ErrorCode::kInvalidArgument, "path contains a control character");
    if (c != '%') {
      out.push_back(static_cast<char>(c));
      continue;
    }
    int high = i + 2 < path.size() ? hexValue(path[i + 1]) : -1;
    int low = i + 2 < path.size() ? hexValue(path[i + 2]) : -1;
    if (high < 0 || low < 0) return fail(ErrorCode::kInvalidArgument, "path has an invalid percent-encoding");
    auto decoded = static_cast<unsigned char>(high * 16 + low);
    if (decoded == 0) return fail(ErrorCode::kInvalidArgument, "path contains %00");
    if (isUnreserved(decoded)) {
      out.push_back(static_cast<char>(decoded));
    } else {
      constexpr char kHex[] = "0123456789ABCDEF";
      out += {'%', kHex[high], kHex[low]};
    }
    i += 2;
  }
  return out;
}

}  // namespace

Result<std::string> normalizePath(std::string_view path, const PathNormalization& options) {
  if (path == "*") return std::string(path);
  if (path.empty() || path.front() != '/') return fail(ErrorCode::kInvalidArgument, "path does not start with '/'");
  auto decoded = decodeUnreserved(path);
  if (!decoded) return decoded;

  // Segments between slashes; "." dropped, ".." pops. An empty segment is a
  // repeated slash, kept unless merging.
  std::vector<std::string_view> segments;
  std::string_view rest(*decoded);
  rest.remove_prefix(1);
  bool trailingSlash = false;
  while (true) {
    std::size_t slash = rest.find('/');
    std::string_view segment = rest.substr(0, slash);
    bool last = slash == std::string_view::npos;
    if (segment == ".") {
      trailingSlash = last;
    } else if (segment == "..") {
      if (!segments.empty()) segments.pop_back();
      trailingSlash = last;
    } else if (segment.empty() && !last && options.mergeSlashes) {
      // "//": merged
    } else {
      segments.push_back(segment);
      trailingSlash = false;
    }
    if (last) break;
    rest.remove_prefix(slash + 1);
  }
  std::string out;
  out.reserve(decoded->size());
  for (std::string_view segment : segments) {
    out.push_back('/');
    out.append(segment);
  }
  // "/a/b/.." is "/a/", as RFC 3986 5.2.4 has it; and "/" stays "/".
  if (trailingSlash || out.empty()) out.push_back('/');
  return out;
}

}  // namespace weft::policy

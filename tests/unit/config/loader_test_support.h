// Helpers shared by the manifest loader's unit tests.
#pragma once

#include <doctest/doctest.h>

#include <string>
#include <string_view>

#include "weft/common/log.h"
#include "weft/config/manifest_loader.h"

namespace weft::config::testing {

// Rejections log at warn; keep test output readable.
struct QuietLogs {
  weft::log::Level saved = weft::log::level();
  QuietLogs() { weft::log::setLevel(weft::log::Level::kOff); }
  ~QuietLogs() { weft::log::setLevel(saved); }
};

inline Snapshot load(std::string_view text, std::string_view file = "test.yaml") {
  QuietLogs quiet;
  Snapshot snapshot;
  loadManifestText(text, file, snapshot);
  return snapshot;
}

inline std::string where(const SourceLocation& source) { return source.file + ":" + std::to_string(source.line); }

inline std::string describeRejections(const Snapshot& s) {
  std::string out;
  for (const auto& r : s.rejected)
    out += r.source.file + ":" + std::to_string(r.source.line) + " [" + r.kind + " " + r.name + "] " + r.reason + "\n";
  return out;
}

}  // namespace weft::config::testing

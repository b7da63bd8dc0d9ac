// Reads Kubernetes-style manifests (what `kubectl apply -f DIR` takes: *.yaml,
// *.yml and *.json files, multi-document YAML, v1 List) into a Snapshot.
// A malformed document or an invalid object is recorded in Snapshot::rejected
// with its file and line and skipped; everything else still loads.
#pragma once

#include <filesystem>
#include <string_view>

#include "weft/common/error.h"
#include "weft/config/snapshot.h"

namespace weft::config {

// Loads every manifest file directly inside `dir` (not recursive, like
// kubectl without -R), in lexicographic file-name order. Fails only when the
// directory itself cannot be read; per-file problems become rejections.
[[nodiscard]] Result<Snapshot> loadManifestDirectory(const std::filesystem::path& dir);

// Adds the objects of one file's text to `snapshot` (used by the directory
// loader, the fuzz target and unit tests). `fileName` is used in messages.
void loadManifestText(std::string_view text, std::string_view fileName, Snapshot& snapshot);

}  // namespace weft::config

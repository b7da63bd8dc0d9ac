// Tells when a config directory changed (inotify), so that the agent reloads
// without a restart. Editors write files in several steps (temp file, rename),
// so callers wait for a quiet period before reloading.
#pragma once

#include <filesystem>

#include "weft/common/error.h"
#include "weft/common/unique_fd.h"

namespace weft::config {

class DirectoryWatcher {
 public:
  [[nodiscard]] static Result<DirectoryWatcher> watch(const std::filesystem::path& dir);

  // A pollable fd: readable when something in the directory changed.
  [[nodiscard]] int fd() const { return fd_.get(); }
  // Consumes pending events; true if any concerned a manifest file.
  [[nodiscard]] bool drain();

 private:
  explicit DirectoryWatcher(UniqueFd fd) : fd_(std::move(fd)) {}
  UniqueFd fd_;
};

}  // namespace weft::config

#include "weft/config/directory_watcher.h"

#include <sys/inotify.h>
#include <unistd.h>

#include <cstring>

namespace weft::config {

Result<DirectoryWatcher> DirectoryWatcher::watch(const std::filesystem::path& dir) {
  UniqueFd fd(::inotify_init1(IN_NONBLOCK | IN_CLOEXEC));
  if (!fd.valid()) return failErrno("inotify_init1");
  constexpr uint32_t kMask = IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_CREATE | IN_DELETE | IN_DELETE_SELF |
                             IN_MOVE_SELF | IN_MODIFY;
  if (::inotify_add_watch(fd.get(), dir.c_str(), kMask) < 0) return failErrno("watch config directory " + dir.string());
  return DirectoryWatcher(std::move(fd));
}

bool DirectoryWatcher::drain() {
  alignas(inotify_event) char buffer[16 * 1024];
  bool changed = false;
  while (true) {
    ssize_t n = ::read(fd_.get(), buffer, sizeof buffer);
    if (n <= 0) return changed;
    for (char* p = buffer; p < buffer + n;) {
      auto* event = reinterpret_cast<inotify_event*>(p);
      // Editor swap files and dotfiles do not change the config.
      bool hidden = event->len > 0 && (event->name[0] == '.' || std::strchr(event->name, '~'));
      if (!hidden) changed = true;
      p += sizeof(inotify_event) + event->len;
    }
  }
}

}  // namespace weft::config

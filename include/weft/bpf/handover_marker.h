// Which agent of a node is the newest, and whether it is ready: one pinned
// BPF array entry (pid, state) in the node's pin directory, the one place two
// agents of a node share whatever pods they run in (a DaemonSet's old and
// new pod have their own /run, but the same bpffs). A starting agent writes
// itself in first; the agent it replaces reads it to know that a successor
// is coming (its own readiness then says no, so a probe on the port both
// share cannot call the node ready early) and, on SIGTERM, waits for it to be
// ready before handing over (ARCHITECTURE.md, hand-over).
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <memory>
#include <optional>

#include "weft/common/error.h"
#include "weft/common/unique_fd.h"

namespace weft::bpf {

class HandoverMarker {
 public:
  enum class State : std::uint32_t { kStarting = 1, kReady = 2 };
  struct Agent {
    pid_t pid = 0;
    State state = State::kStarting;
  };

  // Opens the node's marker, creating and pinning it when absent.
  [[nodiscard]] static Result<HandoverMarker> open(const std::filesystem::path& pinDir);

  // This process is the node's newest agent, in `state`.
  [[nodiscard]] Status announce(State state) const;
  // The newest agent when it is another process that is still alive.
  [[nodiscard]] std::optional<Agent> successor() const;
  // At a stop without successor: the marker goes if it still names this process.
  void withdraw() const;

 private:
  HandoverMarker(UniqueFd fd, std::filesystem::path path) : fd_(std::move(fd)), path_(std::move(path)) {}
  [[nodiscard]] std::optional<Agent> read() const;

  UniqueFd fd_;
  std::filesystem::path path_;
};

}  // namespace weft::bpf

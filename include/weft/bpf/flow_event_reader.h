// Reading the kernel's flow events (bpf_abi/flow_events.h) through the maps
// an agent pinned: the reader slots of the switch that makes the programs
// emit, the per-slot lost counters, and the map of rings into which each
// reader puts a ring buffer of its own (a BPF ring buffer has one consumer
// position, so readers cannot share one). Up to WEFT_FLOW_READERS readers per
// node at once; one more is refused, naming the processes that read.
// This is weft-trace's only use of libbpf (which stays inside agent/bpf).
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <span>

#include "weft/common/error.h"

namespace weft::bpf {

class FlowEventReader {
 public:
  // Called with each event's bytes (a struct weft_flow_event; its size is
  // checked by the caller that decodes it).
  using Handler = std::function<void(std::span<const std::byte>)>;

  // Opens the three maps pinned under pinDir; fails naming the missing pin.
  [[nodiscard]] static Result<std::unique_ptr<FlowEventReader>> open(const std::filesystem::path& pinDir,
                                                                     Handler handler);
  ~FlowEventReader();  // switches the events off if this reader switched them on
  FlowEventReader(const FlowEventReader&) = delete;
  FlowEventReader& operator=(const FlowEventReader&) = delete;

  // Claims a reader slot and switches the programs on for it, as this
  // process; fails when every slot has a fresh heartbeat (a slot left on by a
  // dead reader is taken over).
  [[nodiscard]] Status start();
  // Renews the heartbeat; call at least every second, or the programs stop
  // emitting (WEFT_FLOW_READER_TIMEOUT_NS) as if this reader had died.
  [[nodiscard]] Status heartbeat();
  void stop();

  // Readable (poll POLLIN) when events wait.
  [[nodiscard]] int fd() const;
  // Hands every waiting event to the handler; the number handed.
  [[nodiscard]] Result<std::size_t> consume();
  // Events the programs could not queue into this reader's ring since start()
  // (all CPUs).
  [[nodiscard]] Result<std::uint64_t> lost() const;
  // False once the pins name other maps or none (the agent removed them, or
  // a new agent made new ones): this reader then hears nothing more.
  [[nodiscard]] bool pinsUnchanged() const;

 private:
  struct Impl;
  explicit FlowEventReader(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace weft::bpf

// The kernel's flow events: decoding one struct weft_flow_event into a
// FlowEvent (pure, unit-tested), and the source that reads them from the
// agent's pinned maps, keeps the switch alive and counts what was lost.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <span>
#include <string>

#include "weft-trace/flow_event.h"
#include "weft/bpf/flow_event_reader.h"
#include "weft/common/error.h"

namespace weft::trace {

// bpf_ktime_get_ns() is CLOCK_MONOTONIC; events are shown in wall time.
struct ClockOffset {
  std::int64_t realtimeMinusMonotonicNs = 0;
  [[nodiscard]] static ClockOffset now();
  [[nodiscard]] std::int64_t toWall(std::uint64_t monotonicNs) const {
    return static_cast<std::int64_t>(monotonicNs) + realtimeMinusMonotonicNs;
  }
};

// Fails on a record of the wrong size or an unknown type (an agent of
// another weft version).
[[nodiscard]] Result<FlowEvent> decodeKernelEvent(std::span<const std::byte> record, const ClockOffset& clock);

// The kernel's TCP state numbers by name ("ESTABLISHED"); "STATE_<n>" for
// numbers this build does not know.
[[nodiscard]] std::string tcpStateName(unsigned state);

class KernelEventSource {
 public:
  using Sink = std::function<void(FlowEvent)>;

  // Opens the pinned maps under pinDir and switches the events on.
  [[nodiscard]] static Result<std::unique_ptr<KernelEventSource>> start(const std::filesystem::path& pinDir,
                                                                         Sink sink);
  [[nodiscard]] int fd() const { return reader_->fd(); }
  // Decodes every waiting event into the sink; a record that does not decode
  // is reported once (to stderr) and counted in undecodable().
  [[nodiscard]] Status drain();
  // Call about once a second: renews the heartbeat; the lost counter's growth
  // since the previous call (0 when it did not grow).
  [[nodiscard]] Result<std::uint64_t> tick();
  // The pins no longer name this source's maps (the agent stopped, or a new
  // agent made new maps).
  [[nodiscard]] bool stale() const { return !reader_->pinsUnchanged(); }
  void stop() { reader_->stop(); }
  [[nodiscard]] std::uint64_t undecodable() const { return undecodable_; }

 private:
  KernelEventSource() = default;
  void onRecord(std::span<const std::byte> record);

  std::unique_ptr<bpf::FlowEventReader> reader_;
  Sink sink_;
  ClockOffset clock_;
  std::uint64_t lostSeen_ = 0;
  std::uint64_t undecodable_ = 0;
};

}  // namespace weft::trace

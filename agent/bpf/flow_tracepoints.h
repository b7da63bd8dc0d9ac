// The capture object's TCP event programs for weft-trace (tp_btf on
// inet_sock_set_state and tcp_retransmit_skb) are optional: a kernel without
// one of those tracepoints, or one that refuses a program, must still get
// capture. These helpers turn them off before load when the kernel's BTF
// lacks the tracepoint, and attach the loaded ones, warning (never failing)
// with the cause.
#pragma once

#include <bpf/libbpf.h>

#include <memory>
#include <span>
#include <string_view>
#include <vector>

namespace weft::bpf {

struct FlowTracepoint {
  bpf_program* program;
  const char* tracepoint;  // the name after tp_btf/
};

// Autoload off for each program whose tracepoint the running kernel's BTF
// does not have; a warning names it.
void skipMissingTracepoints(std::span<const FlowTracepoint> tracepoints);

// Autoload off for all of them (after the object failed to load with them),
// with a warning naming `cause`.
void skipAllTracepoints(std::span<const FlowTracepoint> tracepoints, std::string_view cause);

[[nodiscard]] bool anyTracepointLoaded(std::span<const FlowTracepoint> tracepoints);

struct BpfLinkDeleter {
  void operator()(bpf_link* link) const { bpf_link__destroy(link); }
};
using BpfLinkPtr = std::unique_ptr<bpf_link, BpfLinkDeleter>;

// Attaches each loaded program (raw tracepoint links: no tracefs needed); a
// failure is a warning. The links live as long as the returned pointers.
[[nodiscard]] std::vector<BpfLinkPtr> attachTracepoints(std::span<const FlowTracepoint> tracepoints);

}  // namespace weft::bpf

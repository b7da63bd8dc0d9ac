#include "flow_tracepoints.h"

#include <bpf/btf.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "weft/common/log.h"

namespace weft::bpf {

namespace {
constexpr std::string_view kWithout = "weft-trace will show no TCP state changes or retransmits";
}

void skipMissingTracepoints(std::span<const FlowTracepoint> tracepoints) {
  btf* vmlinux = btf__load_vmlinux_btf();
  if (!vmlinux) {
    skipAllTracepoints(tracepoints, std::string("no kernel BTF (/sys/kernel/btf/vmlinux): ") + std::strerror(errno));
    return;
  }
  for (const auto& t : tracepoints) {
    // libbpf resolves tp_btf/NAME through the typedef btf_trace_NAME.
    std::string type = std::string("btf_trace_") + t.tracepoint;
    if (btf__find_by_name_kind(vmlinux, type.c_str(), BTF_KIND_TYPEDEF) >= 0) continue;
    bpf_program__set_autoload(t.program, false);
    log::warn("bpf", "the kernel has no tracepoint {}: {}", t.tracepoint,
              t.tracepoint == std::string_view("tcp_retransmit_skb") ? "weft-trace will show no retransmits"
                                                                     : "weft-trace will show no TCP state changes");
  }
  btf__free(vmlinux);
}

void skipAllTracepoints(std::span<const FlowTracepoint> tracepoints, std::string_view cause) {
  for (const auto& t : tracepoints) bpf_program__set_autoload(t.program, false);
  log::warn("bpf", "TCP event programs not loaded ({}): {}", cause, kWithout);
}

bool anyTracepointLoaded(std::span<const FlowTracepoint> tracepoints) {
  for (const auto& t : tracepoints)
    if (bpf_program__autoload(t.program)) return true;
  return false;
}

std::vector<BpfLinkPtr> attachTracepoints(std::span<const FlowTracepoint> tracepoints) {
  std::vector<BpfLinkPtr> links;
  for (const auto& t : tracepoints) {
    if (!bpf_program__autoload(t.program)) continue;
    BpfLinkPtr link(bpf_program__attach_trace(t.program));
    if (!link) {
      log::warn("bpf", "cannot attach tp_btf/{}: {}; weft-trace will miss those events", t.tracepoint,
                std::strerror(errno));
      continue;
    }
    links.push_back(std::move(link));
  }
  return links;
}

}  // namespace weft::bpf

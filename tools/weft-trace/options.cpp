#include "weft-trace/options.h"

#include <CLI/CLI.hpp>
#include <vector>

#include "weft/bpf/kernel_paths.h"

namespace weft::trace {
namespace {

struct RawFlags {
  std::string bpffsDir;
  std::string node;
  std::string admin = "127.0.0.1:15000";
  std::string verdict;
  std::string protocol;
  std::vector<std::string> types;
  std::string output = "table";
  std::uint64_t count = 0;
  double duration = 0;
};

std::string typeList() {
  std::string names;
  for (EventType t : kAllEventTypes)
    names += (names.empty() ? "" : ", ") + std::string(typeName(t));
  return names;
}

// What CLI11 cannot check: names, addresses, ranges.
std::optional<std::string> finish(const RawFlags& raw, const std::string& hostName, TraceOptions& out) {
  out.bpffsDir = !raw.bpffsDir.empty() ? std::filesystem::path(raw.bpffsDir)
                                       : bpf::defaultPinDir(raw.node.empty() ? hostName : raw.node);
  auto admin = parseSocketAddress(raw.admin);
  if (!admin) return "--admin: " + admin.error().message;
  out.admin = *admin;
  if (!raw.verdict.empty()) out.filter.verdict = parseVerdict(raw.verdict);
  if (!raw.protocol.empty()) out.filter.protocol = parseProtocol(raw.protocol);
  for (const auto& name : raw.types) {
    auto type = parseType(name);
    if (!type) return "--type: unknown event type '" + name + "' (known: " + typeList() + ")";
    out.filter.types.insert(*type);
  }
  if (out.kernelOnly && (out.filter.pod || out.filter.ns))
    return "--pod and --namespace need the pod names of the admin API: not with --kernel-only";
  out.format = raw.output == "json" ? OutputFormat::kJson : OutputFormat::kTable;
  if (raw.count > 0) out.count = raw.count;
  if (raw.duration < 0) return "--duration must not be negative";
  if (raw.duration > 0) out.durationSeconds = raw.duration;
  return std::nullopt;
}

}  // namespace

ParsedCommandLine parseCommandLine(int argc, const char* const* argv, const std::string& hostName) {
  CLI::App app{
      "weft-trace: the flows of this node, live. Kernel events (connects captured, the fast path, STRICT drops,\n"
      "TCP state changes and retransmits of enrolled pods) from the agent's pinned ring buffer, and L7 events\n"
      "(HTTP and gRPC requests, proxied connections) from the agent's admin API. Needs root.",
      "weft-trace"};
  RawFlags raw;
  TraceOptions options;
  std::string pod, ns;
  bool kernelOnly = false;
  app.add_option("--bpffs-dir", raw.bpffsDir, "the agent's pin directory (default: /sys/fs/bpf/weft/<node>)");
  app.add_option("--node", raw.node, "the agent's --node-name, for the default --bpffs-dir (default: the host name)");
  app.add_option("--admin", raw.admin, "the agent's admin API, ip:port")->capture_default_str();
  app.add_flag("--kernel-only", kernelOnly, "do not ask the admin API: no pod names, no L7 events");
  app.add_option("--pod", pod, "only events with this pod at either end: name or namespace/name");
  app.add_option("--namespace", ns, "only events with an end in this namespace");
  app.add_option("--verdict", raw.verdict, "only allowed, denied (by policy) or dropped (by STRICT) flows")
      ->check(CLI::IsMember({"allow", "deny", "drop"}));
  app.add_option("--protocol", raw.protocol, "only this protocol")->check(CLI::IsMember({"tcp", "http", "grpc"}));
  app.add_option("--type", raw.types, "only these event types, comma separated: " + typeList())->delimiter(',');
  app.add_option("-o,--output", raw.output, "table or json (one object per line)")
      ->check(CLI::IsMember({"table", "json"}))
      ->capture_default_str();
  app.add_option("--count", raw.count, "stop after this many events shown")->check(CLI::PositiveNumber);
  app.add_option("--duration", raw.duration, "stop after this many seconds")->check(CLI::PositiveNumber);

  ParsedCommandLine parsed;
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp&) {
    parsed.helpText = app.help();
    return parsed;
  } catch (const CLI::ParseError& e) {
    parsed.exitCode = kExitUsage;
    parsed.error = e.what();
    return parsed;
  }
  options.kernelOnly = kernelOnly;
  if (!pod.empty()) options.filter.pod = pod;
  if (!ns.empty()) options.filter.ns = ns;
  if (auto error = finish(raw, hostName, options)) {
    parsed.exitCode = kExitUsage;
    parsed.error = *error;
    return parsed;
  }
  parsed.options = std::move(options);
  return parsed;
}

}  // namespace weft::trace

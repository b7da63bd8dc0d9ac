// Naming the ends of kernel events: the agent's GET /workloads lists this
// node's and remote workloads (pod, namespace, IPs, and for enrolled pods of
// this node their netns cookie). A socket's own end is named by its netns
// cookie first, any end by its IP otherwise.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "weft-trace/flow_event.h"
#include "weft/common/error.h"

namespace weft::trace {

struct Workload {
  std::string pod;  // "namespace/name"
  std::string name;
  std::string ns;
  std::vector<std::string> ips;
  std::string node;
  bool onThisNode = false;
  std::optional<std::uint64_t> netnsCookie;
  std::string workload;
  std::string serviceAccount;
  std::string identity;
};

// The body of GET /workloads; entries without a pod name are skipped.
[[nodiscard]] Result<std::vector<Workload>> parseWorkloads(std::string_view json);

class WorkloadNames {
 public:
  WorkloadNames() = default;
  explicit WorkloadNames(std::vector<Workload> workloads);

  [[nodiscard]] const Workload* byNetnsCookie(std::uint64_t cookie) const;
  [[nodiscard]] const Workload* byAddress(std::string_view ip) const;
  [[nodiscard]] std::size_t size() const { return workloads_.size(); }

  // Fills the pod, namespace and workload of each end that has none: for
  // kernel events whose src is the socket's own end (connect, fast path,
  // TCP), by the event's netns cookie first.
  void name(FlowEvent& event) const;

 private:
  void nameEnd(Peer& peer, const Workload* known) const;

  std::vector<Workload> workloads_;
  std::unordered_map<std::uint64_t, std::size_t> byCookie_;
  std::unordered_map<std::string, std::size_t> byIp_;
};

}  // namespace weft::trace

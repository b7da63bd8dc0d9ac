#include "weft-trace/workload_names.h"

#include <nlohmann/json.hpp>

namespace weft::trace {
namespace {

using nlohmann::json;

std::string text(const json& object, const char* key) {
  auto it = object.find(key);
  return it != object.end() && it->is_string() ? it->get<std::string>() : std::string();
}

}  // namespace

Result<std::vector<Workload>> parseWorkloads(std::string_view body) {
  json parsed = json::parse(body, nullptr, false);
  if (parsed.is_discarded()) return fail(ErrorCode::kParse, "GET /workloads: the answer is not JSON");
  if (!parsed.is_array()) return fail(ErrorCode::kParse, "GET /workloads: expected a JSON array");
  std::vector<Workload> out;
  for (const json& entry : parsed) {
    if (!entry.is_object()) continue;
    Workload w;
    w.name = text(entry, "name");
    w.ns = text(entry, "namespace");
    w.pod = text(entry, "pod");
    if (w.pod.empty() && !w.name.empty()) w.pod = w.ns.empty() ? w.name : w.ns + "/" + w.name;
    if (w.pod.empty()) continue;
    if (w.name.empty()) w.name = w.pod.substr(w.pod.find('/') + 1);
    if (w.ns.empty() && w.pod.find('/') != std::string::npos) w.ns = w.pod.substr(0, w.pod.find('/'));
    if (auto ips = entry.find("ips"); ips != entry.end() && ips->is_array())
      for (const json& ip : *ips)
        if (ip.is_string()) w.ips.push_back(ip.get<std::string>());
    w.node = text(entry, "node");
    if (auto it = entry.find("onThisNode"); it != entry.end() && it->is_boolean()) w.onThisNode = it->get<bool>();
    if (auto it = entry.find("netnsCookie"); it != entry.end() && it->is_number_unsigned())
      w.netnsCookie = it->get<std::uint64_t>();
    w.workload = text(entry, "workload");
    w.serviceAccount = text(entry, "serviceAccount");
    w.identity = text(entry, "identity");
    out.push_back(std::move(w));
  }
  return out;
}

WorkloadNames::WorkloadNames(std::vector<Workload> workloads) : workloads_(std::move(workloads)) {
  for (std::size_t i = 0; i < workloads_.size(); ++i) {
    const Workload& w = workloads_[i];
    if (w.netnsCookie) byCookie_.emplace(*w.netnsCookie, i);
    // A pod of this node wins an address over a stale remote entry.
    for (const auto& ip : w.ips) {
      auto [it, added] = byIp_.emplace(ip, i);
      if (!added && w.onThisNode) it->second = i;
    }
  }
}

const Workload* WorkloadNames::byNetnsCookie(std::uint64_t cookie) const {
  auto it = byCookie_.find(cookie);
  return it == byCookie_.end() ? nullptr : &workloads_[it->second];
}

const Workload* WorkloadNames::byAddress(std::string_view ip) const {
  if (ip.empty()) return nullptr;
  auto it = byIp_.find(std::string(ip));
  return it == byIp_.end() ? nullptr : &workloads_[it->second];
}

void WorkloadNames::nameEnd(Peer& peer, const Workload* known) const {
  if (!peer.pod.empty()) {
    if (peer.ns.empty() && peer.pod.find('/') != std::string::npos) peer.ns = peer.pod.substr(0, peer.pod.find('/'));
    return;
  }
  const Workload* w = known ? known : byAddress(peer.address);
  if (!w) return;
  peer.pod = w->pod;
  if (peer.ns.empty()) peer.ns = w->ns;
  if (peer.workload.empty()) peer.workload = w->workload;
  if (peer.principal.empty()) peer.principal = w->identity;
}

void WorkloadNames::name(FlowEvent& event) const {
  const bool srcIsSocket = event.origin == Origin::kKernel && event.type != EventType::kStrictDrop &&
                           event.netnsCookie != 0 && !event.proxySocket;
  nameEnd(event.src, srcIsSocket ? byNetnsCookie(event.netnsCookie) : nullptr);
  nameEnd(event.dst, nullptr);
}

}  // namespace weft::trace

#include "weft-trace/event_filter.h"

namespace weft::trace {
namespace {

bool podMatches(const Peer& peer, const std::string& wanted) {
  if (peer.pod.empty()) return false;
  if (wanted.find('/') != std::string::npos) return peer.pod == wanted;
  auto slash = peer.pod.find('/');
  return (slash == std::string::npos ? peer.pod : peer.pod.substr(slash + 1)) == wanted;
}

}  // namespace

bool EventFilter::matches(const FlowEvent& event) const {
  if (!types.empty() && !types.contains(event.type)) return false;
  if (verdict && event.verdict != *verdict) return false;
  if (protocol && event.protocol != *protocol) return false;
  if (pod && !podMatches(event.src, *pod) && !podMatches(event.dst, *pod)) return false;
  if (ns && event.src.ns != *ns && event.dst.ns != *ns) return false;
  return true;
}

}  // namespace weft::trace

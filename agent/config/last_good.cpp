#include "weft/config/last_good.h"

#include <set>
#include <string>

namespace weft::config {
namespace {

// The identity under which RejectedObject names an object: "Kind/ns/name" for
// namespaced kinds, "Kind/name" for cluster-scoped ones.
std::string identity(std::string_view kind, const ObjectMeta& meta) {
  std::string id(kind);
  id += '/';
  if (!meta.namespace_.empty()) id += meta.namespace_ + "/";
  return id + meta.name;
}

std::string where(const SourceLocation& source) { return source.file + ":" + std::to_string(source.line); }

struct CarryPlan {
  std::set<std::string> rejectedIds;        // objects rejected by name
  std::set<std::string> unreadableFiles;    // files with a document we could not even name
  std::set<std::string> presentIds;         // objects `next` already has
};

template <class T, class KindOf>
void carry(std::vector<T>& into, const std::vector<T>& from, const CarryPlan& plan, KindOf kindOf,
           std::vector<RejectedObject>& rejected) {
  for (const T& old : from) {
    std::string id = identity(kindOf(old), old.meta);
    if (plan.presentIds.contains(id)) continue;
    bool wasRejected = plan.rejectedIds.contains(id);
    bool fileUnreadable = plan.unreadableFiles.contains(old.meta.source.file);
    if (!wasRejected && !fileUnreadable) continue;
    into.push_back(old);
    for (auto& r : rejected) {
      bool matches = wasRejected ? (!r.kind.empty() && r.kind + "/" + r.name == id)
                                 : (r.kind.empty() && r.source.file == old.meta.source.file);
      if (matches && r.reason.find("last good") == std::string::npos)
        r.reason += wasRejected ? "; serving the last good version from " + where(old.meta.source)
                                : "; serving the last good objects of this file";
    }
  }
}

template <class T, class KindOf>
void notePresent(const std::vector<T>& list, KindOf kindOf, CarryPlan& plan) {
  for (const T& o : list) plan.presentIds.insert(identity(kindOf(o), o.meta));
}

}  // namespace

Snapshot keepLastGood(Snapshot next, const Snapshot& previous) {
  if (next.rejected.empty()) return next;
  CarryPlan plan;
  for (const auto& r : next.rejected) {
    if (r.kind.empty()) plan.unreadableFiles.insert(r.source.file);
    else if (!r.name.empty()) plan.rejectedIds.insert(r.kind + "/" + r.name);
  }
  auto fixed = [](std::string_view kind) { return [kind](const auto&) { return kind; }; };
  auto generic = [](const GenericResource& g) { return std::string_view(g.kind); };

  notePresent(next.namespaces, fixed("Namespace"), plan);
  notePresent(next.pods, fixed("Pod"), plan);
  notePresent(next.services, fixed("Service"), plan);
  notePresent(next.peerAuthentications, fixed("PeerAuthentication"), plan);
  notePresent(next.authorizationPolicies, fixed("AuthorizationPolicy"), plan);
  notePresent(next.otherResources, generic, plan);

  carry(next.namespaces, previous.namespaces, plan, fixed("Namespace"), next.rejected);
  carry(next.pods, previous.pods, plan, fixed("Pod"), next.rejected);
  carry(next.services, previous.services, plan, fixed("Service"), next.rejected);
  carry(next.peerAuthentications, previous.peerAuthentications, plan, fixed("PeerAuthentication"), next.rejected);
  carry(next.authorizationPolicies, previous.authorizationPolicies, plan, fixed("AuthorizationPolicy"), next.rejected);
  carry(next.otherResources, previous.otherResources, plan, generic, next.rejected);
  return next;
}

}  // namespace weft::config

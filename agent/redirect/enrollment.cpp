#include "weft/redirect/enrollment.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <sched.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <algorithm>
#include <cstring>
#include <set>
#include <thread>

#include "weft/common/log.h"
#include "weft/common/socket_address.h"
#include "weft/common/unique_fd.h"

namespace weft::redirect {
namespace {

std::optional<bool> meshLabel(const config::Labels& labels) {
  auto it = labels.find(std::string(kMeshLabel));
  if (it == labels.end()) return std::nullopt;
  return it->second == kMeshEnabled;
}

std::string podName(const config::Pod& pod) { return pod.meta.namespace_ + "/" + pod.meta.name; }

}  // namespace

std::vector<const config::Pod*> meshPods(const config::Snapshot& snapshot) {
  std::map<std::string, bool, std::less<>> namespaceInMesh;
  for (const auto& ns : snapshot.namespaces) namespaceInMesh[ns.meta.name] = meshLabel(ns.meta.labels).value_or(false);
  std::vector<const config::Pod*> pods;
  for (const auto& pod : snapshot.pods) {
    auto own = meshLabel(pod.meta.labels);
    auto ns = namespaceInMesh.find(pod.meta.namespace_);
    bool inMesh = own.value_or(ns != namespaceInMesh.end() && ns->second);
    if (inMesh) pods.push_back(&pod);
  }
  return pods;
}

std::vector<const config::Pod*> podsToEnroll(const config::Snapshot& snapshot, std::string_view node) {
  auto pods = meshPods(snapshot);
  std::erase_if(pods, [node](const config::Pod* pod) { return pod->nodeName != node; });
  return pods;
}

Result<std::uint64_t> netnsCookieOf(const std::filesystem::path& path) {
  UniqueFd netns(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!netns.valid()) return failErrno("open netns " + path.string());
  // setns() moves only the calling thread, so a short-lived thread does it
  // and the agent's own threads never leave the node's namespace.
  Result<std::uint64_t> result = fail(ErrorCode::kInternal, "netns cookie not read");
  std::thread reader([&] {
    if (::setns(netns.get(), CLONE_NEWNET) != 0) {
      result = failErrno("setns " + path.string());
      return;
    }
    UniqueFd probe(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    std::uint64_t cookie = 0;
    socklen_t length = sizeof cookie;
    if (!probe.valid() || ::getsockopt(probe.get(), SOL_SOCKET, SO_NETNS_COOKIE, &cookie, &length) != 0)
      result = failErrno("SO_NETNS_COOKIE in " + path.string());
    else
      result = cookie;
  });
  reader.join();
  return result;
}

std::vector<in6_addr> podAddresses(const config::Pod& pod) {
  std::vector<in6_addr> out;
  for (const auto& ip : pod.podIPs) {
    in6_addr address{};
    in_addr v4{};
    if (inet_pton(AF_INET, ip.c_str(), &v4) == 1) {
      address = v4Mapped(v4);
    } else if (inet_pton(AF_INET6, ip.c_str(), &address) != 1) {
      continue;  // the loader validated addresses; nothing to do with others
    }
    out.push_back(address);
  }
  return out;
}

EnrollmentSummary Enrollment::reconcile(const config::Snapshot& snapshot) {
  EnrollmentSummary summary;
  std::set<std::uint64_t> wantedCookies;
  std::vector<in6_addr> wantedAddresses;
  nlohmann::json workloads = nlohmann::json::array();
  // What the maps hold before this pass (an earlier agent may have filled
  // them): read first, or every pod upserted below would look old.
  std::set<std::uint64_t> existing;
  if (auto current = hooks_.enrolledCookies()) existing.insert(current->begin(), current->end());
  else summary.failures.push_back("cannot list enrolled pods: " + current.error().message);

  for (const config::Pod* pod : podsToEnroll(snapshot, node_)) {
    if (pod->netnsPath.empty()) {
      summary.failures.push_back(podName(*pod) + ": no weft.dev/netns annotation");
      continue;
    }
    struct stat st {};
    if (::stat(pod->netnsPath.c_str(), &st) != 0) {
      summary.failures.push_back(podName(*pod) + ": netns " + pod->netnsPath + ": " + std::strerror(errno));
      continue;
    }
    Known& known = cookiesByPath_[pod->netnsPath];
    if (known.cookie == 0 || known.netnsInode != st.st_ino) {
      auto cookie = netnsCookieOf(pod->netnsPath);
      if (!cookie) {
        summary.failures.push_back(podName(*pod) + ": " + cookie.error().message);
        continue;
      }
      known = {*cookie, st.st_ino};
    }
    auto addresses = podAddresses(*pod);
    bpf::EnrolledPod entry{.netnsCookie = known.cookie};
    for (const auto& a : addresses) {
      if (auto v4 = v4Unmapped(a)) entry.ipv4 = *v4;
      else entry.ipv6 = a;
    }
    if (auto ok = hooks_.upsertEnrolled(entry); !ok) {
      summary.failures.push_back(podName(*pod) + ": " + ok.error().message);
      continue;
    }
    wantedCookies.insert(known.cookie);
    wantedAddresses.insert(wantedAddresses.end(), addresses.begin(), addresses.end());
    workloads.push_back({{"namespace", pod->meta.namespace_},
                         {"name", pod->meta.name},
                         {"serviceAccount", pod->serviceAccount},
                         {"ips", pod->podIPs},
                         {"netns", pod->netnsPath},
                         {"netnsCookie", known.cookie}});
  }

  for (auto cookie : wantedCookies) summary.added += existing.contains(cookie) ? 0 : 1;
  for (auto cookie : existing) {
    if (wantedCookies.contains(cookie)) continue;
    if (hooks_.removeEnrolled(cookie)) ++summary.removed;
  }
  for (const auto& a : wantedAddresses) (void)hooks_.addLocalPod(a);
  if (auto current = hooks_.localPods()) {
    for (const auto& a : *current) {
      bool wanted = std::any_of(wantedAddresses.begin(), wantedAddresses.end(),
                                [&](const in6_addr& w) { return std::memcmp(&w, &a, sizeof a) == 0; });
      if (!wanted) (void)hooks_.removeLocalPod(a);
    }
  }
  // Forget cookies of namespaces no pod uses any more.
  std::erase_if(cookiesByPath_, [&](const auto& entry) { return !wantedCookies.contains(entry.second.cookie); });

  summary.enrolled = wantedCookies.size();
  for (const auto& failure : summary.failures) log::warn("enroll", "{}", failure);
  if (summary.added || summary.removed)
    log::info("enroll", "{} pod(s) in the mesh on {} (+{} -{})", summary.enrolled, node_, summary.added, summary.removed);
  workloads_ = std::move(workloads);
  last_ = summary;
  addedSinceStart_ += summary.added;
  removedSinceStart_ += summary.removed;
  return summary;
}

nlohmann::json Enrollment::toJson() const {
  return {{"enrolled", last_.enrolled},
          {"addedSinceStart", addedSinceStart_},
          {"removedSinceStart", removedSinceStart_},
          {"failures", last_.failures},
          {"workloads", workloads_}};
}

}  // namespace weft::redirect

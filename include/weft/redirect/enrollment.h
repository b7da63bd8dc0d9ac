// Enrollment: which pods of this node are in the mesh (label
// weft.dev/mesh=enabled on the pod or its namespace), and keeping the BPF
// maps in line with that: their netns cookies (capture) and addresses (the
// sockmap's same-node check). Enrolling or leaving needs no pod restart.
#pragma once

#include <netinet/in.h>

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "weft/bpf/capture_hooks.h"
#include "weft/common/error.h"
#include "weft/config/snapshot.h"

namespace weft::redirect {

inline constexpr std::string_view kMeshLabel = "weft.dev/mesh";
inline constexpr std::string_view kMeshEnabled = "enabled";

// Every pod in the mesh, on any node (the tunnel needs to know remote ones).
[[nodiscard]] std::vector<const config::Pod*> meshPods(const config::Snapshot& snapshot);

// The pods of `node` that are in the mesh, in snapshot order. A pod's own
// label wins over its namespace's (weft.dev/mesh=disabled opts a pod out).
[[nodiscard]] std::vector<const config::Pod*> podsToEnroll(const config::Snapshot& snapshot, std::string_view node);

// The cookie of the network namespace at `path` (e.g. /run/netns/x).
[[nodiscard]] Result<std::uint64_t> netnsCookieOf(const std::filesystem::path& path);

// Pod addresses in the form the BPF maps keep them (IPv4 v4-mapped).
[[nodiscard]] std::vector<in6_addr> podAddresses(const config::Pod& pod);

struct EnrollmentSummary {
  std::size_t enrolled = 0;
  std::size_t added = 0;
  std::size_t removed = 0;
  std::vector<std::string> failures;  // "ns/name: reason"
};

class Enrollment {
 public:
  Enrollment(bpf::CaptureHooks& hooks, std::string node) : hooks_(hooks), node_(std::move(node)) {}

  // Brings the maps in line with `snapshot`. Entries an earlier agent left
  // are adopted as they are when still wanted, removed otherwise.
  EnrollmentSummary reconcile(const config::Snapshot& snapshot);

  [[nodiscard]] nlohmann::json toJson() const;

 private:
  struct Known {
    std::uint64_t cookie = 0;
    std::uint64_t netnsInode = 0;  // a recreated netns at the same path gets a new cookie
  };
  bpf::CaptureHooks& hooks_;
  std::string node_;
  std::map<std::string, Known> cookiesByPath_;
  nlohmann::json workloads_ = nlohmann::json::array();
  EnrollmentSummary last_;
  // Since this agent started: a restarted agent that adopts pinned maps adds 0.
  std::size_t addedSinceStart_ = 0;
  std::size_t removedSinceStart_ = 0;
};

}  // namespace weft::redirect

// The capture hooks (bpf/capture.bpf.c): cgroup connect4/6 and getpeername4/6
// and sockops attached at the node's cgroup v2 root, the sk_msg fast path on
// the sockhash, and the maps they share with user space (enrolled netns,
// proxy address, excluded ports, original destinations, joined relays).
// This is the only face of libbpf that the rest of the agent sees.
#pragma once

#include <netinet/in.h>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "weft/common/error.h"

namespace weft::bpf {

struct CaptureOptions {
  std::filesystem::path cgroupRoot;  // cgroup v2 directory the hooks attach to
  std::filesystem::path pinDir;      // bpffs directory for maps and links
};

struct CaptureCounters {
  std::uint64_t connectSeen = 0;
  std::uint64_t notEnrolled = 0;
  std::uint64_t enrolled = 0;
  std::uint64_t redirected = 0;
  std::uint64_t excludedPort = 0;
  std::uint64_t localDestination = 0;
  std::uint64_t notTcp = 0;
  std::uint64_t noProxy = 0;
  std::uint64_t originalDstRecorded = 0;
  std::uint64_t sockmapAdded = 0;
  std::uint64_t msgRedirected = 0;
  std::uint64_t msgDirect = 0;
  std::uint64_t msgRedirectedBytes = 0;
  std::uint64_t msgDirectBytes = 0;
};

// An IP endpoint; IPv4 is carried v4-mapped, as the BPF side stores it.
struct Endpoint {
  in6_addr address{};
  std::uint16_t port = 0;  // host byte order
  friend bool operator==(const Endpoint&, const Endpoint&) = default;
};

// A socket's 4-tuple as seen from that socket.
struct SocketTuple {
  Endpoint local;
  Endpoint remote;
};

struct ProxySteering {
  in_addr proxyAddress{};        // where pods reach the proxy (0: capture off)
  std::uint16_t outboundPort = 0;
  bool sockmap = false;          // join same-node sockets in the kernel
};

struct EnrolledPod {
  std::uint64_t netnsCookie = 0;
  std::optional<in_addr> ipv4;
  std::optional<in6_addr> ipv6;
};

class CaptureHooks {
 public:
  // Loads the programs, reuses maps pinned by an earlier agent, and attaches
  // (or, when links are already pinned, atomically replaces the programs).
  [[nodiscard]] static Result<std::unique_ptr<CaptureHooks>> attach(const CaptureOptions& options);

  // Detaches and unpins, unless keepAttachedOnExit(true) was called.
  ~CaptureHooks();
  CaptureHooks(const CaptureHooks&) = delete;
  CaptureHooks& operator=(const CaptureHooks&) = delete;

  // Leave programs attached and pinned at exit, for a restart that adopts them.
  void keepAttachedOnExit(bool keep) { keepAttached_ = keep; }
  [[nodiscard]] bool adoptedExistingLinks() const { return adopted_; }
  // Another agent adopted the pinned links since (they run its programs
  // now): a successor took over this node, and these hooks are its own.
  [[nodiscard]] bool adoptedBySuccessor() const;

  [[nodiscard]] Result<CaptureCounters> counters() const;
  // Entries in each of the hash maps the agent fills or the programs grow
  // (for weft_agent_bpf_map_entries): a map near its capacity loses entries.
  struct MapOccupancy {
    std::string name;
    std::size_t entries = 0;
    std::size_t capacity = 0;
  };
  [[nodiscard]] std::vector<MapOccupancy> mapOccupancy() const;
  [[nodiscard]] Status upsertEnrolled(const EnrolledPod& pod);
  [[nodiscard]] Status removeEnrolled(std::uint64_t netnsCookie);
  [[nodiscard]] Result<std::vector<std::uint64_t>> enrolledCookies() const;
  [[nodiscard]] Status addLocalPod(const in6_addr& address);
  [[nodiscard]] Status removeLocalPod(const in6_addr& address);
  [[nodiscard]] Result<std::vector<in6_addr>> localPods() const;

  // Where captured connects go, and whether the sk_msg fast path is on.
  [[nodiscard]] Status steer(const ProxySteering& steering);
  [[nodiscard]] Status setExcludedPorts(const std::vector<std::uint16_t>& ports);

  // The original destination of a captured connection, by the client's
  // endpoint as the proxy sees it; the entry is consumed.
  [[nodiscard]] std::optional<Endpoint> takeOriginalDestination(const Endpoint& client);

  // Joins a relay: after every byte given to the proxy has been relayed, sends
  // from each app socket go straight to the other. `a` and `b` are the app
  // sockets' own tuples.
  [[nodiscard]] Status requestRelayJoin(const SocketTuple& a, const SocketTuple& b);
  [[nodiscard]] Status reportForwarded(const SocketTuple& from, const SocketTuple& to, std::uint64_t bytes);
  void forgetRelay(const SocketTuple& a, const SocketTuple& b);
  [[nodiscard]] bool inSockhash(const SocketTuple& tuple) const;

  [[nodiscard]] const CaptureOptions& options() const { return options_; }

 private:
  struct Impl;
  explicit CaptureHooks(CaptureOptions options);
  void restoreMissingPins();

  CaptureOptions options_;
  std::unique_ptr<Impl> impl_;
  bool keepAttached_ = false;
  bool adopted_ = false;
};

}  // namespace weft::bpf

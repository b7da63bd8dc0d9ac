// One flow event as weft-trace shows it, whichever source it came from: the
// kernel's ring buffer (connect captured, fast path, STRICT drop, TCP state,
// retransmit) or the agent's event stream (HTTP and gRPC requests, proxied
// connections). Filters and formatting work on this type only.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace weft::trace {

enum class EventType {
  kConnectCaptured,  // kernel: connect4/6 sent an enrolled pod's connect to the proxy
  kFastpathPaired,   // kernel: sockops/sk_msg put a socket or a relay on the same-node fast path
  kStrictDrop,       // kernel: STRICT PeerAuthentication dropped a plaintext SYN
  kTcpState,         // kernel: a socket of an enrolled pod changed TCP state
  kTcpRetransmit,    // kernel: ... retransmitted
  kHttp,             // agent: one HTTP request or gRPC call
  kConnection,       // agent: one proxied connection, at its end
};
inline constexpr EventType kAllEventTypes[] = {EventType::kConnectCaptured, EventType::kFastpathPaired,
                                               EventType::kStrictDrop,      EventType::kTcpState,
                                               EventType::kTcpRetransmit,   EventType::kHttp,
                                               EventType::kConnection};

// drop: the kernel dropped it (STRICT); deny: the proxy refused it by policy.
enum class Verdict { kAllow, kDeny, kDrop };
enum class Protocol { kTcp, kHttp, kGrpc };
enum class Origin { kKernel, kAgent };

[[nodiscard]] std::string_view typeName(EventType type);  // "strict_drop", ...
[[nodiscard]] std::optional<EventType> parseType(std::string_view name);
[[nodiscard]] std::string_view verdictName(Verdict verdict);
[[nodiscard]] std::optional<Verdict> parseVerdict(std::string_view name);
[[nodiscard]] std::string_view protocolName(Protocol protocol);
[[nodiscard]] std::optional<Protocol> parseProtocol(std::string_view name);
[[nodiscard]] std::string_view originName(Origin origin);  // "kernel", "agent"

// One end of a flow. Pod names are "namespace/name".
struct Peer {
  std::string address;  // IP text; empty when unknown
  std::uint16_t port = 0;
  std::string pod;
  std::string ns;
  std::string workload;
  std::string principal;
};

struct FlowEvent {
  EventType type = EventType::kTcpState;
  Origin origin = Origin::kKernel;
  std::int64_t timeNs = 0;  // wall clock, ns since the epoch
  Peer src;
  Peer dst;
  Verdict verdict = Verdict::kAllow;
  Protocol protocol = Protocol::kTcp;

  // Kernel events.
  std::uint64_t netnsCookie = 0;
  std::uint64_t socketCookie = 0;
  std::string reasonCode;  // strict_drop, fastpath_paired: stable words
  std::string reason;      // ... and what they mean
  std::string oldState;    // tcp_state: "SYN_SENT"
  std::string newState;    // tcp_state, tcp_retransmit
  std::uint32_t pid = 0;   // connect_captured
  std::string comm;
  std::uint32_t mark = 0;  // strict_drop
  std::uint32_t ifindex = 0;
  bool proxySocket = false;  // a socket of the node proxy (its connections to pods)

  // Agent events (the access-log fields).
  std::string reporter;      // source, destination, both
  std::string httpProtocol;  // "HTTP/1.1", "HTTP/2"
  std::string method;
  std::string authority;
  std::string path;
  std::optional<int> status;
  std::optional<int> grpcStatus;
  std::optional<double> durationMs;
  std::optional<std::uint64_t> requestBytes;
  std::optional<std::uint64_t> responseBytes;
  std::optional<std::uint64_t> bytesSent;
  std::optional<std::uint64_t> bytesReceived;
  std::optional<std::uint64_t> requests;
  std::string responseFlags;  // Envoy's codes; "-" for none
  std::string policy;         // the deciding policy, "namespace/name"
  std::string security;       // mutual_tls, none
};

}  // namespace weft::trace

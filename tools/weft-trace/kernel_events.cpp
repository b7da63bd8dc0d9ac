#include "weft-trace/kernel_events.h"

#include <arpa/inet.h>
#include <time.h>

#include <array>
#include <cstdio>
#include <cstring>

#include "weft/bpf_abi/flow_events.h"

namespace weft::trace {
namespace {

std::int64_t clockNs(clockid_t clock) {
  timespec ts{};
  ::clock_gettime(clock, &ts);
  return static_cast<std::int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

// "" for the unspecified address (a pod without IPv4, a port not chosen yet).
std::string addressText(const std::uint8_t (&addr)[16]) {
  static constexpr std::uint8_t kMappedPrefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  static constexpr std::uint8_t kZero[16] = {};
  if (std::memcmp(addr, kZero, 16) == 0) return {};
  char text[INET6_ADDRSTRLEN] = {};
  if (std::memcmp(addr, kMappedPrefix, 12) == 0) {
    if (std::memcmp(addr + 12, kZero, 4) == 0) return {};
    ::inet_ntop(AF_INET, addr + 12, text, sizeof text);
  } else {
    ::inet_ntop(AF_INET6, addr, text, sizeof text);
  }
  return text;
}

Peer peerOf(const weft_endpoint& endpoint) {
  return Peer{.address = addressText(endpoint.addr), .port = ntohs(endpoint.port)};
}

std::optional<EventType> typeOf(std::uint8_t type) {
  switch (type) {
    case WEFT_FLOW_CONNECT_CAPTURED: return EventType::kConnectCaptured;
    case WEFT_FLOW_FASTPATH_PAIRED: return EventType::kFastpathPaired;
    case WEFT_FLOW_STRICT_DROP: return EventType::kStrictDrop;
    case WEFT_FLOW_TCP_STATE: return EventType::kTcpState;
    case WEFT_FLOW_TCP_RETRANSMIT: return EventType::kTcpRetransmit;
    default: return std::nullopt;
  }
}

void describeReason(const weft_flow_event& raw, FlowEvent& event) {
  if (event.type == EventType::kStrictDrop) {
    const bool portLevel = raw.reason == WEFT_DROP_STRICT_PORT_NOT_FROM_PROXY;
    event.reasonCode = portLevel ? "strict_port_not_from_proxy" : "strict_not_from_proxy";
    event.reason = portLevel ? "plaintext not from the proxy (port-level STRICT)"
                             : "plaintext not from the proxy (STRICT)";
  } else if (event.type == EventType::kFastpathPaired) {
    const bool relay = raw.reason == WEFT_FASTPATH_RELAY_DIRECT;
    event.reasonCode = relay ? "relay_direct" : "sockhash_joined";
    event.reason = relay ? "relay joined: app to app in the kernel" : "socket joined the sockhash";
  }
}

}  // namespace

ClockOffset ClockOffset::now() { return {clockNs(CLOCK_REALTIME) - clockNs(CLOCK_MONOTONIC)}; }

std::string tcpStateName(unsigned state) {
  static constexpr std::array<const char*, 14> kNames = {
      "STATE_0",   "ESTABLISHED", "SYN_SENT",   "SYN_RECV", "FIN_WAIT1", "FIN_WAIT2",    "TIME_WAIT",
      "CLOSE",     "CLOSE_WAIT",  "LAST_ACK",   "LISTEN",   "CLOSING",   "NEW_SYN_RECV", "BOUND_INACTIVE"};
  if (state > 0 && state < kNames.size()) return kNames[state];
  return "STATE_" + std::to_string(state);
}

Result<FlowEvent> decodeKernelEvent(std::span<const std::byte> record, const ClockOffset& clock) {
  if (record.size() != sizeof(weft_flow_event))
    return fail(ErrorCode::kParse, "a kernel event of " + std::to_string(record.size()) + " bytes, expected " +
                                       std::to_string(sizeof(weft_flow_event)) + " (an agent of another weft version?)");
  weft_flow_event raw{};
  std::memcpy(&raw, record.data(), sizeof raw);
  auto type = typeOf(raw.type);
  if (!type) return fail(ErrorCode::kParse, "a kernel event of unknown type " + std::to_string(raw.type));

  FlowEvent event;
  event.type = *type;
  event.origin = Origin::kKernel;
  event.timeNs = clock.toWall(raw.timestamp_ns);
  event.src = peerOf(raw.src);
  event.dst = peerOf(raw.dst);
  event.verdict = event.type == EventType::kStrictDrop ? Verdict::kDrop : Verdict::kAllow;
  event.protocol = Protocol::kTcp;
  event.netnsCookie = raw.netns_cookie;
  event.socketCookie = raw.socket_cookie;
  event.proxySocket = (raw.flags & WEFT_FLOW_F_PROXY_SOCKET) != 0;
  describeReason(raw, event);
  if (event.type == EventType::kTcpState) event.oldState = tcpStateName(raw.old_state);
  if (event.type == EventType::kTcpState || event.type == EventType::kTcpRetransmit)
    event.newState = tcpStateName(raw.new_state);
  if (event.type == EventType::kConnectCaptured) {
    event.pid = raw.pid;
    event.comm.assign(raw.comm, ::strnlen(raw.comm, sizeof raw.comm));
  }
  if (event.type == EventType::kStrictDrop) {
    event.mark = raw.mark;
    event.ifindex = raw.ifindex;
  }
  return event;
}

Result<std::unique_ptr<KernelEventSource>> KernelEventSource::start(const std::filesystem::path& pinDir, Sink sink) {
  std::unique_ptr<KernelEventSource> source(new KernelEventSource());
  source->sink_ = std::move(sink);
  source->clock_ = ClockOffset::now();
  auto* self = source.get();
  auto reader = bpf::FlowEventReader::open(pinDir, [self](std::span<const std::byte> r) { self->onRecord(r); });
  if (!reader) return std::unexpected(reader.error());
  source->reader_ = std::move(*reader);
  // Its slot's lost count starts from zero: what earlier readers lost is not ours.
  if (auto ok = source->reader_->start(); !ok) return std::unexpected(ok.error());
  return source;
}

void KernelEventSource::onRecord(std::span<const std::byte> record) {
  auto event = decodeKernelEvent(record, clock_);
  if (!event) {
    if (undecodable_++ == 0) std::fprintf(stderr, "weft-trace: %s\n", event.error().message.c_str());
    return;
  }
  sink_(std::move(*event));
}

Status KernelEventSource::drain() {
  auto n = reader_->consume();
  if (!n) return std::unexpected(n.error());
  return {};
}

Result<std::uint64_t> KernelEventSource::tick() {
  clock_ = ClockOffset::now();  // follows a wall clock that was set meanwhile
  if (auto ok = reader_->heartbeat(); !ok) return std::unexpected(ok.error());
  auto lost = reader_->lost();
  if (!lost) return std::unexpected(lost.error());
  const std::uint64_t grown = *lost > lostSeen_ ? *lost - lostSeen_ : 0;
  lostSeen_ = *lost;
  return grown;
}

}  // namespace weft::trace

// Decoding the kernel's struct weft_flow_event into weft-trace's FlowEvent.
#include <arpa/inet.h>
#include <doctest/doctest.h>

#include <cstring>
#include <vector>

#include "weft-trace/kernel_events.h"
#include "weft/bpf_abi/flow_events.h"

using namespace weft::trace;

namespace {

weft_endpoint endpoint(const char* ipv4, std::uint16_t port) {
  weft_endpoint e{};
  e.addr[10] = e.addr[11] = 0xff;
  inet_pton(AF_INET, ipv4, &e.addr[12]);
  e.port = htons(port);
  return e;
}

std::span<const std::byte> bytesOf(const weft_flow_event& e) {
  return {reinterpret_cast<const std::byte*>(&e), sizeof e};
}

}  // namespace

TEST_CASE("trace: a STRICT drop decodes with its reason and the packet's ends") {
  weft_flow_event raw{};
  raw.timestamp_ns = 5'000'000'000;
  raw.type = WEFT_FLOW_STRICT_DROP;
  raw.reason = WEFT_DROP_STRICT_NOT_FROM_PROXY;
  raw.src = endpoint("198.19.2.12", 40000);
  raw.dst = endpoint("198.19.1.11", 8080);
  raw.mark = 0;
  raw.ifindex = 7;
  auto event = decodeKernelEvent(bytesOf(raw), ClockOffset{1'000});
  REQUIRE(event.has_value());
  CHECK(event->type == EventType::kStrictDrop);
  CHECK(event->origin == Origin::kKernel);
  CHECK(event->verdict == Verdict::kDrop);
  CHECK(event->protocol == Protocol::kTcp);
  CHECK(event->timeNs == 5'000'001'000);
  CHECK(event->src.address == "198.19.2.12");
  CHECK(event->src.port == 40000);
  CHECK(event->dst.address == "198.19.1.11");
  CHECK(event->dst.port == 8080);
  CHECK(event->reasonCode == "strict_not_from_proxy");
  CHECK(event->reason == "plaintext not from the proxy (STRICT)");
  CHECK(event->ifindex == 7);

  raw.reason = WEFT_DROP_STRICT_PORT_NOT_FROM_PROXY;
  CHECK(decodeKernelEvent(bytesOf(raw), {})->reasonCode == "strict_port_not_from_proxy");
}

TEST_CASE("trace: connect and TCP events decode pid - comm - states and cookies") {
  weft_flow_event raw{};
  raw.type = WEFT_FLOW_CONNECT_CAPTURED;
  raw.netns_cookie = 4096;
  raw.socket_cookie = 77;
  raw.src = endpoint("198.19.1.11", 0);
  raw.dst = endpoint("198.19.2.11", 8080);
  raw.pid = 1234;
  std::memcpy(raw.comm, "curl", 4);
  auto connect = decodeKernelEvent(bytesOf(raw), {});
  REQUIRE(connect.has_value());
  CHECK(connect->type == EventType::kConnectCaptured);
  CHECK(connect->verdict == Verdict::kAllow);
  CHECK(connect->netnsCookie == 4096);
  CHECK(connect->socketCookie == 77);
  CHECK(connect->pid == 1234);
  CHECK(connect->comm == "curl");
  CHECK(connect->src.port == 0);

  std::memset(raw.comm, 'x', sizeof raw.comm);  // a full comm has no NUL
  CHECK(decodeKernelEvent(bytesOf(raw), {})->comm == std::string(16, 'x'));

  raw = {};
  raw.type = WEFT_FLOW_TCP_STATE;
  raw.old_state = 2;
  raw.new_state = 1;
  raw.flags = WEFT_FLOW_F_PROXY_SOCKET;
  auto state = decodeKernelEvent(bytesOf(raw), {});
  REQUIRE(state.has_value());
  CHECK(state->oldState == "SYN_SENT");
  CHECK(state->newState == "ESTABLISHED");
  CHECK(state->proxySocket);
  CHECK(state->src.address.empty());  // all zero: unknown, not "::"

  raw.type = WEFT_FLOW_TCP_RETRANSMIT;
  raw.new_state = 1;
  CHECK(decodeKernelEvent(bytesOf(raw), {})->newState == "ESTABLISHED");

  raw.type = WEFT_FLOW_FASTPATH_PAIRED;
  raw.reason = WEFT_FASTPATH_RELAY_DIRECT;
  CHECK(decodeKernelEvent(bytesOf(raw), {})->reasonCode == "relay_direct");
}

TEST_CASE("trace: kernel records of another size or type are refused with the cause") {
  weft_flow_event raw{};
  raw.type = WEFT_FLOW_TCP_STATE;
  std::vector<std::byte> longer(sizeof raw + 8);
  std::memcpy(longer.data(), &raw, sizeof raw);
  auto sized = decodeKernelEvent(longer, {});
  REQUIRE_FALSE(sized.has_value());
  CHECK(sized.error().message.find("another weft version") != std::string::npos);
  raw.type = 99;
  auto typed = decodeKernelEvent(bytesOf(raw), {});
  REQUIRE_FALSE(typed.has_value());
  CHECK(typed.error().message.find("unknown type 99") != std::string::npos);
}

TEST_CASE("trace: TCP state names follow the kernel's numbers") {
  CHECK(tcpStateName(1) == "ESTABLISHED");
  CHECK(tcpStateName(7) == "CLOSE");
  CHECK(tcpStateName(10) == "LISTEN");
  CHECK(tcpStateName(12) == "NEW_SYN_RECV");
  CHECK(tcpStateName(0) == "STATE_0");
  CHECK(tcpStateName(40) == "STATE_40");
}

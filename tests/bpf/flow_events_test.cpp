// Flow events for weft-trace, in the kernel: the STRICT drop path driven by
// BPF_PROG_TEST_RUN and read back through the pinned ring buffer that the
// capture object made (so the two objects share it), the switch (nothing
// emitted or lost while off), lost counting when the ring is full, and the
// capture hooks' connect, TCP state and retransmit events from real sockets.
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <poll.h>

#include <doctest/doctest.h>

#include <chrono>
#include <cstring>
#include <fstream>
#include <span>
#include <string>
#include <vector>

#include "bpf_test_support.h"
#include "tc_test_run.h"
#include "weft/bpf/capture_hooks.h"
#include "weft/bpf/flow_event_reader.h"
#include "weft/bpf_abi/flow_events.h"
#include "weft/bpf_abi/peer_auth.h"
#include "weft/common/unique_fd.h"

using namespace weft::testing;

namespace {

// The peer-auth object with its maps pinned by name under `pinDir`, as the
// agent loads it (so it reuses the flow maps the capture object pinned).
struct PeerAuthObject {
  bpf_object* object = nullptr;
  explicit PeerAuthObject(const std::filesystem::path& pinDir) {
    const std::string root = pinDir.string();
    LIBBPF_OPTS(bpf_object_open_opts, options, .pin_root_path = root.c_str());
    object = bpf_object__open_file(builtObject("peer_auth").c_str(), &options);
    REQUIRE(object != nullptr);
    REQUIRE(bpf_object__load(object) == 0);
  }
  ~PeerAuthObject() { bpf_object__close(object); }
  int program(const char* name) { return bpf_program__fd(bpf_object__find_program_by_name(object, name)); }
  int map(const char* name) { return bpf_map__fd(bpf_object__find_map_by_name(object, name)); }
};

int runSyn(int program, const char* dst, std::uint16_t port, std::uint32_t mark, int repeat = 1) {
  return runTcpPacket(program, dst, port, true, false, mark, repeat);
}

std::string addressOf(const weft_endpoint& e) {
  char text[INET_ADDRSTRLEN] = {};
  inet_ntop(AF_INET, &e.addr[12], text, sizeof text);
  return text;
}

struct Collected {
  std::vector<weft_flow_event> events;
  weft::bpf::FlowEventReader::Handler handler() {
    return [this](std::span<const std::byte> bytes) {
      REQUIRE(bytes.size() == sizeof(weft_flow_event));
      weft_flow_event e{};
      std::memcpy(&e, bytes.data(), sizeof e);
      events.push_back(e);
    };
  }
};

// A capture hooks instance on a scratch cgroup, making the flow maps.
std::unique_ptr<weft::bpf::CaptureHooks> captureHooks(const ScratchCgroup& cgroup, const ScratchPinDir& pins) {
  auto hooks = weft::bpf::CaptureHooks::attach({.cgroupRoot = cgroup.path(), .pinDir = pins.path()});
  REQUIRE_MESSAGE(hooks.has_value(), hooks.error().describe());
  return std::move(*hooks);
}

}  // namespace

TEST_CASE("flow events: a STRICT drop reaches weft-trace's ring with its reason - only while the switch is on") {
  requireRoot();
  ScratchCgroup cgroup;
  ScratchPinDir pins;
  auto hooks = captureHooks(cgroup, pins);  // pins the flow maps first, as the agent does
  PeerAuthObject peerAuth(pins.path());
  setMtlsMode(peerAuth.map("weft_mtls_modes"), "198.19.1.11", 0, WEFT_MTLS_STRICT);
  setMtlsMode(peerAuth.map("weft_mtls_modes"), "198.19.1.12", 9090, WEFT_MTLS_STRICT);
  const int strict = peerAuth.program("weft_strict_egress");

  Collected got;
  auto reader = weft::bpf::FlowEventReader::open(pins.path(), got.handler());
  REQUIRE_MESSAGE(reader.has_value(), reader.error().describe());

  // Switch off: the verdict is the same, and nothing is emitted or lost.
  CHECK(runSyn(strict, "198.19.1.11", 8080, 0) == 2);
  REQUIRE((*reader)->consume().has_value());
  CHECK(got.events.empty());
  CHECK((*reader)->lost().value() == 0);

  REQUIRE((*reader)->start().has_value());
  CHECK(runSyn(strict, "198.19.1.11", 8080, 0) == 2);                     // dropped: pod-wide STRICT
  CHECK(runSyn(strict, "198.19.1.11", 8080, WEFT_MARK_FROM_PROXY) == 0);  // the proxy's: no event
  CHECK(runSyn(strict, "198.19.1.12", 9090, 0x1234) == 2);                // dropped: port-level STRICT
  REQUIRE((*reader)->consume().value() == 2);
  REQUIRE(got.events.size() == 2);
  const weft_flow_event& pod = got.events[0];
  CHECK(pod.type == WEFT_FLOW_STRICT_DROP);
  CHECK(pod.reason == WEFT_DROP_STRICT_NOT_FROM_PROXY);
  CHECK(addressOf(pod.src) == "198.19.2.12");
  CHECK(ntohs(pod.src.port) == 40000);
  CHECK(addressOf(pod.dst) == "198.19.1.11");
  CHECK(ntohs(pod.dst.port) == 8080);
  CHECK(pod.timestamp_ns > 0);
  const weft_flow_event& port = got.events[1];
  CHECK(port.reason == WEFT_DROP_STRICT_PORT_NOT_FROM_PROXY);
  CHECK(port.mark == 0x1234);

  // Several readers at once, each with its own ring and every event.
  Collected second;
  auto secondReader = weft::bpf::FlowEventReader::open(pins.path(), second.handler());
  REQUIRE(secondReader.has_value());
  REQUIRE_MESSAGE((*secondReader)->start().has_value(), "a second reader takes the next slot");
  CHECK(runSyn(strict, "198.19.1.12", 9090, 0x99) == 2);
  REQUIRE((*reader)->consume().value() == 1);
  REQUIRE((*secondReader)->consume().value() == 1);
  CHECK(got.events.back().mark == 0x99);
  REQUIRE(second.events.size() == 1);
  CHECK(second.events[0].mark == 0x99);
  CHECK(second.events[0].reason == WEFT_DROP_STRICT_PORT_NOT_FROM_PROXY);

  // Up to WEFT_FLOW_READERS: one more is refused, naming the readers.
  std::vector<std::unique_ptr<weft::bpf::FlowEventReader>> more;
  for (int i = 2; i < WEFT_FLOW_READERS; ++i) {
    auto r = weft::bpf::FlowEventReader::open(pins.path(), [](std::span<const std::byte>) {});
    REQUIRE(r.has_value());
    REQUIRE((*r)->start().has_value());
    more.push_back(std::move(*r));
  }
  auto extra = weft::bpf::FlowEventReader::open(pins.path(), [](std::span<const std::byte>) {});
  REQUIRE(extra.has_value());
  auto refused = (*extra)->start();
  REQUIRE_FALSE(refused.has_value());
  CHECK(refused.error().message.find("are taken") != std::string::npos);

  // A reader that stops hears nothing more, and its slot is free again.
  (*reader)->stop();
  CHECK(runSyn(strict, "198.19.1.11", 8080, 0) == 2);
  REQUIRE((*reader)->consume().has_value());
  CHECK(got.events.size() == 3);
  REQUIRE((*secondReader)->consume().value() == 1);  // the others still do
  CHECK((*extra)->start().has_value());

  // A reader whose slot another process took says so at its next heartbeat.
  CHECK((*secondReader)->heartbeat().has_value());
  weft::UniqueFd switchMap(bpf_obj_get((pins.path() / WEFT_FLOW_SWITCH_MAP).c_str()));
  REQUIRE(switchMap.valid());
  for (std::uint32_t slot = 0; slot < WEFT_FLOW_READERS; ++slot) {
    weft_flow_switch value{};
    REQUIRE(bpf_map_lookup_elem(switchMap.get(), &slot, &value) == 0);
    if (value.reader != static_cast<std::uint32_t>(::getpid())) continue;
    value.reader = 1;  // every reader here is this process: take them all
    REQUIRE(bpf_map_update_elem(switchMap.get(), &slot, &value, BPF_ANY) == 0);
  }
  auto lostSlot = (*secondReader)->heartbeat();
  REQUIRE_FALSE(lostSlot.has_value());
  CHECK(lostSlot.error().message.find("took this reader's flow event slot") != std::string::npos);
}

TEST_CASE("flow events: a full ring counts the events it could not take as lost") {
  requireRoot();
  ScratchCgroup cgroup;
  ScratchPinDir pins;
  auto hooks = captureHooks(cgroup, pins);
  PeerAuthObject peerAuth(pins.path());
  setMtlsMode(peerAuth.map("weft_mtls_modes"), "198.19.1.11", 0, WEFT_MTLS_STRICT);
  Collected got;
  auto reader = weft::bpf::FlowEventReader::open(pins.path(), got.handler());
  REQUIRE(reader.has_value());
  REQUIRE((*reader)->start().has_value());
  constexpr int kRuns = 20000;  // more than 1 MiB of 112-byte records
  CHECK(runSyn(peerAuth.program("weft_strict_egress"), "198.19.1.11", 8080, 0, kRuns) == 2);
  std::size_t consumed = (*reader)->consume().value();
  std::uint64_t lost = (*reader)->lost().value();
  CHECK(consumed > 0);
  CHECK(lost > 0);
  CHECK(consumed + lost == static_cast<std::uint64_t>(kRuns));
}

TEST_CASE("flow events: the capture hooks report a captured connect and its socket's TCP states") {
  requireRoot();
  ScratchCgroup cgroup;
  ScratchPinDir pins;
  LoopbackListener proxy;
  auto hooks = captureHooks(cgroup, pins);
  // The test's netns plays the enrolled pod; the "proxy" is a loopback listener.
  const auto cookie = currentNetnsCookie();
  REQUIRE(hooks->upsertEnrolled({.netnsCookie = cookie}).has_value());
  in_addr loopback{htonl(INADDR_LOOPBACK)};
  REQUIRE(hooks->steer({.proxyAddress = loopback, .outboundPort = proxy.port()}).has_value());

  Collected got;
  auto reader = weft::bpf::FlowEventReader::open(pins.path(), got.handler());
  REQUIRE(reader.has_value());
  REQUIRE((*reader)->start().has_value());

  // 198.51.100.7:80 (TEST-NET-2) is captured and reaches the loopback listener.
  pid_t child = ::fork();
  if (child == 0) {
    std::ofstream(cgroup.path() / "cgroup.procs") << ::getpid() << std::flush;
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{.sin_family = AF_INET, .sin_port = htons(80), .sin_addr = {}};
    inet_pton(AF_INET, "198.51.100.7", &addr.sin_addr);
    ::_exit(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 ? 0 : 1);
  }
  int status = 0;
  ::waitpid(child, &status, 0);
  REQUIRE(WIFEXITED(status));
  REQUIRE(WEXITSTATUS(status) == 0);

  // The child's socket: captured, then SYN_SENT -> ESTABLISHED (to the proxy's port).
  const std::uint16_t proxyPortBe = htons(proxy.port());
  auto has = [&](auto predicate) {
    for (const auto& e : got.events)
      if (predicate(e)) return true;
    return false;
  };
  auto connectSeen = [&](const weft_flow_event& e) {
    return e.type == WEFT_FLOW_CONNECT_CAPTURED && addressOf(e.dst) == "198.51.100.7" && ntohs(e.dst.port) == 80 &&
           e.pid == static_cast<std::uint32_t>(child) && e.netns_cookie == cookie && e.socket_cookie != 0;
  };
  auto established = [&](const weft_flow_event& e) {
    return e.type == WEFT_FLOW_TCP_STATE && e.dst.port == proxyPortBe && e.old_state == 2 /* SYN_SENT */ &&
           e.new_state == 1 /* ESTABLISHED */ && e.netns_cookie == cookie && addressOf(e.dst) == "127.0.0.1";
  };
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (!(has(connectSeen) && has(established)) && std::chrono::steady_clock::now() < deadline) {
    pollfd p{.fd = (*reader)->fd(), .events = POLLIN, .revents = 0};
    ::poll(&p, 1, 100);
    REQUIRE((*reader)->consume().has_value());
  }
  CHECK(has(connectSeen));
  CHECK(has(established));
  CHECK(has([&](const weft_flow_event& e) {
    return e.type == WEFT_FLOW_TCP_STATE && e.dst.port == proxyPortBe && e.old_state == 7 /* CLOSE */ &&
           e.new_state == 2 /* SYN_SENT */;
  }));
  CHECK((*reader)->lost().value() == 0);
}

TEST_CASE("flow events: a SYN retransmitted by an enrolled netns is reported") {
  requireRoot();
  ScratchCgroup cgroup;
  ScratchPinDir pins;
  auto hooks = captureHooks(cgroup, pins);
  REQUIRE(hooks->upsertEnrolled({.netnsCookie = currentNetnsCookie()}).has_value());
  Collected got;
  auto reader = weft::bpf::FlowEventReader::open(pins.path(), got.handler());
  REQUIRE(reader.has_value());
  REQUIRE((*reader)->start().has_value());

  // A listener that never accepts, with room for one queued connection: the
  // second client's SYN is dropped (accept queue full) and retransmitted.
  weft::UniqueFd listener(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in addr{.sin_family = AF_INET, .sin_port = 0, .sin_addr = {htonl(INADDR_LOOPBACK)}};
  REQUIRE(::bind(listener.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  REQUIRE(::listen(listener.get(), 0) == 0);
  socklen_t length = sizeof addr;
  ::getsockname(listener.get(), reinterpret_cast<sockaddr*>(&addr), &length);
  weft::UniqueFd queued(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  REQUIRE(::connect(queued.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  weft::UniqueFd waiting(::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  ::connect(waiting.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr);

  auto retransmitted = [&] {
    for (const auto& e : got.events)
      if (e.type == WEFT_FLOW_TCP_RETRANSMIT && e.dst.port == addr.sin_port && e.new_state == 2 /* SYN_SENT */)
        return true;
    return false;
  };
  // The first retransmission is due after the initial RTO (1 s).
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(4);
  while (!retransmitted() && std::chrono::steady_clock::now() < deadline) {
    pollfd p{.fd = (*reader)->fd(), .events = POLLIN, .revents = 0};
    ::poll(&p, 1, 100);
    REQUIRE((*reader)->consume().has_value());
  }
  CHECK(retransmitted());
}

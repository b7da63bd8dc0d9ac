// Naming kernel events' ends from /workloads, the filters, and both outputs.
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include "weft-trace/event_filter.h"
#include "weft-trace/formatting.h"
#include "weft-trace/workload_names.h"

using namespace weft::trace;

namespace {

constexpr const char* kWorkloads = R"([
  {"pod":"demo/n1-p1","name":"n1-p1","namespace":"demo","ips":["198.19.1.11"],"node":"n1","onThisNode":true,
   "netnsCookie":4096,"workload":"n1-p1","serviceAccount":"default","identity":"spiffe://cluster.local/ns/demo/sa/default"},
  {"pod":"demo/n2-p1","name":"n2-p1","namespace":"demo","ips":["198.19.2.11"],"node":"n2","onThisNode":false,
   "workload":"web","serviceAccount":"web","identity":"spiffe://cluster.local/ns/demo/sa/web"},
  {"name":"n2-p2","namespace":"outside","ips":["198.19.2.12"],"node":"n2"},
  {"ips":["10.0.0.1"]},
  "junk"
])";

WorkloadNames names() { return WorkloadNames(parseWorkloads(kWorkloads).value()); }

FlowEvent kernelEvent(EventType type, const char* src, std::uint16_t srcPort, const char* dst, std::uint16_t dstPort) {
  FlowEvent e;
  e.type = type;
  e.origin = Origin::kKernel;
  e.src = {.address = src, .port = srcPort};
  e.dst = {.address = dst, .port = dstPort};
  e.timeNs = 1'796'306'400'123'456'000;
  return e;
}

}  // namespace

TEST_CASE("trace: /workloads parses into pods by netns cookie and by address") {
  auto workloads = parseWorkloads(kWorkloads);
  REQUIRE(workloads.has_value());
  REQUIRE(workloads->size() == 3);  // the entry without a name and the string are skipped
  CHECK((*workloads)[0].netnsCookie == 4096u);
  CHECK((*workloads)[0].onThisNode);
  CHECK((*workloads)[1].identity == "spiffe://cluster.local/ns/demo/sa/web");
  CHECK((*workloads)[2].pod == "outside/n2-p2");  // built from namespace and name

  WorkloadNames n = names();
  CHECK(n.byNetnsCookie(4096)->pod == "demo/n1-p1");
  CHECK(n.byNetnsCookie(1) == nullptr);
  CHECK(n.byAddress("198.19.2.12")->pod == "outside/n2-p2");
  CHECK(n.byAddress("") == nullptr);

  CHECK_FALSE(parseWorkloads("{").has_value());
  CHECK_FALSE(parseWorkloads(R"({"pods":[]})").has_value());
}

TEST_CASE("trace: a socket's own end is named by its netns cookie - other ends by address") {
  WorkloadNames n = names();
  // The pod's address is not known to the socket yet (connect): the cookie names it.
  FlowEvent connect = kernelEvent(EventType::kConnectCaptured, "", 0, "198.19.2.11", 8080);
  connect.netnsCookie = 4096;
  n.name(connect);
  CHECK(connect.src.pod == "demo/n1-p1");
  CHECK(connect.src.ns == "demo");
  CHECK(connect.dst.pod == "demo/n2-p1");
  CHECK(connect.dst.workload == "web");
  CHECK(connect.dst.principal == "spiffe://cluster.local/ns/demo/sa/web");

  // A STRICT drop's cookie (if any) is not the source's: both ends by address.
  FlowEvent drop = kernelEvent(EventType::kStrictDrop, "198.19.2.12", 40000, "198.19.1.11", 8080);
  drop.netnsCookie = 4096;
  n.name(drop);
  CHECK(drop.src.pod == "outside/n2-p2");
  CHECK(drop.dst.pod == "demo/n1-p1");

  FlowEvent unknown = kernelEvent(EventType::kTcpState, "192.0.2.1", 1, "192.0.2.2", 2);
  n.name(unknown);
  CHECK(unknown.src.pod.empty());
  CHECK(endName(unknown.src) == "192.0.2.1:1");
  CHECK(endName(Peer{}) == "-");
}

TEST_CASE("trace: filters by pod - namespace - verdict - protocol and type") {
  WorkloadNames n = names();
  FlowEvent drop = kernelEvent(EventType::kStrictDrop, "198.19.2.12", 40000, "198.19.1.11", 8080);
  drop.verdict = Verdict::kDrop;
  n.name(drop);
  FlowEvent http = kernelEvent(EventType::kHttp, "198.19.2.11", 5000, "198.19.1.11", 8080);
  http.origin = Origin::kAgent;
  http.protocol = Protocol::kHttp;
  http.verdict = Verdict::kDeny;
  n.name(http);

  CHECK(EventFilter{}.matches(drop));
  CHECK(EventFilter{.pod = "n1-p1"}.matches(drop));        // the destination, any namespace
  CHECK(EventFilter{.pod = "outside/n2-p2"}.matches(drop));  // the source, exactly
  CHECK_FALSE(EventFilter{.pod = "demo/n2-p2"}.matches(drop));
  CHECK_FALSE(EventFilter{.pod = "n2-p1"}.matches(drop));
  CHECK(EventFilter{.ns = "outside"}.matches(drop));
  CHECK_FALSE(EventFilter{.ns = "kube-system"}.matches(drop));
  CHECK(EventFilter{.verdict = Verdict::kDrop}.matches(drop));
  CHECK_FALSE(EventFilter{.verdict = Verdict::kDrop}.matches(http));
  CHECK(EventFilter{.verdict = Verdict::kDeny}.matches(http));
  CHECK(EventFilter{.protocol = Protocol::kHttp}.matches(http));
  CHECK_FALSE(EventFilter{.protocol = Protocol::kHttp}.matches(drop));
  CHECK(EventFilter{.types = {EventType::kHttp, EventType::kConnection}}.matches(http));
  CHECK_FALSE(EventFilter{.types = {EventType::kHttp}}.matches(drop));
  // Every condition must hold.
  CHECK_FALSE(EventFilter{.pod = "n2-p1", .verdict = Verdict::kDrop}.matches(http));
}

TEST_CASE("trace: table lines say what happened") {
  FlowEvent drop = kernelEvent(EventType::kStrictDrop, "198.19.2.12", 40000, "198.19.1.11", 8080);
  drop.verdict = Verdict::kDrop;
  drop.reason = "plaintext not from the proxy (STRICT)";
  names().name(drop);
  std::string line = formatEvent(drop, OutputFormat::kTable);
  CHECK(line.starts_with("14:00:00.123456 strict_drop "));
  CHECK(line.find("outside/n2-p2:40000") != std::string::npos);
  CHECK(line.find("demo/n1-p1:8080") != std::string::npos);
  CHECK(line.find(" tcp   drop    STRICT drop: plaintext not from the proxy (STRICT)\n") != std::string::npos);
  CHECK(tableHeader().starts_with("TIME            TYPE             SOURCE"));

  FlowEvent http = kernelEvent(EventType::kHttp, "198.19.2.11", 5000, "198.19.1.11", 8080);
  http.origin = Origin::kAgent;
  http.method = "GET";
  http.path = "/admin";
  http.status = 403;
  http.durationMs = 0.21;
  http.policy = "demo/deny-admin";
  http.responseFlags = "RBAC";
  CHECK(details(http) == "GET /admin -> 403 0.2ms policy demo/deny-admin flags RBAC");
  http.grpcStatus = 9;
  http.durationMs = 12.4;
  http.responseFlags = "-";
  http.policy.clear();
  CHECK(details(http) == "GET /admin -> 403 grpc-status 9 12ms");

  FlowEvent state = kernelEvent(EventType::kTcpState, "198.19.1.11", 40000, "198.19.2.11", 8080);
  state.oldState = "SYN_SENT";
  state.newState = "ESTABLISHED";
  CHECK(details(state) == "SYN_SENT -> ESTABLISHED");
  FlowEvent connect = kernelEvent(EventType::kConnectCaptured, "198.19.1.11", 0, "198.19.2.11", 8080);
  connect.comm = "curl";
  connect.pid = 42;
  CHECK(details(connect) == "captured to the proxy: curl (pid 42)");
  CHECK(formatLost(Origin::kKernel, 5, OutputFormat::kTable) == "LOST 5 kernel events\n");
}

TEST_CASE("trace: JSON lines have stable field names") {
  FlowEvent drop = kernelEvent(EventType::kStrictDrop, "198.19.2.12", 40000, "198.19.1.11", 8080);
  drop.verdict = Verdict::kDrop;
  drop.reasonCode = "strict_not_from_proxy";
  drop.reason = "plaintext not from the proxy (STRICT)";
  drop.ifindex = 3;
  names().name(drop);
  std::string line = formatEvent(drop, OutputFormat::kJson);
  CHECK(line.back() == '\n');
  auto j = nlohmann::json::parse(line);
  CHECK(j["time"] == "2026-12-03T14:00:00.123456Z");
  CHECK(j["type"] == "strict_drop");
  CHECK(j["source"] == "kernel");
  CHECK(j["verdict"] == "drop");
  CHECK(j["protocol"] == "tcp");
  CHECK(j["src"]["address"] == "198.19.2.12");
  CHECK(j["src"]["port"] == 40000);
  CHECK(j["src"]["pod"] == "outside/n2-p2");
  CHECK(j["dst"]["namespace"] == "demo");
  CHECK(j["reason_code"] == "strict_not_from_proxy");
  CHECK(j["ifindex"] == 3);
  CHECK_FALSE(j.contains("method"));

  FlowEvent http;
  http.type = EventType::kHttp;
  http.origin = Origin::kAgent;
  http.protocol = Protocol::kGrpc;
  http.verdict = Verdict::kDeny;
  http.status = 200;
  http.grpcStatus = 7;
  http.policy = "demo/deny";
  http.durationMs = 1.5;
  auto h = nlohmann::json::parse(formatEvent(http, OutputFormat::kJson));
  CHECK(h["source"] == "agent");
  CHECK(h["protocol"] == "grpc");
  CHECK(h["verdict"] == "deny");
  CHECK(h["grpc_status"] == 7);
  CHECK(h["policy"] == "demo/deny");
  CHECK(h["duration_ms"] == 1.5);
  CHECK(h["src"].is_object());
  CHECK_FALSE(h.contains("netns_cookie"));

  auto lost = nlohmann::json::parse(formatLost(Origin::kAgent, 3, OutputFormat::kJson));
  CHECK(lost == nlohmann::json::parse(R"({"type":"lost","source":"agent","count":3})"));
}

// A connection's telemetry end to end in memory: counters by reporter, bytes
// in Istio's directions, HTTP series per response code, and the access-log
// lines (JSON, sampled, failures always written).
#include <doctest/doctest.h>

#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "../test_support.h"
#include "flow_ends_fixture.h"
#include "weft/telemetry/flow_telemetry.h"
#include "weft/telemetry/json_line.h"

namespace {

using namespace weft::telemetry;

FlowEnds ends(bool source, bool destination) { return weft::test::meshFlowEnds(source, destination); }

std::vector<nlohmann::json> readLines(const std::filesystem::path& file) {
  std::ifstream in(file);
  std::vector<nlohmann::json> out;
  for (std::string line; std::getline(in, line);) out.push_back(nlohmann::json::parse(line));
  return out;
}

weft::http::RequestRecord request(int status, std::string flags = {}) {
  weft::http::RequestRecord r;
  r.protocol = "HTTP/1.1";
  r.method = "GET";
  r.path = "/x";
  r.status = status;
  r.flags = std::move(flags);
  r.requestBodyBytes = 5;
  r.responseBodyBytes = 1024;
  r.start = std::chrono::steady_clock::now();
  r.end = r.start + std::chrono::milliseconds(3);
  return r;
}

bool has(const std::string& text, std::string_view part) { return text.find(part) != std::string::npos; }

}  // namespace

TEST_CASE("flow telemetry: a connection counts once per reporter with Istio's byte directions") {
  auto t = Telemetry::create({}, 1).value();
  {
    FlowTelemetry both(t->worker(0), ends(true, true));
    both.fromClient(100);
    both.fromServer(7000);
  }
  { FlowTelemetry source(t->worker(0), ends(true, false)); }
  std::string text = t->renderMetrics({});
  const std::string src = "reporter=\"source\",source_workload=\"client\",source_workload_namespace=\"a\"";
  const std::string dst = "reporter=\"destination\",source_workload=\"client\",source_workload_namespace=\"a\"";
  CHECK(has(text, "weft_tcp_connections_opened_total{" + src));
  CHECK(has(text, "connection_security_policy=\"unknown\"} 2\n"));    // the source's view: two connections
  CHECK(has(text, "connection_security_policy=\"mutual_tls\"} 1\n"));  // the destination's: one
  CHECK(has(text, "destination_service=\"echo.b.svc.cluster.local\""));
  CHECK(has(text, "destination_cluster=\"Kubernetes\",request_protocol=\"tcp\""));
  // received: from the client; sent: toward it.
  CHECK(has(text, "weft_tcp_received_bytes_total{" + dst));
  std::size_t at = text.find("weft_tcp_sent_bytes_total{" + dst);
  REQUIRE(at != std::string::npos);
  CHECK(text.substr(text.find('}', at), 7) == "} 7000\n");
}

TEST_CASE("flow telemetry: requests become series per response code and access-log lines") {
  weft::testing::TempDir dir;
  TelemetryOptions options;
  options.accessLog.path = (dir.path() / "access.log").string();
  auto t = Telemetry::create(options, 1).value();
  {
    FlowTelemetry flow(t->worker(0), ends(false, true));
    auto ok = request(200);
    flow.onRequest(ok);
    flow.onRequest(ok);
    auto denied = request(403, "RBAC");
    denied.denied = true;
    denied.policy = "b/deny-admin";
    flow.onRequest(denied);
    flow.fromClient(10);
  }
  t->worker(0).flush();
  std::string text = t->renderMetrics({});
  CHECK(has(text, "request_protocol=\"http\",connection_security_policy=\"mutual_tls\",response_code=\"200\","
                  "grpc_response_status=\"\",response_flags=\"-\"} 2\n"));
  CHECK(has(text, "response_code=\"403\",grpc_response_status=\"\",response_flags=\"RBAC\"} 1\n"));
  CHECK(has(text, "weft_request_duration_seconds_bucket{reporter=\"destination\""));

  auto lines = readLines(dir.path() / "access.log");
  REQUIRE(lines.size() == 4);  // three requests, then the connection
  CHECK(lines[0]["kind"] == "http");
  CHECK(lines[0]["status"] == 200);
  CHECK(lines[0]["method"] == "GET");
  CHECK(lines[0]["response_bytes"] == 1024);
  CHECK(lines[0]["duration_ms"] == doctest::Approx(3.0));
  CHECK(lines[0]["source"]["principal"] == "spiffe://cluster.local/ns/a/sa/client");
  CHECK(lines[0]["source"]["address"] == "10.0.1.2:40000");
  CHECK(lines[0]["destination"]["service"] == "echo.b.svc.cluster.local");
  CHECK(lines[2]["verdict"] == "deny");
  CHECK(lines[2]["policy"] == "b/deny-admin");
  CHECK(lines[2]["response_flags"] == "RBAC");
  CHECK(lines[3]["kind"] == "tcp");
  CHECK(lines[3]["requests"] == 3);
  CHECK(lines[3]["bytes_received"] == 10);
  CHECK(lines[3]["reporter"] == "destination");
  CHECK(t->accessLogLines() == 4);
}

TEST_CASE("flow telemetry: sampling drops ordinary entries but never failed ones") {
  weft::testing::TempDir dir;
  TelemetryOptions options;
  options.accessLog = {.path = (dir.path() / "access.log").string(), .sample = 0};
  auto t = Telemetry::create(options, 1).value();
  {
    FlowTelemetry flow(t->worker(0), ends(false, true));
    for (int i = 0; i < 50; ++i) {
      auto ok = request(200);
      flow.onRequest(ok);
    }
    auto failed = request(502, "UC");
    flow.onRequest(failed);
    flow.flag("UF");  // the connection's own failure: written too
  }
  t->worker(0).flush();
  auto lines = readLines(dir.path() / "access.log");
  REQUIRE(lines.size() == 2);
  CHECK(lines[0]["status"] == 502);
  CHECK(lines[0]["response_flags"] == "UC");
  CHECK(lines[1]["kind"] == "tcp");
  CHECK(lines[1]["response_flags"] == "UF");
  // Metrics are never sampled.
  CHECK(has(t->renderMetrics({}), "response_code=\"200\",grpc_response_status=\"\",response_flags=\"-\"} 50\n"));
}

TEST_CASE("telemetry: a bad access-log path or sample share is refused with its cause") {
  TelemetryOptions options;
  options.accessLog.path = "/nonexistent-dir/access.log";
  auto t = Telemetry::create(options, 1);
  REQUIRE_FALSE(t);
  CHECK(has(t.error().message, "/nonexistent-dir/access.log"));
  CHECK(has(t.error().message, "No such file"));
  options.accessLog = {.path = "-", .sample = 1.5};
  auto s = Telemetry::create(options, 1);
  REQUIRE_FALSE(s);
  CHECK(has(s.error().message, "--access-log-sample"));
}

TEST_CASE("json line: hostile bytes cannot break a line: escapes, control characters and bad UTF-8") {
  std::string out;
  JsonLine j(out);
  j.field("a", std::string_view("q\"b\\s\nr\rt\t\x01\x7f", 12))
      .field("utf8", "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80")
      .field("bad", std::string_view("x\xff\xc3(\xed\xa0\x80\xf4\x90\x80\x80z", 12))
      .field("n", std::uint64_t{18446744073709551615u})
      .field("ms", 1.23456)
      .beginObject("o")
      .field("t", true)
      .endObject()
      .field("last", -1);
  j.finish();
  CHECK(out == "{\"a\":\"q\\\"b\\\\s\\nr\\rt\\t\\u0001\\u007f\",\"utf8\":\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\","
               "\"bad\":\"x\\ufffd\\ufffd(\\ufffd\\ufffd\\ufffd\\ufffd\\ufffd\\ufffd\\ufffdz\",\"n\":18446744073709551615,"
               "\"ms\":1.235,\"o\":{\"t\":true},\"last\":-1}");
  auto parsed = nlohmann::json::parse(out);  // what a log shipper reads
  CHECK(parsed["a"] == std::string("q\"b\\s\nr\rt\t\x01\x7f"));
  CHECK(parsed["bad"].get<std::string>().find("\xef\xbf\xbd") != std::string::npos);
}

// The agent's event lines (the access-log format) and the /events stream.
#include <arpa/inet.h>
#include <doctest/doctest.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <string>
#include <thread>

#include "weft-trace/agent_events.h"

using namespace weft::trace;

namespace {

constexpr const char* kDenied =
    R"({"time":"2026-12-03T14:00:00.123456Z","kind":"http","reporter":"destination","protocol":"HTTP/1.1",)"
    R"("method":"GET","authority":"n2-p1:8080","path":"/admin","status":403,"duration_ms":0.21,"request_bytes":0,)"
    R"("response_bytes":24,"response_flags":"RBAC","verdict":"deny","policy":"default/deny-admin",)"
    R"("user_agent":"curl/7.88.1","request_id":"","traceparent":"",)"
    R"("source":{"address":"198.19.1.2:40000","workload":"n1-p1","namespace":"default",)"
    R"("principal":"spiffe://weft.local/ns/default/sa/default","pod":"n1-p1"},)"
    R"("destination":{"address":"198.19.2.2:8080","workload":"n2-p1","namespace":"default","principal":"x",)"
    R"("pod":"n2-p1","service":"web"},"security":"mutual_tls"})";

constexpr const char* kConnection =
    R"({"time":"2026-12-03T14:00:01Z","kind":"tcp","reporter":"both","duration_ms":12.5,"bytes_received":1000,)"
    R"("bytes_sent":2000,"requests":3,"response_flags":"-","source":{"address":"198.19.1.11:40001",)"
    R"("namespace":"demo","pod":"n1-p1"},"destination":{"address":"[fd00::2]:9090"},"security":"none"})";

FlowEvent eventOf(const char* line) {
  AgentLine parsed = parseAgentLine(line);
  REQUIRE(std::holds_alternative<FlowEvent>(parsed));
  return std::get<FlowEvent>(parsed);
}

}  // namespace

TEST_CASE("trace: a denied HTTP request line becomes an http event with verdict deny and its policy") {
  FlowEvent e = eventOf(kDenied);
  CHECK(e.type == EventType::kHttp);
  CHECK(e.origin == Origin::kAgent);
  CHECK(e.protocol == Protocol::kHttp);
  CHECK(e.verdict == Verdict::kDeny);
  CHECK(e.policy == "default/deny-admin");
  CHECK(e.method == "GET");
  CHECK(e.path == "/admin");
  CHECK(e.authority == "n2-p1:8080");
  CHECK(e.status == 403);
  CHECK_FALSE(e.grpcStatus.has_value());
  CHECK(e.durationMs.value() == doctest::Approx(0.21));
  CHECK(e.responseBytes == 24u);
  CHECK(e.responseFlags == "RBAC");
  CHECK(e.httpProtocol == "HTTP/1.1");
  CHECK(e.reporter == "destination");
  CHECK(e.security == "mutual_tls");
  CHECK(e.src.address == "198.19.1.2");
  CHECK(e.src.port == 40000);
  CHECK(e.src.pod == "default/n1-p1");
  CHECK(e.src.ns == "default");
  CHECK(e.src.principal == "spiffe://weft.local/ns/default/sa/default");
  CHECK(e.dst.pod == "default/n2-p1");
  CHECK(e.dst.port == 8080);
  CHECK(e.timeNs == 1'796'306'400'123'456'000);
}

TEST_CASE("trace: connection lines - gRPC lines and verdicts") {
  FlowEvent tcp = eventOf(kConnection);
  CHECK(tcp.type == EventType::kConnection);
  CHECK(tcp.protocol == Protocol::kTcp);
  CHECK(tcp.verdict == Verdict::kAllow);
  CHECK(tcp.bytesSent == 2000u);
  CHECK(tcp.bytesReceived == 1000u);
  CHECK(tcp.requests == 3u);
  CHECK(tcp.reporter == "both");
  CHECK(tcp.dst.address == "fd00::2");
  CHECK(tcp.dst.port == 9090);
  CHECK(tcp.dst.pod.empty());

  FlowEvent grpc = eventOf(
      R"({"time":"2026-12-03T14:00:02.5Z","kind":"http","protocol":"HTTP/2","method":"POST","path":"/echo.Echo/Unary",)"
      R"("status":200,"grpc_status":9,"response_flags":"-","verdict":"allow"})");
  CHECK(grpc.protocol == Protocol::kGrpc);
  CHECK(grpc.grpcStatus == 9);
  CHECK(grpc.verdict == Verdict::kAllow);
  CHECK(grpc.timeNs % 1'000'000'000 == 500'000'000);

  // No verdict field: Envoy's RBAC flag still means a denial.
  FlowEvent rbac =
      eventOf(R"({"time":"2026-12-03T14:00:02Z","kind":"tcp","response_flags":"RBAC","source":{},"destination":{}})");
  CHECK(rbac.verdict == Verdict::kDeny);
}

TEST_CASE("trace: lost lines and malformed lines") {
  AgentLine lost = parseAgentLine(R"({"kind":"lost","count":17})");
  REQUIRE(std::holds_alternative<AgentLost>(lost));
  CHECK(std::get<AgentLost>(lost).count == 17);
  CHECK(std::holds_alternative<AgentLineError>(parseAgentLine("not json")));
  CHECK(std::holds_alternative<AgentLineError>(parseAgentLine("[1,2]")));
  auto unknown = parseAgentLine(R"({"kind":"udp","time":"2026-12-03T14:00:00Z"})");
  REQUIRE(std::holds_alternative<AgentLineError>(unknown));
  CHECK(std::get<AgentLineError>(unknown).message.find("unknown kind 'udp'") != std::string::npos);
  CHECK(std::holds_alternative<AgentLineError>(parseAgentLine(R"({"kind":"http","time":"yesterday"})")));
}

TEST_CASE("trace: UTC times with and without fractions") {
  CHECK(parseUtcTime("1970-01-01T00:00:00Z") == 0);
  CHECK(parseUtcTime("1970-01-01T00:00:01.000001Z") == 1'000'001'000);
  CHECK(parseUtcTime("2026-12-03T14:00:00.123456789Z") == 1'796'306'400'123'456'789);
  CHECK_FALSE(parseUtcTime("2026-12-03 14:00:00Z").has_value());
  CHECK_FALSE(parseUtcTime("2026-12-03T14:00:00").has_value());
  CHECK_FALSE(parseUtcTime("2026-12-03T14:00:00.Z").has_value());
  CHECK_FALSE(parseUtcTime("2026-12-03T14:0x:00Z").has_value());
}

namespace {

// A one-connection admin API on 127.0.0.1: answers the first request with
// `response`, then closes.
class FakeAdmin {
 public:
  explicit FakeAdmin(std::string response) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{.sin_family = AF_INET, .sin_port = 0, .sin_addr = {htonl(INADDR_LOOPBACK)}};
    REQUIRE(::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    REQUIRE(::listen(fd_, 4) == 0);
    socklen_t length = sizeof addr;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &length);
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this, response = std::move(response)] {
      int client = ::accept(fd_, nullptr, nullptr);
      if (client < 0) return;
      char buffer[4096];
      std::string request;
      while (request.find("\r\n\r\n") == std::string::npos) {
        ssize_t n = ::recv(client, buffer, sizeof buffer, 0);
        if (n <= 0) break;
        request.append(buffer, static_cast<std::size_t>(n));
      }
      request_ = request;
      // In pieces, so that the client's decoder meets split lines and chunks.
      for (std::size_t at = 0; at < response.size(); at += 7) {
        ::send(client, response.data() + at, std::min<std::size_t>(7, response.size() - at), MSG_NOSIGNAL);
        std::this_thread::sleep_for(std::chrono::microseconds(200));
      }
      ::close(client);
    });
  }
  ~FakeAdmin() {
    ::shutdown(fd_, SHUT_RDWR);
    thread_.join();
    ::close(fd_);
  }
  [[nodiscard]] weft::SocketAddress address() const {
    return weft::parseSocketAddress("127.0.0.1:" + std::to_string(port_)).value();
  }
  [[nodiscard]] const std::string& request() const { return request_; }

 private:
  int fd_ = -1;
  std::uint16_t port_ = 0;
  std::thread thread_;
  std::string request_;
};

// Drives the stream until `done` or 5 s; the lines it produced.
template <class Done>
std::vector<AgentLine> drive(AgentEventStream& stream, Done done) {
  std::vector<AgentLine> lines;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  stream.maintain(std::chrono::steady_clock::now());
  while (!done(stream, lines) && std::chrono::steady_clock::now() < deadline) {
    if (stream.fd() < 0) break;
    pollfd p{.fd = stream.fd(), .events = stream.pollEvents(), .revents = 0};
    if (::poll(&p, 1, 100) > 0) stream.onReady(p.revents, lines);
  }
  return lines;
}

}  // namespace

TEST_CASE("trace: the /events stream delivers chunked JSON lines and notices when the agent closes it") {
  std::string body = std::string(kDenied) + "\n" + R"({"kind":"lost","count":2})" + "\r\n" + kConnection + "\n";
  std::string chunked;
  for (std::size_t at = 0; at < body.size(); at += 100) {
    std::string piece = body.substr(at, 100);
    char size[16];
    std::snprintf(size, sizeof size, "%zx\r\n", piece.size());
    chunked += size + piece + "\r\n";
  }
  chunked += "0\r\n\r\n";
  FakeAdmin admin("HTTP/1.1 200 OK\r\nContent-Type: application/x-ndjson\r\nTransfer-Encoding: chunked\r\n\r\n" +
                  chunked);
  AgentEventStream stream(admin.address());
  auto lines = drive(stream, [](const AgentEventStream& s, const std::vector<AgentLine>&) {
    return s.state() == AgentEventStream::State::kIdle;
  });
  REQUIRE(lines.size() == 3);
  CHECK(std::get<FlowEvent>(lines[0]).policy == "default/deny-admin");
  CHECK(std::get<AgentLost>(lines[1]).count == 2);
  CHECK(std::get<FlowEvent>(lines[2]).type == EventType::kConnection);
  CHECK(admin.request().starts_with("GET /events HTTP/1.1\r\n"));
  auto notices = stream.takeNotices();
  REQUIRE(notices.size() == 1);
  CHECK(notices[0].find("ended its event stream; retrying") != std::string::npos);
}

TEST_CASE("trace: an agent without /events is reported once and the stream stays off") {
  FakeAdmin admin("HTTP/1.1 404 Not Found\r\nContent-Length: 9\r\n\r\nnot found");
  AgentEventStream stream(admin.address());
  auto lines = drive(stream, [](const AgentEventStream& s, const std::vector<AgentLine>&) {
    return s.state() == AgentEventStream::State::kUnavailable;
  });
  CHECK(lines.empty());
  CHECK(stream.state() == AgentEventStream::State::kUnavailable);
  auto notices = stream.takeNotices();
  REQUIRE(notices.size() == 1);
  CHECK(notices[0] == "the agent at " + admin.address().toString() +
                          " has no L7 event stream; showing kernel events only");
  stream.maintain(std::chrono::steady_clock::now() + std::chrono::hours(1));
  CHECK(stream.fd() < 0);  // no retry
}

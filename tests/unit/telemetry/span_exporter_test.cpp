// The span exporter against a real collector on loopback: a thread that reads
// requests with weft's RequestReader and answers as told. Spans arrive in
// batches over one kept-alive connection; failures and drops are counted;
// submit() never waits for the collector; URLs are checked with reasons.
#include <arpa/inet.h>
#include <poll.h>
#include <sys/socket.h>

#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>

#include "../test_support.h"
#include "weft/common/socket_address.h"
#include "weft/common/unique_fd.h"
#include "weft/http/request_reader.h"
#include "weft/telemetry/span_exporter.h"

namespace {

using namespace weft;
using namespace weft::telemetry;
using namespace std::chrono_literals;

// Polls `done` until it holds or the deadline passes: tests wait for the
// exporter's thread, and fail (rather than hang) when it never gets there.
template <class Predicate>
bool eventually(Predicate done, std::chrono::milliseconds limit = 10s) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(5ms);
  }
  return true;
}

UniqueFd listenLoopback(int backlog = 16) {
  UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  REQUIRE(fd.valid());
  auto address = parseSocketAddress("127.0.0.1:0").value();
  REQUIRE(::bind(fd.get(), address.get(), address.length) == 0);
  REQUIRE(::listen(fd.get(), backlog) == 0);
  return fd;
}

std::uint16_t localPort(const UniqueFd& fd) {
  sockaddr_in address{};
  socklen_t length = sizeof address;
  REQUIRE(::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&address), &length) == 0);
  return ntohs(address.sin_port);
}

std::string urlFor(std::uint16_t port) { return "http://127.0.0.1:" + std::to_string(port) + "/v1/traces"; }

// How the test collector ends an exchange.
enum class Ending { kKeepAlive, kConnectionClose, kSilentClose };

class TestCollector {
 public:
  // `status` for the first `failing` requests (all of them by default), 200 after.
  explicit TestCollector(int status = 200, Ending ending = Ending::kKeepAlive, std::size_t failing = SIZE_MAX)
      : listen_(listenLoopback()), port_(localPort(listen_)), status_(status), ending_(ending), failing_(failing) {
    thread_ = std::thread([this] { serve(); });
  }
  ~TestCollector() {
    stop_ = true;
    thread_.join();
  }

  [[nodiscard]] std::string url() const { return urlFor(port_); }
  [[nodiscard]] std::size_t connections() const { return connections_.load(); }
  [[nodiscard]] std::vector<http::Request> requests() const {
    std::lock_guard lock(mutex_);
    return requests_;
  }
  // Every span of every request, in order of arrival.
  [[nodiscard]] std::vector<nlohmann::json> spans() const {
    std::vector<nlohmann::json> out;
    for (const auto& request : requests()) {
      nlohmann::json body = nlohmann::json::parse(request.body);
      for (const auto& group : body["resourceSpans"])
        for (const auto& span : group["scopeSpans"][0]["spans"]) out.push_back(span);
    }
    return out;
  }

 private:
  struct Client {
    UniqueFd fd;
    std::unique_ptr<http::RequestReader> reader = std::make_unique<http::RequestReader>();
  };

  void serve() {
    std::vector<Client> clients;
    while (!stop_) {
      std::vector<pollfd> fds{{.fd = listen_.get(), .events = POLLIN, .revents = 0}};
      for (const auto& c : clients) fds.push_back({.fd = c.fd.get(), .events = POLLIN, .revents = 0});
      if (::poll(fds.data(), fds.size(), 10) <= 0) continue;
      if (fds[0].revents != 0) {
        clients.push_back({UniqueFd(::accept4(listen_.get(), nullptr, nullptr, SOCK_CLOEXEC))});
        ++connections_;
      }
      for (std::size_t i = 1; i < fds.size(); ++i)
        if (fds[i].revents != 0 && !serveOne(clients[i - 1])) clients[i - 1].fd.reset();
      std::erase_if(clients, [](const Client& c) { return !c.fd.valid(); });
    }
  }

  // False when the connection is over.
  bool serveOne(Client& client) {
    char buffer[64 * 1024];
    ssize_t n = ::recv(client.fd.get(), buffer, sizeof buffer, 0);
    if (n <= 0 || !client.reader->feed(std::string_view(buffer, static_cast<std::size_t>(n)))) return false;
    while (auto request = client.reader->next()) {
      std::size_t seen = 0;
      {
        std::lock_guard lock(mutex_);
        requests_.push_back(std::move(*request));
        seen = requests_.size();
      }
      const int status = seen <= failing_ ? status_ : 200;
      std::string body = status == 200 ? "{}" : R"({"code":13,"message":"boom"})";
      std::string response = "HTTP/1.1 " + std::to_string(status) + " X\r\nContent-Type: application/json\r\n" +
                             "Content-Length: " + std::to_string(body.size()) + "\r\n" +
                             (ending_ == Ending::kConnectionClose ? "Connection: close\r\n" : "") + "\r\n" + body;
      if (::send(client.fd.get(), response.data(), response.size(), MSG_NOSIGNAL) < 0) return false;
      if (ending_ != Ending::kKeepAlive) return false;
    }
    return true;
  }

  UniqueFd listen_;
  std::uint16_t port_;
  int status_;
  Ending ending_;
  std::size_t failing_;
  std::atomic<bool> stop_{false};
  std::atomic<std::size_t> connections_{0};
  mutable std::mutex mutex_;
  std::vector<http::Request> requests_;
  std::thread thread_;
};

Span makeSpan(int index) {
  Span span;
  span.traceId = TraceIds::newTraceId();
  span.spanId = TraceIds::newSpanId();
  span.name = "GET /" + std::to_string(index);
  span.startUnixNano = unixNanoNow();
  span.endUnixNano = span.startUnixNano + 1000;
  span.service = "echo.b";
  span.node = "node-1";
  span.attribute("weft.index", index);
  return span;
}

std::unique_ptr<SpanExporter> makeExporter(SpanExporterOptions options) {
  auto exporter = SpanExporter::create(std::move(options));
  REQUIRE_MESSAGE(exporter.has_value(), exporter.error().describe());
  return std::move(*exporter);
}

}  // namespace

TEST_CASE("span exporter posts OTLP JSON to the collector after the flush interval") {
  TestCollector collector;
  auto exporter = makeExporter({.collectorUrl = collector.url(), .flushInterval = 50ms});
  for (int i = 0; i < 3; ++i) exporter->submit(makeSpan(i));
  REQUIRE(eventually([&] { return exporter->stats().exportedSpans == 3; }));

  auto stats = exporter->stats();
  CHECK(stats.failedBatches == 0);
  CHECK(stats.lastError.empty());
  auto requests = collector.requests();
  REQUIRE_FALSE(requests.empty());
  CHECK(stats.exportedBatches == requests.size());
  CHECK(requests[0].method == "POST");
  CHECK(requests[0].target == "/v1/traces");
  CHECK(requests[0].header("content-type") == "application/json");
  CHECK(requests[0].header("host") == collector.url().substr(7, collector.url().find('/', 7) - 7));
  auto spans = collector.spans();
  REQUIRE(spans.size() == 3);
  for (int i = 0; i < 3; ++i) {
    CHECK(spans[i]["name"] == "GET /" + std::to_string(i));
    CHECK(spans[i]["attributes"][0]["value"]["intValue"] == std::to_string(i));
    CHECK(spans[i]["traceId"].get<std::string>().size() == 32);
  }
}

TEST_CASE("span exporter sends full batches at once over one kept-alive connection") {
  TestCollector collector;
  {
    // An interval no test waits for: only the batch size sends before the end.
    auto exporter = makeExporter({.collectorUrl = collector.url(), .batchSize = 3, .flushInterval = 1h});
    for (int i = 0; i < 7; ++i) exporter->submit(makeSpan(i));
    REQUIRE(eventually([&] { return exporter->stats().exportedSpans >= 6; }));
    CHECK(collector.connections() == 1);
  }
  // The destructor sent the rest.
  auto spans = collector.spans();
  REQUIRE(spans.size() == 7);
  for (int i = 0; i < 7; ++i) CHECK(spans[i]["name"] == "GET /" + std::to_string(i));
  for (const auto& request : collector.requests())
    CHECK(nlohmann::json::parse(request.body)["resourceSpans"][0]["scopeSpans"][0]["spans"].size() <= 3);
  CHECK(collector.connections() == 1);
}

TEST_CASE("span exporter reconnects when the collector ends connections") {
  for (Ending ending : {Ending::kConnectionClose, Ending::kSilentClose}) {
    CAPTURE(static_cast<int>(ending));
    TestCollector collector(200, ending);
    auto exporter = makeExporter({.collectorUrl = collector.url(), .batchSize = 2, .flushInterval = 1h});
    for (int round = 1; round <= 3; ++round) {
      exporter->submit(makeSpan(0));
      exporter->submit(makeSpan(1));
      REQUIRE(eventually([&] { return exporter->stats().exportedSpans == 2u * round; }));
    }
    CHECK(exporter->stats().failedBatches == 0);
    CHECK(collector.connections() == 3);
  }
}

TEST_CASE("span exporter counts a batch the collector answers with 500 as failed") {
  weft::testing::QuietLogs quiet;
  TestCollector collector(500);
  auto exporter = makeExporter({.collectorUrl = collector.url(), .batchSize = 2, .flushInterval = 1h});
  exporter->submit(makeSpan(0));
  exporter->submit(makeSpan(1));
  REQUIRE(eventually([&] { return exporter->stats().failedBatches == 1; }));
  auto stats = exporter->stats();
  CHECK(stats.failedSpans == 2);
  CHECK(stats.exportedSpans == 0);
  CHECK(stats.lastError.find("answered 500") != std::string::npos);
  CHECK(stats.lastError.find("boom") != std::string::npos);
  CHECK(collector.requests().size() == 1);
}

TEST_CASE("span exporter sends a batch again after a retryable answer - and only then") {
  weft::testing::QuietLogs quiet;
  for (int status : {429, 502, 503, 504}) {
    CAPTURE(status);
    TestCollector collector(status, Ending::kKeepAlive, 1);  // one refusal, then 200
    auto exporter = makeExporter({.collectorUrl = collector.url(), .batchSize = 2, .flushInterval = 1h,
                                  .retryBackoff = 10ms});
    exporter->submit(makeSpan(0));
    exporter->submit(makeSpan(1));
    REQUIRE(eventually([&] { return exporter->stats().exportedSpans == 2; }));
    auto stats = exporter->stats();
    CHECK(stats.retriedBatches == 1);
    CHECK(stats.failedBatches == 0);
    CHECK(collector.requests().size() == 2);
    CHECK(collector.requests()[0].body == collector.requests()[1].body);  // the same batch
  }
  // 400 and 500 are final (OTLP/HTTP): no second try.
  for (int status : {400, 500}) {
    CAPTURE(status);
    TestCollector collector(status, Ending::kKeepAlive, 1);
    auto exporter = makeExporter({.collectorUrl = collector.url(), .batchSize = 2, .flushInterval = 1h,
                                  .retryBackoff = 10ms});
    exporter->submit(makeSpan(0));
    exporter->submit(makeSpan(1));
    REQUIRE(eventually([&] { return exporter->stats().failedBatches == 1; }));
    CHECK(exporter->stats().retriedBatches == 0);
    CHECK(collector.requests().size() == 1);
  }
}

TEST_CASE("span exporter gives a batch up after its retries") {
  weft::testing::QuietLogs quiet;
  TestCollector collector(503);
  auto exporter = makeExporter({.collectorUrl = collector.url(), .batchSize = 2, .flushInterval = 1h,
                                .maxRetries = 2, .retryBackoff = 10ms});
  exporter->submit(makeSpan(0));
  exporter->submit(makeSpan(1));
  REQUIRE(eventually([&] { return exporter->stats().failedBatches == 1; }));
  auto stats = exporter->stats();
  CHECK(stats.retriedBatches == 2);
  CHECK(stats.failedSpans == 2);
  CHECK(collector.requests().size() == 3);
  CHECK(stats.lastError.find("answered 503") != std::string::npos);
  // While the collector keeps failing, later batches get one try each.
  exporter->submit(makeSpan(2));
  exporter->submit(makeSpan(3));
  REQUIRE(eventually([&] { return exporter->stats().failedBatches == 2; }));
  CHECK(exporter->stats().retriedBatches == 2);
  CHECK(collector.requests().size() == 4);
}

TEST_CASE("span exporter counts failures when no collector listens") {
  weft::testing::QuietLogs quiet;
  std::uint16_t port = 0;
  {
    UniqueFd closed = listenLoopback();
    port = localPort(closed);
  }
  auto exporter = makeExporter({.collectorUrl = urlFor(port), .flushInterval = 20ms});
  exporter->submit(makeSpan(0));
  REQUIRE(eventually([&] { return exporter->stats().failedBatches >= 1; }));
  exporter->submit(makeSpan(1));
  REQUIRE(eventually([&] { return exporter->stats().failedSpans == 2; }));
  auto stats = exporter->stats();
  CHECK(stats.exportedSpans == 0);
  CHECK(stats.lastError.find("connect to collector 127.0.0.1:" + std::to_string(port)) != std::string::npos);
  CHECK(stats.lastError.find("refused") != std::string::npos);
}

TEST_CASE("span exporter submit does not wait for a collector that never answers") {
  weft::testing::QuietLogs quiet;
  // Listening but never accepting: connect completes in the kernel, the
  // request goes into its buffers, and no answer ever comes.
  UniqueFd silent = listenLoopback();
  auto exporter = makeExporter({.collectorUrl = urlFor(localPort(silent)),
                                .flushInterval = 10ms,
                                .requestTimeout = 60s,
                                .shutdownTimeout = 200ms});
  exporter->submit(makeSpan(0));
  REQUIRE(eventually([&] {
    pollfd p{.fd = silent.get(), .events = POLLIN, .revents = 0};
    return ::poll(&p, 1, 0) == 1;
  }));
  // The exporter's thread is inside its request for up to a minute; submit
  // must go on regardless.
  for (int i = 1; i <= 100; ++i) exporter->submit(makeSpan(i));
  auto stats = exporter->stats();
  CHECK(stats.failedBatches == 0);
  CHECK(stats.exportedSpans == 0);
  CHECK(stats.droppedSpans == 0);
  // Shutdown gives up on the request at its own timeout, not the request's.
  auto started = std::chrono::steady_clock::now();
  exporter.reset();
  CHECK(std::chrono::steady_clock::now() - started < 30s);
}

TEST_CASE("span exporter drops and counts spans past the queue limit") {
  TestCollector collector;
  {
    auto exporter =
        makeExporter({.collectorUrl = collector.url(), .batchSize = 100, .flushInterval = 1h, .queueLimit = 10});
    for (int i = 0; i < 25; ++i) exporter->submit(makeSpan(i));
    CHECK(exporter->stats().droppedSpans == 15);
    CHECK(exporter->stats().exportedSpans == 0);
  }
  auto spans = collector.spans();
  REQUIRE(spans.size() == 10);
  CHECK(spans.front()["name"] == "GET /0");
  CHECK(spans.back()["name"] == "GET /9");
}

TEST_CASE("collector URLs are parsed into host port and target") {
  const std::vector<std::pair<std::string, CollectorUrl>> cases = {
      {"http://127.0.0.1:4318/v1/traces", {"127.0.0.1", 4318, "/v1/traces", "127.0.0.1:4318"}},
      // Scheme in any case; a fully qualified name; no path means OTLP's.
      {"HTTP://otel-collector.observability.svc.cluster.local.:4318",
       {"otel-collector.observability.svc.cluster.local.", 4318, "/v1/traces",
        "otel-collector.observability.svc.cluster.local.:4318"}},
      {"http://[fd00::1]:80/otlp/v1/traces?tenant=a", {"fd00::1", 80, "/otlp/v1/traces?tenant=a", "[fd00::1]:80"}},
      {"http://collector:4318?tenant=a", {"collector", 4318, "/?tenant=a", "collector:4318"}},
  };
  for (const auto& [text, expected] : cases) {
    CAPTURE(text);
    auto url = parseCollectorUrl(text);
    REQUIRE(url.has_value());
    CHECK(url->host == expected.host);
    CHECK(url->port == expected.port);
    CHECK(url->target == expected.target);
    CHECK(url->authority == expected.authority);
  }
}

TEST_CASE("bad collector URLs are rejected with the cause") {
  struct Case {
    std::string url;
    std::string_view cause;
  };
  const std::vector<Case> cases = {
      {"https://collector:4318/v1/traces", "https is not supported"},
      {"grpc://collector:4317", "scheme 'grpc' is not supported"},
      {"collector:4318", "expected http://host:port/path"},
      {"http://collector/v1/traces", "no port"},
      {"http://collector:/v1/traces", "no port"},
      {"http://[::1]/v1/traces", "no port"},
      {"http://:4318/v1/traces", "no host"},
      {"http://bad_host:4318", "bad host 'bad_host'"},
      {"http://-bad.example:4318", "bad host '-bad.example'"},
      {"http://a..b:4318", "bad host 'a..b'"},
      {"http://[not-v6]:4318", "bad host 'not-v6'"},
      {"http://[::1:4318", "bad host"},
      {"http://::1:4318", "write an IPv6 address in brackets"},
      {"http://collector:65536", "bad port '65536'"},
      {"http://collector:0", "bad port '0'"},
      {"http://collector:43x8", "bad port '43x8'"},
      {"http://user@collector:4318", "user information"},
      {"http://collector:4318/v1/traces#frag", "fragment"},
      {"http://collector:4318/v1 traces", "space or a control character"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.url);
    auto url = parseCollectorUrl(c.url);
    REQUIRE_FALSE(url.has_value());
    CHECK(url.error().code == ErrorCode::kInvalidArgument);
    CHECK(url.error().message.find(c.cause) != std::string::npos);
    CHECK(url.error().message.find(c.url) != std::string::npos);
  }
  auto exporter = SpanExporter::create({.collectorUrl = "https://collector:4318"});
  REQUIRE_FALSE(exporter.has_value());
  CHECK(exporter.error().message.find("https is not supported") != std::string::npos);
  CHECK_FALSE(SpanExporter::create({.collectorUrl = "http://collector:4318", .batchSize = 0}).has_value());
}

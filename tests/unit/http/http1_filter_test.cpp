// The HTTP/1.1 filter in memory: what reaches the upstream and the client
// for ordinary, pipelined, chunked, upgraded and hostile requests. What the
// upstream receives is re-read with the project's strict request reader, an
// llhttp parser independent of the filter's.
#include <doctest/doctest.h>

#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "weft/http/http1_filter.h"
#include "weft/http/request_reader.h"
#include "trace_rewriter.h"

namespace {

using weft::http::FilterOutput;

struct Pipe {
  std::unique_ptr<weft::http::StreamFilter> filter;
  std::string upstream, downstream;
  bool upstreamEnded = false, downstreamEnded = false, upstreamReset = false, downstreamReset = false;
  bool paused = false;

  explicit Pipe(weft::http::Authorizer authorizer = {}, weft::http::Http1Limits limits = {},
                weft::http::RequestObserver* observer = nullptr)
      : filter(weft::http::makeHttp1Filter(std::move(authorizer), limits, observer)) {}

  void take(FilterOutput& out) {
    upstream += out.toUpstream;
    downstream += out.toDownstream;
    upstreamEnded |= out.endUpstream;
    downstreamEnded |= out.endDownstream;
    upstreamReset |= out.resetUpstream;
    downstreamReset |= out.resetDownstream;
    paused = out.pauseDownstream;
    out.clear();
  }
  void client(std::string_view bytes) {
    FilterOutput out;
    filter->onDownstreamData(bytes, out);
    take(out);
  }
  void server(std::string_view bytes) {
    FilterOutput out;
    filter->onUpstreamData(bytes, out);
    take(out);
  }
  void clientEnd() {
    FilterOutput out;
    filter->onDownstreamEnd(out);
    take(out);
  }
  void serverEnd() {
    FilterOutput out;
    filter->onUpstreamEnd(out);
    take(out);
  }
};

// The requests in `bytes` as a strict parser reads them; nullopt on error.
std::optional<std::vector<weft::http::Request>> parseRequests(std::string_view bytes) {
  weft::http::RequestReader reader({.maxHeaderBytes = 1 << 20, .maxBodyBytes = 1 << 24});
  std::vector<weft::http::Request> out;
  if (!reader.feed(bytes)) return std::nullopt;
  while (auto r = reader.next()) out.push_back(std::move(*r));
  return out;
}

constexpr std::string_view kOk = "HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok";

// What the filter reports per request (metrics and access logs).
struct Recorder final : weft::http::RequestObserver {
  std::vector<weft::http::RequestRecord> records;
  void onRequest(weft::http::RequestRecord& r) override { records.push_back(r); }
};

}  // namespace

TEST_CASE("http1 filter: a request and its response pass re-serialised") {
  Pipe p;
  p.client("GET /a?b=1 HTTP/1.1\r\nHost: svc\r\nX-Thing:  v \r\nConnection: keep-alive, x-drop\r\nX-Drop: 1\r\nKeep-Alive: 5\r\n\r\n");
  auto reqs = parseRequests(p.upstream);
  REQUIRE(reqs);
  REQUIRE(reqs->size() == 1);
  CHECK((*reqs)[0].method == "GET");
  CHECK((*reqs)[0].target == "/a?b=1");
  CHECK((*reqs)[0].header("x-thing") == "v");
  CHECK_FALSE((*reqs)[0].header("x-drop"));      // named by Connection
  CHECK_FALSE((*reqs)[0].header("keep-alive"));  // hop-by-hop
  CHECK_FALSE((*reqs)[0].header("connection"));
  p.server(kOk);
  CHECK(p.downstream == "HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok");
  CHECK_FALSE(p.downstreamEnded);
}

TEST_CASE("http1 filter: pipelined requests go one at a time") {
  Pipe p;
  p.client("GET /1 HTTP/1.1\r\nHost: a\r\n\r\nGET /2 HTTP/1.1\r\nHost: a\r\n\r\n");
  REQUIRE(parseRequests(p.upstream)->size() == 1);  // the second waits for the first response
  CHECK(p.paused);
  p.server(kOk);
  auto reqs = parseRequests(p.upstream);
  REQUIRE(reqs->size() == 2);
  CHECK((*reqs)[1].target == "/2");
  p.server(kOk);
  CHECK(p.downstream.size() == 2 * kOk.size());
}

TEST_CASE("http1 filter: the client's end waits for held pipelined requests") {
  Pipe p;
  p.client("GET /1 HTTP/1.1\r\nHost: a\r\n\r\nGET /2 HTTP/1.1\r\nHost: a\r\n\r\n");
  p.clientEnd();  // a tunnel stream reports its end even while the filter pauses
  CHECK_FALSE(p.upstreamEnded);
  p.server(kOk);
  CHECK(parseRequests(p.upstream)->size() == 2);
  CHECK_FALSE(p.upstreamEnded);  // the second response is still due
  p.server(kOk);
  CHECK(p.upstreamEnded);
  CHECK(p.downstreamEnded);
  CHECK(p.downstream.starts_with(kOk));
  CHECK(p.downstream.ends_with("connection: close\r\n\r\nok"));  // the last one says so
}

TEST_CASE("http1 filter: a lone CR in a pipelined head is refused too") {
  Pipe p;
  p.client("GET /1 HTTP/1.1\r\nHost: a\r\n\r\nGET /2 HTTP/1.1\r\nx:\rTransfer-Encoding: chunked\r\n\r\n");
  p.server(kOk);
  CHECK(parseRequests(p.upstream)->size() == 1);
  CHECK(p.downstream.find("HTTP/1.1 400") != std::string::npos);
  Pipe body;  // a CR in a body is data
  body.client("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\na\rb");
  CHECK(parseRequests(body.upstream)->at(0).body == "a\rb");
}

TEST_CASE("http1 filter: an extra response nobody asked for closes the connection") {
  Pipe p;
  p.client("GET / HTTP/1.1\r\nHost: a\r\n\r\n");
  p.server(std::string(kOk) + std::string(kOk));
  CHECK(p.downstream == kOk);  // the first only
  CHECK(p.downstreamEnded);
  CHECK(p.upstreamEnded);
}

TEST_CASE("http1 filter: chunked bodies stream re-chunked with their trailers") {
  Pipe p;
  p.client("POST /up HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\n");
  CHECK(p.upstream.find("hello") != std::string::npos);  // streamed before the end
  p.client("6\r\n world\r\n0\r\nX-Sum: 42\r\n\r\n");
  auto reqs = parseRequests(p.upstream);
  REQUIRE(reqs);
  REQUIRE(reqs->size() == 1);
  CHECK((*reqs)[0].body == "hello world");
  CHECK(p.upstream.find("X-Sum: 42\r\n") != std::string::npos);
  CHECK(p.upstream.find("ext=1") == std::string::npos);
}

TEST_CASE("http1 filter: smuggling shapes are refused and nothing goes upstream") {
  const char* hostile[] = {
      "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
      "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\nContent-Length: 5\r\n\r\nabcde",
      "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\nContent-Length: 4\r\n\r\nabcd",
      "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\n",
      "GET / HTTP/1.1\r\nHost: a\r\nX-A: b\r\n c\r\n\r\n",
      "GET / HTTP/1.1\r\nHost: a\r\nBad Name: x\r\n\r\n",
      "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
      "GET / HTTP/1.1\r\nHost: a\r\nX: a\x01" "b\r\n\r\n",
      "CONNECT a:443 HTTP/1.1\r\nHost: a:443\r\n\r\n",
      "GET / HTTP/1.1\nHost: a\n\n",
      "GET / HTTP/1.1\r\nHost: a\r\nx:\rTransfer-Encoding: chunked\r\n\r\n",  // a lone CR as a line end
      "PUT /url HTTP/1.1\r\nContent-Length: 3\r\n\rabc",
      "GET / HTTP/1.1\r\nHost: a\r\n\rZGET /evil HTTP/1.1\r\nHost: a\r\n\r\n",
      "GET /caf\xc3\xa9 HTTP/1.1\r\nHost: a\r\n\r\n",
      "ANNOUNCE /x RTSP/1.0\r\nCSeq: 1\r\n\r\n",
  };
  for (const char* input : hostile) {
    CAPTURE(std::string(input));
    Pipe p;
    p.client(input);
    CHECK(p.upstream.empty());
    CHECK((p.downstream.starts_with("HTTP/1.1 4") || p.downstream.starts_with("HTTP/1.1 501")));
    CHECK(p.downstreamEnded);
  }
  // A bad chunk size comes after the head went upstream: the upstream gets a
  // reset (a cut request, never a complete one) and the client a 400.
  Pipe chunk;
  chunk.client("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n");
  CHECK(chunk.upstreamReset);
  CHECK(chunk.downstream.starts_with("HTTP/1.1 400"));
  Pipe control;
  control.client("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\n\r\nabcd");
  CHECK(parseRequests(control.upstream)->size() == 1);
}

TEST_CASE("http1 filter: limits answer 431 and 414") {
  weft::http::Http1Limits limits{.maxHeaderBytes = 200, .maxHeaders = 3, .maxTargetBytes = 50};
  Pipe many({}, limits);
  many.client("GET / HTTP/1.1\r\nA: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\n\r\n");
  CHECK(many.downstream.starts_with("HTTP/1.1 431"));
  Pipe big({}, limits);
  big.client("GET / HTTP/1.1\r\nA: " + std::string(300, 'x') + "\r\n\r\n");
  CHECK(big.downstream.starts_with("HTTP/1.1 431"));
  Pipe longTarget({}, limits);
  longTarget.client("GET /" + std::string(60, 'x') + " HTTP/1.1\r\n\r\n");
  CHECK(longTarget.downstream.starts_with("HTTP/1.1 414"));
  Pipe fine({}, limits);
  fine.client("GET /ok HTTP/1.1\r\nA: 1\r\n\r\n");
  CHECK(fine.downstream.empty());
  CHECK_FALSE(fine.upstream.empty());
}

TEST_CASE("http1 filter: the authorizer sees the head and may replace the path") {
  std::vector<weft::http::RequestHead> seen;
  Pipe p([&](weft::http::RequestHead& head) {
    seen.push_back(head);
    if (head.path == "/private") return weft::http::Verdict::kDeny;
    head.path = "/normalised";
    return weft::http::Verdict::kAllow;
  });
  p.client("GET /x/../y?q=1 HTTP/1.1\r\nHost: svc.ns\r\nContent-Type: application/grpc+proto\r\n\r\n");
  REQUIRE(seen.size() == 1);
  CHECK(seen[0].method == "GET");
  CHECK(seen[0].authority == "svc.ns");
  CHECK(seen[0].path == "/x/../y");
  CHECK(seen[0].query == "q=1");
  CHECK(seen[0].grpc);
  CHECK(parseRequests(p.upstream)->at(0).target == "/normalised?q=1");
  p.server(kOk);
  p.client("GET /private HTTP/1.1\r\nHost: svc.ns\r\n\r\n");
  CHECK(p.downstream.ends_with("denied by authorization policy\n"));
  CHECK(p.downstream.find("HTTP/1.1 403 Forbidden") != std::string::npos);
  CHECK(parseRequests(p.upstream)->size() == 1);  // the denied one never went
  CHECK(p.downstreamEnded);
}

TEST_CASE("http1 filter: upgrade then opaque bytes both ways") {
  Pipe p;
  p.client("GET /ws HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n\x81\x05hello");
  CHECK(p.upstream.find("upgrade: websocket") != std::string::npos);
  CHECK(p.upstream.find("hello") == std::string::npos);  // held until the server agrees
  p.server("HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n\x81\x02hi");
  CHECK(p.downstream.find("101 Switching Protocols") != std::string::npos);
  CHECK(p.downstream.ends_with("\x81\x02hi"));
  CHECK(p.upstream.ends_with("\x81\x05hello"));
  p.client("GET not http");
  CHECK(p.upstream.ends_with("GET not http"));
}

TEST_CASE("http1 filter: expect 100-continue and interim responses") {
  Pipe p;
  p.client("PUT /f HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\n");
  CHECK(p.upstream.find("Expect: 100-continue") != std::string::npos);
  p.server("HTTP/1.1 100 Continue\r\n\r\n");
  CHECK(p.downstream == "HTTP/1.1 100 Continue\r\n\r\n");
  p.client("abc");
  p.server(kOk);
  CHECK(p.downstream.ends_with("ok"));
  CHECK(parseRequests(p.upstream)->at(0).body == "abc");
}

TEST_CASE("http1 filter: response framing HEAD close-delimited and HTTP/1.0 clients") {
  Pipe head;
  head.client("HEAD / HTTP/1.1\r\nHost: a\r\n\r\n");
  head.server("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n");
  CHECK(head.downstream == "HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\n");
  head.client("GET / HTTP/1.1\r\nHost: a\r\n\r\n");  // the connection goes on
  CHECK(parseRequests(head.upstream)->size() == 2);

  Pipe eof;
  eof.client("GET / HTTP/1.1\r\nHost: a\r\n\r\n");
  eof.server("HTTP/1.1 200 OK\r\n\r\nuntil the end");
  CHECK(eof.downstream.find("connection: close") != std::string::npos);
  eof.serverEnd();
  CHECK(eof.downstream.ends_with("until the end"));
  CHECK(eof.downstreamEnded);
  CHECK_FALSE(eof.downstreamReset);

  Pipe old;
  old.client("GET / HTTP/1.0\r\n\r\n");
  CHECK(old.upstream.starts_with("GET / HTTP/1.0\r\n"));
  old.server("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n");
  CHECK(old.downstream.find("chunked") == std::string::npos);  // 1.0 cannot read chunks
  CHECK(old.downstream.ends_with("\r\n\r\nabc"));
  CHECK(old.downstreamEnded);
}

TEST_CASE("http1 filter: cut messages") {
  Pipe body;
  body.client("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\nabc");
  body.clientEnd();
  CHECK(body.upstreamReset);  // the upstream must not take it as complete
  Pipe response;
  response.client("GET / HTTP/1.1\r\nHost: a\r\n\r\n");
  response.server("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc");
  response.serverEnd();
  CHECK(response.downstreamReset);
  Pipe none;
  none.client("GET / HTTP/1.1\r\nHost: a\r\n\r\n");
  none.serverEnd();
  CHECK(none.downstream.starts_with("HTTP/1.1 502"));
  Pipe bad;
  bad.client("GET / HTTP/1.1\r\nHost: a\r\n\r\n");
  bad.server("HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n");
  CHECK(bad.downstream.starts_with("HTTP/1.1 502"));
  Pipe idle;
  idle.client("GET / HTTP/1.1\r\nHost: a\r\n\r\n");
  idle.server(kOk);
  idle.clientEnd();
  CHECK(idle.upstreamEnded);
  CHECK(idle.downstreamEnded);
  CHECK_FALSE(idle.upstreamReset);
}

TEST_CASE("http1 filter: every smuggler payload is refused or forwarded as one unambiguous request") {
  std::ifstream file(std::string(WEFT_SHARED_DIR) + "/testdata/http1/smuggler/smuggler_payloads.json");
  REQUIRE(file.good());
  auto payloads = nlohmann::json::parse(file);
  REQUIRE(payloads.size() == 3536);
  int forwarded = 0, refused = 0, splitChecked = 0;
  for (const auto& payload : payloads) {
    std::string raw = payload["raw"];
    CAPTURE(payload["name"].get<std::string>());
    Pipe p;
    p.client(raw);
    p.clientEnd();
    if (p.upstream.empty()) {
      ++refused;
      continue;
    }
    ++forwarded;
    // A cut body (the payload promised more) ends in a reset: the upstream
    // never sees it complete, so only whole requests are counted.
    auto reqs = parseRequests(p.upstream);
    if (!p.upstreamReset) {
      REQUIRE(reqs);
      CHECK(reqs->size() == 1);
      for (const auto& r : *reqs) CHECK_FALSE((r.header("content-length") && r.header("transfer-encoding")));
    }
    // Split reads must not change what is forwarded.
    if (splitChecked < 50) {
      ++splitChecked;
      for (std::size_t cut = 1; cut < raw.size(); cut += 7) {
        Pipe q;
        q.client(std::string_view(raw).substr(0, cut));
        q.client(std::string_view(raw).substr(cut));
        q.clientEnd();
        CHECK(q.upstream == p.upstream);
      }
    }
  }
  MESSAGE("smuggler payloads: " << refused << " refused, " << forwarded << " forwarded");
  CHECK(refused > 0);
  CHECK(forwarded > 0);
}

TEST_CASE("http1 filter: each exchange is reported once, when its response ended") {
  Recorder rec;
  {
    Pipe p({}, {}, &rec);
    p.client("POST /up?x=1 HTTP/1.1\r\nHost: svc\r\nUser-Agent: t/1\r\nX-Request-Id: abc\r\n"
             "Traceparent: 00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01\r\nContent-Length: 5\r\n\r\nhello");
    CHECK(rec.records.empty());  // no response yet
    p.server("HTTP/1.1 201 Created\r\ncontent-length: 2\r\n\r\nok");
    REQUIRE(rec.records.size() == 1);
    const auto& r = rec.records[0];
    CHECK(r.protocol == "HTTP/1.1");
    CHECK(r.method == "POST");
    CHECK(r.authority == "svc");
    CHECK(r.path == "/up");
    CHECK(r.status == 201);
    CHECK(r.requestBodyBytes == 5);
    CHECK(r.responseBodyBytes == 2);
    CHECK(r.userAgent == "t/1");
    CHECK(r.requestId == "abc");
    CHECK(r.traceparent == "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01");
    CHECK(r.flags.empty());
    CHECK_FALSE(r.denied);
    CHECK(r.end >= r.start);
    // Keep-alive: the next request is its own record.
    p.client("GET /b HTTP/1.1\r\nHost: svc\r\n\r\n");
    p.server("HTTP/1.1 100 Continue\r\n\r\n");  // interim: not an end
    CHECK(rec.records.size() == 1);
    p.server("HTTP/1.1 404 Not Found\r\ntransfer-encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n");
    REQUIRE(rec.records.size() == 2);
    CHECK(rec.records[1].path == "/b");
    CHECK(rec.records[1].status == 404);
    CHECK(rec.records[1].responseBodyBytes == 3);
  }
  CHECK(rec.records.size() == 2);  // nothing was in flight when the connection went
}

TEST_CASE("http1 filter: denied, malformed and cut-short requests are reported with why") {
  SUBCASE("denied by a policy: 403 RBAC with the policy") {
    Recorder rec;
    Pipe p(
        [](weft::http::RequestHead& head) {
          head.policy = "ns/deny-admin";
          return weft::http::Verdict::kDeny;
        },
        {}, &rec);
    p.client("GET /admin HTTP/1.1\r\nHost: svc\r\n\r\n");
    REQUIRE(rec.records.size() == 1);
    CHECK(rec.records[0].status == 403);
    CHECK(rec.records[0].flags == "RBAC");
    CHECK(rec.records[0].denied);
    CHECK(rec.records[0].policy == "ns/deny-admin");
    CHECK(rec.records[0].path == "/admin");
  }
  SUBCASE("smuggling framing: 400 DPE") {
    Recorder rec;
    Pipe p({}, {}, &rec);
    p.client("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n");
    REQUIRE(rec.records.size() == 1);
    CHECK(rec.records[0].status == 400);
    CHECK(rec.records[0].flags == "DPE");
  }
  SUBCASE("bytes that are no request at all: one failed request, no method") {
    Recorder rec;
    Pipe p({}, {}, &rec);
    p.client(std::string_view("\x16\x03\x01\x02\x00\x01", 6));
    REQUIRE(rec.records.size() == 1);
    CHECK(rec.records[0].status == 400);
    CHECK(rec.records[0].method.empty());
  }
  SUBCASE("a header section over the limit: 431 RL") {
    Recorder rec;
    Pipe p({}, {.maxHeaderBytes = 64}, &rec);
    p.client("GET / HTTP/1.1\r\nHost: a\r\nX-Long: " + std::string(100, 'x') + "\r\n\r\n");
    REQUIRE(rec.records.size() == 1);
    CHECK(rec.records[0].status == 431);
    CHECK(rec.records[0].flags == "RL");
  }
  SUBCASE("the upstream ends before answering: 502 UC") {
    Recorder rec;
    Pipe p({}, {}, &rec);
    p.client("GET / HTTP/1.1\r\nHost: a\r\n\r\n");
    p.serverEnd();
    REQUIRE(rec.records.size() == 1);
    CHECK(rec.records[0].status == 502);
    CHECK(rec.records[0].flags == "UC");
  }
  SUBCASE("the connection goes in the middle of a response: its status and DC") {
    Recorder rec;
    {
      Pipe p({}, {}, &rec);
      p.client("GET / HTTP/1.1\r\nHost: a\r\n\r\n");
      p.server("HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\nabc");
      CHECK(rec.records.empty());
    }
    REQUIRE(rec.records.size() == 1);
    CHECK(rec.records[0].status == 200);
    CHECK(rec.records[0].responseBodyBytes == 3);
    CHECK(rec.records[0].flags == "DC");
  }
}

TEST_CASE("http1 filter: a status code of fewer than three digits is a bad response (502 UPE)") {
  Recorder rec;
  Pipe p({}, {}, &rec);
  p.client("GET / HTTP/1.1\r\nHost: a\r\n\r\n");
  p.server("HTTP/1.1 20 OK\r\ncontent-length: 2\r\n\r\nok");
  CHECK(p.downstream.starts_with("HTTP/1.1 502 "));
  REQUIRE(rec.records.size() == 1);
  CHECK(rec.records[0].status == 502);
  CHECK(rec.records[0].flags == "UPE");
}

TEST_CASE("http1 filter: an observer's rewritten headers are what goes upstream") {
  weft::test::TraceRewriter tracer;
  Pipe p({}, {}, &tracer);
  p.client("GET /a HTTP/1.1\r\nHost: svc\r\nTraceparent: 00-11111111111111111111111111111111-2222222222222222-01\r\n"
           "X-Keep:  kept \r\nConnection: x-hop\r\nX-Hop: 1\r\nContent-Length: 2\r\n\r\nhi");
  auto reqs = parseRequests(p.upstream);
  REQUIRE(reqs);
  REQUIRE(reqs->size() == 1);
  const auto& r = (*reqs)[0];
  CHECK(r.header("traceparent") == weft::test::TraceRewriter::kForwarded);
  CHECK(std::count_if(r.headers.begin(), r.headers.end(), [](const auto& h) { return h.first == "traceparent"; }) == 1);
  CHECK(r.header("x-keep") == "kept");
  CHECK(r.header("host") == "svc");
  CHECK_FALSE(r.header("x-hop"));  // hop-by-hop rules still apply to the rewritten list
  CHECK(r.body == "hi");
  CHECK(tracer.heads == 1);
  p.server(kOk);
  REQUIRE(tracer.records.size() == 1);
  CHECK(tracer.records[0].traceSampled);
}

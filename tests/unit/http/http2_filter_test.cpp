// The HTTP/2 filter between two real nghttp2 endpoints (h2_test_peer.h):
// requests, responses, bodies and trailers cross; the authorizer decides per
// request (403, grpc-status 7); resets, GOAWAY and the pod's connection
// ending cross as the protocol says; malformed input never reaches the pod.
#include <doctest/doctest.h>

#include <string>

#include "h2_test_peer.h"
#include "trace_rewriter.h"
#include "weft/http/http2_filter.h"

namespace {

using weft::http::Authorizer;
using weft::http::FilterOutput;
using weft::http::RequestHead;
using weft::http::Verdict;
using weft::test::H2Fields;
using weft::test::H2Peer;

H2Fields get(const std::string& path, const std::string& authority = "pod.demo") {
  return {{":method", "GET"}, {":scheme", "http"}, {":authority", authority}, {":path", path}};
}
H2Fields post(const std::string& path, const std::string& type = "text/plain") {
  return {{":method", "POST"}, {":scheme", "http"}, {":authority", "pod.demo"}, {":path", path}, {"content-type", type}};
}
H2Fields ok(const std::string& type = "text/plain") { return {{":status", "200"}, {"content-type", type}}; }

// client -> filter -> pod, shuttled until nothing moves.
struct Pipe {
  H2Peer client{H2Peer::Role::kClient};
  H2Peer pod{H2Peer::Role::kServer};
  std::unique_ptr<weft::http::StreamFilter> filter;
  FilterOutput out;
  bool clientEnded = false, podEnded = false, reset = false;
  std::string podBytes;  // everything the pod received
  int authorized = 0;

  explicit Pipe(Authorizer authorizer = {}, weft::http::Http2Limits limits = {},
                weft::http::RequestObserver* observer = nullptr)
      : filter(weft::http::makeHttp2Filter(std::move(authorizer), limits, observer)) {}

  void settle() {
    for (int round = 0; round < 10000; ++round) {
      bool moved = false;
      if (std::string c = client.send(); !c.empty() && !clientEnded) {
        filter->onDownstreamData(c, out);
        moved = true;
      }
      moved |= deliver();
      if (std::string p = pod.send(); !p.empty() && !podEnded) {
        filter->onUpstreamData(p, out);
        moved = true;
      }
      moved |= deliver();
      if (!moved) return;
    }
    FAIL("the exchange did not settle");
  }
  bool deliver() {
    bool moved = !out.toUpstream.empty() || !out.toDownstream.empty();
    if (!out.toUpstream.empty() && !podEnded) {
      podBytes += out.toUpstream;
      pod.receive(out.toUpstream);
    }
    if (!out.toDownstream.empty() && !clientEnded) client.receive(out.toDownstream);
    podEnded |= out.endUpstream;
    clientEnded |= out.endDownstream;
    reset |= out.resetUpstream || out.resetDownstream;
    out.clear();
    return moved;
  }
};

// What the filter reports per request (metrics and access logs).
struct Recorder final : weft::http::RequestObserver {
  std::vector<weft::http::RequestRecord> records;
  void onRequest(weft::http::RequestRecord& r) override { records.push_back(r); }
};

Authorizer denyPath(std::string denied, int* calls = nullptr) {
  return [denied, calls](RequestHead& head) {
    if (calls) ++*calls;
    return head.path == denied ? Verdict::kDeny : Verdict::kAllow;
  };
}

}  // namespace

TEST_CASE("http2 filter: a request with a body and a response with trailers cross intact") {
  Pipe p;
  std::int32_t id = p.client.request(post("/echo?x=1"), "hello", {{"x-request-trailer", "t1"}});
  p.settle();
  REQUIRE(p.pod.arrived.size() == 1);
  std::int32_t podId = p.pod.arrived[0];
  const auto& req = p.pod.streams[podId];
  CHECK(req.header(":path") == "/echo?x=1");
  CHECK(req.header(":method") == "POST");
  CHECK(req.header(":authority") == "pod.demo");
  CHECK(req.body == "hello");
  CHECK(req.trailer("x-request-trailer") == "t1");
  CHECK(req.ended);
  p.pod.respond(podId, ok("application/grpc"), std::string("\0\0\0\0\3abc", 8), {{"grpc-status", "0"}, {"grpc-message", ""}});
  p.settle();
  const auto& resp = p.client.streams[id];
  CHECK(resp.header(":status") == "200");
  CHECK(resp.body == std::string("\0\0\0\0\3abc", 8));
  CHECK(resp.trailer("grpc-status") == "0");
  CHECK(resp.ended);
  CHECK(resp.closed);
  CHECK(resp.closeCode == 0);
  CHECK_FALSE(p.clientEnded);  // the connection stays open for more requests
}

TEST_CASE("http2 filter: multiplexed streams are answered out of order") {
  Pipe p;
  std::int32_t a = p.client.request(get("/a"));
  std::int32_t b = p.client.request(get("/b"));
  std::int32_t c = p.client.request(get("/c"));
  p.settle();
  REQUIRE(p.pod.arrived.size() == 3);
  // The pod answers c, a, b: each answer reaches its own stream.
  for (int i : {2, 0, 1}) {
    std::int32_t podId = p.pod.arrived[static_cast<std::size_t>(i)];
    p.pod.respond(podId, ok(), "body of " + p.pod.streams[podId].header(":path"));
    p.settle();
  }
  CHECK(p.client.streams[a].body == "body of /a");
  CHECK(p.client.streams[b].body == "body of /b");
  CHECK(p.client.streams[c].body == "body of /c");
}

TEST_CASE("http2 filter: a 4 MiB body in both directions crosses within the windows") {
  Pipe p;
  std::string big(4 << 20, 'x');
  for (std::size_t i = 0; i < big.size(); i += 4096) big[i] = static_cast<char>('a' + (i / 4096) % 26);
  std::int32_t id = p.client.request(post("/upload"), big);
  p.settle();
  REQUIRE(p.pod.arrived.size() == 1);
  CHECK(p.pod.streams[p.pod.arrived[0]].body == big);
  p.pod.respond(p.pod.arrived[0], ok(), big);
  p.settle();
  CHECK(p.client.streams[id].body == big);
  CHECK(p.client.streams[id].closeCode == 0);
}

TEST_CASE("http2 filter: a body waits for the pod's window and is never held whole") {
  // The pod reads nothing (no WINDOW_UPDATE from it): the client can only
  // fill the pod's window plus the filter's stream window, so the filter
  // never holds more than that of an 8 MiB body.
  weft::http::Http2Limits limits;
  Pipe p({}, limits);
  p.client.request(post("/slow"), std::string(8 << 20, 'y'));
  std::size_t sent = 0, forwarded = 0;
  for (int i = 0; i < 1000; ++i) {
    std::string c = p.client.send();
    if (c.empty()) break;
    sent += c.size();
    p.filter->onDownstreamData(c, p.out);
    forwarded += p.out.toUpstream.size();
    p.client.receive(p.out.toDownstream);  // the filter's window updates to the client
    p.out.clear();
  }
  CHECK(forwarded < 128 * 1024);  // the pod's default window, and frames
  CHECK(sent > static_cast<std::size_t>(limits.streamWindow));  // its window let the client send
  CHECK(sent < static_cast<std::size_t>(limits.streamWindow) + 128 * 1024);
}

TEST_CASE("http2 filter: a denied request gets 403 and never reaches the pod") {
  int calls = 0;
  Pipe p(denyPath("/private", &calls));
  std::int32_t id = p.client.request(post("/private"), "secret body");
  std::int32_t allowed = p.client.request(get("/public"));
  p.settle();
  CHECK(calls == 2);
  CHECK(p.client.streams[id].header(":status") == "403");
  CHECK(p.client.streams[id].body == "denied by authorization policy\n");
  CHECK(p.client.streams[id].ended);
  REQUIRE(p.pod.arrived.size() == 1);
  CHECK(p.pod.streams[p.pod.arrived[0]].header(":path") == "/public");
  CHECK(p.podBytes.find("secret body") == std::string::npos);
  p.pod.respond(p.pod.arrived[0], ok(), "fine");
  p.settle();
  CHECK(p.client.streams[allowed].body == "fine");
}

TEST_CASE("http2 filter: a denied gRPC call gets grpc-status 7 in a trailers-only response") {
  Pipe p(denyPath("/weft.test.Echo/Say"));
  std::int32_t id = p.client.request(post("/weft.test.Echo/Say", "application/grpc"), std::string("\0\0\0\0\0", 5),
                                     {}, false);
  p.settle();
  const auto& s = p.client.streams[id];
  CHECK(s.header(":status") == "200");
  CHECK(s.header("content-type") == "application/grpc");
  CHECK(s.header("grpc-status") == "7");
  CHECK(s.ended);
  CHECK(p.pod.arrived.empty());
  // The client may go on sending; it is read and dropped.
  p.client.sendMore(id, "more", true);
  p.settle();
  CHECK(p.pod.arrived.empty());
  CHECK(p.podBytes.find("more") == std::string::npos);
}

TEST_CASE("http2 filter: the pod sees the path the authorizer checked") {
  Pipe p([](RequestHead& head) {
    if (head.path == "/public/../private") head.path = "/private";
    return Verdict::kAllow;
  });
  p.client.request(get("/public/../private?q=1"));
  p.settle();
  REQUIRE(p.pod.arrived.size() == 1);
  CHECK(p.pod.streams[p.pod.arrived[0]].header(":path") == "/private?q=1");
}

TEST_CASE("http2 filter: the authorizer sees method authority path query headers and gRPC") {
  RequestHead seen;
  Pipe p([&seen](RequestHead& head) {
    seen = head;
    return Verdict::kAllow;
  });
  H2Fields headers = post("/weft.test.Echo/Say?a=b", "application/grpc+proto");
  headers.emplace_back("x-user", "alice");
  p.client.request(headers, "", {}, true);
  p.settle();
  CHECK(seen.method == "POST");
  CHECK(seen.authority == "pod.demo");
  CHECK(seen.path == "/weft.test.Echo/Say");
  CHECK(seen.query == "a=b");
  CHECK(seen.grpc);
  bool found = false;
  for (const auto& [n, v] : seen.headers) found |= n == "x-user" && v == "alice";
  CHECK(found);
}

TEST_CASE("http2 filter: CONNECT gets 405") {
  Pipe p;
  std::int32_t id = p.client.request({{":method", "CONNECT"}, {":authority", "10.0.0.1:443"}}, "", {}, false);
  p.settle();
  CHECK(p.client.streams[id].header(":status") == "405");
  CHECK(p.pod.arrived.empty());
}

TEST_CASE("http2 filter: a header section over the limit gets 431") {
  weft::http::Http2Limits limits;
  limits.maxHeaders = 10;
  Pipe p({}, limits);
  H2Fields headers = get("/many");
  for (int i = 0; i < 20; ++i) headers.emplace_back("x-h" + std::to_string(i), "v");
  std::int32_t id = p.client.request(headers);
  p.settle();
  CHECK(p.client.streams[id].header(":status") == "431");
  CHECK(p.pod.arrived.empty());
}

TEST_CASE("http2 filter: a client reset reaches the pod as a reset") {
  Pipe p;
  std::int32_t id = p.client.request(post("/stream"), "part", {}, false);
  p.settle();
  REQUIRE(p.pod.arrived.size() == 1);
  p.client.reset(id, NGHTTP2_CANCEL);
  p.settle();
  const auto& s = p.pod.streams[p.pod.arrived[0]];
  CHECK(s.resetReceived);
  CHECK(s.resetCode == NGHTTP2_CANCEL);
}

TEST_CASE("http2 filter: a pod reset reaches the client with its code") {
  Pipe p;
  std::int32_t id = p.client.request(get("/x"));
  p.settle();
  REQUIRE(p.pod.arrived.size() == 1);
  p.pod.reset(p.pod.arrived[0], NGHTTP2_ENHANCE_YOUR_CALM);
  p.settle();
  CHECK(p.client.streams[id].resetReceived);
  CHECK(p.client.streams[id].resetCode == NGHTTP2_ENHANCE_YOUR_CALM);
}

TEST_CASE("http2 filter: an interim 100 Continue passes before the final response") {
  Pipe p;
  H2Fields headers = post("/upload");
  headers.emplace_back("expect", "100-continue");
  std::int32_t id = p.client.request(headers, "", {}, false);
  p.settle();
  REQUIRE(p.pod.arrived.size() == 1);
  p.pod.interim(p.pod.arrived[0], {{":status", "100"}});
  p.settle();
  CHECK(p.client.streams[id].interim.size() == 1);
  p.client.sendMore(id, "payload", true);
  p.settle();
  CHECK(p.pod.streams[p.pod.arrived[0]].body == "payload");
  p.pod.respond(p.pod.arrived[0], ok(), "done");
  p.settle();
  CHECK(p.client.streams[id].header(":status") == "200");
  CHECK(p.client.streams[id].body == "done");
}

TEST_CASE("http2 filter: a GOAWAY from the pod lets streams finish and then ends the connection") {
  Pipe p;
  std::int32_t a = p.client.request(get("/a"));
  p.settle();
  REQUIRE(p.pod.arrived.size() == 1);
  p.pod.goaway();
  p.settle();
  CHECK(p.client.goawayReceived);
  CHECK_FALSE(p.clientEnded);  // /a is still in flight
  std::int32_t late = p.client.request(get("/late"));
  p.settle();
  CHECK(p.pod.arrived.size() == 1);  // refused here, never sent to the pod
  if (late > 0) CHECK(p.client.streams[late].closeCode == NGHTTP2_REFUSED_STREAM);
  p.pod.respond(p.pod.arrived[0], ok(), "last");
  p.settle();
  CHECK(p.client.streams[a].body == "last");
  CHECK(p.clientEnded);
  CHECK(p.podEnded);
}

TEST_CASE("http2 filter: the pod's connection ending fails the streams in flight") {
  Pipe p;
  std::int32_t done = p.client.request(get("/done"));
  std::int32_t pending = p.client.request(get("/pending"));
  p.settle();
  REQUIRE(p.pod.arrived.size() == 2);
  p.pod.respond(p.pod.arrived[0], ok(), "complete");
  p.settle();
  p.filter->onUpstreamEnd(p.out);
  p.podEnded = true;
  p.settle();
  CHECK(p.client.streams[done].body == "complete");
  CHECK(p.client.streams[done].closeCode == 0);
  CHECK(p.client.streams[pending].resetReceived);
  CHECK(p.client.streams[pending].resetCode == NGHTTP2_INTERNAL_ERROR);
  CHECK(p.client.goawayReceived);
  CHECK(p.clientEnded);
}

TEST_CASE("http2 filter: a client that is not HTTP/2 gets nothing through") {
  Pipe p;
  p.filter->onDownstreamData("GET / HTTP/1.1\r\nhost: x\r\n\r\n", p.out);
  CHECK(p.out.endDownstream);
  CHECK(p.out.endUpstream);
  // Only the filter's own preface and SETTINGS may go to the pod: no request.
  p.pod.receive(p.out.toUpstream);
  CHECK(p.pod.arrived.empty());
  CHECK(p.out.toUpstream.find("GET /") == std::string::npos);
}

TEST_CASE("http2 filter: an invalid header name or value resets the stream before the pod") {
  // RFC 9113 8.2.1: no space in a name, no CR or LF in a value (a request
  // the pod's HTTP/1.1 side could split). nghttp2's sender keeps both.
  for (auto [name, value] : {std::pair{"bad name", "v"}, {"x-split", "a\r\nx-injected: 1"}}) {
    CAPTURE(name);
    Pipe p;
    H2Fields headers = get("/x");
    headers.emplace_back(name, value);
    std::int32_t id = p.client.request(headers);
    p.settle();
    CHECK(p.pod.arrived.empty());
    CHECK(p.client.streams[id].resetReceived);
    CHECK(p.client.streams[id].resetCode == NGHTTP2_PROTOCOL_ERROR);
  }
}

TEST_CASE("http2 filter: a content-length that disagrees with the data never completes upstream") {
  Pipe p;
  H2Fields headers = post("/cl");
  headers.emplace_back("content-length", "3");
  std::int32_t id = p.client.request(headers, "more than three");
  p.settle();
  CHECK(p.client.streams[id].resetReceived);
  // The pod may have seen the head, never a complete request.
  for (std::int32_t podId : p.pod.arrived) {
    CHECK_FALSE(p.pod.streams[podId].ended);
  }
}

TEST_CASE("http2 filter: the client ending its connection ends the pod's") {
  Pipe p;
  p.client.request(get("/x"));
  p.settle();
  p.filter->onDownstreamEnd(p.out);
  p.clientEnded = true;
  p.deliver();
  CHECK(p.podEnded);
  CHECK(p.pod.goawayReceived);
}

TEST_CASE("http2 filter: each stream is reported once with status, grpc-status and sizes") {
  Recorder rec;
  Pipe p({}, {}, &rec);
  std::int32_t a = p.client.request(post("/weft.test.Echo/Say", "application/grpc"), "12345");
  std::int32_t b = p.client.request(get("/b"));
  p.settle();
  REQUIRE(p.pod.arrived.size() == 2);
  CHECK(rec.records.empty());
  p.pod.respond(p.pod.arrived[1], {{":status", "404"}}, "nope");
  p.settle();
  REQUIRE(rec.records.size() == 1);
  CHECK(rec.records[0].protocol == "HTTP/2");
  CHECK(rec.records[0].path == "/b");
  CHECK(rec.records[0].status == 404);
  CHECK(rec.records[0].responseBodyBytes == 4);
  CHECK(rec.records[0].grpcStatus == -1);
  p.pod.respond(p.pod.arrived[0], ok("application/grpc"), std::string("\0\0\0\0\3abc", 8), {{"grpc-status", "5"}});
  p.settle();
  REQUIRE(rec.records.size() == 2);
  const auto& g = rec.records[1];
  CHECK(g.method == "POST");
  CHECK(g.grpc);
  CHECK(g.status == 200);
  CHECK(g.grpcStatus == 5);  // from the trailers
  CHECK(g.requestBodyBytes == 5);
  CHECK(g.responseBodyBytes == 8);
  CHECK(g.flags.empty());
  CHECK(p.client.streams[a].ended);
  CHECK(p.client.streams[b].ended);
}

TEST_CASE("http2 filter: a denied gRPC call, a pod reset and a cut connection are reported with why") {
  Recorder rec;
  {
    Pipe p(
        [](RequestHead& head) {
          head.policy = "ns/no-say";
          return head.path == "/weft.test.Echo/Say" ? Verdict::kDeny : Verdict::kAllow;
        },
        {}, &rec);
    p.client.request(post("/weft.test.Echo/Say", "application/grpc"), "", {}, true);
    p.settle();
    REQUIRE(rec.records.size() == 1);
    CHECK(rec.records[0].status == 200);
    CHECK(rec.records[0].grpcStatus == 7);
    CHECK(rec.records[0].denied);
    CHECK(rec.records[0].policy == "ns/no-say");
    CHECK(rec.records[0].flags == "RBAC");

    p.client.request(get("/reset-me"));
    p.settle();
    REQUIRE(p.pod.arrived.size() == 1);
    p.pod.reset(p.pod.arrived[0], NGHTTP2_INTERNAL_ERROR);
    p.settle();
    REQUIRE(rec.records.size() == 2);
    CHECK(rec.records[1].path == "/reset-me");
    CHECK(rec.records[1].status == 0);
    CHECK(rec.records[1].flags == "UR");

    p.client.request(get("/slow"));
    p.settle();
    CHECK(rec.records.size() == 2);
  }
  // The connection went with /slow unanswered.
  REQUIRE(rec.records.size() == 3);
  CHECK(rec.records[2].path == "/slow");
  CHECK(rec.records[2].flags == "DC");
}

TEST_CASE("http2 filter: an observer's rewritten headers are what the pod gets") {
  weft::test::TraceRewriter tracer;
  Pipe p(denyPath("/denied"), {}, &tracer);
  H2Fields head = get("/a");
  head.emplace_back("traceparent", "00-11111111111111111111111111111111-2222222222222222-01");
  head.emplace_back("x-keep", "kept");
  p.client.request(head);
  p.client.request(get("/denied"));
  p.settle();
  REQUIRE(p.pod.arrived.size() == 1);  // the denied one never reaches the pod
  const auto& req = p.pod.streams[p.pod.arrived[0]];
  CHECK(req.header("traceparent") == weft::test::TraceRewriter::kForwarded);
  CHECK(req.header("x-keep") == "kept");
  CHECK(tracer.heads == 2);  // the denied request's head was seen too: its span says so
}

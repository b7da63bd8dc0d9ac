// The detecting filter: which protocol's filter gets a connection, that the
// held bytes reach it whole, and the L4 decision for opaque traffic.
#include <doctest/doctest.h>

#include <string>

#include "weft/http/detecting_filter.h"

namespace {

using weft::http::FilterOutput;
using weft::http::StreamFilter;

// Stands for the HTTP/1.1 or HTTP/2 filter: tags what it forwards, so the
// test sees which one got the bytes.
class TaggingFilter final : public StreamFilter {
 public:
  explicit TaggingFilter(std::string tag) : tag_(std::move(tag)) {}
  void onDownstreamData(std::string_view bytes, FilterOutput& out) override {
    out.toUpstream += tag_ + ":" + std::string(bytes);
  }
  void onUpstreamData(std::string_view bytes, FilterOutput& out) override {
    out.toDownstream += tag_ + ":" + std::string(bytes);
  }
  void onDownstreamEnd(FilterOutput& out) override { out.endUpstream = true; }
  void onUpstreamEnd(FilterOutput& out) override { out.endDownstream = true; }

 private:
  std::string tag_;
};

struct Detector {
  bool admit = true;
  int opaqueDecisions = 0;
  std::unique_ptr<StreamFilter> filter = weft::http::makeDetectingFilter({
      .http1 = [] { return std::make_unique<TaggingFilter>("h1"); },
      .http2 = [] { return std::make_unique<TaggingFilter>("h2"); },
      .admitOpaque = [this] { ++opaqueDecisions; return admit; },
  });
  FilterOutput out;
  void down(std::string_view bytes) { filter->onDownstreamData(bytes, out); }
};

}  // namespace

TEST_CASE("detecting filter: an HTTP/1.1 request line in pieces goes whole to the HTTP/1.1 filter") {
  Detector d;
  d.down("GE");
  CHECK(d.out.toUpstream.empty());  // held: not yet decided
  d.down("T /x HTTP/1.1\r\nhost: a\r\n\r\n");
  CHECK(d.out.toUpstream == "h1:GET /x HTTP/1.1\r\nhost: a\r\n\r\n");
  d.down("more");
  CHECK(d.out.toUpstream.ends_with("h1:more"));
  CHECK(d.opaqueDecisions == 0);
}

TEST_CASE("detecting filter: the HTTP/2 preface goes to the HTTP/2 filter") {
  Detector d;
  d.down("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");
  CHECK(d.out.toUpstream == "h2:PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");
}

TEST_CASE("detecting filter: opaque bytes pass untouched when admitted and reset when not") {
  Detector admitted;
  admitted.down(std::string("\x16\x03\x01\x02\x00", 5));  // a TLS ClientHello
  CHECK(admitted.out.toUpstream == std::string("\x16\x03\x01\x02\x00", 5));
  CHECK(admitted.opaqueDecisions == 1);
  CHECK_FALSE(admitted.out.resetDownstream);

  Detector refused;
  refused.admit = false;
  refused.down(std::string("\x16\x03\x01\x02\x00", 5));
  CHECK(refused.out.toUpstream.empty());
  CHECK(refused.out.resetDownstream);
  CHECK(refused.out.resetUpstream);
}

TEST_CASE("detecting filter: a server that speaks first makes the connection opaque") {
  Detector d;
  d.filter->onUpstreamData("220 smtp ready\r\n", d.out);
  CHECK(d.out.toDownstream == "220 smtp ready\r\n");
  CHECK(d.opaqueDecisions == 1);
  d.down("EHLO x\r\n");
  CHECK(d.out.toUpstream == "EHLO x\r\n");
}

TEST_CASE("detecting filter: an HTTP/2 server's SETTINGS sent first wait for the client's preface") {
  // What Node's and Go's HTTP/2 servers do on accept: SETTINGS (2 entries),
  // then WINDOW_UPDATE, before the client's preface arrived.
  const std::string settings("\x00\x00\x0c\x04\x00\x00\x00\x00\x00"
                             "\x00\x03\x00\x00\x00\x64\x00\x04\x00\x01\x00\x00",
                             21);
  const std::string windowUpdate("\x00\x00\x04\x08\x00\x00\x00\x00\x00\x00\x0f\x00\x01", 13);
  Detector d;
  d.filter->onUpstreamData(settings.substr(0, 4), d.out);  // a partial frame header too
  d.filter->onUpstreamData(settings.substr(4) + windowUpdate, d.out);
  CHECK(d.out.toDownstream.empty());
  CHECK(d.opaqueDecisions == 0);
  d.down("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");
  CHECK(d.out.toUpstream == "h2:PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");
  CHECK(d.out.toDownstream == "h2:" + settings + windowUpdate);  // handed to the HTTP/2 filter, after the preface
  // The same server bytes before a client that is not HTTP/2: passed on as they are.
  Detector opaque;
  opaque.filter->onUpstreamData(settings, opaque.out);
  opaque.down(std::string("\x16\x03\x01\x02\x00", 5));
  CHECK(opaque.out.toDownstream == settings);
  CHECK(opaque.opaqueDecisions == 1);
  // A MySQL greeting (sequence number 0 where SETTINGS has type 4) is opaque at once.
  Detector mysql;
  mysql.filter->onUpstreamData(std::string("\x4a\x00\x00\x00\x0a" "8.0.36", 11), mysql.out);
  CHECK(mysql.opaqueDecisions == 1);
  CHECK(mysql.out.toDownstream.size() == 11);
}

TEST_CASE("detecting filter: a quiet client that sent ambiguous bytes becomes opaque") {
  Detector d;
  d.down("GE");  // could still become an HTTP/1.1 request line
  CHECK(d.out.toUpstream.empty());
  d.filter->onQuiet(d.out);
  CHECK(d.out.toUpstream == "GE");
  CHECK(d.opaqueDecisions == 1);
  d.down("T");
  CHECK(d.out.toUpstream == "GET");  // opaque from here on
  // Once decided, quiet changes nothing.
  Detector h1;
  h1.down("GET / HTTP/1.1\r\n");
  h1.filter->onQuiet(h1.out);
  CHECK(h1.opaqueDecisions == 0);
}

TEST_CASE("detecting filter: a client that ends before deciding forwards what it sent") {
  Detector d;
  d.down("GE");
  d.filter->onDownstreamEnd(d.out);
  CHECK(d.out.toUpstream == "GE");
  CHECK(d.out.endUpstream);
  CHECK(d.opaqueDecisions == 1);
}

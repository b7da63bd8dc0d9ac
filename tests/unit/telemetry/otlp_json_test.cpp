// Spans as OTLP/HTTP JSON, read back with nlohmann: grouping by resource,
// ids in hex, 64-bit numbers as strings, status only on errors; and the
// span's name and status as a filter derives them.
#include <doctest/doctest.h>

#include <limits>
#include <nlohmann/json.hpp>

#include "weft/telemetry/otlp_json.h"

namespace {

using namespace weft::telemetry;
using nlohmann::json;

Span makeSpan(std::string service, std::string node, std::uint8_t seed) {
  Span span;
  span.traceId.fill(seed);
  span.spanId.fill(static_cast<std::uint8_t>(seed + 1));
  span.name = "GET /items/" + std::to_string(seed);
  span.startUnixNano = 1'700'000'000'000'000'000ULL + seed;
  span.endUnixNano = span.startUnixNano + 1'500'000;
  span.service = std::move(service);
  span.node = std::move(node);
  return span;
}

// The attributes of an OTLP list as key -> value object.
json attributeMap(const json& attributes) {
  json out = json::object();
  for (const auto& a : attributes) out[a.at("key").get<std::string>()] = a.at("value");
  return out;
}

}  // namespace

TEST_CASE("otlp json encodes a span with ids in hex and numbers as strings") {
  Span span = makeSpan("echo.b", "node-1", 0xab);
  span.parentSpanId = {0, 1, 2, 3, 4, 5, 6, 7};
  span.attribute("http.request.method", "GET");
  span.attribute("url.path", std::string_view("/items/171"));
  span.attribute("http.response.status_code", 503);
  span.attribute("weft.big", std::numeric_limits<std::int64_t>::min());
  span.attribute("weft.quote", "a \"quoted\"\nline");
  auto [status, message] = spanStatus(503);
  span.status = status;
  span.statusMessage = message;

  json request = json::parse(encodeOtlpTraces(std::span(&span, 1)));
  REQUIRE(request.at("resourceSpans").size() == 1);
  const json& resourceSpans = request["resourceSpans"][0];
  json resource = attributeMap(resourceSpans.at("resource").at("attributes"));
  CHECK(resource["service.name"] == json{{"stringValue", "echo.b"}});
  CHECK(resource["k8s.node.name"] == json{{"stringValue", "node-1"}});
  REQUIRE(resourceSpans.at("scopeSpans").size() == 1);
  CHECK(resourceSpans["scopeSpans"][0].at("scope").at("name") == "weft");
  const json& spans = resourceSpans["scopeSpans"][0].at("spans");
  REQUIRE(spans.size() == 1);
  const json& s = spans[0];
  CHECK(s.at("traceId") == "abababababababababababababababab");
  CHECK(s.at("spanId") == "acacacacacacacac");
  CHECK(s.at("parentSpanId") == "0001020304050607");
  CHECK(s.at("name") == "GET /items/171");
  CHECK(s.at("kind") == 2);
  CHECK(s.at("startTimeUnixNano") == "1700000000000000171");
  CHECK(s.at("endTimeUnixNano") == "1700000000001500171");
  json attributes = attributeMap(s.at("attributes"));
  CHECK(attributes["http.request.method"] == json{{"stringValue", "GET"}});
  CHECK(attributes["url.path"] == json{{"stringValue", "/items/171"}});
  CHECK(attributes["http.response.status_code"] == json{{"intValue", "503"}});
  CHECK(attributes["weft.big"] == json{{"intValue", "-9223372036854775808"}});
  CHECK(attributes["weft.quote"] == json{{"stringValue", "a \"quoted\"\nline"}});
  CHECK(s.at("status") == json{{"code", 2}, {"message", "HTTP 503"}});
}

TEST_CASE("otlp json leaves out the parent of a root span and the status of a span without error") {
  Span span = makeSpan("echo.b", "", 1);
  json s = json::parse(encodeOtlpTraces(std::span(&span, 1)))["resourceSpans"][0]["scopeSpans"][0]["spans"][0];
  CHECK_FALSE(s.contains("parentSpanId"));
  CHECK_FALSE(s.contains("status"));
  CHECK(s.at("attributes") == json::array());
  json resource = json::parse(encodeOtlpTraces(std::span(&span, 1)))["resourceSpans"][0]["resource"];
  CHECK_FALSE(attributeMap(resource.at("attributes")).contains("k8s.node.name"));
}

TEST_CASE("otlp json groups spans by service and node in order of appearance") {
  std::vector<Span> spans = {makeSpan("a", "n1", 1), makeSpan("b", "n1", 2), makeSpan("a", "n1", 3),
                             makeSpan("a", "n2", 4), makeSpan("b", "n1", 5)};
  json request = json::parse(encodeOtlpTraces(spans));
  const json& groups = request.at("resourceSpans");
  REQUIRE(groups.size() == 3);
  struct Expected {
    std::string service, node;
    std::vector<std::string> names;
  };
  const std::vector<Expected> expected = {{"a", "n1", {"GET /items/1", "GET /items/3"}},
                                          {"b", "n1", {"GET /items/2", "GET /items/5"}},
                                          {"a", "n2", {"GET /items/4"}}};
  for (std::size_t i = 0; i < expected.size(); ++i) {
    CAPTURE(i);
    json resource = attributeMap(groups[i]["resource"]["attributes"]);
    CHECK(resource["service.name"]["stringValue"] == expected[i].service);
    CHECK(resource["k8s.node.name"]["stringValue"] == expected[i].node);
    std::vector<std::string> names;
    for (const auto& s : groups[i]["scopeSpans"][0]["spans"]) names.push_back(s["name"].get<std::string>());
    CHECK(names == expected[i].names);
  }
  CHECK(json::parse(encodeOtlpTraces({})) == json{{"resourceSpans", json::array()}});
}

TEST_CASE("otlp json replaces bytes that are not UTF-8") {
  Span span = makeSpan("svc", "node", 1);
  span.name = std::string("GET /caf\xe9");
  span.attribute("url.path", std::string("/\xff\xfe"));
  json s = json::parse(encodeOtlpTraces(std::span(&span, 1)))["resourceSpans"][0]["scopeSpans"][0]["spans"][0];
  CHECK(s["name"] == "GET /caf\xef\xbf\xbd");
  CHECK(s["attributes"][0]["value"]["stringValue"] == "/\xef\xbf\xbd\xef\xbf\xbd");
}

TEST_CASE("span names are method and path without the query and at most 128 bytes") {
  CHECK(spanName("GET", "/items/7?token=secret") == "GET /items/7");
  CHECK(spanName("POST", "/") == "POST /");
  std::string longPath = "/" + std::string(300, 'a');
  std::string name = spanName("GET", longPath);
  CHECK(name.size() == kMaxSpanNameLength);
  CHECK(name.starts_with("GET /aaa"));
}

TEST_CASE("span status is an error on 5xx and no response and gRPC failures only") {
  CHECK(spanStatus(200).first == SpanStatus::kUnset);
  CHECK(spanStatus(404).first == SpanStatus::kUnset);
  CHECK(spanStatus(499).first == SpanStatus::kUnset);
  CHECK(spanStatus(500) == std::pair{SpanStatus::kError, std::string("HTTP 500")});
  CHECK(spanStatus(0) == std::pair{SpanStatus::kError, std::string("no response")});
  CHECK(spanStatus(200, 0).first == SpanStatus::kUnset);
  CHECK(spanStatus(200, 14) == std::pair{SpanStatus::kError, std::string("grpc-status 14")});
}

#include "weft/telemetry/otlp_json.h"

#include <map>
#include <nlohmann/json.hpp>
#include <tuple>

namespace weft::telemetry {
namespace {

using nlohmann::json;

json stringAttribute(std::string_view key, std::string_view value) {
  return {{"key", key}, {"value", {{"stringValue", value}}}};
}

json attribute(const SpanAttribute& a) {
  if (const auto* text = std::get_if<std::string>(&a.value)) return stringAttribute(a.key, *text);
  // proto3 JSON writes int64 as a string: JavaScript numbers lose digits past 2^53.
  return {{"key", a.key}, {"value", {{"intValue", std::to_string(std::get<std::int64_t>(a.value))}}}};
}

json encodeSpan(const Span& span) {
  json out = {
      {"traceId", toHex(span.traceId)},
      {"spanId", toHex(span.spanId)},
      {"name", span.name},
      {"kind", static_cast<int>(span.kind)},
      {"startTimeUnixNano", std::to_string(span.startUnixNano)},
      {"endTimeUnixNano", std::to_string(span.endUnixNano)},
  };
  // proto3 JSON leaves a default out; an empty parent is how OTLP says root.
  if (!isZero(span.parentSpanId)) out["parentSpanId"] = toHex(span.parentSpanId);
  json attributes = json::array();
  for (const auto& a : span.attributes) attributes.push_back(attribute(a));
  out["attributes"] = std::move(attributes);
  if (span.status != SpanStatus::kUnset) {
    json status = {{"code", static_cast<int>(span.status)}};
    if (!span.statusMessage.empty()) status["message"] = span.statusMessage;
    out["status"] = std::move(status);
  }
  return out;
}

json encodeResource(const Span& first) {
  json attributes = json::array({stringAttribute("service.name", first.service)});
  if (!first.node.empty()) attributes.push_back(stringAttribute("k8s.node.name", first.node));
  attributes.push_back(stringAttribute("telemetry.sdk.name", kOtlpScopeName));
  return {{"attributes", std::move(attributes)}};
}

}  // namespace

std::string encodeOtlpTraces(std::span<const Span> spans) {
  json resourceSpans = json::array();
  std::map<std::tuple<std::string_view, std::string_view>, std::size_t> byResource;
  for (const Span& span : spans) {
    auto [it, added] = byResource.try_emplace({span.service, span.node}, resourceSpans.size());
    if (added)
      resourceSpans.push_back({{"resource", encodeResource(span)},
                               {"scopeSpans", json::array({{{"scope", {{"name", kOtlpScopeName}}},
                                                            {"spans", json::array()}}})}});
    resourceSpans[it->second]["scopeSpans"][0]["spans"].push_back(encodeSpan(span));
  }
  json request = {{"resourceSpans", std::move(resourceSpans)}};
  return request.dump(-1, ' ', false, json::error_handler_t::replace);
}

}  // namespace weft::telemetry

// Spans as OTLP/HTTP JSON: the body of a POST to a collector's /v1/traces, an
// ExportTraceServiceRequest in opentelemetry-proto's JSON mapping. JSON and
// not protobuf, so that weft needs no protobuf runtime and a test collector
// needs no schema; every OpenTelemetry collector and Jaeger accept it.
#pragma once

#include <span>
#include <string>

#include "weft/telemetry/span.h"

namespace weft::telemetry {

inline constexpr std::string_view kOtlpScopeName = "weft";

// One resourceSpans entry per distinct (service, node), in the order each
// first appears; spans keep their order within it. Ids are lower-case hex
// (OTLP JSON's exception to proto3's base64), 64-bit integers decimal
// strings. Bytes that are not UTF-8 become U+FFFD.
[[nodiscard]] std::string encodeOtlpTraces(std::span<const Span> spans);

}  // namespace weft::telemetry

// One finished span as the proxy reports it: a plain value that a worker
// fills when a request's exchange ended and hands to the SpanExporter, which
// encodes it (OTLP) on its own thread, off the data path.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "weft/telemetry/trace_context.h"

namespace weft::telemetry {

// OTLP's numbering, so that encoding is a cast.
enum class SpanKind : std::uint8_t { kInternal = 1, kServer = 2, kClient = 3 };
enum class SpanStatus : std::uint8_t { kUnset = 0, kOk = 1, kError = 2 };

using AttributeValue = std::variant<std::string, std::int64_t>;

struct SpanAttribute {
  std::string key;
  AttributeValue value;
  bool operator==(const SpanAttribute&) const = default;
};

inline constexpr std::size_t kMaxSpanNameLength = 128;

struct Span {
  TraceId traceId{};
  SpanId spanId{};
  SpanId parentSpanId{};  // zero for a root span
  std::string name;
  SpanKind kind = SpanKind::kServer;
  std::uint64_t startUnixNano = 0;  // system clock
  std::uint64_t endUnixNano = 0;
  SpanStatus status = SpanStatus::kUnset;
  std::string statusMessage;
  std::vector<SpanAttribute> attributes;
  // The resource: who reports the span. The exporter groups spans by it.
  std::string service;  // service.name
  std::string node;     // k8s.node.name

  void attribute(std::string key, std::string value) { attributes.push_back({std::move(key), std::move(value)}); }
  void attribute(std::string key, std::string_view value) { attribute(std::move(key), std::string(value)); }
  void attribute(std::string key, const char* value) { attribute(std::move(key), std::string(value)); }
  void attribute(std::string key, std::int64_t value) { attributes.push_back({std::move(key), value}); }
  void attribute(std::string key, int value) { attribute(std::move(key), static_cast<std::int64_t>(value)); }
};

[[nodiscard]] inline std::uint64_t unixNanoNow() {
  return static_cast<std::uint64_t>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch())
          .count());
}

// "<method> <path>" without the query (which may carry secrets and makes
// every name unique), cut at kMaxSpanNameLength bytes.
[[nodiscard]] inline std::string spanName(std::string_view method, std::string_view path) {
  path = path.substr(0, path.find('?'));
  std::string name;
  name.reserve(std::min(kMaxSpanNameLength, method.size() + 1 + path.size()));
  name.append(method).append(" ").append(path);
  if (name.size() > kMaxSpanNameLength) name.resize(kMaxSpanNameLength);
  return name;
}

// A server span fails on a 5xx, on no response at all (status 0: reset,
// timeout, the connection went first) and on a gRPC status other than OK.
// 4xx is the client's error, not the server's (OpenTelemetry's HTTP
// conventions), so it leaves the status unset.
[[nodiscard]] inline std::pair<SpanStatus, std::string> spanStatus(int httpStatus,
                                                                   std::optional<int> grpcStatus = std::nullopt) {
  if (grpcStatus && *grpcStatus != 0) return {SpanStatus::kError, "grpc-status " + std::to_string(*grpcStatus)};
  if (httpStatus == 0) return {SpanStatus::kError, "no response"};
  if (httpStatus >= 500) return {SpanStatus::kError, "HTTP " + std::to_string(httpStatus)};
  return {SpanStatus::kUnset, {}};
}

}  // namespace weft::telemetry

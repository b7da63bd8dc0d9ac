// The span of one request at this hop: what the destination's L7 filter saw
// of it (method, path, status, verdict and policy, both workloads), as
// OpenTelemetry's HTTP server conventions name it, with weft's own fields.
#pragma once

#include <string_view>

#include "weft/http/request_observer.h"
#include "weft/telemetry/peer.h"
#include "weft/telemetry/span.h"

namespace weft::telemetry {

// The record must be traced (its span ids set by FlowTelemetry::onRequestHead)
// and finished (its end set). The span is reported by the destination
// workload's service, "<canonical service>.<namespace>" as Istio names it.
[[nodiscard]] Span requestSpan(const http::RequestRecord& record, const FlowEnds& ends, std::string_view node);

}  // namespace weft::telemetry

// The filter for a port whose protocol is not declared: it holds the first
// client bytes until they show an HTTP/2 preface, an HTTP/1.1 request line or
// something else (protocol_detection.h), then hands everything to the filter
// made for that protocol, or lets the bytes pass untouched (opaque TCP).
//
// The decision is bounded: detectProtocol looks at no more than a request
// line's worth of bytes, and a server that speaks first (SMTP, MySQL) or a
// client that ends before deciding makes the connection opaque at once, so
// no protocol waits on the detector. Nor does a client that sent a few
// ambiguous bytes and waits: after about a second of quiet (onQuiet) what it
// sent passes as opaque. The L4 authorization of an opaque
// connection is made at that moment: `admitOpaque` false resets both sides.
#pragma once

#include <functional>
#include <memory>

#include "weft/http/stream_filter.h"

namespace weft::http {

// A protocol whose factory is empty is treated as opaque.
struct DetectionChoices {
  std::function<std::unique_ptr<StreamFilter>()> http1;
  std::function<std::unique_ptr<StreamFilter>()> http2;
  std::function<bool()> admitOpaque;  // empty: admitted
};

[[nodiscard]] std::unique_ptr<StreamFilter> makeDetectingFilter(DetectionChoices choices);

}  // namespace weft::http

// What an L7 filter reports about each request it handled, for metrics and
// access logs. The filter fills one RequestRecord per request and hands it
// over once, when the request's exchange ended: its response completed, the
// filter answered it itself (400, 403, 431, 502, ...), a side reset it, or the
// connection ended first. The observer outlives the filter (the relay owns
// both and destroys the filter first), so a filter may report from its
// destructor what was still in flight.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "weft/http/stream_filter.h"

namespace weft::http {

struct RequestRecord {
  std::string_view protocol;  // "HTTP/1.1" or "HTTP/2"
  // From the request head; empty when it never parsed (a 400 for bad bytes).
  std::string method;
  std::string authority;
  std::string path;  // as forwarded (normalised when a policy checked it), without the query
  std::string userAgent;
  std::string requestId;    // x-request-id
  std::string traceparent;  // W3C trace context: as forwarded when tracing (this hop's span), else as received
  // This hop's span, when a tracing observer made one (onRequestHead): ids in
  // wire order; all zero when the request is not traced.
  std::array<std::uint8_t, 16> traceId{};
  std::array<std::uint8_t, 8> spanId{};
  std::array<std::uint8_t, 8> parentSpanId{};  // zero: this hop began the trace
  bool traceSampled = false;                   // the span is exported
  bool grpc = false;
  int status = 0;           // the final status sent to the client; 0: none was
  int grpcStatus = -1;      // grpc-status of the response (trailers or trailers-only); -1: none
  std::uint64_t requestBodyBytes = 0;
  std::uint64_t responseBodyBytes = 0;
  std::chrono::steady_clock::time_point start;  // the request head arrived
  std::chrono::steady_clock::time_point end;    // the exchange ended
  // Why the exchange did not end normally, Envoy's response-flag codes:
  // DPE downstream protocol error, UPE upstream protocol error, DC the client
  // ended or reset first, UC the upstream ended first, UR the upstream reset
  // the stream, RBAC denied by an AuthorizationPolicy, RL refused by a limit
  // (431, 414), NR no route (405 for CONNECT), UO the upstream refused new
  // streams (GOAWAY). Empty: none.
  std::string flags;
  std::string policy;  // the AuthorizationPolicy that decided, "namespace/name"; empty when none did
  bool denied = false;

  // Adds a flag once ("UC", "DC,UC" ...).
  void flag(std::string_view code) {
    if (flags.find(code) != std::string::npos) return;
    if (!flags.empty()) flags += ',';
    flags += code;
  }
};

class RequestObserver {
 public:
  virtual ~RequestObserver() = default;
  virtual void onRequest(RequestRecord& record) = 0;
  // A request head, after the authorizer and before anything of it goes on
  // (denied ones too). The observer may rewrite head.headers (tracing puts
  // its own trace context in place of the caller's) and says whether it did:
  // the filter then forwards head.headers instead of the fields as received.
  virtual bool onRequestHead(RequestRecord& record, RequestHead& head) {
    (void)record;
    (void)head;
    return false;
  }
};

// Fills the request's part of a record from the head the authorizer saw
// (after it ran: the path is the forwarded one, the policy the deciding one).
// Takes the head's strings: call it once the head is no longer needed (sent
// on, or answered), so that the record costs no copy of them.
void describeRequest(RequestRecord& record, RequestHead&& head, Verdict verdict);

}  // namespace weft::http

// The seam between the proxy's byte relays and L7 protocol handling.
//
// A StreamFilter sits between a downstream connection (the client side: the
// app's socket, or a tunnel stream arriving at the destination node) and an
// upstream connection (toward the server). It does no I/O: the relay hands it
// the bytes it received and sends what the filter puts in FilterOutput. That
// keeps every protocol codec testable in memory with real parsers, and lets
// the same codec run behind a plain TCP relay and behind a tunnel stream.
//
// Bodies are streamed: a filter emits bytes as they arrive and holds back at
// most one partial frame or header block, never a whole body.
#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace weft::http {

// What a filter asks the relay to do after one call. The relay sends
// toUpstream and toDownstream (in that order of arrival, each in sequence),
// then applies the flags.
struct FilterOutput {
  std::string toUpstream;
  std::string toDownstream;
  // Half-close the side after its pending bytes are sent (FIN).
  bool endUpstream = false;
  bool endDownstream = false;
  // Abort the side (RST): a protocol error where a clean end would mislead.
  bool resetUpstream = false;
  bool resetDownstream = false;
  // Stop reading downstream until the filter is called again with
  // onUpstreamData/onUpstreamEnd (a pipelined request waits for its
  // predecessor's response). The filter keeps what it was given.
  bool pauseDownstream = false;

  void clear() {
    toUpstream.clear();
    toDownstream.clear();
    endUpstream = endDownstream = resetUpstream = resetDownstream = pauseDownstream = false;
  }
};

class StreamFilter {
 public:
  virtual ~StreamFilter() = default;
  virtual void onDownstreamData(std::string_view bytes, FilterOutput& out) = 0;
  virtual void onUpstreamData(std::string_view bytes, FilterOutput& out) = 0;
  virtual void onDownstreamEnd(FilterOutput& out) = 0;  // client sent FIN
  virtual void onUpstreamEnd(FilterOutput& out) = 0;    // server sent FIN
  // No bytes either way for about a second (the worker's sweep): a filter
  // still deciding what the connection is decides now, so that no protocol
  // waits on it for long.
  virtual void onQuiet(FilterOutput& out) { (void)out; }
};

// One request as the authorizer sees it, after parsing and before anything of
// it is forwarded. Header names are lower case; values as received (trimmed).
// `path` is the target's path without the query; an authorizer may replace it
// with its normalised form, and the filter then forwards that form (so that
// what was checked is what the upstream sees).
struct RequestHead {
  std::string method;
  std::string authority;  // Host (HTTP/1.1) or :authority (HTTP/2)
  std::string path;
  std::string query;      // without '?', empty if none
  std::vector<std::pair<std::string, std::string>> headers;
  bool grpc = false;      // content-type application/grpc*
  std::string policy;     // set by the authorizer: the AuthorizationPolicy that decided, if one did
};

enum class Verdict { kAllow, kDeny };

// Called once per request head. Deny: HTTP answers 403 with a short body,
// gRPC answers grpc-status 7 (PERMISSION_DENIED); nothing goes upstream.
using Authorizer = std::function<Verdict(RequestHead&)>;

}  // namespace weft::http

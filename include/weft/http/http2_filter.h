// HTTP/2 (and gRPC) through the proxy: nghttp2 on both sides. The client's
// connection is served by a server session, the pod is reached by a client
// session (h2c with prior knowledge), and each client stream is relayed as
// one upstream stream: headers, data, trailers (grpc-status), RST_STREAM and
// GOAWAY, so that nothing reaches the pod that nghttp2's checks of RFC 9113
// refused (pseudo-headers, connection-specific fields, content-length
// against the data, header names and values).
//
// - Each request head goes to the authorizer before anything of it is
//   forwarded. A denial answers 403 with a short body, or for gRPC a
//   trailers-only response with grpc-status 7 (PERMISSION_DENIED); the
//   request's body is read and dropped. CONNECT gets 405 (a tunnel inside the
//   mesh would escape policy), a header block over the limits 431.
// - Flow control is end to end: a stream's window toward the client reopens
//   only for bytes handed on to the pod's stream (and back), so the filter
//   holds at most one connection window per direction.
// - RST_STREAM crosses with its error code. A GOAWAY from the pod, or its
//   connection ending, lets the streams in flight finish or fail (REFUSED_STREAM
//   for those the pod never took, so clients retry) and then ends the client's
//   connection with a GOAWAY; the client ending ends the pod's connection.
// - Limits against abuse: concurrent streams, header list size and count,
//   and nghttp2's rate limit on streams the client resets (CVE-2023-44487).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>

#include "weft/http/request_observer.h"
#include "weft/http/stream_filter.h"

namespace weft::http {

struct Http2Limits {
  std::uint32_t maxConcurrentStreams = 100;
  std::size_t maxHeaderListBytes = 64 * 1024;  // per block, counted as HPACK does (name + value + 32)
  std::size_t maxHeaders = 100;
  std::int32_t streamWindow = 256 * 1024;
  std::int32_t connectionWindow = 1024 * 1024;
};

// `observer` (may be null) hears of every request when its exchange ends.
[[nodiscard]] std::unique_ptr<StreamFilter> makeHttp2Filter(Authorizer authorizer, Http2Limits limits = {},
                                             RequestObserver* observer = nullptr);

}  // namespace weft::http

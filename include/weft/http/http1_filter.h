// HTTP/1.1 through the proxy: both directions parsed by llhttp in strict
// mode and forwarded re-serialised, so the upstream only ever sees messages
// whose framing one reading allows.
//
// - Rejected with 400 (then the connection closes, nothing of the request
//   forwarded): any llhttp error, Content-Length with Transfer-Encoding,
//   duplicate Content-Length (equal or not), obs-fold, a CR without LF in
//   the head and non-ASCII targets (the last three Debian's llhttp 8.1
//   accepts even in strict mode), invalid header names, more than one Host,
//   RTSP requests. 501 for a Transfer-Encoding other than exactly
//   "chunked", 431 beyond maxHeaderBytes or maxHeaders, 414 for a request
//   target over maxTargetBytes, 405 for CONNECT (the mesh carries tunnels
//   itself; a CONNECT through it would escape policy).
// - One request in flight: the next request's bytes are held (and the
//   client not read) until the response to the previous one has ended, so
//   the upstream never sees a request before the previous response ended and
//   responses cannot be desynchronised from requests (what Envoy does too).
//   An extra response the upstream sends unasked is held the same way.
// - Bodies stream: Content-Length bodies pass as they arrive, chunked bodies
//   are re-chunked as they arrive, trailers follow the last chunk.
// - Hop-by-hop headers (RFC 9110 7.6.1) are dropped: Connection and the
//   fields it names, Keep-Alive, Proxy-Connection, TE (except "trailers"),
//   Transfer-Encoding and Upgrade, re-added where this hop needs them.
// - Upgrade: forwarded; after a 101 the connection is opaque both ways.
//   Expect: 100-continue passes, and the server's 100 is forwarded.
// - The authorizer sees each request head; a denial answers 403 and closes.
//   A malformed response answers 502 when nothing of it was sent yet, else
//   the client's connection is reset.
#pragma once

#include <cstddef>
#include <memory>

#include "weft/http/request_observer.h"
#include "weft/http/stream_filter.h"

namespace weft::http {

struct Http1Limits {
  std::size_t maxHeaderBytes = 16 * 1024;  // request line and header section
  std::size_t maxHeaders = 100;
  std::size_t maxTargetBytes = 8 * 1024;
};

// `observer` (may be null) hears of every request when its exchange ends.
[[nodiscard]] std::unique_ptr<StreamFilter> makeHttp1Filter(Authorizer authorizer, Http1Limits limits = {},
                                             RequestObserver* observer = nullptr);

}  // namespace weft::http

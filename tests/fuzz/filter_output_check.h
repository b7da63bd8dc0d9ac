// What the L7 filter fuzz targets check after every filter call: nothing is
// sent toward a side the filter already ended or reset. Traps (a crash AFL
// reports) when a promise is broken.
#pragma once

#include <cstddef>
#include <string>

#include "weft/http/request_observer.h"
#include "weft/http/stream_filter.h"

namespace weft::fuzz {

inline void check(bool ok) {
  if (!ok) __builtin_trap();
}

struct FilterOutputCheck {
  bool upEnded = false, downEnded = false;
  std::size_t upBytes = 0, downBytes = 0;

  // Checks and clears `out`; `seeUpstream` gets the bytes for the upstream
  // while it is open (a parser standing in for the pod, or nothing).
  template <class SeeUpstream>
  void take(http::FilterOutput& out, SeeUpstream seeUpstream) {
    check(!upEnded || out.toUpstream.empty());
    check(!downEnded || out.toDownstream.empty());
    if (!upEnded) seeUpstream(out.toUpstream);
    upBytes += out.toUpstream.size();
    downBytes += out.toDownstream.size();
    upEnded = upEnded || out.endUpstream || out.resetUpstream;
    downEnded = downEnded || out.endDownstream || out.resetDownstream;
    out.clear();
  }
  void take(http::FilterOutput& out) {
    take(out, [](const std::string&) {});
  }
};

// What the filters report per request (metrics, access logs) must be sane:
// a status the client could have seen, time that runs forward, and under a
// deny-all authorizer no request that reached the authorizer reported as allowed.
struct RecordCheck final : http::RequestObserver {
  bool denyAll = false;
  std::size_t records = 0;
  void onRequest(http::RequestRecord& r) override {
    ++records;
    check(r.status == 0 || (r.status >= 100 && r.status <= 999));
    check(r.end >= r.start);
    check(r.grpcStatus >= -1);
    if (denyAll && !r.method.empty()) check(r.denied);
  }
};

}  // namespace weft::fuzz

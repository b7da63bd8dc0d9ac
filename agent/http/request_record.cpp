#include "weft/http/request_observer.h"

namespace weft::http {

void describeRequest(RequestRecord& record, const RequestHead& head, Verdict verdict) {
  record.method = head.method;
  record.authority = head.authority;
  record.path = head.path;
  record.grpc = head.grpc;
  record.policy = head.policy;
  record.denied = verdict == Verdict::kDeny;
  for (const auto& [name, value] : head.headers) {
    if (name == "user-agent") record.userAgent = value;
    else if (name == "x-request-id") record.requestId = value;
    else if (name == "traceparent") record.traceparent = value;
  }
}

}  // namespace weft::http

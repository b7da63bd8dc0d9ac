#include "weft/http/request_observer.h"

namespace weft::http {

void describeRequest(RequestRecord& record, RequestHead&& head, Verdict verdict) {
  record.method = std::move(head.method);
  record.authority = std::move(head.authority);
  record.path = std::move(head.path);
  record.grpc = head.grpc;
  record.policy = std::move(head.policy);
  record.denied = verdict == Verdict::kDeny;
  for (const auto& [name, value] : head.headers) {
    if (name == "user-agent") record.userAgent = value;
    else if (name == "x-request-id") record.requestId = value;
    else if (name == "traceparent") record.traceparent = value;
  }
}

}  // namespace weft::http

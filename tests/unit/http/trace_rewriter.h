// A request observer that rewrites the head as tracing does (its own
// traceparent in place of the caller's), for the filters' tests: what goes
// upstream must be the rewritten headers, for denied requests no header at all.
#pragma once

#include <algorithm>
#include <string>
#include <vector>

#include "weft/http/request_observer.h"

namespace weft::test {

struct TraceRewriter final : http::RequestObserver {
  static constexpr const char* kForwarded = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
  std::vector<http::RequestRecord> records;
  int heads = 0;
  void onRequest(http::RequestRecord& r) override { records.push_back(r); }
  bool onRequestHead(http::RequestRecord& record, http::RequestHead& head) override {
    ++heads;
    record.traceSampled = true;
    std::erase_if(head.headers, [](const auto& field) { return field.first == "traceparent"; });
    head.headers.emplace_back("traceparent", kForwarded);
    return true;
  }
};

}  // namespace weft::test

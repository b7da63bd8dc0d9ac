// Fuzz target: the HTTP/1.1 filter with hostile bytes from both sides. The
// input is the client's bytes, then (after a 0xFF 0xFE marker) the server's;
// the first byte sets the read size, so split reads are explored too. It
// checks the filter's promises, not just that it survives: nothing reaches a
// side after the filter ended or reset it, and an authorizer that denies
// every request lets no request head reach the upstream.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "filter_output_check.h"
#include "weft/http/http1_filter.h"

namespace {

void feed(weft::http::StreamFilter& filter, std::string_view client, std::string_view server, std::size_t step,
          bool denyAll) {
  weft::http::FilterOutput out;
  weft::fuzz::FilterOutputCheck sides;
  auto take = [&] { sides.take(out); };
  std::size_t c = 0, s = 0;
  while (c < client.size() || s < server.size()) {
    if (c < client.size()) {
      filter.onDownstreamData(client.substr(c, step), out);
      c += step;
      take();
    }
    if (s < server.size() && sides.upBytes > 0) {
      filter.onUpstreamData(server.substr(s, step), out);
      s += step;
      take();
    } else if (c >= client.size()) {
      break;
    }
  }
  filter.onDownstreamEnd(out);
  take();
  filter.onUpstreamEnd(out);
  take();
  if (denyAll) weft::fuzz::check(sides.upBytes == 0);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 2) return 0;
  std::size_t step = 1 + data[0] % 64;
  bool denyAll = (data[1] & 1) != 0;
  std::string_view input(reinterpret_cast<const char*>(data) + 2, size - 2);
  std::size_t marker = input.find("\xff\xfe");
  std::string_view client = input.substr(0, marker);
  std::string_view server = marker == std::string_view::npos ? std::string_view{} : input.substr(marker + 2);
  weft::http::Authorizer authorizer;
  if (denyAll) authorizer = [](weft::http::RequestHead&) { return weft::http::Verdict::kDeny; };
  else authorizer = [](weft::http::RequestHead& head) {
    head.path = "/rewritten";
    return weft::http::Verdict::kAllow;
  };
  weft::fuzz::RecordCheck records;
  records.denyAll = denyAll;
  auto filter = weft::http::makeHttp1Filter(authorizer, {.maxHeaderBytes = 1024, .maxHeaders = 16, .maxTargetBytes = 256},
                                            &records);
  feed(*filter, client, server, step, denyAll);
  filter.reset();  // reports what was still in flight
  return 0;
}

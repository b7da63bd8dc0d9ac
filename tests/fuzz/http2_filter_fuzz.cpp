// Fuzz target: the HTTP/2 filter with hostile frames from both sides. The
// input's first byte sets the read size (split reads), the second the
// authorizer (bit 0: deny everything) and whether the client's bytes start
// with a valid preface and the pod's with SETTINGS (bit 1: raw, so the
// preface check is fuzzed too). Then the client's bytes, 0xFF 0xFE, the
// pod's. Checked promises, not just survival: nothing reaches a side after
// the filter ended or reset it, and with everything denied the pod (a real
// nghttp2 server parsing what the filter sent) never sees a request.
#include <nghttp2/nghttp2.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "filter_output_check.h"
#include "weft/http/http2_filter.h"

namespace {

using weft::fuzz::check;

// Counts the request header blocks in what the filter sends the pod.
class PodView {
 public:
  PodView() {
    nghttp2_session_callbacks* cb = nullptr;
    nghttp2_session_callbacks_new(&cb);
    nghttp2_session_callbacks_set_on_begin_headers_callback(cb, [](nghttp2_session*, const nghttp2_frame* f, void* u) {
      if (f->hd.type == NGHTTP2_HEADERS && f->headers.cat == NGHTTP2_HCAT_REQUEST) ++static_cast<PodView*>(u)->requests;
      return 0;
    });
    nghttp2_session_server_new(&session_, cb, this);
    nghttp2_session_callbacks_del(cb);
  }
  ~PodView() { nghttp2_session_del(session_); }
  void see(std::string_view bytes) {
    if (!broken_ && nghttp2_session_mem_recv(session_, reinterpret_cast<const std::uint8_t*>(bytes.data()),
                                             bytes.size()) < 0)
      broken_ = true;  // the filter's own output must always parse
    check(!broken_);
  }
  int requests = 0;

 private:
  nghttp2_session* session_ = nullptr;
  bool broken_ = false;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 2) return 0;
  std::size_t step = 1 + data[0] % 128;
  bool denyAll = (data[1] & 1) != 0;
  bool raw = (data[1] & 2) != 0;
  std::string_view input(reinterpret_cast<const char*>(data) + 2, size - 2);
  std::size_t marker = input.find("\xff\xfe");
  std::string client(input.substr(0, marker));
  std::string server(marker == std::string_view::npos ? std::string_view{} : input.substr(marker + 2));
  if (!raw) {
    client.insert(0, NGHTTP2_CLIENT_MAGIC "\x00\x00\x00\x04\x00\x00\x00\x00\x00", NGHTTP2_CLIENT_MAGIC_LEN + 9);
    server.insert(0, std::string("\x00\x00\x00\x04\x00\x00\x00\x00\x00", 9));
  }
  weft::http::Authorizer authorizer;
  if (denyAll) authorizer = [](weft::http::RequestHead&) { return weft::http::Verdict::kDeny; };
  else authorizer = [](weft::http::RequestHead& head) {
    head.path = "/rewritten";
    return weft::http::Verdict::kAllow;
  };
  weft::fuzz::RecordCheck records;
  records.denyAll = denyAll;
  auto filter = weft::http::makeHttp2Filter(authorizer, {.maxConcurrentStreams = 16, .maxHeaderListBytes = 2048,
                                                         .maxHeaders = 16, .streamWindow = 65535,
                                                         .connectionWindow = 65535},
                                            &records);
  weft::http::FilterOutput out;
  weft::fuzz::FilterOutputCheck sides;
  PodView pod;
  auto take = [&] { sides.take(out, [&](const std::string& bytes) { pod.see(bytes); }); };
  std::size_t c = 0, s = 0;
  while (c < client.size() || s < server.size()) {
    if (c < client.size()) {
      filter->onDownstreamData(std::string_view(client).substr(c, step), out);
      c += step;
      take();
    }
    if (s < server.size()) {
      filter->onUpstreamData(std::string_view(server).substr(s, step), out);
      s += step;
      take();
    }
  }
  filter->onUpstreamEnd(out);
  take();
  filter->onDownstreamEnd(out);
  take();
  if (denyAll) check(pod.requests == 0);
  filter.reset();  // reports what was still in flight
  return 0;
}

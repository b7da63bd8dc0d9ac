// A real HTTP/2 endpoint for tests, in memory: an nghttp2 client or server
// session that records what arrives per stream and sends what the test asks,
// so a filter can be tested between two genuine peers without sockets.
#pragma once

#include <nghttp2/nghttp2.h>

#include <cstdint>
#include <cstring>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace weft::test {

using H2Fields = std::vector<std::pair<std::string, std::string>>;

struct H2Stream {
  H2Fields headers;    // the final head (request or response)
  H2Fields interim;    // 1xx heads, in order
  std::string body;
  H2Fields trailers;
  bool ended = false;  // END_STREAM arrived
  bool closed = false;
  std::uint32_t closeCode = 0;  // the code the stream closed with (a reset's, or 0)
  bool resetReceived = false;
  std::uint32_t resetCode = 0;

  [[nodiscard]] std::string header(std::string_view name) const {
    for (const auto& [n, v] : headers)
      if (n == name) return v;
    return {};
  }
  [[nodiscard]] std::string trailer(std::string_view name) const {
    for (const auto& [n, v] : trailers)
      if (n == name) return v;
    return {};
  }
};

class H2Peer {
 public:
  enum class Role { kClient, kServer };

  explicit H2Peer(Role role, std::uint32_t maxConcurrentStreams = 100) : role_(role) {
    nghttp2_session_callbacks* cb = nullptr;
    nghttp2_session_callbacks_new(&cb);
    nghttp2_session_callbacks_set_on_begin_headers_callback(cb, [](nghttp2_session*, const nghttp2_frame* f, void* u) {
      auto& self = *static_cast<H2Peer*>(u);
      if (f->hd.type == NGHTTP2_HEADERS && f->headers.cat == NGHTTP2_HCAT_REQUEST) self.arrived.push_back(f->hd.stream_id);
      self.block_.clear();
      return 0;
    });
    nghttp2_session_callbacks_set_on_header_callback(
        cb, [](nghttp2_session*, const nghttp2_frame*, const std::uint8_t* n, std::size_t nl, const std::uint8_t* v,
               std::size_t vl, std::uint8_t, void* u) {
          static_cast<H2Peer*>(u)->block_.emplace_back(std::string(reinterpret_cast<const char*>(n), nl),
                                                       std::string(reinterpret_cast<const char*>(v), vl));
          return 0;
        });
    nghttp2_session_callbacks_set_on_frame_recv_callback(cb, [](nghttp2_session*, const nghttp2_frame* f, void* u) {
      auto& self = *static_cast<H2Peer*>(u);
      if (f->hd.type == NGHTTP2_GOAWAY) {
        self.goawayReceived = true;
        self.goawayLastStreamId = f->goaway.last_stream_id;
        self.goawayCode = f->goaway.error_code;
        return 0;
      }
      if (f->hd.type == NGHTTP2_RST_STREAM) {
        self.streams[f->hd.stream_id].resetReceived = true;
        self.streams[f->hd.stream_id].resetCode = f->rst_stream.error_code;
        return 0;
      }
      H2Stream& s = self.streams[f->hd.stream_id];
      if (f->hd.type == NGHTTP2_HEADERS) {
        bool interim = false;
        for (const auto& [n, v] : self.block_)
          if (n == ":status" && v.size() == 3 && v[0] == '1') interim = true;
        if (interim) s.interim.insert(s.interim.end(), self.block_.begin(), self.block_.end());
        else if (s.headers.empty()) s.headers = self.block_;
        else s.trailers = self.block_;
      }
      if ((f->hd.type == NGHTTP2_HEADERS || f->hd.type == NGHTTP2_DATA) && (f->hd.flags & NGHTTP2_FLAG_END_STREAM))
        s.ended = true;
      return 0;
    });
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(
        cb, [](nghttp2_session*, std::uint8_t, std::int32_t id, const std::uint8_t* d, std::size_t n, void* u) {
          static_cast<H2Peer*>(u)->streams[id].body.append(reinterpret_cast<const char*>(d), n);
          return 0;
        });
    nghttp2_session_callbacks_set_on_stream_close_callback(cb, [](nghttp2_session*, std::int32_t id, std::uint32_t code,
                                                                  void* u) {
      auto& s = static_cast<H2Peer*>(u)->streams[id];
      s.closed = true;
      s.closeCode = code;
      return 0;
    });
    if (role == Role::kClient) nghttp2_session_client_new(&session_, cb, this);
    else nghttp2_session_server_new(&session_, cb, this);
    nghttp2_session_callbacks_del(cb);
    nghttp2_settings_entry settings[] = {{NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, maxConcurrentStreams}};
    nghttp2_submit_settings(session_, NGHTTP2_FLAG_NONE, settings, 1);
  }
  ~H2Peer() { nghttp2_session_del(session_); }
  H2Peer(const H2Peer&) = delete;
  H2Peer& operator=(const H2Peer&) = delete;

  // Client: a request; `end` false leaves the body open (sendMore).
  std::int32_t request(const H2Fields& headers, std::string body = {}, H2Fields trailers = {}, bool end = true) {
    auto nv = nvs(headers);
    bool headersOnly = body.empty() && trailers.empty() && end;
    std::int32_t id = nghttp2_submit_request(session_, nullptr, nv.data(), nv.size(), headersOnly ? nullptr : &provider_,
                                             nullptr);
    if (id > 0 && !headersOnly) outgoing_[id] = {std::move(body), 0, std::move(trailers), end};
    return id;
  }
  // Server: the response to stream `id`.
  void respond(std::int32_t id, const H2Fields& headers, std::string body = {}, H2Fields trailers = {}, bool end = true) {
    auto nv = nvs(headers);
    bool headersOnly = body.empty() && trailers.empty() && end;
    if (!headersOnly) outgoing_[id] = {std::move(body), 0, std::move(trailers), end};
    nghttp2_submit_response(session_, id, nv.data(), nv.size(), headersOnly ? nullptr : &provider_);
  }
  void interim(std::int32_t id, const H2Fields& headers) {
    auto nv = nvs(headers);
    nghttp2_submit_headers(session_, NGHTTP2_FLAG_NONE, id, nullptr, nv.data(), nv.size(), nullptr);
  }
  // More body for a stream whose end was left open.
  void sendMore(std::int32_t id, std::string_view bytes, bool end) {
    auto& o = outgoing_[id];
    o.body.append(bytes);
    o.end = end;
    nghttp2_session_resume_data(session_, id);
  }
  void reset(std::int32_t id, std::uint32_t code) { nghttp2_submit_rst_stream(session_, NGHTTP2_FLAG_NONE, id, code); }
  void goaway(std::uint32_t code = NGHTTP2_NO_ERROR) {
    nghttp2_submit_goaway(session_, NGHTTP2_FLAG_NONE, nghttp2_session_get_last_proc_stream_id(session_), code, nullptr, 0);
  }

  std::string send() {
    std::string out;
    const std::uint8_t* data = nullptr;
    ssize_t n;
    while ((n = nghttp2_session_mem_send(session_, &data)) > 0) out.append(reinterpret_cast<const char*>(data), n);
    return out;
  }
  // < 0: nghttp2's error (the peer broke the protocol).
  ssize_t receive(std::string_view bytes) {
    ssize_t n = nghttp2_session_mem_recv(session_, reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size());
    if (n < 0) lastError = n;
    return n;
  }

  std::map<std::int32_t, H2Stream> streams;
  std::vector<std::int32_t> arrived;  // server: request streams in the order they began
  bool goawayReceived = false;
  std::int32_t goawayLastStreamId = -1;
  std::uint32_t goawayCode = 0;
  ssize_t lastError = 0;

 private:
  struct Outgoing {
    std::string body;
    std::size_t at = 0;
    H2Fields trailers;
    bool end = true;
  };

  static std::vector<nghttp2_nv> nvs(const H2Fields& fields) {
    std::vector<nghttp2_nv> out;
    for (const auto& [n, v] : fields)
      out.push_back({reinterpret_cast<std::uint8_t*>(const_cast<char*>(n.data())),
                     reinterpret_cast<std::uint8_t*>(const_cast<char*>(v.data())), n.size(), v.size(),
                     NGHTTP2_NV_FLAG_NONE});
    return out;
  }

  static ssize_t read(nghttp2_session* session, std::int32_t id, std::uint8_t* buf, std::size_t length,
                      std::uint32_t* flags, nghttp2_data_source*, void* u) {
    auto& self = *static_cast<H2Peer*>(u);
    auto& o = self.outgoing_[id];
    std::size_t n = std::min(length, o.body.size() - o.at);
    std::memcpy(buf, o.body.data() + o.at, n);
    o.at += n;
    if (o.at < o.body.size()) return static_cast<ssize_t>(n);
    if (!o.end) return n > 0 ? static_cast<ssize_t>(n) : ssize_t{NGHTTP2_ERR_DEFERRED};
    *flags |= NGHTTP2_DATA_FLAG_EOF;
    if (!o.trailers.empty()) {
      *flags |= NGHTTP2_DATA_FLAG_NO_END_STREAM;
      auto nv = nvs(o.trailers);
      nghttp2_submit_trailer(session, id, nv.data(), nv.size());
    }
    return static_cast<ssize_t>(n);
  }

  Role role_;
  nghttp2_session* session_ = nullptr;
  H2Fields block_;
  std::map<std::int32_t, Outgoing> outgoing_;
  nghttp2_data_provider provider_{{.ptr = nullptr}, &H2Peer::read};
};

}  // namespace weft::test

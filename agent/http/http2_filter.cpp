#include "weft/http/http2_filter.h"

#include <nghttp2/nghttp2.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <optional>
#include <cstring>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

namespace weft::http {
namespace {

using Fields = std::vector<std::pair<std::string, std::string>>;

// nghttp2's defaults since 1.57 for the rate of streams a client may reset
// (Debian's 1.52 has the option, backported, but leaves it off).
constexpr std::uint64_t kResetBurst = 1000;
constexpr std::uint64_t kResetRatePerSecond = 33;

// A header block as it arrives, with what the limits count.
struct Block {
  Fields fields;
  std::size_t bytes = 0;
  bool overLimit = false;
  void clear() {
    fields.clear();
    bytes = 0;
    overLimit = false;
  }
};

struct Stream {
  std::int32_t downId = 0;
  std::int32_t upId = -1;  // the pod's stream, once the request was forwarded
  Block request, response;
  // client -> pod
  std::string toUp;
  std::size_t toUpAt = 0;
  bool downEnded = false;  // the client's END_STREAM arrived
  Fields upTrailers;
  bool dropRequestBody = false;  // answered here: the rest of the request is read and dropped
  // pod -> client
  std::string toDown;
  std::size_t toDownAt = 0;
  bool upEnded = false;  // the pod's END_STREAM arrived (or a local response is complete)
  Fields downTrailers;
  bool finalResponse = false;  // a final (non-1xx) response head went to the client
  bool local = false;          // the response is the filter's own
  bool closedDown = false, closedUp = false;
  std::optional<RequestRecord> record;  // when the filter has an observer
};

// Name-value pairs for nghttp2, pointing at strings that outlive the submit
// call (nghttp2 copies them).
struct NvList {
  std::vector<nghttp2_nv> nva;
  void add(std::string_view name, std::string_view value) {
    nva.push_back({reinterpret_cast<std::uint8_t*>(const_cast<char*>(name.data())),
                   reinterpret_cast<std::uint8_t*>(const_cast<char*>(value.data())), name.size(), value.size(),
                   NGHTTP2_NV_FLAG_NONE});
  }
  void addAll(const Fields& fields) {
    for (const auto& [name, value] : fields) add(name, value);
  }
};

const std::string* find(const Fields& fields, std::string_view name) {
  for (const auto& [n, v] : fields)
    if (n == name) return &v;
  return nullptr;
}

class Http2Filter final : public StreamFilter {
 public:
  Http2Filter(Authorizer authorizer, Http2Limits limits, RequestObserver* observer)
      : authorizer_(std::move(authorizer)), limits_(limits), observer_(observer) {
    nghttp2_option* option = nullptr;
    if (nghttp2_option_new(&option) != 0) return;
    // Windows reopen only when the other side took the bytes (consume()).
    nghttp2_option_set_no_auto_window_update(option, 1);
    nghttp2_session_callbacks* callbacks = nullptr;
    if (nghttp2_session_callbacks_new(&callbacks) == 0) {
      setCallbacks<kDown>(callbacks);
      nghttp2_option_set_stream_reset_rate_limit(option, kResetBurst, kResetRatePerSecond);
      if (nghttp2_session_server_new2(&down_, callbacks, this, option) != 0) down_ = nullptr;
      nghttp2_option_set_stream_reset_rate_limit(option, UINT64_MAX, UINT64_MAX);
      setCallbacks<kUp>(callbacks);
      if (nghttp2_session_client_new2(&up_, callbacks, this, option) != 0) up_ = nullptr;
      nghttp2_session_callbacks_del(callbacks);
    }
    nghttp2_option_del(option);
    if (!down_ || !up_) return;
    auto window = static_cast<std::uint32_t>(limits_.streamWindow);
    auto headerList = static_cast<std::uint32_t>(limits_.maxHeaderListBytes);
    // No RFC 7540 priority tree (RFC 9218): nghttp2 then keeps no closed
    // streams and schedules no tree; the proxy relays streams as they come.
    // Measured through weft with h2load -c32: 5-6k -> 8-11k requests/s.
    nghttp2_settings_entry downSettings[] = {{NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, limits_.maxConcurrentStreams},
                                             {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, window},
                                             {NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE, headerList},
                                             {NGHTTP2_SETTINGS_NO_RFC7540_PRIORITIES, 1}};
    nghttp2_settings_entry upSettings[] = {{NGHTTP2_SETTINGS_ENABLE_PUSH, 0},
                                           {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, window},
                                           {NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE, headerList},
                                           {NGHTTP2_SETTINGS_NO_RFC7540_PRIORITIES, 1}};
    nghttp2_submit_settings(down_, NGHTTP2_FLAG_NONE, downSettings, std::size(downSettings));
    nghttp2_submit_settings(up_, NGHTTP2_FLAG_NONE, upSettings, std::size(upSettings));
    nghttp2_session_set_local_window_size(down_, NGHTTP2_FLAG_NONE, 0, limits_.connectionWindow);
    nghttp2_session_set_local_window_size(up_, NGHTTP2_FLAG_NONE, 0, limits_.connectionWindow);
  }

  ~Http2Filter() override {
    // Streams still open when the connection goes were cut short.
    for (auto& [id, stream] : streams_) report(*stream, upGone_ ? "UC" : "DC");
    if (down_) nghttp2_session_del(down_);
    if (up_) nghttp2_session_del(up_);
  }

  Http2Filter(const Http2Filter&) = delete;
  Http2Filter& operator=(const Http2Filter&) = delete;

  void onDownstreamData(std::string_view bytes, FilterOutput& out) override {
    out_ = &out;
    if (finished_) return;
    if (!down_ || !up_) {
      out.resetDownstream = out.resetUpstream = true;
      finished_ = true;
      return;
    }
    if (nghttp2_session_mem_recv(down_, reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size()) < 0) {
      // A connection error of the client (bad preface, a frame the protocol
      // forbids): nghttp2 queued its GOAWAY where the protocol has one.
      nghttp2_session_terminate_session(down_, NGHTTP2_PROTOCOL_ERROR);
      if (!upGone_) nghttp2_session_terminate_session(up_, NGHTTP2_NO_ERROR);
      pump();
      endBoth();
      return;
    }
    pump();
  }

  void onUpstreamData(std::string_view bytes, FilterOutput& out) override {
    out_ = &out;
    if (finished_ || upGone_) return;
    if (nghttp2_session_mem_recv(up_, reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size()) < 0) {
      // The pod broke the protocol: tell it, then fail what it had in flight.
      nghttp2_session_terminate_session(up_, NGHTTP2_PROTOCOL_ERROR);
      drain(up_, out_->toUpstream);
      out_->endUpstream = true;
      upstreamLost();
    }
    pump();
  }

  // The client will send nothing more: its streams cannot complete, and the
  // pod's connection ends with a GOAWAY.
  void onDownstreamEnd(FilterOutput& out) override {
    out_ = &out;
    if (finished_) return;
    if (!upGone_ && up_) nghttp2_session_terminate_session(up_, NGHTTP2_NO_ERROR);
    pump();
    endBoth();
  }

  void onUpstreamEnd(FilterOutput& out) override {
    out_ = &out;
    if (finished_ || upGone_) return;
    upstreamLost();
    pump();
  }

 private:
  enum Side { kDown, kUp };

  // --- sessions -------------------------------------------------------------------

  template <Side side>
  static void setCallbacks(nghttp2_session_callbacks* callbacks) {
    nghttp2_session_callbacks_set_on_begin_headers_callback(callbacks, [](nghttp2_session*, const nghttp2_frame* frame,
                                                                          void* user) {
      return self(user).onBeginHeaders(side, frame);
    });
    nghttp2_session_callbacks_set_on_header_callback(
        callbacks, [](nghttp2_session*, const nghttp2_frame* frame, const std::uint8_t* name, std::size_t nameLength,
                      const std::uint8_t* value, std::size_t valueLength, std::uint8_t, void* user) {
          return self(user).onHeader(side, frame, {reinterpret_cast<const char*>(name), nameLength},
                                     {reinterpret_cast<const char*>(value), valueLength});
        });
    // A field nghttp2 finds invalid (RFC 9113 8.2.1) makes the message
    // malformed: a stream error, never a field silently dropped (its default).
    nghttp2_session_callbacks_set_on_invalid_header_callback(
        callbacks, [](nghttp2_session* session, const nghttp2_frame* frame, const std::uint8_t*, std::size_t,
                      const std::uint8_t*, std::size_t, std::uint8_t, void*) {
          nghttp2_submit_rst_stream(session, NGHTTP2_FLAG_NONE, frame->hd.stream_id, NGHTTP2_PROTOCOL_ERROR);
          return int{NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE};
        });
    nghttp2_session_callbacks_set_on_frame_recv_callback(callbacks, [](nghttp2_session*, const nghttp2_frame* frame,
                                                                       void* user) {
      return side == kDown ? self(user).onClientFrame(frame) : self(user).onPodFrame(frame);
    });
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(
        callbacks, [](nghttp2_session*, std::uint8_t, std::int32_t id, const std::uint8_t* data, std::size_t length,
                      void* user) {
          return self(user).onDataChunk(side, id, {reinterpret_cast<const char*>(data), length});
        });
    nghttp2_session_callbacks_set_on_stream_close_callback(callbacks, [](nghttp2_session*, std::int32_t id,
                                                                         std::uint32_t error, void* user) {
      return side == kDown ? self(user).onClientStreamClosed(id, error) : self(user).onPodStreamClosed(id, error);
    });
  }

  static Http2Filter& self(void* user) { return *static_cast<Http2Filter*>(user); }

  // nghttp2's callbacks for one message come one after another for one
  // stream (a header block is a callback per field): the last stream found
  // on each side answers them without a hash lookup.
  struct LastFound {
    std::int32_t id = 0;  // 0: none (stream 0 is the connection's)
    Stream* stream = nullptr;
  };
  Stream* byDown(std::int32_t id) {
    if (id != 0 && lastDown_.id == id) return lastDown_.stream;
    auto it = streams_.find(id);
    Stream* s = it == streams_.end() ? nullptr : it->second.get();
    if (s) lastDown_ = {id, s};
    return s;
  }
  Stream* byUp(std::int32_t id) {
    if (id != 0 && lastUp_.id == id) return lastUp_.stream;
    auto it = upToDown_.find(id);
    Stream* s = it == upToDown_.end() ? nullptr : byDown(it->second);
    if (s) lastUp_ = {id, s};
    return s;
  }
  Stream* bySide(Side side, std::int32_t id) { return side == kDown ? byDown(id) : byUp(id); }
  void forgetUp(std::int32_t upId) {
    upToDown_.erase(upId);
    if (lastUp_.id == upId) lastUp_ = {};
  }

  // Sends what both sessions have queued, until neither has more: taking
  // data into one session's frames reopens windows in the other.
  void pump() {
    for (bool progress = true; progress && !finished_;) {
      progress = false;
      if (!upGone_) progress |= drain(up_, out_->toUpstream);
      progress |= drain(down_, out_->toDownstream);
    }
    maybeFinish();
  }

  bool drain(nghttp2_session* session, std::string& to) {
    bool any = false;
    const std::uint8_t* data = nullptr;
    ssize_t n;
    while ((n = nghttp2_session_mem_send(session, &data)) > 0) {
      to.append(reinterpret_cast<const char*>(data), static_cast<std::size_t>(n));
      any = true;
    }
    if (n < 0) {  // out of memory, or a callback failed beyond a stream
      out_->resetDownstream = out_->resetUpstream = true;
      finished_ = true;
    }
    return any;
  }

  // A session is done once it has neither streams nor anything to send after
  // a GOAWAY. The pod's being done (its GOAWAY, its connection gone) ends the
  // client's with a GOAWAY; the client's being done ends the pod's.
  void maybeFinish() {
    if (finished_) return;
    auto done = [](nghttp2_session* s) { return !nghttp2_session_want_read(s) && !nghttp2_session_want_write(s); };
    if (upGone_ || done(up_)) {
      goawayClient();
      drain(down_, out_->toDownstream);
    }
    if (!done(down_)) return;
    if (!upGone_) {
      nghttp2_session_terminate_session(up_, NGHTTP2_NO_ERROR);
      drain(up_, out_->toUpstream);
    }
    endBoth();
  }

  // Submitted only: the caller sends it (pump, maybeFinish).
  void goawayClient() {
    if (goawaySent_) return;
    goawaySent_ = true;
    nghttp2_submit_goaway(down_, NGHTTP2_FLAG_NONE, nghttp2_session_get_last_proc_stream_id(down_), NGHTTP2_NO_ERROR,
                          nullptr, 0);
  }

  // FIN both ways once what is queued went out (the pod's side too when it
  // ended first: the relay closes once both directions are shut).
  void endBoth() {
    out_->endDownstream = out_->endUpstream = true;
    finished_ = true;
  }

  // The pod's connection is gone: streams it had not answered in full fail,
  // answered ones still drain to the client.
  void upstreamLost() {
    upGone_ = true;
    for (auto& [id, stream] : streams_) {
      stream->closedUp = true;
      if (stream->record && !stream->upEnded) stream->record->flag("UC");
      if (!stream->upEnded && !stream->closedDown)
        nghttp2_submit_rst_stream(down_, NGHTTP2_FLAG_NONE, id, NGHTTP2_INTERNAL_ERROR);
    }
    upToDown_.clear();
    lastUp_ = {};
    goawayClient();
  }

  // --- header blocks --------------------------------------------------------------------

  int onBeginHeaders(Side side, const nghttp2_frame* frame) {
    if (frame->hd.type != NGHTTP2_HEADERS) return 0;
    std::int32_t id = frame->hd.stream_id;
    if (side == kDown && frame->headers.cat == NGHTTP2_HCAT_REQUEST) {
      auto stream = std::make_unique<Stream>();
      stream->downId = id;
      if (observer_) {
        stream->record.emplace();
        stream->record->protocol = "HTTP/2";
        stream->record->start = std::chrono::steady_clock::now();
      }
      lastDown_ = lastUp_ = {};  // nghttp2 refuses a reused id; should one come, no cached pointer outlives it
      streams_[id] = std::move(stream);
    }
    if (Stream* s = bySide(side, id)) (side == kDown ? s->request : s->response).clear();
    return 0;
  }

  int onHeader(Side side, const nghttp2_frame* frame, std::string_view name, std::string_view value) {
    Stream* s = bySide(side, frame->hd.stream_id);
    if (!s) return 0;
    Block& block = side == kDown ? s->request : s->response;
    block.bytes += name.size() + value.size() + 32;
    if (block.bytes > limits_.maxHeaderListBytes || block.fields.size() >= limits_.maxHeaders) block.overLimit = true;
    if (!block.overLimit) block.fields.emplace_back(name, value);
    return 0;
  }

  // --- the client's side ------------------------------------------------------------------

  int onClientFrame(const nghttp2_frame* frame) {
    Stream* s = byDown(frame->hd.stream_id);
    if (!s) return 0;
    bool end = (frame->hd.flags & NGHTTP2_FLAG_END_STREAM) != 0;
    if (frame->hd.type == NGHTTP2_HEADERS) {
      if (frame->headers.cat == NGHTTP2_HCAT_REQUEST) {
        s->downEnded = end;
        onRequest(*s);
        return 0;
      }
      s->upTrailers = std::move(s->request.fields);  // trailers: nghttp2 ensured END_STREAM
    }
    if ((frame->hd.type == NGHTTP2_HEADERS || frame->hd.type == NGHTTP2_DATA) && end) {
      s->downEnded = true;
      if (s->upId > 0 && !s->closedUp) nghttp2_session_resume_data(up_, s->upId);
    }
    return 0;
  }

  void onRequest(Stream& s) {
    if (s.request.overLimit) return localResponse(s, 431, "request header section too large", false);
    // The block's fields move into the head the authorizer sees, and the
    // request to the pod is made from that head: one copy of the headers.
    RequestHead head;
    std::string scheme, target;
    bool hasAuthority = false;
    for (auto& [name, value] : s.request.fields) {
      if (name == ":method") head.method = std::move(value);
      else if (name == ":scheme") scheme = std::move(value);
      else if (name == ":authority") head.authority = std::move(value), hasAuthority = true;
      else if (name == ":path") target = std::move(value);
      else if (!name.starts_with(':')) head.headers.emplace_back(std::move(name), std::move(value));
    }
    s.request.clear();
    if (!hasAuthority)
      if (const std::string* host = find(head.headers, "host")) head.authority = *host;
    const std::string* contentType = find(head.headers, "content-type");
    head.grpc = contentType && contentType->starts_with("application/grpc");
    // CONNECT would open a tunnel inside the mesh's tunnel, out of policy's sight.
    if (head.method == "CONNECT") return localResponse(s, 405, "CONNECT is not proxied", false);
    std::size_t q = target.find('?');
    head.path = target.substr(0, q);
    if (q != std::string::npos) head.query = target.substr(q + 1);
    const std::string checked = head.path;
    Verdict verdict = authorizer_ ? authorizer_(head) : Verdict::kAllow;
    if (s.record) observer_->onRequestHead(*s.record, head);  // forwarded below from head.headers either way
    if (verdict == Verdict::kDeny || upGone_ || podGoaway_) {
      const bool grpc = head.grpc;
      if (s.record) describeRequest(*s.record, std::move(head), verdict);
      return verdict == Verdict::kDeny ? localResponse(s, 403, "denied by authorization policy", grpc) : refuse(s);
    }
    // What was checked is what the pod sees: the authorizer's normalised path.
    if (head.path != checked) target = head.path + (head.query.empty() ? "" : "?" + head.query);
    NvList nv;  // pseudo-header fields first (RFC 9113 8.3)
    nv.add(":method", head.method);
    nv.add(":scheme", scheme);
    if (hasAuthority) nv.add(":authority", head.authority);
    nv.add(":path", target);
    nv.addAll(head.headers);
    nghttp2_data_provider body{};
    body.read_callback = [](nghttp2_session*, std::int32_t id, std::uint8_t* buffer, std::size_t length,
                            std::uint32_t* flags, nghttp2_data_source*, void* user) {
      return self(user).readBody(kUp, id, buffer, length, flags);
    };
    std::int32_t upId = nghttp2_submit_request(up_, nullptr, nv.nva.data(), nv.nva.size(), s.downEnded ? nullptr : &body,
                                               nullptr);
    // nghttp2 copied the fields: the record takes the head's strings.
    if (s.record) describeRequest(*s.record, std::move(head), verdict);
    if (upId < 0) return refuse(s);  // stream ids of the pod's connection ran out
    s.upId = upId;
    upToDown_[upId] = s.downId;
  }

  void refuse(Stream& s) {
    if (s.record) s.record->flag("UO");
    s.closedUp = true;
    s.dropRequestBody = true;
    nghttp2_submit_rst_stream(down_, NGHTTP2_FLAG_NONE, s.downId, NGHTTP2_REFUSED_STREAM);
  }

  // The filter's own answer: a short text/plain body, or for a denied gRPC
  // call a trailers-only response with grpc-status 7 (PERMISSION_DENIED).
  void localResponse(Stream& s, int status, std::string_view text, bool grpcDenied) {
    if (s.record) {
      s.record->status = grpcDenied ? 200 : status;
      if (grpcDenied) s.record->grpcStatus = 7;
      s.record->flag(status == 403 ? "RBAC" : status == 405 ? "NR" : status == 431 ? "RL" : "UPE");
    }
    s.local = true;
    s.closedUp = true;
    s.dropRequestBody = true;
    s.upEnded = true;
    s.finalResponse = true;
    NvList nv;
    if (grpcDenied) {
      nv.add(":status", "200");
      nv.add("content-type", "application/grpc");
      nv.add("grpc-status", "7");
      nv.add("grpc-message", text);
      nghttp2_submit_response(down_, s.downId, nv.nva.data(), nv.nva.size(), nullptr);
      return;
    }
    s.toDown = std::string(text) + "\n";
    const std::string statusText = std::to_string(status), length = std::to_string(s.toDown.size());
    nv.add(":status", statusText);
    nv.add("content-type", "text/plain");
    nv.add("content-length", length);
    submitResponse(s, nv, false);
  }

  int onClientStreamClosed(std::int32_t id, std::uint32_t error) {
    Stream* s = byDown(id);
    if (!s) return 0;
    s->closedDown = true;
    // The pod's bytes the client will never read: give the pod its window back.
    if (!s->local && s->upId > 0 && !upGone_) nghttp2_session_consume(up_, s->upId, s->toDown.size() - s->toDownAt);
    s->toDown.clear();
    s->toDownAt = 0;
    bool resetPod = !s->closedUp && s->upId > 0 && !upGone_ && (error != NGHTTP2_NO_ERROR || !s->upEnded);
    if (resetPod)
      nghttp2_submit_rst_stream(up_, NGHTTP2_FLAG_NONE, s->upId, error == NGHTTP2_NO_ERROR ? std::uint32_t{NGHTTP2_CANCEL} : error);
    if (resetPod || s->closedUp) {
      // Request bytes that will never go: the connection window reopens.
      nghttp2_session_consume(down_, id, s->toUp.size() - s->toUpAt);
      s->toUp.clear();
      s->toUpAt = 0;
      s->dropRequestBody = true;
    }
    // A reset of the client's stream is the client's doing unless the pod's
    // reset (UR) or end (UC) already explains it: then it is ours, passed on.
    if (s->record && error != NGHTTP2_NO_ERROR && s->record->flags.empty()) s->record->flag("DC");
    if (s->closedUp) finish(id);
    return 0;
  }

  // --- the pod's side ---------------------------------------------------------------------

  int onPodFrame(const nghttp2_frame* frame) {
    if (frame->hd.type == NGHTTP2_GOAWAY) {
      // Streams above its last one are refused (onPodStreamClosed), the
      // others finish; new requests are refused and the client told.
      podGoaway_ = true;
      goawayClient();
      return 0;
    }
    Stream* s = byUp(frame->hd.stream_id);
    if (!s || s->closedDown) return 0;
    bool end = (frame->hd.flags & NGHTTP2_FLAG_END_STREAM) != 0;
    if (frame->hd.type == NGHTTP2_HEADERS) {
      if (!s->finalResponse) return onResponseHead(*s, end);
      s->downTrailers = std::move(s->response.fields);
      noteGrpcStatus(*s, s->downTrailers);
    }
    if ((frame->hd.type == NGHTTP2_HEADERS || frame->hd.type == NGHTTP2_DATA) && end) {
      s->upEnded = true;
      nghttp2_session_resume_data(down_, s->downId);
    }
    return 0;
  }

  int onResponseHead(Stream& s, bool end) {
    if (s.response.overLimit) {
      nghttp2_submit_rst_stream(up_, NGHTTP2_FLAG_NONE, s.upId, NGHTTP2_CANCEL);
      localResponse(s, 502, "response header section too large", false);
      return 0;
    }
    NvList nv;
    nv.addAll(s.response.fields);
    const std::string* status = find(s.response.fields, ":status");
    if (status && status->size() == 3 && (*status)[0] == '1') {
      // Interim (100 Continue, 103): passed on, the final response follows.
      nghttp2_submit_headers(down_, NGHTTP2_FLAG_NONE, s.downId, nullptr, nv.nva.data(), nv.nva.size(), nullptr);
      return 0;
    }
    s.finalResponse = true;
    s.upEnded = end;
    if (s.record) {
      s.record->status = status ? std::atoi(status->c_str()) : 0;
      noteGrpcStatus(s, s.response.fields);  // a trailers-only response
    }
    submitResponse(s, nv, end);
    s.response.clear();
    return 0;
  }

  void submitResponse(Stream& s, NvList& nv, bool headersOnly) {
    nghttp2_data_provider body{};
    body.read_callback = [](nghttp2_session*, std::int32_t id, std::uint8_t* buffer, std::size_t length,
                            std::uint32_t* flags, nghttp2_data_source*, void* user) {
      return self(user).readBody(kDown, id, buffer, length, flags);
    };
    nghttp2_submit_response(down_, s.downId, nv.nva.data(), nv.nva.size(), headersOnly ? nullptr : &body);
  }

  int onPodStreamClosed(std::int32_t upId, std::uint32_t error) {
    Stream* s = byUp(upId);
    forgetUp(upId);
    if (!s) return 0;
    s->closedUp = true;
    if (s->record && !s->upEnded) s->record->flag(error == NGHTTP2_REFUSED_STREAM ? "UO" : "UR");
    // A reset from the pod, or REFUSED_STREAM for a stream above its GOAWAY,
    // crosses with its code; a response that ended stays deliverable.
    if (!s->closedDown && !s->upEnded)
      nghttp2_submit_rst_stream(down_, NGHTTP2_FLAG_NONE, s->downId,
                                error == NGHTTP2_NO_ERROR ? std::uint32_t{NGHTTP2_INTERNAL_ERROR} : error);
    // Request bytes the pod will never get: the client's window reopens (the
    // connection's, if its stream is gone).
    nghttp2_session_consume(down_, s->downId, s->toUp.size() - s->toUpAt);
    s->toUp.clear();
    s->toUpAt = 0;
    s->dropRequestBody = true;
    if (s->closedDown) finish(s->downId);
    return 0;
  }

  // --- bodies ---------------------------------------------------------------------------

  int onDataChunk(Side side, std::int32_t id, std::string_view data) {
    Stream* s = bySide(side, id);
    nghttp2_session* from = side == kDown ? down_ : up_;
    bool deliverable =
        s && (side == kDown ? !s->dropRequestBody && !s->closedUp && s->upId > 0 : !s->closedDown && !s->local);
    if (s && s->record) (side == kDown ? s->record->requestBodyBytes : s->record->responseBodyBytes) += data.size();
    if (!deliverable) {
      nghttp2_session_consume(from, id, data.size());  // dropped: its window reopens at once
      return 0;
    }
    if (side == kDown) {
      s->toUp.append(data);
      nghttp2_session_resume_data(up_, s->upId);
    } else {
      s->toDown.append(data);
      nghttp2_session_resume_data(down_, s->downId);
    }
    return 0;
  }

  // The data provider of the stream toward `to`: what the other side
  // delivered, then the end (with trailers, if any); the sender's window
  // reopens by what was taken.
  ssize_t readBody(Side to, std::int32_t id, std::uint8_t* buffer, std::size_t length, std::uint32_t* flags) {
    Stream* s = to == kUp ? byUp(id) : byDown(id);
    if (!s) return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
    std::string& pending = to == kUp ? s->toUp : s->toDown;
    std::size_t& at = to == kUp ? s->toUpAt : s->toDownAt;
    std::size_t n = std::min(length, pending.size() - at);
    if (n > 0) {
      std::memcpy(buffer, pending.data() + at, n);
      at += n;
      if (at == pending.size()) {
        pending.clear();
        at = 0;
      }
      if (to == kUp) nghttp2_session_consume(down_, s->downId, n);
      else if (!s->local && !upGone_ && s->upId > 0) nghttp2_session_consume(up_, s->upId, n);
    }
    bool ended = to == kUp ? s->downEnded : s->upEnded;
    if (!pending.empty() || !ended) return n > 0 ? static_cast<ssize_t>(n) : ssize_t{NGHTTP2_ERR_DEFERRED};
    *flags |= NGHTTP2_DATA_FLAG_EOF;
    Fields& trailers = to == kUp ? s->upTrailers : s->downTrailers;
    if (!trailers.empty()) {
      *flags |= NGHTTP2_DATA_FLAG_NO_END_STREAM;
      NvList nv;
      nv.addAll(trailers);
      nghttp2_submit_trailer(to == kUp ? up_ : down_, id, nv.nva.data(), nv.nva.size());
    }
    return static_cast<ssize_t>(n);
  }

  // --- telemetry -------------------------------------------------------------------------

  void noteGrpcStatus(Stream& s, const Fields& fields) {
    if (!s.record) return;
    if (const std::string* g = find(fields, "grpc-status")) s.record->grpcStatus = std::atoi(g->c_str());
  }

  // The stream's exchange ended: the observer hears of it once.
  void report(Stream& s, std::string_view flag = {}) {
    if (!s.record) return;
    if (!flag.empty()) s.record->flag(flag);
    s.record->end = std::chrono::steady_clock::now();
    observer_->onRequest(*s.record);
    s.record.reset();
  }

  void finish(std::int32_t downId) {
    if (auto it = streams_.find(downId); it != streams_.end()) {
      report(*it->second);
      if (lastDown_.stream == it->second.get()) lastDown_ = {};
      if (lastUp_.stream == it->second.get()) lastUp_ = {};
      streams_.erase(it);
    }
  }

  Authorizer authorizer_;
  Http2Limits limits_;
  RequestObserver* observer_;
  nghttp2_session* down_ = nullptr;  // serves the client
  nghttp2_session* up_ = nullptr;    // the client of the pod
  FilterOutput* out_ = nullptr;
  std::unordered_map<std::int32_t, std::unique_ptr<Stream>> streams_;  // by the client's stream id
  std::unordered_map<std::int32_t, std::int32_t> upToDown_;
  LastFound lastDown_, lastUp_;
  bool upGone_ = false;      // the pod's connection ended or broke the protocol
  bool podGoaway_ = false;   // the pod sent GOAWAY: no new streams there
  bool goawaySent_ = false;  // to the client
  bool finished_ = false;
};

}  // namespace

std::unique_ptr<StreamFilter> makeHttp2Filter(Authorizer authorizer, Http2Limits limits, RequestObserver* observer) {
  return std::make_unique<Http2Filter>(std::move(authorizer), limits, observer);
}

}  // namespace weft::http

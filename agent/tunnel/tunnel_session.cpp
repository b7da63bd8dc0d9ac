#include "weft/tunnel/tunnel_session.h"

#include <nghttp2/nghttp2.h>
#include <openssl/err.h>

#include <algorithm>
#include <cstring>

namespace weft::tunnel {
namespace {

// Each stream may have this much undelivered data in flight: enough for
// several Gbit/s at the round trips between nodes, small enough that many
// stalled streams cannot exhaust memory.
constexpr std::int32_t kStreamWindow = 512 * 1024;
// The connection window is handed back at once (see the header), so it only
// needs to cover all streams' windows at a time.
constexpr std::int32_t kConnectionWindow = 1 << 30;
constexpr std::uint32_t kMaxConcurrentStreams = 100000;
constexpr std::size_t kTlsRecord = 16 * 1024;

std::string drainOpenSslErrors() {
  std::string text;
  while (unsigned long code = ERR_get_error()) {
    char buffer[256];
    ERR_error_string_n(code, buffer, sizeof buffer);
    if (!text.empty()) text += "; ";
    text += buffer;
  }
  return text.empty() ? "no detail from OpenSSL" : text;
}

nghttp2_nv header(std::string_view name, std::string_view value) {
  return {reinterpret_cast<std::uint8_t*>(const_cast<char*>(name.data())),
          reinterpret_cast<std::uint8_t*>(const_cast<char*>(value.data())), name.size(), value.size(),
          NGHTTP2_NV_FLAG_NONE};
}

// The first `for=` of a `forwarded` value (RFC 7239), quotes removed; the
// caller parses and checks the address.
std::string forwardedForOf(std::string_view value) {
  auto at = value.find("for=");
  if (at == std::string_view::npos) return {};
  value.remove_prefix(at + 4);
  value = value.substr(0, value.find_first_of(";,"));
  if (value.size() >= 2 && value.front() == '"' && value.back() == '"') value = value.substr(1, value.size() - 2);
  return std::string(value);
}

}  // namespace

struct TunnelSession::Callbacks {
  static TunnelSession& self(void* user) { return *static_cast<TunnelSession*>(user); }

  static ssize_t readData(nghttp2_session*, std::int32_t id, std::uint8_t* buffer, std::size_t length,
                          std::uint32_t* flags, nghttp2_data_source*, void* user) {
    auto& session = self(user);
    auto it = session.streams_.find(id);
    if (it == session.streams_.end()) return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
    StreamState& stream = it->second;
    if (stream.pendingLength == 0) {
      if (stream.localEnd) {
        *flags |= NGHTTP2_DATA_FLAG_EOF;
        return 0;
      }
      stream.deferred = true;
      return NGHTTP2_ERR_DEFERRED;
    }
    std::size_t n = std::min(length, stream.pendingLength);
    std::memcpy(buffer, stream.pending, n);
    stream.pending += n;
    stream.pendingLength -= n;
    if (stream.pendingLength == 0 && stream.handler) stream.handler->onSendDrained();
    return static_cast<ssize_t>(n);
  }

  static int onBeginHeaders(nghttp2_session*, const nghttp2_frame* frame, void* user) {
    auto& session = self(user);
    if (session.role_ == Role::kServer && frame->hd.type == NGHTTP2_HEADERS &&
        frame->headers.cat == NGHTTP2_HCAT_REQUEST)
      session.streams_.try_emplace(frame->hd.stream_id);
    return 0;
  }

  static int onHeader(nghttp2_session*, const nghttp2_frame* frame, const std::uint8_t* name, std::size_t nameLength,
                      const std::uint8_t* value, std::size_t valueLength, std::uint8_t, void* user) {
    auto& session = self(user);
    auto it = session.streams_.find(frame->hd.stream_id);
    if (it == session.streams_.end()) return 0;
    std::string_view n(reinterpret_cast<const char*>(name), nameLength);
    std::string_view v(reinterpret_cast<const char*>(value), valueLength);
    if (n == ":status") {
      int status = 0;
      for (char c : v) status = status * 10 + (c - '0');  // nghttp2 checked it is 3 digits
      it->second.status = status;
    } else if (n == ":method") {
      it->second.method = v;
    } else if (n == ":authority") {
      it->second.authority = v;
    } else if (n == "forwarded") {
      it->second.forwardedFor = forwardedForOf(v);
    }
    return 0;
  }

  static int onFrameRecv(nghttp2_session* h2, const nghttp2_frame* frame, void* user) {
    auto& session = self(user);
    if (frame->hd.type == NGHTTP2_GOAWAY) {
      session.peerGoingAway_ = true;
      return 0;
    }
    if (frame->hd.type != NGHTTP2_HEADERS && frame->hd.type != NGHTTP2_DATA) return 0;
    const std::int32_t id = frame->hd.stream_id;
    auto it = session.streams_.find(id);
    if (it == session.streams_.end()) return 0;
    StreamState& stream = it->second;
    if (frame->hd.type == NGHTTP2_HEADERS) {
      if (session.role_ == Role::kServer && frame->headers.cat == NGHTTP2_HCAT_REQUEST) {
        if (stream.method != "CONNECT") {
          session.reject(id, 405);
          return 0;
        }
        if (session.handler_) session.handler_->onConnectRequest(id, stream.authority, stream.forwardedFor);
        return 0;  // the handler may have closed the stream: `stream` is not used again
      }
      if (session.role_ == Role::kClient && frame->headers.cat == NGHTTP2_HCAT_RESPONSE && stream.handler)
        stream.handler->onResponse(stream.status);
    }
    // Looked up again: a handler callback may have reset the stream.
    it = session.streams_.find(id);
    if (it != session.streams_.end() && (frame->hd.flags & NGHTTP2_FLAG_END_STREAM) && it->second.handler)
      it->second.handler->onRemoteEnd();
    (void)h2;
    return 0;
  }

  static int onDataChunk(nghttp2_session* h2, std::uint8_t, std::int32_t id, const std::uint8_t* data,
                         std::size_t length, void* user) {
    auto& session = self(user);
    // The connection window comes back at once; the stream's when delivered.
    nghttp2_session_consume_connection(h2, length);
    auto it = session.streams_.find(id);
    if (it == session.streams_.end() || !it->second.handler) {
      nghttp2_session_consume_stream(h2, id, length);
      return 0;
    }
    it->second.handler->onData(data, length);
    return 0;
  }

  static int onStreamClose(nghttp2_session*, std::int32_t id, std::uint32_t errorCode, void* user) {
    auto& session = self(user);
    auto it = session.streams_.find(id);
    if (it == session.streams_.end()) return 0;
    StreamHandler* handler = it->second.handler;
    session.streams_.erase(it);
    if (handler) handler->onClosed(errorCode);
    return 0;
  }
};

// The BIO between OpenSSL and the session's buffers: reads from the input
// the owner passed to receive(), writes into output(); no copies beyond the
// ones TLS itself makes.
struct MemoryBio {
  static TunnelSession& session(BIO* bio) { return *static_cast<TunnelSession*>(BIO_get_data(bio)); }
  static int write(BIO* bio, const char* data, int length) {
    session(bio).cipherOut_.append(data, static_cast<std::size_t>(length));
    return length;
  }
  static int read(BIO* bio, char* buffer, int length) {
    BIO_clear_retry_flags(bio);
    auto& s = session(bio);
    if (s.cipherInLength_ == 0) {
      BIO_set_retry_read(bio);
      return -1;
    }
    std::size_t n = std::min(static_cast<std::size_t>(length), s.cipherInLength_);
    std::memcpy(buffer, s.cipherIn_, n);
    s.cipherIn_ += n;
    s.cipherInLength_ -= n;
    return static_cast<int>(n);
  }
  static long control(BIO* bio, int command, long, void*) {
    switch (command) {
      case BIO_CTRL_FLUSH: return 1;
      case BIO_CTRL_PENDING: return static_cast<long>(session(bio).cipherInLength_);
      default: return 0;
    }
  }
  static int create(BIO* bio) {
    BIO_set_init(bio, 1);
    return 1;
  }
  static const BIO_METHOD* method() {
    static BIO_METHOD* m = [] {
      BIO_METHOD* made = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "weft tunnel");
      BIO_meth_set_write(made, write);
      BIO_meth_set_read(made, read);
      BIO_meth_set_ctrl(made, control);
      BIO_meth_set_create(made, create);
      return made;
    }();
    return m;
  }
};

TunnelSession::TunnelSession(Role role, SSL* ssl, PeerCheck peerCheck, SessionHandler* handler)
    : role_(role), ssl_(ssl), peerCheck_(std::move(peerCheck)), handler_(handler) {}

TunnelSession::~TunnelSession() {
  if (h2_) nghttp2_session_del(h2_);
  SSL_free(ssl_);
}

Result<std::unique_ptr<TunnelSession>> TunnelSession::create(Role role, SSL* ssl, PeerCheck peerCheck,
                                                             SessionHandler* handler) {
  std::unique_ptr<TunnelSession> session(new TunnelSession(role, ssl, std::move(peerCheck), handler));
  BIO* bio = BIO_new(MemoryBio::method());
  if (!bio) return fail(ErrorCode::kInternal, "tunnel BIO: " + drainOpenSslErrors());
  BIO_set_data(bio, session.get());
  SSL_set_bio(ssl, bio, bio);
  if (role == Role::kClient) SSL_set_connect_state(ssl);
  else SSL_set_accept_state(ssl);
  if (auto ok = session->initHttp2(); !ok) return std::unexpected(ok.error());
  return session;
}

Status TunnelSession::initHttp2() {
  nghttp2_session_callbacks* callbacks = nullptr;
  nghttp2_session_callbacks_new(&callbacks);
  nghttp2_session_callbacks_set_on_begin_headers_callback(callbacks, Callbacks::onBeginHeaders);
  nghttp2_session_callbacks_set_on_header_callback(callbacks, Callbacks::onHeader);
  nghttp2_session_callbacks_set_on_frame_recv_callback(callbacks, Callbacks::onFrameRecv);
  nghttp2_session_callbacks_set_on_data_chunk_recv_callback(callbacks, Callbacks::onDataChunk);
  nghttp2_session_callbacks_set_on_stream_close_callback(callbacks, Callbacks::onStreamClose);
  nghttp2_option* option = nullptr;
  nghttp2_option_new(&option);
  nghttp2_option_set_no_auto_window_update(option, 1);
  nghttp2_option_set_peer_max_concurrent_streams(option, kMaxConcurrentStreams);
  int rv = role_ == Role::kClient ? nghttp2_session_client_new2(&h2_, callbacks, this, option)
                                  : nghttp2_session_server_new2(&h2_, callbacks, this, option);
  nghttp2_option_del(option);
  nghttp2_session_callbacks_del(callbacks);
  if (rv != 0) return fail(ErrorCode::kInternal, std::string("nghttp2 session: ") + nghttp2_strerror(rv));
  // No RFC 7540 priority tree (RFC 9218): CONNECT streams carry no
  // priorities, and without the tree nghttp2 keeps no closed streams.
  nghttp2_settings_entry settings[] = {
      {NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, kMaxConcurrentStreams},
      {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, kStreamWindow},
      {NGHTTP2_SETTINGS_NO_RFC7540_PRIORITIES, 1},
  };
  nghttp2_submit_settings(h2_, NGHTTP2_FLAG_NONE, settings, std::size(settings));
  nghttp2_session_set_local_window_size(h2_, NGHTTP2_FLAG_NONE, 0, kConnectionWindow);
  return {};
}

Status TunnelSession::continueHandshake() {
  handshakeStarted_ = true;
  int rv = SSL_do_handshake(ssl_);
  if (rv != 1) {
    int error = SSL_get_error(ssl_, rv);
    if (error == SSL_ERROR_WANT_READ) return {};
    return fail(ErrorCode::kParse, "TLS handshake: " + drainOpenSslErrors());
  }
  const unsigned char* alpn = nullptr;
  unsigned alpnLength = 0;
  SSL_get0_alpn_selected(ssl_, &alpn, &alpnLength);
  if (std::string_view(reinterpret_cast<const char*>(alpn), alpnLength) != "h2")
    return fail(ErrorCode::kParse, "TLS handshake: the peer did not agree on ALPN h2");
  if (peerCheck_) {
    if (auto ok = peerCheck_(ssl_); !ok) return fail(ErrorCode::kPermissionDenied, ok.error().message);
  }
  handshakeDone_ = true;
  return {};
}

Status TunnelSession::receive(const std::uint8_t* data, std::size_t length) {
  // A stream opened since the last produce() has its HEADERS still queued;
  // nghttp2 refuses to start it once a GOAWAY arrives, even a shutdown
  // notice (NGHTTP2_ERR_START_STREAM_NOT_ALLOWED), and the app's connection
  // would be reset. Serialised first, it is a stream the peer still serves.
  if (unstartedStreams_ && handshakeDone_) {
    unstartedStreams_ = false;
    if (auto ok = produce(kStartStreamsLimit); !ok) return ok;
  }
  cipherIn_ = data;
  cipherInLength_ = length;
  if (!handshakeDone_) {
    if (auto ok = continueHandshake(); !ok || !handshakeDone_) return ok;
  }
  std::uint8_t plain[kTlsRecord];
  while (true) {
    int n = SSL_read(ssl_, plain, sizeof plain);
    if (n > 0) {
      ssize_t used = nghttp2_session_mem_recv(h2_, plain, static_cast<std::size_t>(n));
      if (used < 0) return fail(ErrorCode::kParse, std::string("HTTP/2: ") + nghttp2_strerror(static_cast<int>(used)));
      continue;
    }
    int error = SSL_get_error(ssl_, n);
    if (error == SSL_ERROR_WANT_READ) break;
    if (error == SSL_ERROR_ZERO_RETURN) return fail(ErrorCode::kNotFound, "the peer closed the TLS session");
    return fail(ErrorCode::kParse, "TLS: " + drainOpenSslErrors());
  }
  return {};
}

bool TunnelSession::wantsOutput() const {
  return !cipherOut_.empty() || (handshakeDone_ && nghttp2_session_want_write(h2_));
}

Status TunnelSession::produce(std::size_t limit) {
  if (!handshakeStarted_) {
    if (auto ok = continueHandshake(); !ok) return ok;
  }
  if (!handshakeDone_) return {};
  auto flushPlain = [this]() -> Status {
    if (plainOut_.empty()) return {};
    int n = SSL_write(ssl_, plainOut_.data(), static_cast<int>(plainOut_.size()));
    plainOut_.clear();
    if (n <= 0) return fail(ErrorCode::kParse, "TLS write: " + drainOpenSslErrors());
    return {};
  };
  while (cipherOut_.size() < limit) {
    const std::uint8_t* frames = nullptr;
    ssize_t n = nghttp2_session_mem_send(h2_, &frames);
    if (n < 0) return fail(ErrorCode::kParse, std::string("HTTP/2: ") + nghttp2_strerror(static_cast<int>(n)));
    if (n == 0) {
      unstartedStreams_ = false;  // every queued frame, new streams' HEADERS too, is out
      break;
    }
    plainOut_.append(reinterpret_cast<const char*>(frames), static_cast<std::size_t>(n));
    if (plainOut_.size() >= kTlsRecord)
      if (auto ok = flushPlain(); !ok) return ok;
  }
  return flushPlain();
}

Result<std::int32_t> TunnelSession::openStream(std::string_view authority, std::string_view forwardedFor,
                                              StreamHandler* handler) {
  // Quoted: an "ip:port" node needs quotes in RFC 7239's grammar.
  std::string forwarded = forwardedFor.empty() ? std::string() : "for=\"" + std::string(forwardedFor) + "\"";
  nghttp2_nv headers[] = {header(":method", "CONNECT"), header(":authority", authority), header("forwarded", forwarded)};
  nghttp2_data_provider provider{};
  provider.read_callback = Callbacks::readData;
  std::int32_t id =
      nghttp2_submit_request(h2_, nullptr, headers, forwarded.empty() ? 2 : std::size(headers), &provider, nullptr);
  if (id < 0) return fail(ErrorCode::kInternal, std::string("CONNECT stream: ") + nghttp2_strerror(id));
  streams_[id].handler = handler;
  unstartedStreams_ = true;
  return id;
}

void TunnelSession::attach(std::int32_t streamId, StreamHandler* handler) {
  if (auto it = streams_.find(streamId); it != streams_.end()) it->second.handler = handler;
}

Status TunnelSession::respond(std::int32_t streamId, StreamHandler* handler) {
  auto it = streams_.find(streamId);
  if (it == streams_.end()) return fail(ErrorCode::kNotFound, "stream closed before the response");
  it->second.handler = handler;
  nghttp2_nv headers[] = {header(":status", "200")};
  nghttp2_data_provider provider{};
  provider.read_callback = Callbacks::readData;
  if (int rv = nghttp2_submit_response(h2_, streamId, headers, std::size(headers), &provider); rv != 0)
    return fail(ErrorCode::kInternal, std::string("CONNECT response: ") + nghttp2_strerror(rv));
  return {};
}

void TunnelSession::reject(std::int32_t streamId, int status) {
  auto it = streams_.find(streamId);
  if (it != streams_.end()) it->second.handler = nullptr;
  std::string text = std::to_string(status);
  nghttp2_nv headers[] = {header(":status", text)};
  nghttp2_submit_response(h2_, streamId, headers, std::size(headers), nullptr);
}

void TunnelSession::resume(std::int32_t streamId, StreamState& stream) {
  if (!stream.deferred) return;
  stream.deferred = false;
  nghttp2_session_resume_data(h2_, streamId);
}

void TunnelSession::send(std::int32_t streamId, const std::uint8_t* data, std::size_t length) {
  auto it = streams_.find(streamId);
  if (it == streams_.end()) return;
  it->second.pending = data;
  it->second.pendingLength = length;
  resume(streamId, it->second);
}

void TunnelSession::endStream(std::int32_t streamId) {
  auto it = streams_.find(streamId);
  if (it == streams_.end()) return;
  it->second.localEnd = true;
  resume(streamId, it->second);
}

void TunnelSession::consumed(std::int32_t streamId, std::size_t length) {
  nghttp2_session_consume_stream(h2_, streamId, length);
}

void TunnelSession::reset(std::int32_t streamId, std::uint32_t errorCode) {
  auto it = streams_.find(streamId);
  if (it != streams_.end()) {
    // The caller is done with it, and with the buffer it gave to send().
    it->second.handler = nullptr;
    it->second.pending = nullptr;
    it->second.pendingLength = 0;
  }
  nghttp2_submit_rst_stream(h2_, NGHTTP2_FLAG_NONE, streamId, errorCode);
}

void TunnelSession::shutdownNotice() { nghttp2_submit_shutdown_notice(h2_); }

void TunnelSession::closeAll(std::uint32_t errorCode) {
  auto streams = std::move(streams_);
  streams_.clear();
  for (auto& [id, stream] : streams)
    if (stream.handler) stream.handler->onClosed(errorCode);
}

}  // namespace weft::tunnel

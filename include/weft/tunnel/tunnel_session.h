// One end of a tunnel between two node proxies: TLS 1.3 carrying HTTP/2,
// with one CONNECT stream per proxied TCP connection (RFC 9113 section 8.5,
// the HBONE shape of Istio ambient). The session does no I/O: the owner
// feeds it the ciphertext read from the socket and sends what it produces,
// so it runs on an io_uring worker without blocking sockets or threads.
//
// Flow control is per stream: the connection window is handed back as soon
// as bytes arrive (memory is bounded by the stream windows), a stream's
// window only once its owner has delivered the bytes. So a slow reader
// stalls its own stream and never the others on the same tunnel.
#pragma once

#include <openssl/ssl.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>

#include "weft/common/error.h"

struct nghttp2_session;

namespace weft::tunnel {

enum class Role { kClient, kServer };

// RFC 9113 error codes the proxy uses.
inline constexpr std::uint32_t kNoError = 0x0;
inline constexpr std::uint32_t kRefusedStream = 0x7;
inline constexpr std::uint32_t kConnectError = 0xa;  // "the TCP connection was reset or abnormally closed"

// The owner of one stream (a relay between a local socket and the stream).
class StreamHandler {
 public:
  // Client: the CONNECT response; a 2xx means the peer reached the destination.
  virtual void onResponse(int status) = 0;
  // Bytes from the peer. The handler calls TunnelSession::consumed() once it
  // has delivered them, which reopens the stream's window.
  virtual void onData(const std::uint8_t* data, std::size_t length) = 0;
  // The peer ended its direction (END_STREAM): a FIN once the data is out.
  virtual void onRemoteEnd() = 0;
  // The session copied everything given to send(); the buffer is free.
  virtual void onSendDrained() = 0;
  // The stream is gone: kNoError after a clean end both ways, otherwise a
  // reset (a TCP reset for the local socket). The session forgets the handler.
  virtual void onClosed(std::uint32_t errorCode) = 0;

 protected:
  ~StreamHandler() = default;
};

class SessionHandler {
 public:
  // Server: a CONNECT request for `authority` ("ip:port") arrived; the owner
  // answers later with respond() or reject(). `forwardedFor` is the source
  // address the client claims (RFC 7239 `forwarded: for=`), empty if none:
  // only as trustworthy as the authenticated peer that sent it.
  virtual void onConnectRequest(std::int32_t streamId, std::string_view authority, std::string_view forwardedFor) = 0;

 protected:
  ~SessionHandler() = default;
};

class TunnelSession {
 public:
  // Checks the peer once the handshake is done (certificate identity); an
  // error fails the session with ErrorCode::kPermissionDenied.
  using PeerCheck = std::function<Status(SSL*)>;

  // Takes ownership of `ssl` (configured with certificate, SNI, verification).
  [[nodiscard]] static Result<std::unique_ptr<TunnelSession>> create(Role role, SSL* ssl, PeerCheck peerCheck,
                                                                     SessionHandler* handler);
  ~TunnelSession();
  TunnelSession(const TunnelSession&) = delete;
  TunnelSession& operator=(const TunnelSession&) = delete;

  // Ciphertext from the socket. An error ends the session: kPermissionDenied
  // (peer identity rejected), kParse (TLS or HTTP/2 protocol), kNotFound
  // (the peer closed the TLS session).
  [[nodiscard]] Status receive(const std::uint8_t* data, std::size_t length);
  // Moves pending HTTP/2 frames into TLS records until about `limit` bytes of
  // ciphertext wait in output(). The client's first call starts the handshake.
  [[nodiscard]] Status produce(std::size_t limit);
  // Ciphertext to send; the owner swaps it out (no copy) and sends it.
  [[nodiscard]] std::string& output() { return cipherOut_; }

  [[nodiscard]] bool handshakeDone() const { return handshakeDone_; }
  [[nodiscard]] bool wantsOutput() const;
  [[nodiscard]] bool peerGoingAway() const { return peerGoingAway_; }
  [[nodiscard]] std::size_t openStreams() const { return streams_.size(); }
  [[nodiscard]] SSL* ssl() const { return ssl_; }

  // Client: a new CONNECT stream to `authority`, telling the peer the
  // connection's source address (`forwardedFor`, "ip:port", may be empty).
  // Frames go out on produce().
  [[nodiscard]] Result<std::int32_t> openStream(std::string_view authority, std::string_view forwardedFor,
                                                StreamHandler* handler);
  // Server: the handler of a requested stream, before it is answered (it
  // hears a reset or the tunnel's end while it connects to the pod).
  void attach(std::int32_t streamId, StreamHandler* handler);
  // Server: accept a stream with 200 (bytes may flow) or refuse it.
  [[nodiscard]] Status respond(std::int32_t streamId, StreamHandler* handler);
  void reject(std::int32_t streamId, int status);

  // Both: `data` stays valid until the handler's onSendDrained().
  void send(std::int32_t streamId, const std::uint8_t* data, std::size_t length);
  // No more data from this side (END_STREAM once everything given is sent).
  void endStream(std::int32_t streamId);
  void consumed(std::int32_t streamId, std::size_t length);
  void reset(std::int32_t streamId, std::uint32_t errorCode = kConnectError);
  // Server: asks the client to open no new streams here (a GOAWAY naming the
  // highest stream id, RFC 9113 6.8), while streams it sent meanwhile are
  // still taken.
  void shutdownNotice();
  // The tunnel is gone: every stream's handler hears onClosed(errorCode).
  void closeAll(std::uint32_t errorCode);

 private:
  struct StreamState {
    StreamHandler* handler = nullptr;
    const std::uint8_t* pending = nullptr;
    std::size_t pendingLength = 0;
    bool localEnd = false;
    bool deferred = false;  // nghttp2 waits for resume_data
    int status = 0;         // client: the :status received
    std::string method;     // server: from the request headers
    std::string authority;
    std::string forwardedFor;
  };
  struct Callbacks;

  TunnelSession(Role role, SSL* ssl, PeerCheck peerCheck, SessionHandler* handler);
  Status initHttp2();
  Status continueHandshake();
  void resume(std::int32_t streamId, StreamState& stream);

  Role role_;
  SSL* ssl_;
  PeerCheck peerCheck_;
  SessionHandler* handler_;
  nghttp2_session* h2_ = nullptr;
  bool handshakeStarted_ = false;
  bool handshakeDone_ = false;
  bool peerGoingAway_ = false;
  bool unstartedStreams_ = false;  // openStream() since produce() last emptied the queue: see receive()
  static constexpr std::size_t kStartStreamsLimit = 256 * 1024;
  // The memory BIO's view of the current input and its output buffer.
  const std::uint8_t* cipherIn_ = nullptr;
  std::size_t cipherInLength_ = 0;
  std::string cipherOut_;
  std::string plainOut_;  // HTTP/2 frames gathered into full TLS records
  std::unordered_map<std::int32_t, StreamState> streams_;

  friend struct MemoryBio;
};

}  // namespace weft::tunnel

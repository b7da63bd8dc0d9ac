// One proxied TCP connection carried as a CONNECT stream of a tunnel: a local
// socket (the app's connection on the source node, the connection to the pod
// on the destination node) relayed to and from the stream.
//
// Local -> stream: one provided buffer at a time, handed to the session and
// recycled once HTTP/2 has copied it, so the stream's send window holds back
// the local reader. Stream -> local: bytes are queued and the stream's window
// reopens only after they were written to the local socket.
// FIN <-> END_STREAM, RST <-> RST_STREAM(CONNECT_ERROR), as RFC 9113 8.5 says.
//
// On the destination node an L7 filter (HTTP/1.1, HTTP/2) may sit between the
// stream (downstream) and the pod (upstream): its output is what is relayed,
// and the stream's window reopens only once what the filter made of the
// consumed bytes reached the pod, so the filter holds at most one window.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "weft/http/stream_filter.h"

#include "weft/common/socket_address.h"
#include "weft/io/ring.h"
#include "weft/tunnel/tunnel_session.h"
#include "send_queue.h"
#include "worker_connection.h"

namespace weft::proxy {

class Worker;
class TunnelConnection;

class StreamRelay final : public WorkerConnection, public tunnel::StreamHandler {
 public:
  // Source node: the app's accepted connection, to `destination` over `tunnel`.
  // The destination hears `source` (the app's address) for its policies.
  static void startOutbound(Worker& worker, TunnelConnection& tunnel, int appFd, SocketAddress source,
                            SocketAddress destination, std::unique_ptr<telemetry::FlowTelemetry> flow);
  // Destination node: a CONNECT stream for `destination`, a pod of this node.
  // `filter` may be null: bytes pass as they are.
  // `flow` (may be null) is what `filter` reports its requests to.
  static void startInbound(Worker& worker, TunnelConnection& tunnel, std::int32_t streamId, SocketAddress destination,
                           std::unique_ptr<http::StreamFilter> filter,
                           std::unique_ptr<telemetry::FlowTelemetry> flow);

  void abort() override;
  void finishIfDone() override;
  void resumeParked(int pool) override;
  void sweep(std::chrono::steady_clock::time_point now, std::chrono::seconds limit) override;

  // tunnel::StreamHandler
  void onResponse(int status) override;
  void onData(const std::uint8_t* data, std::size_t length) override;
  void onRemoteEnd() override;
  void onSendDrained() override;
  void onClosed(std::uint32_t errorCode) override;

 private:
  [[nodiscard]] nlohmann::json describeSelf() const override;
  enum class OpKind : std::uint8_t { kConnect, kConnectTimeout, kRecv, kSend, kShutdown };
  struct Op final : io::Completion {
    StreamRelay* relay = nullptr;
    OpKind kind = OpKind::kRecv;
    void complete(int result, std::uint32_t flags) override { relay->onComplete(kind, result, flags); }
  };

  StreamRelay(Worker& worker, TunnelConnection& tunnel, int fd, SocketAddress destination, bool inbound);
  void onComplete(OpKind kind, int result, std::uint32_t flags);
  void onConnected(int result);
  void onRecv(int result, std::uint32_t flags);
  void onSent(int result);
  void armRecv();
  void sendLocal();
  void shutdownLocalIfDone();
  void releaseBuffer();
  // With a filter: act on what it asked for, send toward the stream, and
  // reopen the stream's window once the pod took the filter's output.
  void applyFilterOutput();
  void flushToStream();
  void releaseConsumed();
  // Ends the stream from our side (a reset unless it already closed).
  void detachStream(bool reset);
  void beginClose(bool reset);
  void dirtyTunnel();

  Worker& worker_;
  TunnelConnection* tunnel_;  // null once the stream is closed: the tunnel may be gone
  std::int32_t streamId_ = -1;
  int fd_;
  SocketAddress destination_;
  bool inbound_;
  bool established_ = false;  // 2xx seen (source) or pod connected (destination)
  bool localEof_ = false;
  bool remoteEnd_ = false;
  bool shutdownSent_ = false;
  bool closing_ = false;
  bool receiving_ = false;  // a receive from the local socket is in flight
  bool resetOnClose_ = false;
  int bufferId_ = -1;  // the provided buffer the session is sending from
  int inFlight_ = 0;
  std::string toLocal_;  // received from the stream, gathered for the next send
  SendQueue sendQueue_;
  Op connectOp_, timeoutOp_, recvOp_, sendOp_, shutdownOp_;
  std::unique_ptr<http::StreamFilter> filter_;
  http::FilterOutput filterOut_;
  std::string toStream_;        // filter output for the stream, gathered while streamSending_ is out
  std::string streamSending_;   // handed to the session until onSendDrained
  std::size_t unconsumed_ = 0;  // stream bytes given to the filter, not yet returned to the window
  bool filterPaused_ = false;
  bool streamEndWanted_ = false;
  bool streamEndSent_ = false;
  __kernel_timespec connectTimeout_{};
};

}  // namespace weft::proxy

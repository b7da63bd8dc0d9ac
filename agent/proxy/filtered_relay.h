// One proxied TCP connection to a pod of this node whose bytes pass through
// an L7 filter (HTTP/1.1, HTTP/2): a same-node client, or plaintext accepted
// in PERMISSIVE mode. Cross-node traffic takes the same filter inside
// StreamRelay; the plain L4 path stays in Relay, which never copies.
//
// The filter's output is queued per side with at most one send in flight,
// and a side is read only while the queue toward the other side is empty and
// the filter does not hold a pipelined request: memory stays bounded by one
// buffer plus what the filter keeps.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "weft/common/socket_address.h"
#include "weft/http/stream_filter.h"
#include "weft/io/buffer_ring.h"
#include "weft/io/ring.h"
#include "send_queue.h"
#include "worker_connection.h"

namespace weft::proxy {

class Worker;

class FilteredRelay final : public WorkerConnection {
 public:
  FilteredRelay(Worker& worker, int clientFd, SocketAddress client, SocketAddress destination,
                std::unique_ptr<http::StreamFilter> filter);
  FilteredRelay(const FilteredRelay&) = delete;
  FilteredRelay& operator=(const FilteredRelay&) = delete;

  void start();  // connects upstream; the relay owns itself from here on
  void abort() override;
  void finishIfDone() override;
  void resumeParked(int side) override;
  void sweep(std::chrono::steady_clock::time_point now, std::chrono::seconds limit) override;

 private:
  [[nodiscard]] nlohmann::json describeSelf() const override;
  enum class OpKind : std::uint8_t { kConnect, kConnectTimeout, kRecv, kSend, kShutdown };
  struct Op final : io::Completion {
    FilteredRelay* relay = nullptr;
    OpKind kind = OpKind::kRecv;
    std::uint8_t side = 0;
    void complete(int result, std::uint32_t flags) override { relay->onComplete(*this, result, flags); }
  };
  // One socket: 0 the client (downstream), 1 the pod (upstream).
  struct Side {
    int fd = -1;
    io::BufferRing* pool = nullptr;  // where its receives take buffers
    std::string pending;             // filter output waiting to be sent to this side
    SendQueue sendQueue;
    bool receiving = false;
    bool eof = false;            // it sent FIN
    bool endWanted = false;      // the filter ended our direction toward it
    bool shutdownSent = false;
    bool shutdownDone = false;
    Op recvOp, sendOp, shutdownOp;
  };

  void onComplete(Op& op, int result, std::uint32_t flags);
  void onConnected(int result);
  void onRecv(int side, int result, std::uint32_t flags);
  void onSent(int side, int result);
  void apply();
  void pump();
  void armRecv(int side);
  void beginClose(bool reset);

  Worker& worker_;
  SocketAddress client_;
  SocketAddress destination_;
  std::unique_ptr<http::StreamFilter> filter_;
  http::FilterOutput out_;
  Side sides_[2];
  Op connectOp_, timeoutOp_;
  int inFlight_ = 0;
  bool connected_ = false;
  bool paused_ = false;  // the filter holds a pipelined request: do not read the client
  bool closing_ = false;
  bool resetOnClose_ = false;
  __kernel_timespec connectTimeout_{};
};

}  // namespace weft::proxy

// One thread's share of the request/response connections of `rr`, `churn`
// and `idle`: nonblocking sockets on a private epoll, driven in phases
// (connect, load, round trip, hold, close) that each run until done. Every
// wait is bounded: connects by the connect timeout, everything else by the
// I/O timeout measured from a connection's last progress. A connection that
// fails is recorded and closed; the others go on.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "weft-bench/clock.h"
#include "weft-bench/histogram.h"
#include "weft-bench/prng_stream.h"
#include "weft-bench/run_error.h"
#include "weft-bench/wire.h"
#include "weft/common/socket_address.h"
#include "weft/common/unique_fd.h"

namespace weft::bench {

struct LoadSpec {
  SocketAddress address;
  std::uint32_t requestSize = 64;
  std::uint32_t responseSize = 64;
  Nanos connectTimeout = 5 * kNanosPerSecond;
  Nanos ioTimeout = 10 * kNanosPerSecond;
  std::uint64_t seed = 0;  // connection i tags its requests from PrngStream(seed).wordAt(i) on
};

struct LoadStats {
  Histogram latency;         // rr: from the (intended) send; churn: from connect start
  Histogram connectLatency;
  std::uint64_t requests = 0;     // samples in `latency` (after warm-up)
  std::uint64_t completed = 0;    // all responses, warm-up included
  std::uint64_t established = 0;  // connects that succeeded
  std::uint64_t finished = 0;     // churn: connections that completed their exchange and closed
  std::uint64_t unsent = 0;       // open loop: requests that fell due but were still queued at the end
  std::uint64_t errors = 0;
  std::optional<RunError> firstError;
  Nanos lastCompletion = 0;

  void merge(const LoadStats& other);
  void recordError(RunError error);
};

struct LoadPlan {
  Nanos start = 0;
  Nanos warmupEnd = 0;                // requests sent (or due) before this are not recorded
  Nanos end = INT64_MAX;              // no request is started (or falls due) from here on
  std::uint64_t quota = UINT64_MAX;   // requests this worker starts at most
  double rate = 0;                    // this worker's requests/s; 0: closed loop
};

class LoadWorker {
 public:
  // Connections firstIndex .. firstIndex + count - 1 of the run (indexes name
  // them in messages and seed their tags).
  LoadWorker(const LoadSpec& spec, std::size_t firstIndex, std::size_t count);

  void connectAll();
  void runLoad(const LoadPlan& plan);
  // One request on every idle connection; waits for all.
  void roundTripAll();
  // Waits until `until`, or until `stopFd` (if >= 0) becomes readable. A
  // held connection that the server closes or writes to is a failure.
  void hold(Nanos until, int stopFd);
  [[nodiscard]] bool stopRequested() const { return stopRequested_; }
  // Half-closes every idle connection and waits for the server's EOF.
  void closeAll();
  // Keeps `count` connections in flight until `end`, each doing one exchange
  // (connect, request, response, server closes). A failed slot stops.
  void runChurn(Nanos end);

  [[nodiscard]] std::size_t open() const { return open_; }
  [[nodiscard]] LoadStats& stats() { return stats_; }

 private:
  enum class State : std::uint8_t { kNew, kConnecting, kIdle, kAwaitResponse, kAwaitEof, kClosing, kDone, kFailed };
  enum class Phase : std::uint8_t { kConnect, kLoad, kRoundTrip, kHold, kClose, kChurn };

  struct Conn {
    UniqueFd fd;
    State state = State::kNew;
    std::size_t index = 0;  // in the run
    std::uint64_t tagBase = 0;
    std::uint64_t seq = 0;  // requests started
    std::uint64_t dueInLoad = 0;   // open loop: requests that fell due for this connection
    std::uint64_t sentInLoad = 0;  // open loop: of those, started
    bool headerSent = false;
    bool record = false;
    std::uint8_t prefixLen = 0;
    std::uint8_t prefixSent = 0;
    std::uint32_t bodyPos = 0;
    std::uint32_t responsePos = 0;
    std::uint32_t events = 0;
    Nanos origin = 0;
    Nanos lastProgress = 0;
    Nanos connectStart = 0;
    std::uint8_t prefix[kHeaderSize + kTagSize];
    std::uint8_t tag[kTagSize];
  };

  void setState(Conn& c, State s);
  void fail(Conn& c, RunError error);
  void setInterest(Conn& c, std::uint32_t events);
  void pump(Nanos wakeAt);
  void checkTimeouts(Nanos now);

  void startConnect(Conn& c, Nanos now);
  void finishConnect(Conn& c, Nanos now);
  void onConnected(Conn& c, Nanos now);
  void afterIdle(Conn& c, Nanos now);
  void startRequest(Conn& c, Nanos origin, Nanos now, bool record);
  void flush(Conn& c, Nanos now);
  void onReadable(Conn& c, Nanos now);
  void onBytes(Conn& c, std::span<const std::uint8_t> data, Nanos now);
  void onEof(Conn& c, Nanos now);
  void completeRequest(Conn& c, Nanos now);
  void schedule(Nanos now);
  void sendDue(Conn& c, Nanos now);
  [[nodiscard]] Nanos intended(std::uint64_t slot) const;
  [[nodiscard]] std::string describe(const Conn& c) const;

  LoadSpec spec_;
  std::string peer_;
  std::uint32_t tagSize_;
  std::uint32_t echoedSize_;
  std::vector<std::uint8_t> request_;  // the request body; its tag bytes go out from Conn::prefix
  std::vector<std::uint8_t> scratch_;
  std::vector<Conn> conns_;
  PrngStream body_{kBodySeed};
  UniqueFd epoll_;
  LoadStats stats_;

  Phase phase_ = Phase::kConnect;
  std::size_t active_ = 0;      // connections waiting on the network (connect, response, EOF)
  std::size_t connecting_ = 0;
  std::size_t open_ = 0;        // connected and not yet closed
  Nanos lastTimeoutCheck_ = 0;
  bool stopRequested_ = false;

  LoadPlan plan_;
  bool openLoop_ = false;
  std::uint64_t issued_ = 0;    // closed loop: requests started in runLoad
  double intervalNs_ = 0;       // open loop: between slots of this worker
  std::uint64_t nextSlot_ = 0;
  bool scheduleDone_ = false;
  std::uint64_t backlog_ = 0;   // open loop: due but not yet started
  Nanos churnEnd_ = 0;
};

}  // namespace weft::bench

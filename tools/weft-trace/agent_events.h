// The agent's L7 events: GET /events on the admin API is one long HTTP/1.1
// response of JSON lines in the access-log format (kind http, tcp, and lost
// when the agent dropped lines for a slow reader). parseAgentLine turns one
// line into a FlowEvent (pure, unit-tested); AgentEventStream keeps the
// connection on a non-blocking socket driven by weft-trace's poll loop and
// reconnects when the agent closes it.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "weft-trace/flow_event.h"
#include "weft-trace/line_splitter.h"
#include "weft/http/response_decoder.h"
#include "weft/common/socket_address.h"
#include "weft/common/unique_fd.h"

namespace weft::trace {

struct AgentLost {
  std::uint64_t count = 0;
};
struct AgentLineError {
  std::string message;
};
using AgentLine = std::variant<FlowEvent, AgentLost, AgentLineError>;

[[nodiscard]] AgentLine parseAgentLine(std::string_view line);

// "2026-12-03T14:00:00.123456Z" -> ns since the epoch; nullopt if malformed.
[[nodiscard]] std::optional<std::int64_t> parseUtcTime(std::string_view text);

class AgentEventStream {
 public:
  using Clock = std::chrono::steady_clock;
  enum class State { kIdle, kConnecting, kStreaming, kUnavailable };

  explicit AgentEventStream(SocketAddress admin) : admin_(std::move(admin)) {}

  // Connects when idle and the retry time has come; call about once a second.
  void maintain(Clock::time_point now);
  [[nodiscard]] int fd() const { return fd_.valid() ? fd_.get() : -1; }
  [[nodiscard]] short pollEvents() const;
  // After poll reported `revents` on fd(): lines that arrived go to `out`.
  void onReady(short revents, std::vector<AgentLine>& out);
  [[nodiscard]] State state() const { return state_; }
  // Messages for stderr about the stream (unavailable, closed, retrying);
  // each distinct message is given once in a row.
  [[nodiscard]] std::vector<std::string> takeNotices();

 private:
  void connect();
  void closeAndRetry(std::string why);
  void becomeUnavailable(std::string why);
  void notice(std::string message);
  void readAvailable(std::vector<AgentLine>& out);

  SocketAddress admin_;
  UniqueFd fd_;
  State state_ = State::kIdle;
  Clock::time_point retryAt_{};
  http::ResponseDecoder decoder_;
  LineSplitter lines_;
  bool announcedStreaming_ = false;
  std::vector<std::string> notices_;
  std::string lastNotice_;
};

}  // namespace weft::trace

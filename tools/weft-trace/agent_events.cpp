#include "weft-trace/agent_events.h"

#include <poll.h>
#include <sys/socket.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <ctime>
#include <type_traits>
#include <utility>
#include <nlohmann/json.hpp>

#include "admin_api/admin_client.h"

namespace weft::trace {
namespace {

using nlohmann::json;

constexpr auto kRetryAfter = std::chrono::seconds(2);
constexpr int kMaxReadsPerWakeup = 16;  // then let the kernel events have a turn

std::string text(const json& object, const char* key) {
  auto it = object.find(key);
  return it != object.end() && it->is_string() ? it->get<std::string>() : std::string();
}

template <class T>
std::optional<T> number(const json& object, const char* key) {
  auto it = object.find(key);
  if (it == object.end() || !it->is_number()) return std::nullopt;
  if constexpr (std::is_integral_v<T>) {
    if (it->is_number_float() || (std::is_unsigned_v<T> && it->is_number_integer() && !it->is_number_unsigned()))
      return std::nullopt;
  }
  return it->get<T>();
}

// "198.19.1.2:40000" or "[fd00::1]:80".
void splitAddress(const std::string& address, Peer& peer) {
  auto colon = address.rfind(':');
  if (colon == std::string::npos) {
    peer.address = address;
    return;
  }
  std::string host = address.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  peer.address = host;
  unsigned port = 0;
  const char* begin = address.data() + colon + 1;
  const char* end = address.data() + address.size();
  if (std::from_chars(begin, end, port).ec == std::errc{} && port <= 65535) peer.port = static_cast<std::uint16_t>(port);
}

Peer peerOf(const json& line, const char* key) {
  Peer peer;
  auto it = line.find(key);
  if (it == line.end() || !it->is_object()) return peer;
  const json& end = *it;
  splitAddress(text(end, "address"), peer);
  peer.workload = text(end, "workload");
  peer.ns = text(end, "namespace");
  peer.principal = text(end, "principal");
  std::string pod = text(end, "pod");
  if (!pod.empty()) peer.pod = pod.find('/') == std::string::npos && !peer.ns.empty() ? peer.ns + "/" + pod : pod;
  return peer;
}

void fillHttp(const json& line, FlowEvent& event) {
  event.type = EventType::kHttp;
  event.httpProtocol = text(line, "protocol");
  event.method = text(line, "method");
  event.authority = text(line, "authority");
  event.path = text(line, "path");
  event.status = number<int>(line, "status");
  event.grpcStatus = number<int>(line, "grpc_status");
  event.requestBytes = number<std::uint64_t>(line, "request_bytes");
  event.responseBytes = number<std::uint64_t>(line, "response_bytes");
  event.protocol = event.grpcStatus ? Protocol::kGrpc : Protocol::kHttp;
}

void fillConnection(const json& line, FlowEvent& event) {
  event.type = EventType::kConnection;
  event.protocol = Protocol::kTcp;
  event.bytesSent = number<std::uint64_t>(line, "bytes_sent");
  event.bytesReceived = number<std::uint64_t>(line, "bytes_received");
  event.requests = number<std::uint64_t>(line, "requests");
}

}  // namespace

std::optional<std::int64_t> parseUtcTime(std::string_view value) {
  // YYYY-MM-DDTHH:MM:SS[.fraction]Z
  if (value.size() < 20 || value[4] != '-' || value[7] != '-' || value[10] != 'T' || value[13] != ':' ||
      value[16] != ':' || value.back() != 'Z')
    return std::nullopt;
  auto field = [&](std::size_t at, std::size_t length) -> std::optional<int> {
    int v = 0;
    auto [end, ec] = std::from_chars(value.data() + at, value.data() + at + length, v);
    if (ec != std::errc{} || end != value.data() + at + length) return std::nullopt;
    return v;
  };
  auto year = field(0, 4), month = field(5, 2), day = field(8, 2);
  auto hour = field(11, 2), minute = field(14, 2), second = field(17, 2);
  if (!year || !month || !day || !hour || !minute || !second) return std::nullopt;
  std::tm parts{};
  parts.tm_year = *year - 1900;
  parts.tm_mon = *month - 1;
  parts.tm_mday = *day;
  parts.tm_hour = *hour;
  parts.tm_min = *minute;
  parts.tm_sec = *second;
  const std::int64_t seconds = ::timegm(&parts);
  std::int64_t nanos = 0;
  std::string_view fraction = value.substr(19, value.size() - 20);
  if (!fraction.empty()) {
    if (fraction.front() != '.' || fraction.size() < 2 || fraction.size() > 10) return std::nullopt;
    std::int64_t scale = 100'000'000;
    for (char c : fraction.substr(1)) {
      if (c < '0' || c > '9') return std::nullopt;
      nanos += (c - '0') * scale;
      scale /= 10;
    }
  }
  return seconds * 1'000'000'000 + nanos;
}

AgentLine parseAgentLine(std::string_view line) {
  json parsed = json::parse(line, nullptr, false);
  if (parsed.is_discarded() || !parsed.is_object())
    return AgentLineError{"an event line that is not a JSON object: " + std::string(line.substr(0, 120))};
  const std::string kind = text(parsed, "kind");
  if (kind == "lost") return AgentLost{number<std::uint64_t>(parsed, "count").value_or(0)};
  FlowEvent event;
  event.origin = Origin::kAgent;
  if (kind == "http") fillHttp(parsed, event);
  else if (kind == "tcp") fillConnection(parsed, event);
  else return AgentLineError{"an event of unknown kind '" + kind + "'"};

  auto time = parseUtcTime(text(parsed, "time"));
  if (!time) return AgentLineError{"an event without a valid time: " + std::string(line.substr(0, 120))};
  event.timeNs = *time;
  event.src = peerOf(parsed, "source");
  event.dst = peerOf(parsed, "destination");
  event.reporter = text(parsed, "reporter");
  event.durationMs = number<double>(parsed, "duration_ms");
  event.responseFlags = text(parsed, "response_flags");
  event.policy = text(parsed, "policy");
  event.security = text(parsed, "security");
  const std::string verdict = text(parsed, "verdict");
  // A denial by policy shows as verdict "deny"; a line without a verdict is
  // a denial when its response flags say RBAC (Envoy's code for it).
  event.verdict = verdict == "deny" || (verdict.empty() && event.responseFlags == "RBAC") ? Verdict::kDeny
                                                                                          : Verdict::kAllow;
  return event;
}

short AgentEventStream::pollEvents() const {
  if (!fd_.valid()) return 0;
  return state_ == State::kConnecting ? POLLOUT : POLLIN;
}

void AgentEventStream::maintain(Clock::time_point now) {
  if (state_ == State::kIdle && now >= retryAt_) connect();
}

void AgentEventStream::connect() {
  auto fd = tools::startConnect(admin_);
  if (!fd) {
    closeAndRetry(fd.error().message);
    return;
  }
  fd_ = std::move(*fd);
  decoder_ = http::ResponseDecoder();
  lines_ = LineSplitter();
  state_ = State::kConnecting;
}

void AgentEventStream::closeAndRetry(std::string why) {
  fd_.reset();
  state_ = State::kIdle;
  retryAt_ = Clock::now() + kRetryAfter;
  announcedStreaming_ = false;
  notice(why + "; retrying");
}

void AgentEventStream::becomeUnavailable(std::string why) {
  fd_.reset();
  state_ = State::kUnavailable;
  notice(std::move(why));
}

void AgentEventStream::notice(std::string message) {
  if (message == lastNotice_) return;
  lastNotice_ = message;
  notices_.push_back(std::move(message));
}

std::vector<std::string> AgentEventStream::takeNotices() { return std::exchange(notices_, {}); }

void AgentEventStream::onReady(short revents, std::vector<AgentLine>& out) {
  if (!fd_.valid()) return;
  if (state_ == State::kConnecting) {
    if (int err = tools::connectResult(fd_.get()); err != 0) {
      closeAndRetry("cannot connect to the agent's event stream at " + admin_.toString() + ": " + std::strerror(err));
      return;
    }
    // A few hundred bytes into an empty socket buffer: sent whole at once.
    const std::string request = tools::adminRequest(admin_, "GET", "/events", "application/x-ndjson");
    if (::send(fd_.get(), request.data(), request.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(request.size())) {
      closeAndRetry("cannot send to the agent's event stream at " + admin_.toString());
      return;
    }
    state_ = State::kStreaming;
    return;
  }
  if (revents & (POLLIN | POLLHUP | POLLERR)) readAvailable(out);
}

void AgentEventStream::readAvailable(std::vector<AgentLine>& out) {
  char buffer[65536];
  for (int i = 0; i < kMaxReadsPerWakeup && fd_.valid(); ++i) {
    ssize_t n = ::recv(fd_.get(), buffer, sizeof buffer, MSG_DONTWAIT);
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
    if (n <= 0) {
      closeAndRetry(n == 0 ? "the agent at " + admin_.toString() + " closed its event stream"
                           : "reading the agent's event stream: " + std::string(std::strerror(errno)));
      return;
    }
    std::string body;
    if (auto ok = decoder_.feed({buffer, static_cast<std::size_t>(n)}, body); !ok) {
      closeAndRetry("the agent's event stream: " + ok.error().message);
      return;
    }
    if (!decoder_.headComplete()) continue;
    if (decoder_.status() == 404) {
      becomeUnavailable("the agent at " + admin_.toString() + " has no L7 event stream; showing kernel events only");
      return;
    }
    if (decoder_.status() != 200) {
      becomeUnavailable("the agent at " + admin_.toString() + " answered " + std::to_string(decoder_.status()) +
                        " to GET /events; showing kernel events only");
      return;
    }
    if (!announcedStreaming_) {
      announcedStreaming_ = true;
      lastNotice_.clear();  // a later failure is news again
    }
    std::vector<std::string> complete;
    lines_.feed(body, complete);
    for (const auto& line : complete) out.push_back(parseAgentLine(line));
    if (decoder_.complete()) {
      closeAndRetry("the agent at " + admin_.toString() + " ended its event stream");
      return;
    }
  }
}

}  // namespace weft::trace

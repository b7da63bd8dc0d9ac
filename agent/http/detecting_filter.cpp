#include "weft/http/detecting_filter.h"

#include <algorithm>
#include <string>

#include "weft/http/protocol_detection.h"

namespace weft::http {
namespace {

// More than detectProtocol ever needs: a safety net, so that a detector that
// keeps asking for more cannot make the filter hold a stream.
constexpr std::size_t kMaxHeld = 16 * 1024;

// Could these first server bytes be an HTTP/2 server's connection preface,
// a SETTINGS frame (RFC 9113 3.4, 6.5): a length that is a multiple of 6,
// type 4, no ACK flag, stream 0? No server-first protocol starts like that
// (MySQL's 4th byte is a sequence number 0, SMTP and FTP are text).
bool mayBeHttp2ServerStart(std::string_view b) {
  auto byte = [&](std::size_t i) { return static_cast<unsigned char>(b[i]); };
  if (b.size() >= 3 && ((byte(0) << 16) | (byte(1) << 8) | byte(2)) % 6 != 0) return false;
  if (b.size() >= 4 && byte(3) != 0x4) return false;
  if (b.size() >= 5 && (byte(4) & 0x1) != 0) return false;
  for (std::size_t i = 5; i < std::min<std::size_t>(b.size(), 9); ++i)
    if (byte(i) != 0) return false;
  return true;
}

class DetectingFilter final : public StreamFilter {
 public:
  explicit DetectingFilter(DetectionChoices choices) : choices_(std::move(choices)) {}

  void onDownstreamData(std::string_view bytes, FilterOutput& out) override {
    switch (state_) {
      case State::kFiltered: inner_->onDownstreamData(bytes, out); return;
      case State::kOpaque: out.toUpstream.append(bytes); return;
      case State::kRefused: return;
      case State::kDetecting: break;
    }
    held_.append(bytes);
    DetectedProtocol found = detectProtocol(held_);
    if (found == DetectedProtocol::kNeedMore && held_.size() >= kMaxHeld) found = DetectedProtocol::kOpaque;
    switch (found) {
      case DetectedProtocol::kNeedMore: return;
      case DetectedProtocol::kHttp1: choose(choices_.http1, out); return;
      case DetectedProtocol::kHttp2: choose(choices_.http2, out); return;
      case DetectedProtocol::kOpaque: becomeOpaque(out); return;
    }
  }

  void onUpstreamData(std::string_view bytes, FilterOutput& out) override {
    if (state_ == State::kDetecting) {
      // HTTP/2 servers send their SETTINGS at once, without waiting for the
      // client's preface: held while the client's bytes decide. Any other
      // server that speaks first is not HTTP (its client waits for it, so
      // waiting for the client would wedge both).
      upHeld_.append(bytes);
      if (upHeld_.size() <= kMaxHeld && mayBeHttp2ServerStart(upHeld_)) return;
      becomeOpaque(out);
      return;
    }
    if (state_ == State::kFiltered) inner_->onUpstreamData(bytes, out);
    else if (state_ == State::kOpaque) out.toDownstream.append(bytes);
  }

  void onDownstreamEnd(FilterOutput& out) override {
    if (state_ == State::kDetecting) becomeOpaque(out);
    if (state_ == State::kFiltered) inner_->onDownstreamEnd(out);
    else if (state_ == State::kOpaque) out.endUpstream = true;
  }

  void onQuiet(FilterOutput& out) override {
    if (state_ == State::kDetecting) becomeOpaque(out);
    else if (state_ == State::kFiltered) inner_->onQuiet(out);
  }

  void onUpstreamEnd(FilterOutput& out) override {
    if (state_ == State::kDetecting) becomeOpaque(out);
    if (state_ == State::kFiltered) inner_->onUpstreamEnd(out);
    else if (state_ == State::kOpaque) out.endDownstream = true;
  }

 private:
  enum class State { kDetecting, kFiltered, kOpaque, kRefused };

  // A protocol without a filter (none given) is opaque.
  void choose(const std::function<std::unique_ptr<StreamFilter>()>& make, FilterOutput& out) {
    if (make) becomeFiltered(make(), out);
    else becomeOpaque(out);
  }

  void becomeFiltered(std::unique_ptr<StreamFilter> inner, FilterOutput& out) {
    inner_ = std::move(inner);
    state_ = State::kFiltered;
    std::string held = std::move(held_), upHeld = std::move(upHeld_);
    held_ = upHeld_ = {};
    inner_->onDownstreamData(held, out);
    if (!upHeld.empty()) inner_->onUpstreamData(upHeld, out);
  }

  void becomeOpaque(FilterOutput& out) {
    if (choices_.admitOpaque && !choices_.admitOpaque()) {
      state_ = State::kRefused;
      out.resetDownstream = out.resetUpstream = true;
    } else {
      state_ = State::kOpaque;
      out.toUpstream.append(held_);
      out.toDownstream.append(upHeld_);
    }
    held_ = upHeld_ = {};
  }

  DetectionChoices choices_;
  State state_ = State::kDetecting;
  std::string held_;    // the client's first bytes
  std::string upHeld_;  // an HTTP/2 server's SETTINGS, sent before the client decided
  std::unique_ptr<StreamFilter> inner_;
};

}  // namespace

std::unique_ptr<StreamFilter> makeDetectingFilter(DetectionChoices choices) {
  return std::make_unique<DetectingFilter>(std::move(choices));
}

}  // namespace weft::http

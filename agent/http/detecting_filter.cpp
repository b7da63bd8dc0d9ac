#include "weft/http/detecting_filter.h"

#include <string>

#include "weft/http/protocol_detection.h"

namespace weft::http {
namespace {

// More than detectProtocol ever needs: a safety net, so that a detector that
// keeps asking for more cannot make the filter hold a stream.
constexpr std::size_t kMaxHeld = 16 * 1024;

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
    // A server that speaks first is not HTTP: its client is not sending a
    // request it would wait on.
    if (state_ == State::kDetecting) becomeOpaque(out);
    if (state_ == State::kFiltered) inner_->onUpstreamData(bytes, out);
    else if (state_ == State::kOpaque) out.toDownstream.append(bytes);
  }

  void onDownstreamEnd(FilterOutput& out) override {
    if (state_ == State::kDetecting) becomeOpaque(out);
    if (state_ == State::kFiltered) inner_->onDownstreamEnd(out);
    else if (state_ == State::kOpaque) out.endUpstream = true;
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
    std::string held = std::move(held_);
    held_ = {};
    inner_->onDownstreamData(held, out);
  }

  void becomeOpaque(FilterOutput& out) {
    if (choices_.admitOpaque && !choices_.admitOpaque()) {
      state_ = State::kRefused;
      out.resetDownstream = out.resetUpstream = true;
    } else {
      state_ = State::kOpaque;
      out.toUpstream.append(held_);
    }
    held_ = {};
  }

  DetectionChoices choices_;
  State state_ = State::kDetecting;
  std::string held_;
  std::unique_ptr<StreamFilter> inner_;
};

}  // namespace

std::unique_ptr<StreamFilter> makeDetectingFilter(DetectionChoices choices) {
  return std::make_unique<DetectingFilter>(std::move(choices));
}

}  // namespace weft::http

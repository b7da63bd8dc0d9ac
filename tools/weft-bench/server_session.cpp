#include "weft-bench/server_session.h"

#include <algorithm>
#include <cstring>
#include <fmt/format.h>


namespace weft::bench {

void ServerSession::abort(std::string reason) {
  abortReason_ = std::move(reason);
  stage_ = Stage::kDone;
  out_.clear();
  outPos_ = 0;
}

void ServerSession::queue(std::span<const std::uint8_t> bytes) {
  // Reclaim the sent prefix before growing, so a long-lived connection's
  // buffer stays bounded by what is actually queued.
  if (outPos_ > 0 && outPos_ == out_.size()) {
    out_.clear();
    outPos_ = 0;
  }
  out_.insert(out_.end(), bytes.begin(), bytes.end());
}

void ServerSession::onData(std::span<const std::uint8_t> in) {
  if (in.empty()) return;
  if (stage_ == Stage::kSniff) {
    std::size_t take = std::min(in.size(), kHeaderSize - headerSize_);
    std::memcpy(headerBytes_ + headerSize_, in.data(), take);
    headerSize_ += take;
    switch (sniffProtocol({headerBytes_, headerSize_})) {
      case Protocol::kNeedMore:
        return;
      case Protocol::kUnknown:
        return abort("first bytes are neither a bench header nor an HTTP request");
      case Protocol::kHttp: {
        http_ = std::make_unique<HttpResponder>(httpBodySize_);
        protocol_ = "http";
        stage_ = Stage::kHttp;
        // Replay what the sniffer held back, then the rest of this read.
        std::uint8_t held[kHeaderSize];
        std::size_t heldSize = headerSize_;
        std::memcpy(held, headerBytes_, heldSize);
        headerSize_ = 0;
        onData({held, heldSize});
        in = in.subspan(take);
        break;
      }
      case Protocol::kBench:
        if (headerSize_ < kHeaderSize) return;
        if (auto header = decodeHeader(std::span<const std::uint8_t, kHeaderSize>(headerBytes_, kHeaderSize)); !header) {
          return abort(header.error().message);
        } else {
          stage_ = Stage::kBench;
          onHeader(*header);
        }
        in = in.subspan(take);
        break;
    }
  }
  if (in.empty()) return;
  if (stage_ == Stage::kHttp) {
    if (http_->consume(in, out_) == HttpResponder::Verdict::kClose) {
      closeAfterOutput_ = true;
      stage_ = Stage::kDone;
    }
    return;
  }
  if (stage_ != Stage::kBench) return;
  switch (header_.mode) {
    case Mode::kSink: sinkHash_.update(in); break;
    case Mode::kSource: break;  // the client has nothing to say in source mode
    case Mode::kEcho: queue(in); break;
    case Mode::kRr: onRrData(in); break;
  }
}

void ServerSession::onHeader(const Header& header) {
  header_ = header;
  protocol_ = modeName(header.mode);
  requestPos_ = 0;
  if (header.mode == Mode::kSource) source_ = std::make_unique<PrngStream>(header.seed);
}

void ServerSession::onRrData(std::span<const std::uint8_t> in) {
  static const PrngStream body(kBodySeed);
  const std::size_t tagSize = std::min<std::size_t>(kTagSize, header_.requestSize);
  while (!in.empty()) {
    std::size_t take = std::min<std::uint64_t>(in.size(), header_.requestSize - requestPos_);
    auto chunk = in.first(take);
    // Tag bytes are kept for the response; the body is checked, so that a
    // proxy corrupting client-to-server bytes is caught here and not hidden.
    std::size_t i = 0;
    for (; i < chunk.size() && requestPos_ + i < tagSize; ++i) tag_[requestPos_ + i] = chunk[i];
    if (i < chunk.size()) {
      if (auto bad = body.firstMismatch(requestPos_ + i, chunk.subspan(i)))
        return abort(fmt::format("rr request byte {} differs from the expected body", *bad));
    }
    requestPos_ += take;
    in = in.subspan(take);
    if (requestPos_ < header_.requestSize) break;
    requestPos_ = 0;
    // The response: the echoed tag, then the body stream from that offset on.
    std::size_t echoed = echoedTagSize(header_.requestSize, header_.responseSize);
    if (outPos_ > 0 && outPos_ == out_.size()) {
      out_.clear();
      outPos_ = 0;
    }
    std::size_t start = out_.size();
    out_.resize(start + header_.responseSize);
    std::memcpy(out_.data() + start, tag_, echoed);
    body.fill(echoed, {out_.data() + start + echoed, header_.responseSize - echoed});
    if (header_.flags & kFlagOneShot) {
      closeAfterOutput_ = true;
      stage_ = Stage::kDone;
      return;
    }
  }
}

void ServerSession::onPeerEof() {
  peerEof_ = true;
  if (stage_ == Stage::kBench && header_.mode == Mode::kSink) {
    auto reply = encodeSinkReply({sinkHash_.size(), sinkHash_.digest()});
    queue(reply);
  }
  if (stage_ == Stage::kBench && header_.mode == Mode::kSource) return;  // keep sending; close when done
  closeAfterOutput_ = true;
  if (stage_ != Stage::kDone) stage_ = Stage::kDone;
}

std::span<const std::uint8_t> ServerSession::pendingOutput() {
  if (outPos_ == out_.size() && stage_ == Stage::kBench && header_.mode == Mode::kSource &&
      sourceSent_ < header_.byteCount) {
    std::size_t n = std::min<std::uint64_t>(kSourceChunk, header_.byteCount - sourceSent_);
    out_.resize(n);
    outPos_ = 0;
    source_->fill(sourceSent_, out_);
    sourceSent_ += n;
  }
  return {out_.data() + outPos_, out_.size() - outPos_};
}

void ServerSession::consumeOutput(std::size_t n) {
  outPos_ += n;
  if (outPos_ == out_.size()) {
    out_.clear();
    outPos_ = 0;
  }
}

bool ServerSession::wantsInput() const {
  return !peerEof_ && stage_ != Stage::kDone && out_.size() - outPos_ < kMaxQueuedOutput;
}

ServerSession::Next ServerSession::next() const {
  if (!abortReason_.empty()) return Next::kAbort;
  if (closeAfterOutput_) return Next::kClose;
  if (stage_ == Stage::kBench && header_.mode == Mode::kSource && sourceSent_ == header_.byteCount)
    return peerEof_ ? Next::kClose : Next::kShutdownWrite;
  return Next::kContinue;
}

}  // namespace weft::bench

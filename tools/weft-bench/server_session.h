// What one server connection says, apart from its socket: bytes in, bytes
// out, and when to half-close or close. server.cpp moves the bytes; this
// decides them, so the whole protocol is unit-tested without sockets.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "weft-bench/http_responder.h"
#include "weft-bench/prng_stream.h"
#include "weft-bench/stream_hash.h"
#include "weft-bench/wire.h"

namespace weft::bench {

class ServerSession {
 public:
  // Above this much unsent output the session stops taking input, so a client
  // that writes without reading is slowed by TCP instead of growing memory.
  static constexpr std::size_t kMaxQueuedOutput = 1 << 20;
  static constexpr std::size_t kSourceChunk = 256 * 1024;

  explicit ServerSession(std::uint64_t httpBodySize) : httpBodySize_(httpBodySize) {}

  void onData(std::span<const std::uint8_t> in);
  // The client shut its write side.
  void onPeerEof();

  // Bytes to send now; produces the next source chunk when the queue is empty.
  [[nodiscard]] std::span<const std::uint8_t> pendingOutput();
  void consumeOutput(std::size_t n);

  [[nodiscard]] bool wantsInput() const;

  // What to do once pendingOutput() is empty.
  enum class Next {
    kContinue,       // wait for input
    kShutdownWrite,  // half-close, then wait for the client's EOF
    kClose,
    kAbort,          // protocol violation: reset the connection (see abortReason)
  };
  [[nodiscard]] Next next() const;
  [[nodiscard]] const std::string& abortReason() const { return abortReason_; }

  // Which protocol the client chose; empty before its first bytes are known.
  [[nodiscard]] std::string_view protocolName() const { return protocol_; }

 private:
  void onHeader(const Header& header);
  void onRrData(std::span<const std::uint8_t> in);
  void abort(std::string reason);
  void queue(std::span<const std::uint8_t> bytes);

  std::uint64_t httpBodySize_;
  enum class Stage { kSniff, kBench, kHttp, kDone } stage_ = Stage::kSniff;
  std::uint8_t headerBytes_[kHeaderSize];
  std::size_t headerSize_ = 0;
  Header header_;
  bool peerEof_ = false;
  bool closeAfterOutput_ = false;
  std::string abortReason_;
  std::string_view protocol_;

  std::vector<std::uint8_t> out_;
  std::size_t outPos_ = 0;

  StreamHash sinkHash_;  // sink
  std::unique_ptr<PrngStream> source_;  // source: the stream being sent
  std::uint64_t sourceSent_ = 0;         // source: bytes produced so far
  std::uint64_t requestPos_ = 0;  // rr: position in the current request
  std::uint8_t tag_[kTagSize];    // rr: the current request's tag
  std::unique_ptr<HttpResponder> http_;
};

}  // namespace weft::bench

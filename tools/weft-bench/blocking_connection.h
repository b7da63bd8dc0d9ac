// A client connection on a blocking socket whose every call is bounded:
// connect by its own timeout, each read and write by the I/O timeout
// (SO_RCVTIMEO/SO_SNDTIMEO), and every failure names the peer and the errno.
// Used where one thread drives one connection (bulk, expect-refused).
#pragma once

#include <cstdint>
#include <expected>
#include <span>
#include <string>

#include "weft-bench/clock.h"
#include "weft-bench/run_error.h"
#include "weft/common/socket_address.h"
#include "weft/common/unique_fd.h"

namespace weft::bench {

template <class T>
using Outcome = std::expected<T, RunError>;

// Reads of any blocking connection in this process that the kernel ended with
// EAGAIN before the read timeout (see receiveSome).
std::uint64_t earlyEagainCount();

class BlockingConnection {
 public:
  static Outcome<BlockingConnection> open(const SocketAddress& address, Nanos connectTimeout, Nanos ioTimeout);

  Outcome<void> sendAll(std::span<const std::uint8_t> data);
  // 0 at EOF.
  Outcome<std::size_t> receiveSome(std::span<std::uint8_t> buffer);
  // EOF before `buffer` is full fails with kind eof, naming `what`.
  Outcome<void> receiveExact(std::span<std::uint8_t> buffer, std::string_view what);
  // The peer's next move must be EOF; bytes instead fail verification.
  Outcome<void> expectEof(std::string_view after);
  Outcome<void> shutdownWrite();

  [[nodiscard]] const std::string& peer() const { return peer_; }

 private:
  BlockingConnection(UniqueFd fd, std::string peer, Nanos ioTimeout)
      : fd_(std::move(fd)), peer_(std::move(peer)), ioTimeout_(ioTimeout) {}
  RunError ioFailure(int err, std::string phase, std::string_view what) const;

  UniqueFd fd_;
  std::string peer_;
  Nanos ioTimeout_;
};

}  // namespace weft::bench

// Bytes on their way to one socket with at most one send in flight: new
// bytes gather in a caller's string while the previous batch is sent, then
// the two swap, so nothing is copied and a send never sees its buffer move.
#pragma once

#include <sys/socket.h>

#include <string>

#include "weft/io/ring.h"

namespace weft::proxy {

class SendQueue {
 public:
  // Submits a send of what is left of the current batch, or of `gathered`
  // (taken whole) once the batch is out. False: nothing to send, or a send
  // is already in flight.
  bool submit(io::Ring& ring, io::Completion* op, int fd, std::string& gathered) {
    if (inFlight_) return false;
    if (offset_ == batch_.size()) {
      batch_.clear();
      offset_ = 0;
      std::swap(batch_, gathered);
    }
    if (batch_.empty()) return false;
    io_uring_prep_send(ring.prepare(op), fd, batch_.data() + offset_, batch_.size() - offset_, MSG_NOSIGNAL);
    inFlight_ = true;
    return true;
  }
  // The send's completion: `result` bytes went out (<= 0: an error).
  void completed(int result) {
    inFlight_ = false;
    if (result > 0) offset_ += static_cast<std::size_t>(result);
  }
  [[nodiscard]] bool inFlight() const { return inFlight_; }

 private:
  std::string batch_;
  std::size_t offset_ = 0;
  bool inFlight_ = false;
};

}  // namespace weft::proxy

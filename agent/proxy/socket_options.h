// Socket settings every kind of proxied connection shares.
#pragma once

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>

#include "weft/common/socket_address.h"
#include "weft/io/ring.h"

namespace weft::proxy {

inline void setNoDelay(int fd) {
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

// Connections the proxy makes to pods carry this mark, so that a STRICT
// pod's TC program can tell them from plaintext that bypassed the mesh.
inline void markAsProxy(int fd, std::uint32_t mark) {
  if (mark != 0) ::setsockopt(fd, SOL_SOCKET, SO_MARK, &mark, sizeof mark);
}

// Closing with linger 0 sends a reset: the peer learns that the connection
// failed, instead of seeing a clean end of stream.
inline void closeWithReset(int fd) {
  linger l{.l_onoff = 1, .l_linger = 0};
  ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
  ::close(fd);
}

// A connect bounded by a linked timeout: the connect's own completion
// reports the outcome (-ECANCELED when the timeout fired). `timeout` is read
// when the link is submitted, so it must outlive that: callers keep it in
// the connection. Two completions follow.
inline void prepareConnect(io::Ring& ring, io::Completion* connectOp, io::Completion* timeoutOp, int fd,
                           const SocketAddress& destination, std::chrono::milliseconds limit,
                           __kernel_timespec& timeout) {
  io_uring_sqe* sqe = ring.prepare(connectOp);
  io_uring_prep_connect(sqe, fd, destination.get(), destination.length);
  sqe->flags |= IOSQE_IO_LINK;
  auto ms = limit.count();
  timeout = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};
  io_uring_prep_link_timeout(ring.prepare(timeoutOp), &timeout, 0);
}

}  // namespace weft::proxy

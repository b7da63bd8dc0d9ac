// Socket settings every kind of proxied connection shares.
#pragma once

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdint>

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

}  // namespace weft::proxy

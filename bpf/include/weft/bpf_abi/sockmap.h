/* The same-node fast path: sockets of one node joined in a SOCKHASH, keyed by
 * their 4-tuple as seen from the socket itself, and relays whose two proxy
 * sockets are bypassed so that bytes go pod to pod inside the kernel. */
#ifndef WEFT_BPF_ABI_SOCKMAP_H
#define WEFT_BPF_ABI_SOCKMAP_H

#include "weft/bpf_abi/abi_common.h"

#define WEFT_MAX_SOCKMAP_ENTRIES 131072
#define WEFT_MAX_RELAYS 65536

/* Addresses as in weft_endpoint: IPv4 v4-mapped; ports network byte order. */
struct weft_sock_key {
  __u8 local[16];
  __u8 remote[16];
  __u16 local_port;
  __u16 remote_port;
  __u32 pad; /* zero */
};
WEFT_ABI_ASSERT(sizeof(struct weft_sock_key) == 40, "weft_sock_key layout");

/* A relay the proxy asked to join, keyed by the app socket that sends
 * (its key as seen from the app). Written by the proxy only. */
struct weft_relay_control {
  struct weft_sock_key peer_app;  /* the app socket at the other end */
  __u64 forwarded;                /* bytes the proxy has relayed from this app */
  __u32 state;                    /* WEFT_RELAY_* */
  __u32 pad;
};
WEFT_ABI_ASSERT(sizeof(struct weft_relay_control) == 56, "weft_relay_control layout");

/* Written by BPF only, for every socket in the sockhash: created by sockops
 * when the socket is established, deleted when it closes.
 * - via_proxy: bytes an app socket gave the proxy (relay join ordering);
 * - direct: this app socket switched to the direct path (one way);
 * - tcp_used: this socket sent bytes over plain TCP because its peer was not
 *   in the sockhash yet. The kernel reads a socket's sockmap queue before its
 *   TCP queue, so a sender that mixed the two paths would be read out of
 *   order: once on TCP, it stays on TCP. */
struct weft_relay_progress {
  __u64 via_proxy;
  __u32 direct;
  __u32 tcp_used;
};
WEFT_ABI_ASSERT(sizeof(struct weft_relay_progress) == 16, "weft_relay_progress layout");

enum weft_relay_state {
  WEFT_RELAY_PROXIED = 0,
  /* Go direct as soon as every byte given to the proxy has been relayed
   * (progress.via_proxy == control.forwarded), so that no byte overtakes
   * another: the sender's socket lock orders its sends, and the proxy only
   * counts bytes once they are queued at the peer. */
  WEFT_RELAY_JOIN_REQUESTED = 1,
};

#endif

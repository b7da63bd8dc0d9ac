/* Outbound capture: which network namespaces are enrolled in the mesh, where
 * their connects are sent (the node proxy), the original destination of each
 * captured connection, and counters of the decisions the hooks take. */
#ifndef WEFT_BPF_ABI_CAPTURE_H
#define WEFT_BPF_ABI_CAPTURE_H

#include "weft/bpf_abi/abi_common.h"

#define WEFT_MAX_ENROLLED_PODS 16384
#define WEFT_MAX_ORIGINAL_DSTS 262144 /* captured connects not yet accepted (LRU) */
#define WEFT_MAX_EXCLUDED_PORTS 256

/* An IP endpoint as both sides store it: IPv4 as a v4-mapped IPv6 address
 * (::ffff:a.b.c.d), so that one code path serves both families. */
struct weft_endpoint {
  __u8 addr[16];
  __u16 port; /* network byte order */
  __u16 pad;  /* zero: the struct is used as a hash key */
};
WEFT_ABI_ASSERT(sizeof(struct weft_endpoint) == 20, "weft_endpoint layout");

/* Value of the enrolled map, keyed by the pod's netns cookie (__u64). */
struct weft_enrolled_pod {
  __u32 ipv4;      /* pod address, network byte order; 0 if none */
  __u32 flags;     /* WEFT_POD_F_* */
  __u8 ipv6[16];   /* pod address; all zero if none */
};
WEFT_ABI_ASSERT(sizeof(struct weft_enrolled_pod) == 24, "weft_enrolled_pod layout");

#define WEFT_POD_F_ENROLLED 0x1u

/* The single entry of the config array: where captured connects go. Kept in
 * a map (not rodata) so that a running agent can change it without reload. */
struct weft_capture_config {
  __u32 proxy_ipv4;     /* network byte order; 0: capture off */
  __u16 proxy_port;     /* outbound listener, network byte order */
  __u16 flags;          /* WEFT_CFG_F_* */
  __u8 proxy_ipv6[16];  /* all zero: IPv6 destinations are not captured */
};
WEFT_ABI_ASSERT(sizeof(struct weft_capture_config) == 24, "weft_capture_config layout");

#define WEFT_CFG_F_SOCKMAP 0x1u /* join same-node sockets in the sockhash */

/* Indices of the per-CPU capture counter array. */
enum weft_capture_counter {
  WEFT_CAP_CONNECT_SEEN = 0,      /* every connect the hooks saw */
  WEFT_CAP_NOT_ENROLLED = 1,      /* socket's netns is not in the mesh */
  WEFT_CAP_ENROLLED = 2,          /* socket's netns is enrolled */
  WEFT_CAP_REDIRECTED = 3,        /* sent to the proxy */
  WEFT_CAP_EXCLUDED_PORT = 4,     /* destination port on the exclude list */
  WEFT_CAP_LOCAL_DST = 5,         /* loopback, the pod itself, or the proxy */
  WEFT_CAP_NOT_TCP = 6,           /* UDP connect(): not captured */
  WEFT_CAP_NO_PROXY = 7,          /* enrolled, but no proxy configured (v6 without a v6 proxy) */
  WEFT_CAP_ORIG_DST_RECORDED = 8, /* sockops stored the original destination */
  WEFT_CAP_SOCKMAP_ADDED = 9,     /* sockets joined into the sockhash */
  WEFT_CAP_MSG_REDIRECTED = 10,   /* sk_msg sends redirected to the peer socket */
  WEFT_CAP_MSG_DIRECT = 11,       /* sk_msg sends redirected pod to pod (relay joined) */
  WEFT_CAP_MSG_REDIRECTED_BYTES = 12,
  WEFT_CAP_MSG_DIRECT_BYTES = 13, /* bytes a joined relay moved without the proxy */
  WEFT_CAP_COUNTER_MAX = 14,
};

#endif

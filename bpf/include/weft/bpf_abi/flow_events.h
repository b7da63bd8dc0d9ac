/* Flow events for weft-trace: the BPF programs report what they did to a
 * connection (captured, paired on the fast path, dropped by STRICT) and what
 * TCP did (state changes, retransmits) into the ring buffer of each reader,
 * through maps shared by the capture and the peer-authentication objects
 * (pinned by name in the node's pin directory). Nothing is emitted unless a
 * reader turned its switch slot on, so that tracing costs a few array
 * lookups while nobody listens, and nothing is counted lost then either. */
#ifndef WEFT_BPF_ABI_FLOW_EVENTS_H
#define WEFT_BPF_ABI_FLOW_EVENTS_H

#include "weft/bpf_abi/abi_common.h"
#include "weft/bpf_abi/capture.h"

/* Pinned names (under the agent's --bpffs-dir) of the three shared maps,
 * each indexed by reader slot. */
#define WEFT_FLOW_EVENTS_MAP "weft_flow_events"  /* ARRAY_OF_MAPS of RINGBUF: each reader's ring */
#define WEFT_FLOW_LOST_MAP "weft_flow_lost"      /* PERCPU_ARRAY of __u64 */
#define WEFT_FLOW_SWITCH_MAP "weft_flow_switch"  /* ARRAY of struct weft_flow_switch */

/* weft-trace sessions that can read at once on one node. */
#define WEFT_FLOW_READERS 4

/* Each reader's ring, 1 MiB (made by the reader, only while it reads): about
 * 9,000 events between two reads. */
#define WEFT_FLOW_RINGBUF_BYTES (1u << 20)

enum weft_flow_event_type {
  WEFT_FLOW_CONNECT_CAPTURED = 1, /* connect4/6 rewrote an enrolled pod's connect to the proxy */
  WEFT_FLOW_FASTPATH_PAIRED = 2,  /* reason: enum weft_fastpath_kind */
  WEFT_FLOW_STRICT_DROP = 3,      /* reason: enum weft_strict_drop_reason */
  WEFT_FLOW_TCP_STATE = 4,        /* old_state -> new_state */
  WEFT_FLOW_TCP_RETRANSMIT = 5,   /* new_state: the socket's state */
  WEFT_FLOW_TYPE_MAX = 6,
};

enum weft_fastpath_kind {
  /* sockops joined an established pod<->proxy socket into the sockhash */
  WEFT_FASTPATH_SOCKHASH_JOINED = 1,
  /* sk_msg sent an app socket's first bytes straight to the peer app (a joined relay) */
  WEFT_FASTPATH_RELAY_DIRECT = 2,
};

enum weft_strict_drop_reason {
  /* a plaintext SYN (no proxy mark) to a pod whose mode is STRICT pod-wide */
  WEFT_DROP_STRICT_NOT_FROM_PROXY = 1,
  /* ... to a port that a port-level STRICT covers */
  WEFT_DROP_STRICT_PORT_NOT_FROM_PROXY = 2,
};

/* flags */
#define WEFT_FLOW_F_PROXY_SOCKET 0x1u /* TCP events: a socket the node proxy marked (its connections to pods) */
#define WEFT_FLOW_F_IPV6 0x2u         /* CONNECT_CAPTURED: from connect6 (a v4-mapped destination) */

/* One event. Addresses are v4-mapped IPv6, ports network byte order, as in
 * struct weft_endpoint. For TCP events src is the socket's local end and dst
 * its remote end; for CONNECT_CAPTURED src is the pod (port 0: not chosen
 * yet) and dst the original destination; for STRICT_DROP the packet's. */
struct weft_flow_event {
  __u64 timestamp_ns;  /* bpf_ktime_get_ns(): CLOCK_MONOTONIC */
  __u64 netns_cookie;  /* the socket's netns; 0 where not known (TC) */
  __u64 socket_cookie; /* 0 where not known */
  struct weft_endpoint src;
  struct weft_endpoint dst;
  __u8 type;      /* enum weft_flow_event_type */
  __u8 reason;    /* per type, see the enums above */
  __u8 old_state; /* TCP_STATE: the kernel's TCP state numbers (BPF_TCP_*) */
  __u8 new_state; /* TCP_STATE, TCP_RETRANSMIT */
  __u32 flags;    /* WEFT_FLOW_F_* */
  __u32 pid;      /* CONNECT_CAPTURED: tgid of the caller */
  __u32 mark;     /* STRICT_DROP: the packet's mark */
  __u32 ifindex;  /* STRICT_DROP: the pod's veth */
  __u32 pad;
  char comm[16];  /* CONNECT_CAPTURED: the caller's command */
};
WEFT_ABI_ASSERT(sizeof(struct weft_flow_event) == 104, "weft_flow_event layout");

/* One reader slot of the switch. A reader claims a slot whose `reader` is 0
 * or whose heartbeat is stale by writing its pid (and a fresh heartbeat,
 * `enabled` still 0), puts its ring into the same slot of weft_flow_events,
 * then sets `enabled`; it renews `heartbeat_ns` (CLOCK_MONOTONIC, as
 * bpf_ktime_get_ns) at least every second. Programs emit into a slot only
 * while its heartbeat is younger than WEFT_FLOW_READER_TIMEOUT_NS, so a
 * reader that died without switching off costs nothing after that, and its
 * slot is free again. */
struct weft_flow_switch {
  __u32 enabled;
  __u32 reader; /* pid, in the reader's pid namespace: for messages */
  __u64 heartbeat_ns;
};
WEFT_ABI_ASSERT(sizeof(struct weft_flow_switch) == 16, "weft_flow_switch layout");

#define WEFT_FLOW_READER_TIMEOUT_NS 10000000000ull /* 10 s */

#endif

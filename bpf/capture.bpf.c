// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Transparent capture, attached at the node's cgroup v2 root.
 * - connect4/connect6: a TCP connect from an enrolled pod (by netns cookie) is
 *   rewritten to the node proxy's outbound listener; the original destination
 *   is kept in the socket's local storage.
 * - sockops: once the socket has its source port (TCP_CONNECT_CB), publishes
 *   client endpoint -> original destination for the proxy; on establishment
 *   joins same-node pod<->proxy sockets into the sockhash (fast path).
 * - getpeername4/6: the app sees the peer it asked for, not the proxy.
 * - tp_btf inet_sock_set_state and tcp_retransmit_skb: flow events for
 *   weft-trace about enrolled pods' sockets (attached apart, and optional).
 * Every hook above also reports to weft-trace while one listens (flow_events.h).
 * Everything else (the node's own processes, the proxy's sockets, pods not
 * enrolled, UDP, loopback, excluded ports) proceeds untouched. */
#include "vmlinux.h"

#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "lib/capture_maps.h"
#include "lib/endpoint.h"
#include "lib/flow_events.h"
#include "lib/sockmap_maps.h"
#include "weft/bpf_abi/peer_auth.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

#define WEFT_CONNECT_PROCEED 1 /* returning 0 would fail connect() with EPERM */
#define WEFT_CONNECT_REFUSE 0
#define WEFT_SOCK_STREAM 1

/* Common checks; returns the enrolled pod, or NULL when the connect is not
 * to be captured (the reason already counted). */
static __always_inline struct weft_enrolled_pod *weft_capturable(struct bpf_sock_addr *ctx) {
  weft_count(WEFT_CAP_CONNECT_SEEN);
  __u64 cookie = bpf_get_netns_cookie(ctx);
  struct weft_enrolled_pod *pod = bpf_map_lookup_elem(&weft_enrolled, &cookie);
  if (!pod || !(pod->flags & WEFT_POD_F_ENROLLED)) {
    weft_count(WEFT_CAP_NOT_ENROLLED);
    return 0;
  }
  weft_count(WEFT_CAP_ENROLLED);
  if (ctx->type != WEFT_SOCK_STREAM) {
    weft_count(WEFT_CAP_NOT_TCP);
    return 0;
  }
  __u16 port = bpf_ntohs((__u16)ctx->user_port);
  if (bpf_map_lookup_elem(&weft_excluded_ports, &port)) {
    weft_count(WEFT_CAP_EXCLUDED_PORT);
    return 0;
  }
  return pod;
}

static __always_inline int weft_local_v4(__u32 dst_be, struct weft_enrolled_pod *pod,
                                         struct weft_capture_config *cfg) {
  return (bpf_ntohl(dst_be) >> 24) == 127 || dst_be == pod->ipv4 || dst_be == cfg->proxy_ipv4 || dst_be == 0;
}

enum weft_decision { WEFT_PROCEED, WEFT_REDIRECT, WEFT_REFUSE };

/* The decision for an IPv4 destination, from connect4 or (v4-mapped) from
 * connect6. On WEFT_REDIRECT the original destination has been stored in the
 * socket; the caller rewrites the address in its own format. Storing can only
 * fail for lack of memory: then the connect is refused (fail closed), since
 * the proxy would not know where to send it. */
static __always_inline enum weft_decision weft_decide_v4(struct bpf_sock_addr *ctx, struct weft_enrolled_pod *pod,
                                                         struct weft_capture_config *cfg, __u32 dst_be,
                                                         __u16 port_be) {
  if (weft_local_v4(dst_be, pod, cfg)) {
    weft_count(WEFT_CAP_LOCAL_DST);
    return WEFT_PROCEED;
  }
  struct weft_endpoint *orig =
      bpf_sk_storage_get(&weft_socket_original_dst, ctx->sk, 0, BPF_SK_STORAGE_GET_F_CREATE);
  if (!orig) return WEFT_REFUSE;
  weft_v4_mapped(orig->addr, dst_be);
  orig->port = port_be;
  orig->pad = 0;
  weft_count(WEFT_CAP_REDIRECTED);
  return WEFT_REDIRECT;
}

/* For weft-trace: who connected where (the original destination). */
static __always_inline void weft_flow_connect(struct bpf_sock_addr *ctx, const struct weft_enrolled_pod *pod,
                                              __u32 dst_be, __u16 port_be, __u32 flags) {
  if (!weft_flow_on()) return;
  struct weft_flow_event e;
  weft_flow_init(&e, WEFT_FLOW_CONNECT_CAPTURED);
  e.netns_cookie = bpf_get_netns_cookie(ctx);
  e.socket_cookie = bpf_get_socket_cookie(ctx);
  weft_v4_mapped(e.src.addr, pod->ipv4);
  weft_v4_mapped(e.dst.addr, dst_be);
  e.dst.port = port_be;
  e.flags = flags;
  e.pid = (__u32)(bpf_get_current_pid_tgid() >> 32);
  bpf_get_current_comm(e.comm, sizeof(e.comm));
  weft_flow_emit(&e);
}

static __always_inline struct weft_capture_config *weft_proxy_config(void) {
  struct weft_capture_config *cfg = weft_config();
  if (cfg && cfg->proxy_ipv4) return cfg;
  weft_count(WEFT_CAP_NO_PROXY);
  return 0;
}

SEC("cgroup/connect4")
int weft_connect4(struct bpf_sock_addr *ctx) {
  struct weft_enrolled_pod *pod = weft_capturable(ctx);
  struct weft_capture_config *cfg = pod ? weft_proxy_config() : 0;
  if (!cfg) return WEFT_CONNECT_PROCEED;
  __u32 dst = ctx->user_ip4;
  __u16 port = (__u16)ctx->user_port;
  enum weft_decision decision = weft_decide_v4(ctx, pod, cfg, dst, port);
  if (decision == WEFT_REDIRECT) {
    ctx->user_ip4 = cfg->proxy_ipv4;
    ctx->user_port = cfg->proxy_port;
    weft_flow_connect(ctx, pod, dst, port, 0);
  }
  return decision == WEFT_REFUSE ? WEFT_CONNECT_REFUSE : WEFT_CONNECT_PROCEED;
}

SEC("cgroup/connect6")
int weft_connect6(struct bpf_sock_addr *ctx) {
  struct weft_enrolled_pod *pod = weft_capturable(ctx);
  struct weft_capture_config *cfg = pod ? weft_proxy_config() : 0;
  if (!cfg) return WEFT_CONNECT_PROCEED;
  __u32 w0 = ctx->user_ip6[0], w1 = ctx->user_ip6[1], w2 = ctx->user_ip6[2], w3 = ctx->user_ip6[3];
  if (w0 == 0 && w1 == 0 && w2 == bpf_htonl(0xffff)) {
    /* An IPv4 destination on a dual-stack socket: decided as in connect4. */
    __u16 port = (__u16)ctx->user_port;
    enum weft_decision decision = weft_decide_v4(ctx, pod, cfg, w3, port);
    if (decision == WEFT_REDIRECT) {
      ctx->user_ip6[3] = cfg->proxy_ipv4;
      ctx->user_port = cfg->proxy_port;
      weft_flow_connect(ctx, pod, w3, port, WEFT_FLOW_F_IPV6);
    }
    return decision == WEFT_REFUSE ? WEFT_CONNECT_REFUSE : WEFT_CONNECT_PROCEED;
  }
  if (w0 == 0 && w1 == 0 && w2 == 0 && (w3 == bpf_htonl(1) || w3 == 0)) {
    weft_count(WEFT_CAP_LOCAL_DST); /* ::1 or :: */
    return WEFT_CONNECT_PROCEED;
  }
  /* Native IPv6: the test cluster and the proxy are IPv4 for now. */
  weft_count(WEFT_CAP_NO_PROXY);
  return WEFT_CONNECT_PROCEED;
}

SEC("cgroup/getpeername4")
int weft_getpeername4(struct bpf_sock_addr *ctx) {
  struct weft_endpoint *orig = bpf_sk_storage_get(&weft_socket_original_dst, ctx->sk, 0, 0);
  if (orig && weft_is_v4_mapped(orig->addr)) {
    __u32 v4;
    __builtin_memcpy(&v4, &orig->addr[12], 4);
    ctx->user_ip4 = v4;
    ctx->user_port = orig->port;
  }
  return 1;
}

SEC("cgroup/getpeername6")
int weft_getpeername6(struct bpf_sock_addr *ctx) {
  struct weft_endpoint *orig = bpf_sk_storage_get(&weft_socket_original_dst, ctx->sk, 0, 0);
  if (orig && weft_is_v4_mapped(orig->addr)) {
    __u32 v4;
    __builtin_memcpy(&v4, &orig->addr[12], 4);
    ctx->user_ip6[0] = 0;
    ctx->user_ip6[1] = 0;
    ctx->user_ip6[2] = bpf_htonl(0xffff);
    ctx->user_ip6[3] = v4;
    ctx->user_port = orig->port;
  }
  return 1;
}

/* Context fields must be read with constant offsets: clang would otherwise
 * pick between local_ip4 and local_ip6 by pointer arithmetic on ctx, which the
 * verifier rejects. So every field is loaded first, behind a barrier. */
#define WEFT_LOAD_TUPLE(ctx)                                                             \
  __u32 family = ctx->family;                                                            \
  __u32 lip4 = ctx->local_ip4, rip4 = ctx->remote_ip4;                                   \
  __u32 lip6[4] = {ctx->local_ip6[0], ctx->local_ip6[1], ctx->local_ip6[2], ctx->local_ip6[3]}; \
  __u32 rip6[4] = {ctx->remote_ip6[0], ctx->remote_ip6[1], ctx->remote_ip6[2], ctx->remote_ip6[3]}; \
  __u32 lport = ctx->local_port, rport = ctx->remote_port;                               \
  asm volatile("" ::: "memory")

static __always_inline void weft_fill_key(struct weft_sock_key *key, __u32 family, __u32 lip4, __u32 rip4,
                                          const __u32 lip6[4], const __u32 rip6[4], __u32 lport, __u32 rport) {
  __builtin_memset(key, 0, sizeof(*key));
  if (family == AF_INET) {
    weft_v4_mapped(key->local, lip4);
    weft_v4_mapped(key->remote, rip4);
  } else {
    weft_v6_copy(key->local, lip6);
    weft_v6_copy(key->remote, rip6);
  }
  key->local_port = bpf_htons((__u16)lport); /* host order in these contexts */
  key->remote_port = weft_remote_port_be(rport);
}

/* The socket's own view of its 4-tuple. */
static __always_inline void weft_sockops_key(struct bpf_sock_ops *skops, struct weft_sock_key *key) {
  WEFT_LOAD_TUPLE(skops);
  weft_fill_key(key, family, lip4, rip4, lip6, rip6, lport, rport);
}

static __always_inline void weft_publish_original_dst(struct bpf_sock_ops *skops) {
  struct bpf_sock *sk = skops->sk;
  if (!sk) return;
  struct weft_endpoint *orig = bpf_sk_storage_get(&weft_socket_original_dst, sk, 0, 0);
  if (!orig) return;
  struct weft_sock_key key;
  weft_sockops_key(skops, &key);
  struct weft_endpoint client = {};
  __builtin_memcpy(client.addr, key.local, 16);
  client.port = key.local_port;
  struct weft_endpoint value = *orig;
  bpf_map_update_elem(&weft_original_dst, &client, &value, BPF_ANY);
  weft_count(WEFT_CAP_ORIG_DST_RECORDED);
}

/* A socket (or a relay) that now takes the fast path, for weft-trace; key is
 * the socket's own tuple. */
static __always_inline void weft_flow_fastpath(__u64 netns_cookie, __u64 socket_cookie,
                                               const struct weft_sock_key *key, __u8 kind, __u32 flags) {
  struct weft_flow_event e;
  weft_flow_init(&e, WEFT_FLOW_FASTPATH_PAIRED);
  e.netns_cookie = netns_cookie;
  e.socket_cookie = socket_cookie;
  __builtin_memcpy(e.src.addr, key->local, 16);
  __builtin_memcpy(e.dst.addr, key->remote, 16);
  e.src.port = key->local_port;
  e.dst.port = key->remote_port;
  e.reason = kind;
  e.flags = flags;
  weft_flow_emit(&e);
}

/* Same-node pod<->proxy sockets only: everything else keeps the normal path. */
static __always_inline void weft_maybe_join_sockhash(struct bpf_sock_ops *skops) {
  struct weft_capture_config *cfg = weft_config();
  if (!cfg || !(cfg->flags & WEFT_CFG_F_SOCKMAP) || !cfg->proxy_ipv4) return;
  struct weft_sock_key key;
  weft_sockops_key(skops, &key);
  __u8 proxy[16];
  weft_v4_mapped(proxy, cfg->proxy_ipv4);
  int local_is_proxy = weft_addr_eq(key.local, proxy);
  int remote_is_proxy = weft_addr_eq(key.remote, proxy);
  if (local_is_proxy == remote_is_proxy) return;
  void *pod = bpf_map_lookup_elem(&weft_local_pods, local_is_proxy ? key.remote : key.local);
  if (!pod) return;
  /* Track the socket from its first byte (it is established before connect()
   * or accept() returns), so that a relay join compares totals, and so that
   * a fallback to TCP is remembered. */
  struct weft_relay_progress fresh = {};
  bpf_map_update_elem(&weft_relay_progress, &key, &fresh, BPF_NOEXIST);
  bpf_sock_ops_cb_flags_set(skops, BPF_SOCK_OPS_STATE_CB_FLAG);
  if (bpf_sock_hash_update(skops, &weft_sockhash, &key, BPF_ANY) != 0) return;
  weft_count(WEFT_CAP_SOCKMAP_ADDED);
  if (weft_flow_on())
    weft_flow_fastpath(bpf_get_netns_cookie(skops), bpf_get_socket_cookie(skops), &key, WEFT_FASTPATH_SOCKHASH_JOINED,
                       local_is_proxy ? WEFT_FLOW_F_PROXY_SOCKET : 0);
}

/* The kernel drops a closed socket from the sockhash itself; the relay state
 * of an app socket goes with it here. */
static __always_inline void weft_forget_closed(struct bpf_sock_ops *skops) {
  if (skops->args[1] != BPF_TCP_CLOSE) return;
  struct weft_sock_key key;
  weft_sockops_key(skops, &key);
  bpf_map_delete_elem(&weft_relay_progress, &key);
  bpf_map_delete_elem(&weft_relay_control, &key);
}

SEC("sockops")
int weft_sockops(struct bpf_sock_ops *skops) {
  switch (skops->op) {
    case BPF_SOCK_OPS_TCP_CONNECT_CB:
      weft_publish_original_dst(skops);
      break;
    case BPF_SOCK_OPS_ACTIVE_ESTABLISHED_CB:
    case BPF_SOCK_OPS_PASSIVE_ESTABLISHED_CB:
      weft_maybe_join_sockhash(skops);
      break;
    case BPF_SOCK_OPS_STATE_CB:
      weft_forget_closed(skops);
      break;
    default:
      break;
  }
  return 1;
}

static __always_inline void weft_msg_key(struct sk_msg_md *msg, struct weft_sock_key *key) {
  WEFT_LOAD_TUPLE(msg);
  weft_fill_key(key, family, lip4, rip4, lip6, rip6, lport, rport);
}

static __always_inline void weft_reverse(const struct weft_sock_key *in, struct weft_sock_key *out) {
  __builtin_memset(out, 0, sizeof(*out));
  __builtin_memcpy(out->local, in->remote, 16);
  __builtin_memcpy(out->remote, in->local, 16);
  out->local_port = in->remote_port;
  out->remote_port = in->local_port;
}

/* A send on a joined socket goes straight into the receive queue of its peer
 * on this node (skipping the loopback TCP stack). For a joined relay, it goes
 * straight to the app at the other end once the proxy has relayed every byte
 * it was given, so that no byte overtakes another. A peer not (yet) in the
 * sockhash: plain TCP, for good (see weft_relay_progress.tcp_used). */
SEC("sk_msg")
int weft_sk_msg(struct sk_msg_md *msg) {
  struct weft_sock_key self;
  weft_msg_key(msg, &self);
  __u32 size = msg->size;

  struct weft_relay_progress *progress = bpf_map_lookup_elem(&weft_relay_progress, &self);
  if (progress && progress->tcp_used) {
    if (!progress->direct) progress->via_proxy += size;
    return SK_PASS;
  }

  struct weft_relay_control *control = progress ? bpf_map_lookup_elem(&weft_relay_control, &self) : 0;
  if (control && control->state == WEFT_RELAY_JOIN_REQUESTED &&
      (progress->direct || progress->via_proxy == control->forwarded)) {
    /* The proxy's socket towards the peer app must never have used TCP:
     * otherwise earlier bytes may wait in the peer's TCP queue, which the
     * kernel reads after the sockmap queue our direct bytes would land in. */
    struct weft_sock_key peer = control->peer_app;
    struct weft_sock_key proxy_to_peer;
    weft_reverse(&peer, &proxy_to_peer);
    struct weft_relay_progress *path = bpf_map_lookup_elem(&weft_relay_progress, &proxy_to_peer);
    if (path && !path->tcp_used && bpf_msg_redirect_hash(msg, &weft_sockhash, &peer, BPF_F_INGRESS) == SK_PASS) {
      if (!progress->direct && weft_flow_on())
        weft_flow_fastpath(bpf_get_netns_cookie(msg), 0, &self, WEFT_FASTPATH_RELAY_DIRECT, 0);
      progress->direct = 1;
      weft_count(WEFT_CAP_MSG_DIRECT);
      weft_count_n(WEFT_CAP_MSG_DIRECT_BYTES, size);
      return SK_PASS;
    }
  }
  if (progress && progress->direct) return SK_PASS; /* peer gone: the connection is ending */
  if (progress) progress->via_proxy += size;

  struct weft_sock_key peer;
  weft_reverse(&self, &peer);
  if (bpf_msg_redirect_hash(msg, &weft_sockhash, &peer, BPF_F_INGRESS) == SK_PASS) {
    weft_count(WEFT_CAP_MSG_REDIRECTED);
    weft_count_n(WEFT_CAP_MSG_REDIRECTED_BYTES, size);
    return SK_PASS;
  }
  if (progress) progress->tcp_used = 1;
  return SK_PASS;
}

/* ---- TCP events for weft-trace (tp_btf: no tracefs needed) ---------------- */

#define WEFT_IPPROTO_TCP 6

/* The agent's own netns (set before load): the tracepoints see every socket
 * of the machine, and another node's proxy (a test cluster runs several on
 * one kernel) marks its connections too. 0: no proxy sockets traced. */
const volatile __u64 weft_node_netns_cookie = 0;

/* Sockets of enrolled pods (by their netns, the capture's own set), and this
 * node proxy's connections to pods (its mark); 0 for anything else. */
static __always_inline int weft_flow_traced_socket(const struct sock *sk, __u64 *netns_cookie, __u32 *flags) {
  if (sk->sk_protocol != WEFT_IPPROTO_TCP) return 0;
  __u64 cookie = BPF_CORE_READ(sk, __sk_common.skc_net.net, net_cookie);
  *netns_cookie = cookie;
  if (bpf_map_lookup_elem(&weft_enrolled, &cookie)) return 1;
  if (sk->sk_mark == WEFT_MARK_FROM_PROXY && cookie == weft_node_netns_cookie && cookie != 0) {
    *flags = WEFT_FLOW_F_PROXY_SOCKET;
    return 1;
  }
  return 0;
}

/* The socket's local end as src, its peer as dst. */
static __always_inline void weft_flow_socket_ends(struct weft_flow_event *e, const struct sock *sk) {
  if (sk->__sk_common.skc_family == AF_INET) {
    weft_v4_mapped(e->src.addr, BPF_CORE_READ(sk, __sk_common.skc_rcv_saddr));
    weft_v4_mapped(e->dst.addr, BPF_CORE_READ(sk, __sk_common.skc_daddr));
  } else {
    bpf_core_read(e->src.addr, 16, &sk->__sk_common.skc_v6_rcv_saddr);
    bpf_core_read(e->dst.addr, 16, &sk->__sk_common.skc_v6_daddr);
  }
  e->src.port = bpf_htons(BPF_CORE_READ(sk, __sk_common.skc_num));
  e->dst.port = BPF_CORE_READ(sk, __sk_common.skc_dport);
}

static __always_inline void weft_flow_tcp(const struct sock *sk, __u8 type, int old_state, int new_state) {
  __u64 netns_cookie = 0;
  __u32 flags = 0;
  if (!weft_flow_traced_socket(sk, &netns_cookie, &flags)) return;
  struct weft_flow_event e;
  weft_flow_init(&e, type);
  e.netns_cookie = netns_cookie;
  e.socket_cookie = bpf_get_socket_cookie((void *)sk);
  weft_flow_socket_ends(&e, sk);
  e.old_state = (__u8)old_state;
  e.new_state = (__u8)new_state;
  e.flags = flags;
  weft_flow_emit(&e);
}

SEC("tp_btf/inet_sock_set_state")
int BPF_PROG(weft_trace_tcp_state, const struct sock *sk, const int old_state, const int new_state) {
  if (weft_flow_on()) weft_flow_tcp(sk, WEFT_FLOW_TCP_STATE, old_state, new_state);
  return 0;
}

SEC("tp_btf/tcp_retransmit_skb")
int BPF_PROG(weft_trace_tcp_retransmit, const struct sock *sk) {
  if (weft_flow_on()) weft_flow_tcp(sk, WEFT_FLOW_TCP_RETRANSMIT, 0, BPF_CORE_READ(sk, __sk_common.skc_state));
  return 0;
}

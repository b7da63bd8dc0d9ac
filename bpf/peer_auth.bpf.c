// SPDX-License-Identifier: GPL-2.0
/* PeerAuthentication on the node side of pods (weft issue 4, DESIGN.md 1):
 *
 * - weft_strict_egress, on an enrolled pod's veth (egress = towards the pod):
 *   under STRICT a TCP SYN reaches the pod only if it carries the node
 *   proxy's mark. Plaintext from outside the mesh never gets a connection.
 *   Connections the node itself makes (kubelet's probes) pass unless the
 *   agent turned that off, as Istio ambient and Cilium let the host in.
 * - weft_permissive_ingress, on the node's interfaces: plaintext TCP to a
 *   PERMISSIVE pod is handed to the proxy's inbound listener (15006) with
 *   bpf_sk_assign, so policy and metrics apply to it; the mark makes policy
 *   routing deliver it locally. Later packets of such a flow go to the socket
 *   the listener accepted.
 *
 * IPv4 only for now (as capture); modes are keyed by the v4-mapped address. */
#include "vmlinux.h"

#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "lib/endpoint.h"
#include "lib/excluded_ports.h"
#include "lib/flow_events.h"
#include "weft/bpf_abi/capture.h"
#include "weft/bpf_abi/peer_auth.h"

#define TC_ACT_OK 0
#define TC_ACT_SHOT 2
#define ETH_P_IP 0x0800

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, WEFT_MAX_PEER_AUTH_ENTRIES);
  __type(key, struct weft_endpoint);
  __type(value, __u8);
  __uint(pinning, LIBBPF_PIN_BY_NAME);
} weft_mtls_modes SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __uint(max_entries, WEFT_PA_COUNTERS);
  __type(key, __u32);
  __type(value, __u64);
  __uint(pinning, LIBBPF_PIN_BY_NAME);
} weft_peer_auth_counters SEC(".maps");

/* One entry: the proxy's inbound plaintext listener. */
struct {
  __uint(type, BPF_MAP_TYPE_SOCKMAP);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, __u64);
  __uint(pinning, LIBBPF_PIN_BY_NAME);
} weft_inbound_listener SEC(".maps");

/* Set before load (--strict-node-traffic): 1 lets the node's own
 * connections through STRICT. */
const volatile __u8 strict_allow_node = 1;

static __always_inline void count(__u32 index) {
  __u64 *value = bpf_map_lookup_elem(&weft_peer_auth_counters, &index);
  if (value) *value += 1;
}

struct tcp_packet {
  struct iphdr *ip;
  struct tcphdr *tcp;
};

/* Ethernet + IPv4 + TCP, bounds checked; 0 if the packet is anything else. */
static __always_inline int parse_tcp(struct __sk_buff *skb, struct tcp_packet *out) {
  void *data = (void *)(long)skb->data;
  void *end = (void *)(long)skb->data_end;
  struct ethhdr *eth = data;
  if ((void *)(eth + 1) > end || eth->h_proto != bpf_htons(ETH_P_IP)) return 0;
  struct iphdr *ip = (void *)(eth + 1);
  if ((void *)(ip + 1) > end || ip->protocol != IPPROTO_TCP || ip->ihl < 5) return 0;
  struct tcphdr *tcp = (void *)ip + ip->ihl * 4;
  if ((void *)(tcp + 1) > end) return 0;
  out->ip = ip;
  out->tcp = tcp;
  return 1;
}

/* The mode for the packet's destination: the port's own, else the pod's. */
static __always_inline __u8 mode_of(__u32 daddr, __u16 dport) {
  struct weft_endpoint key = {};
  key.addr[10] = 0xff;
  key.addr[11] = 0xff;
  __builtin_memcpy(&key.addr[12], &daddr, 4);
  key.port = dport;
  __u8 *mode = bpf_map_lookup_elem(&weft_mtls_modes, &key);
  if (mode) return *mode;
  key.port = 0;
  mode = bpf_map_lookup_elem(&weft_mtls_modes, &key);
  return mode ? *mode : 0;
}

static __always_inline int is_syn(const struct tcphdr *tcp) { return tcp->syn && !tcp->ack; }

/* For weft-trace, after the verdict is taken: which STRICT dropped the SYN
 * (the port's own mode or the pod's) is looked up again only here, so that
 * the drop path costs nothing more while nobody traces. */
static __always_inline void flow_strict_drop(struct __sk_buff *skb, const struct tcp_packet *p) {
  struct weft_flow_event e;
  weft_flow_init(&e, WEFT_FLOW_STRICT_DROP);
  weft_v4_mapped(e.src.addr, p->ip->saddr);
  weft_v4_mapped(e.dst.addr, p->ip->daddr);
  e.src.port = p->tcp->source;
  e.dst.port = p->tcp->dest;
  struct weft_endpoint key = e.dst;
  e.reason = bpf_map_lookup_elem(&weft_mtls_modes, &key) ? WEFT_DROP_STRICT_PORT_NOT_FROM_PROXY
                                                        : WEFT_DROP_STRICT_NOT_FROM_PROXY;
  e.mark = skb->mark;
  e.ifindex = skb->ifindex;
  weft_flow_emit(&e);
}

SEC("tc")
int weft_strict_egress(struct __sk_buff *skb) {
  struct tcp_packet p;
  if (!parse_tcp(skb, &p) || !is_syn(p.tcp)) return TC_ACT_OK;
  if (mode_of(p.ip->daddr, p.tcp->dest) != WEFT_MTLS_STRICT) return TC_ACT_OK;
  if (skb->mark == WEFT_MARK_FROM_PROXY) {
    count(WEFT_PA_STRICT_ALLOWED);
    return TC_ACT_OK;
  }
  /* Only a packet made on this node still has its socket here, connecting:
   * a forwarded one lost it on input (ip_rcv_core orphans it, and ip_forward
   * drops any skb that has one), so a pod or another node cannot pass for
   * the node. (BPF_PROG_TEST_RUN's dummy socket is not SYN_SENT.) */
  struct bpf_sock *sk = skb->sk;
  if (strict_allow_node && sk && sk->state == BPF_TCP_SYN_SENT) {
    count(WEFT_PA_STRICT_NODE_ALLOWED);
    return TC_ACT_OK;
  }
  count(WEFT_PA_STRICT_DROPPED);
  if (weft_flow_on()) flow_strict_drop(skb, &p);
  return TC_ACT_SHOT;
}

SEC("tc")
int weft_permissive_ingress(struct __sk_buff *skb) {
  struct tcp_packet p;
  if (!parse_tcp(skb, &p)) return TC_ACT_OK;
  if (mode_of(p.ip->daddr, p.tcp->dest) != WEFT_MTLS_PERMISSIVE) return TC_ACT_OK;
  __u16 port = bpf_ntohs(p.tcp->dest);
  if (bpf_map_lookup_elem(&weft_excluded_ports, &port)) return TC_ACT_OK;

  struct bpf_sock_tuple tuple = {};
  tuple.ipv4.saddr = p.ip->saddr;
  tuple.ipv4.daddr = p.ip->daddr;
  tuple.ipv4.sport = p.tcp->source;
  tuple.ipv4.dport = p.tcp->dest;
  struct bpf_sock *sk = bpf_skc_lookup_tcp(skb, &tuple, sizeof(tuple.ipv4), BPF_F_CURRENT_NETNS, 0);
  if (sk) {
    /* A flow the inbound listener already took: to its socket. */
    if (sk->state != BPF_TCP_LISTEN) {
      bpf_sk_assign(skb, sk, 0);
      bpf_sk_release(sk);
      skb->mark = WEFT_MARK_INTERCEPT;
      return TC_ACT_OK;
    }
    bpf_sk_release(sk);
  }
  /* Only a new connection is taken; a stray packet of a flow that began
   * before the policy keeps going to the pod. */
  if (!is_syn(p.tcp)) return TC_ACT_OK;
  __u32 zero = 0;
  struct bpf_sock *listener = bpf_map_lookup_elem(&weft_inbound_listener, &zero);
  if (!listener) {
    count(WEFT_PA_NO_LISTENER);
    return TC_ACT_OK;
  }
  long err = bpf_sk_assign(skb, listener, 0);
  bpf_sk_release(listener);
  if (err) {
    count(WEFT_PA_NO_LISTENER);
    return TC_ACT_OK;
  }
  skb->mark = WEFT_MARK_INTERCEPT;
  count(WEFT_PA_INTERCEPTED);
  return TC_ACT_OK;
}

char LICENSE[] SEC("license") = "GPL";

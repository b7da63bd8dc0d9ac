/* Maps of the capture hooks. Pinned by name under the agent's bpffs directory
 * so that a restarted agent adopts them (libbpf pin_root_path). */
#ifndef WEFT_BPF_LIB_CAPTURE_MAPS_H
#define WEFT_BPF_LIB_CAPTURE_MAPS_H

#include "weft/bpf_abi/capture.h"

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, WEFT_MAX_ENROLLED_PODS);
  __type(key, __u64); /* netns cookie */
  __type(value, struct weft_enrolled_pod);
  __uint(pinning, LIBBPF_PIN_BY_NAME);
} weft_enrolled SEC(".maps");

/* Addresses of this node's enrolled pods (v4-mapped), for the sockmap: only
 * sockets between a local pod and the proxy are joined. */
struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, WEFT_MAX_ENROLLED_PODS);
  __type(key, __u8[16]);
  __type(value, __u8);
  __uint(pinning, LIBBPF_PIN_BY_NAME);
} weft_local_pods SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, struct weft_capture_config);
  __uint(pinning, LIBBPF_PIN_BY_NAME);
} weft_capture_config SEC(".maps");

#include "excluded_ports.h"

/* The original destination of a captured socket, for its whole life: written
 * at connect, read by sockops (to publish it) and by getpeername. */
struct {
  __uint(type, BPF_MAP_TYPE_SK_STORAGE);
  __uint(map_flags, BPF_F_NO_PREALLOC);
  __type(key, int);
  __type(value, struct weft_endpoint);
  __uint(pinning, LIBBPF_PIN_BY_NAME);
} weft_socket_original_dst SEC(".maps");

/* Client endpoint (as the proxy sees its peer) -> original destination. The
 * proxy deletes an entry once it has read it; LRU bounds what a proxy that
 * never accepts would leave behind. */
struct {
  __uint(type, BPF_MAP_TYPE_LRU_HASH);
  __uint(max_entries, WEFT_MAX_ORIGINAL_DSTS);
  __type(key, struct weft_endpoint);
  __type(value, struct weft_endpoint);
  __uint(pinning, LIBBPF_PIN_BY_NAME);
} weft_original_dst SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __uint(max_entries, WEFT_CAP_COUNTER_MAX);
  __type(key, __u32);
  __type(value, __u64);
  __uint(pinning, LIBBPF_PIN_BY_NAME);
} weft_capture_stats SEC(".maps");

static __always_inline void weft_count_n(__u32 counter, __u64 n) {
  __u64 *value = bpf_map_lookup_elem(&weft_capture_stats, &counter);
  if (value) *value += n; /* per-CPU slot: no atomics needed */
}

static __always_inline void weft_count(__u32 counter) { weft_count_n(counter, 1); }

static __always_inline struct weft_capture_config *weft_config(void) {
  __u32 zero = 0;
  return bpf_map_lookup_elem(&weft_capture_config, &zero);
}

#endif

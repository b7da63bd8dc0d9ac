/* Maps of the same-node fast path. */
#ifndef WEFT_BPF_LIB_SOCKMAP_MAPS_H
#define WEFT_BPF_LIB_SOCKMAP_MAPS_H

#include "weft/bpf_abi/sockmap.h"

struct {
  __uint(type, BPF_MAP_TYPE_SOCKHASH);
  __uint(max_entries, WEFT_MAX_SOCKMAP_ENTRIES);
  __type(key, struct weft_sock_key);
  __type(value, __u64);
  __uint(pinning, LIBBPF_PIN_BY_NAME);
} weft_sockhash SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, WEFT_MAX_RELAYS);
  __type(key, struct weft_sock_key);
  __type(value, struct weft_relay_control);
  __uint(pinning, LIBBPF_PIN_BY_NAME);
} weft_relay_control SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, WEFT_MAX_RELAYS);
  __type(key, struct weft_sock_key);
  __type(value, struct weft_relay_progress);
  __uint(pinning, LIBBPF_PIN_BY_NAME);
} weft_relay_progress SEC(".maps");

#endif

/* The flow-event maps and the two steps of emitting. Both objects that emit
 * (capture, peer_auth) include this and pin the maps by name in the node's pin
 * directory: whichever loads first creates them, the other reuses the pins,
 * so weft-trace reads one ring buffer.
 *
 * Emitting never changes a verdict: callers take their decision first and
 * emit beside it. Usage:
 *   if (weft_flow_on()) { struct weft_flow_event *e = weft_flow_reserve(TYPE);
 *                         if (e) { ...fill...; weft_flow_submit(e); } } */
#ifndef WEFT_BPF_LIB_FLOW_EVENTS_H
#define WEFT_BPF_LIB_FLOW_EVENTS_H

#include "weft/bpf_abi/flow_events.h"

struct {
  __uint(type, BPF_MAP_TYPE_RINGBUF);
  __uint(max_entries, WEFT_FLOW_RINGBUF_BYTES);
  __uint(pinning, LIBBPF_PIN_BY_NAME);
} weft_flow_events SEC(".maps");

/* Events that found the ring full while a reader was on. */
struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, __u64);
  __uint(pinning, LIBBPF_PIN_BY_NAME);
} weft_flow_lost SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, struct weft_flow_switch);
  __uint(pinning, LIBBPF_PIN_BY_NAME);
} weft_flow_switch SEC(".maps");

/* The only cost while nobody traces: one array lookup. */
static __always_inline int weft_flow_on(void) {
  __u32 zero = 0;
  struct weft_flow_switch *s = bpf_map_lookup_elem(&weft_flow_switch, &zero);
  return s && s->enabled && bpf_ktime_get_ns() - s->heartbeat_ns < WEFT_FLOW_READER_TIMEOUT_NS;
}

/* A zeroed event with its type and time, or NULL when the ring is full (then
 * counted lost: a reader is on, so it must learn it missed something). */
static __always_inline struct weft_flow_event *weft_flow_reserve(__u8 type) {
  struct weft_flow_event *e = bpf_ringbuf_reserve(&weft_flow_events, sizeof(*e), 0);
  if (!e) {
    __u32 zero = 0;
    __u64 *lost = bpf_map_lookup_elem(&weft_flow_lost, &zero);
    if (lost) *lost += 1; /* per-CPU slot */
    return 0;
  }
  __builtin_memset(e, 0, sizeof(*e));
  e->timestamp_ns = bpf_ktime_get_ns();
  e->type = type;
  return e;
}

static __always_inline void weft_flow_submit(struct weft_flow_event *e) { bpf_ringbuf_submit(e, 0); }

#endif

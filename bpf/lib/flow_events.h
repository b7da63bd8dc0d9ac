/* The flow-event maps and the two steps of emitting. Both objects that emit
 * (capture, peer_auth) include this and pin the maps by name in the node's pin
 * directory: whichever loads first creates them, the other reuses the pins.
 *
 * Several readers (weft-trace sessions) at once: each claims one of
 * WEFT_FLOW_READERS slots of the switch and puts a ring buffer of its own into
 * the same slot of weft_flow_events, and every event is copied into the ring
 * of each reader whose heartbeat is fresh (a ring buffer has one consumer
 * position, so one shared ring could serve only one reader).
 *
 * Emitting never changes a verdict: callers take their decision first and
 * emit beside it. Usage:
 *   if (weft_flow_on()) { struct weft_flow_event e; weft_flow_init(&e, TYPE);
 *                         ...fill...; weft_flow_emit(&e); } */
#ifndef WEFT_BPF_LIB_FLOW_EVENTS_H
#define WEFT_BPF_LIB_FLOW_EVENTS_H

#include "weft/bpf_abi/flow_events.h"

/* The shape of each reader's ring (the reader creates it). */
struct weft_flow_ring {
  __uint(type, BPF_MAP_TYPE_RINGBUF);
  __uint(max_entries, WEFT_FLOW_RINGBUF_BYTES);
};

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
  __uint(max_entries, WEFT_FLOW_READERS);
  __type(key, __u32);
  __uint(pinning, LIBBPF_PIN_BY_NAME);
  __array(values, struct weft_flow_ring); /* last: a flexible array */
} weft_flow_events SEC(".maps");

/* Per reader slot: events that found its ring full. */
struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __uint(max_entries, WEFT_FLOW_READERS);
  __type(key, __u32);
  __type(value, __u64);
  __uint(pinning, LIBBPF_PIN_BY_NAME);
} weft_flow_lost SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, WEFT_FLOW_READERS);
  __type(key, __u32);
  __type(value, struct weft_flow_switch);
  __uint(pinning, LIBBPF_PIN_BY_NAME);
} weft_flow_switch SEC(".maps");

/* Whether reader slot `slot` is on. The slots are spelled out, not looped
 * over: the key's address goes to a helper, so clang cannot unroll a loop,
 * and the verifier would walk every iteration's branches as new states. */
static __always_inline int weft_flow_reading(__u32 slot, __u64 now) {
  struct weft_flow_switch *s = bpf_map_lookup_elem(&weft_flow_switch, &slot);
  return s && s->enabled && now - s->heartbeat_ns < WEFT_FLOW_READER_TIMEOUT_NS;
}

static __always_inline int weft_flow_slot_enabled(__u32 slot) {
  struct weft_flow_switch *s = bpf_map_lookup_elem(&weft_flow_switch, &slot);
  return s && s->enabled;
}

/* While nobody traces: WEFT_FLOW_READERS array lookups (inlined by the
 * verifier) and nothing else. */
static __always_inline int weft_flow_on(void) {
  _Static_assert(WEFT_FLOW_READERS == 4, "weft_flow_on and weft_flow_emit spell out 4 slots");
  if (!weft_flow_slot_enabled(0) && !weft_flow_slot_enabled(1) && !weft_flow_slot_enabled(2) &&
      !weft_flow_slot_enabled(3))
    return 0;
  __u64 now = bpf_ktime_get_ns();
  return weft_flow_reading(0, now) || weft_flow_reading(1, now) || weft_flow_reading(2, now) ||
         weft_flow_reading(3, now);
}

/* A zeroed event, on the caller's stack, with its type and time. */
static __always_inline void weft_flow_init(struct weft_flow_event *e, __u8 type) {
  __builtin_memset(e, 0, sizeof(*e));
  e->timestamp_ns = bpf_ktime_get_ns();
  e->type = type;
}

/* Into slot `slot`'s ring if its reader is on; a full ring counts the event
 * lost for that reader only (it must learn it missed something). */
static __always_inline void weft_flow_emit_to(const struct weft_flow_event *e, __u32 slot, __u64 now) {
  if (!weft_flow_reading(slot, now)) return;
  void *ring = bpf_map_lookup_elem(&weft_flow_events, &slot);
  if (!ring) return; /* the reader is between claiming and stopping */
  if (bpf_ringbuf_output(ring, (void *)e, sizeof(*e), 0) == 0) return;
  __u64 *lost = bpf_map_lookup_elem(&weft_flow_lost, &slot);
  if (lost) *lost += 1; /* per-CPU slot */
}

/* Into the ring of every reader that is on. */
static __always_inline void weft_flow_emit(const struct weft_flow_event *e) {
  __u64 now = bpf_ktime_get_ns();
  weft_flow_emit_to(e, 0, now);
  weft_flow_emit_to(e, 1, now);
  weft_flow_emit_to(e, 2, now);
  weft_flow_emit_to(e, 3, now);
}

#endif

/* Destination ports never captured (host byte order). Shared by name between
 * the capture and the peer-authentication objects: whichever loads first
 * pins it, the other reuses the pin. */
#ifndef WEFT_BPF_LIB_EXCLUDED_PORTS_H
#define WEFT_BPF_LIB_EXCLUDED_PORTS_H

#include "weft/bpf_abi/capture.h"

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, WEFT_MAX_EXCLUDED_PORTS);
  __type(key, __u16);
  __type(value, __u8);
  __uint(pinning, LIBBPF_PIN_BY_NAME);
} weft_excluded_ports SEC(".maps");

#endif

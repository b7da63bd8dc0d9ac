/* Building weft_endpoint and weft_sock_key values from the different context
 * structs of the hooks (each stores addresses and ports its own way). */
#ifndef WEFT_BPF_LIB_ENDPOINT_H
#define WEFT_BPF_LIB_ENDPOINT_H

#include "weft/bpf_abi/capture.h"
#include "weft/bpf_abi/sockmap.h"

#ifndef AF_INET
#define AF_INET 2
#endif
#ifndef AF_INET6
#define AF_INET6 10
#endif

static __always_inline void weft_v4_mapped(__u8 out[16], __u32 ipv4_be) {
  __builtin_memset(out, 0, 10);
  out[10] = 0xff;
  out[11] = 0xff;
  __builtin_memcpy(&out[12], &ipv4_be, 4);
}

static __always_inline void weft_v6_copy(__u8 out[16], const __u32 words[4]) {
  __u32 w0 = words[0], w1 = words[1], w2 = words[2], w3 = words[3];
  __builtin_memcpy(&out[0], &w0, 4);
  __builtin_memcpy(&out[4], &w1, 4);
  __builtin_memcpy(&out[8], &w2, 4);
  __builtin_memcpy(&out[12], &w3, 4);
}

/* sock_ops and sk_msg keep the remote port as a big-endian u16 in the upper
 * half of a u32 on little-endian machines; older kernels used the lower half.
 * A connected socket never has port 0, so take whichever half is set. */
static __always_inline __u16 weft_remote_port_be(__u32 field) {
  __u16 upper = (__u16)(field >> 16);
  return upper ? upper : (__u16)field;
}

/* clang does not inline memcmp for BPF: compare as four words. */
static __always_inline int weft_addr_eq(const __u8 a[16], const __u8 b[16]) {
  __u64 a0, a1, b0, b1;
  __builtin_memcpy(&a0, a, 8);
  __builtin_memcpy(&a1, a + 8, 8);
  __builtin_memcpy(&b0, b, 8);
  __builtin_memcpy(&b1, b + 8, 8);
  return a0 == b0 && a1 == b1;
}

static __always_inline int weft_is_v4_mapped(const __u8 a[16]) {
  __u64 head;
  __builtin_memcpy(&head, a, 8);
  return head == 0 && a[8] == 0 && a[9] == 0 && a[10] == 0xff && a[11] == 0xff;
}

#endif

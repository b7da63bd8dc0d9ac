/* PeerAuthentication in the kernel: the mTLS mode of each enrolled pod of the
 * node (per port, port 0 = the pod's default), the marks that tell the
 * proxy's own connections apart, and counters. */
#ifndef WEFT_BPF_ABI_PEER_AUTH_H
#define WEFT_BPF_ABI_PEER_AUTH_H

#include "weft/bpf_abi/abi_common.h"

#define WEFT_MAX_PEER_AUTH_ENTRIES 65536

/* SO_MARK on every connection the node proxy makes to a pod: STRICT lets
 * only these reach the pod. */
#define WEFT_MARK_FROM_PROXY 0x77660000u
/* Set on plaintext taken into the inbound listener, so that policy routing
 * (fwmark -> a table whose default route is local) delivers it locally. */
#define WEFT_MARK_INTERCEPT 0x77660001u
#define WEFT_ROUTE_TABLE 0x7766u
#define WEFT_ROUTE_RULE_PRIORITY 0x7766u

/* Values of the mode map (its key is a struct weft_endpoint). */
#define WEFT_MTLS_STRICT 1
#define WEFT_MTLS_PERMISSIVE 2
#define WEFT_MTLS_DISABLE 3

/* Indexes into the per-CPU counter array. */
enum weft_peer_auth_counter {
  WEFT_PA_STRICT_DROPPED = 0,    /* plaintext SYN to a STRICT pod */
  WEFT_PA_STRICT_ALLOWED,        /* SYN from the proxy to a STRICT pod */
  WEFT_PA_INTERCEPTED,           /* plaintext SYN to a PERMISSIVE pod, given to the inbound listener */
  WEFT_PA_NO_LISTENER,           /* ... but no inbound listener was registered */
  WEFT_PA_STRICT_NODE_ALLOWED,   /* SYN to a STRICT pod made by the node itself (kubelet probes) */
  WEFT_PA_COUNTERS
};

#endif

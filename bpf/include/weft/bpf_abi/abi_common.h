/* Shared between BPF C (which includes vmlinux.h first) and C++ user space.
 * Every struct that crosses the boundary is defined once, in a bpf_abi header,
 * with its size pinned by WEFT_ABI_ASSERT so that a change on one side cannot
 * silently misread the other. */
#ifndef WEFT_BPF_ABI_COMMON_H
#define WEFT_BPF_ABI_COMMON_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

#ifdef __cplusplus
#define WEFT_ABI_ASSERT(cond, msg) static_assert(cond, msg)
#else
#define WEFT_ABI_ASSERT(cond, msg) _Static_assert(cond, msg)
#endif

#endif

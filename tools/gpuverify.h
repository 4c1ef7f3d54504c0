/* SPDX-License-Identifier: MIT */
/*
 * gpuverify.h - `netmem rx --verify` for payload in GPU memory: the same
 * check as nm_pat_check(), done by a kernel on the GPU, because the CPU
 * cannot read the buffers (DESIGN rule 2).
 *
 * The pattern's table goes to the device once; each delivered buffer gets
 * one kernel launch on the verifier's stream, which compares every byte
 * with the table at the buffer's stream offset and counts, on the GPU, the
 * bytes it compared, the bytes that differ and the lowest stream offset
 * that differs.  The buffer then goes back with nm_cuda_put_after() on the
 * same stream: it is recycled only once the kernel reading it is done, and
 * the receive thread never waits for the GPU.  nm_gpuv_finish() waits once,
 * at the end, and reads the counts back.  The kernel is compiled at run
 * time with NVRTC, through the library's loader (src/util/cudadrv.h).
 */
#ifndef NM_TOOLS_GPUVERIFY_H
#define NM_TOOLS_GPUVERIFY_H
#include <stddef.h>
#include <stdint.h>
#include <netmem/netmem.h>
#include "txrx.h"

struct nm_gpuv;

struct nm_gpuv_result {
	uint64_t launched;  /* bytes handed to the GPU to check */
	uint64_t checked;   /* bytes the GPU compared (should equal launched) */
	uint64_t bad;       /* bytes that differ from the pattern */
	uint64_t first_bad; /* lowest stream offset that differs; ~0 if none */
	int launch_errors;  /* launches or deferred puts that failed */
};

/*
 * nm_gpuv_create - a verifier for @pat (initialised, nm_pat_init) on CUDA
 * device @device.  NULL with the reason in @why (no driver, no NVRTC, a
 * compile error) and errno set.
 */
struct nm_gpuv *nm_gpuv_create(const struct nm_pat *pat, int device, char *why,
			       size_t whylen);

/*
 * nm_gpuv_check - check the GPU buffer @b, whose first byte is byte @off of
 * its connection's stream, and hand the caller's reference to it back to
 * its pool once the check has run.  Thread-safe.  Return 0 (the buffer is
 * no longer the caller's), or -errno with the buffer still the caller's.
 */
int nm_gpuv_check(struct nm_gpuv *v, const struct nm_buf *b, uint64_t off);

/* Wait for every check launched so far and read the counts.  0 or -errno. */
int nm_gpuv_finish(struct nm_gpuv *v, struct nm_gpuv_result *r);

void nm_gpuv_destroy(struct nm_gpuv *v);
#endif

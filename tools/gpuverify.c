/* SPDX-License-Identifier: MIT */
/*
 * gpuverify.c - the GPU side of `netmem rx --verify` (gpuverify.h).
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netmem/cuda.h>
#include "util/cudadrv.h"
#include "gpuverify.h"

/*
 * One thread per byte, grid-stride: byte i of the buffer is compared with
 * table[(k0 + i) % period], k0 being the buffer's stream offset modulo the
 * period (at most a chunk, 2 MiB, past it: the sum fits 32 bits).  Counts
 * gather in shared memory, one global atomic per block.  A thread's first
 * mismatch is its lowest, so one atomicMin each is enough for the lowest
 * offset of all.  res: [0] bytes compared, [1] bytes that differ, [2] the
 * lowest stream offset that differs.
 */
static const char verify_src[] =
	"extern \"C\" __global__ void nm_verify(const unsigned char *p, unsigned int n,\n"
	"        unsigned int k0, const unsigned char *tbl, unsigned int period,\n"
	"        unsigned long long off, unsigned long long *res)\n"
	"{\n"
	"    __shared__ unsigned int s_seen, s_bad;\n"
	"    unsigned int seen = 0, bad = 0;\n"
	"    if (threadIdx.x == 0) { s_seen = 0; s_bad = 0; }\n"
	"    __syncthreads();\n"
	"    for (unsigned int i = blockIdx.x * blockDim.x + threadIdx.x; i < n;\n"
	"         i += gridDim.x * blockDim.x) {\n"
	"        seen++;\n"
	"        if (p[i] != tbl[(k0 + i) % period]) {\n"
	"            if (!bad) atomicMin(&res[2], off + i);\n"
	"            bad++;\n"
	"        }\n"
	"    }\n"
	"    if (seen) atomicAdd(&s_seen, seen);\n"
	"    if (bad) atomicAdd(&s_bad, bad);\n"
	"    __syncthreads();\n"
	"    if (threadIdx.x == 0) {\n"
	"        if (s_seen) atomicAdd(&res[0], (unsigned long long)s_seen);\n"
	"        if (s_bad) atomicAdd(&res[1], (unsigned long long)s_bad);\n"
	"    }\n"
	"}\n";

#define THREADS 256
#define BYTES_PER_THREAD 8
#define MAX_BLOCKS 1024

struct nm_gpuv {
	const struct nm_cudrv *cu;
	CUcontext ctx;
	CUstream stream;
	CUmodule mod;
	CUfunction fn;
	CUdeviceptr tbl, res;
	atomic_uint_fast64_t launched;
	atomic_int errors;
};

static int ctx_push(struct nm_gpuv *v)
{
	return v->cu->CtxPushCurrent(v->ctx) == CUDA_SUCCESS ? 0 : -EIO;
}

static void ctx_pop(struct nm_gpuv *v)
{
	CUcontext old;

	v->cu->CtxPopCurrent(&old);
}

struct nm_gpuv *nm_gpuv_create(const struct nm_pat *pat, int device, char *why,
			       size_t whylen)
{
	static const uint64_t init[3] = { 0, 0, ~0ull };
	struct nm_gpuv *v;
	char log[1024] = "";
	int err;

	if (!pat || !pat->tbl) {
		snprintf(why, whylen, "no pattern");
		errno = EINVAL;
		return NULL;
	}
	v = calloc(1, sizeof(*v));
	if (!v) {
		snprintf(why, whylen, "out of memory");
		errno = ENOMEM;
		return NULL;
	}
	v->cu = nm_cudrv_get(&err);
	if (!v->cu) {
		snprintf(why, whylen, "%s", nm_cudrv_status());
		goto fail;
	}
	err = nm_cudrv_primary_ctx(device, &v->ctx);
	if (err || (err = ctx_push(v))) {
		snprintf(why, whylen, "device %d context: %s", device, strerror(-err));
		goto fail;
	}
	err = nm_cudrv_load_kernel(verify_src, "nm_verify", device, &v->mod, &v->fn,
				   log, sizeof(log));
	if (err) {
		snprintf(why, whylen, "the checking kernel: %s", log[0] ? log : strerror(-err));
		v->mod = NULL;
		goto fail_ctx;
	}
	if (v->cu->MemAlloc(&v->tbl, NM_PAT_PERIOD) != CUDA_SUCCESS ||
	    v->cu->MemAlloc(&v->res, sizeof(init)) != CUDA_SUCCESS ||
	    v->cu->MemcpyHtoD(v->tbl, pat->tbl, NM_PAT_PERIOD) != CUDA_SUCCESS ||
	    v->cu->MemcpyHtoD(v->res, init, sizeof(init)) != CUDA_SUCCESS ||
	    v->cu->StreamCreate(&v->stream, CU_STREAM_NON_BLOCKING) != CUDA_SUCCESS) {
		snprintf(why, whylen, "device memory for the pattern");
		err = -ENOMEM;
		goto fail_ctx;
	}
	ctx_pop(v);
	return v;

fail_ctx:
	ctx_pop(v);
fail:
	nm_gpuv_destroy(v);
	errno = err ? -err : EIO;
	return NULL;
}

int nm_gpuv_check(struct nm_gpuv *v, const struct nm_buf *b, uint64_t off)
{
	CUdeviceptr p, tbl = v->tbl, res = v->res;
	unsigned int n = b->len, k0 = (unsigned int)(off % NM_PAT_PERIOD);
	unsigned int period = NM_PAT_PERIOD, blocks;
	unsigned long long soff = off;
	void *args[] = { &p, &n, &k0, &tbl, &period, &soff, &res };
	uint64_t io;
	CUresult r;
	int err;

	err = nm_buf_io_addr(b, &io);
	if (err)
		return err;
	if (!n)
		return -EINVAL;
	p = io;
	blocks = (n + THREADS * BYTES_PER_THREAD - 1) / (THREADS * BYTES_PER_THREAD);
	if (blocks > MAX_BLOCKS)
		blocks = MAX_BLOCKS;
	err = ctx_push(v);
	if (err)
		return err;
	r = v->cu->LaunchKernel(v->fn, blocks, 1, 1, THREADS, 1, 1, 0, v->stream, args, NULL);
	if (r != CUDA_SUCCESS) {
		ctx_pop(v);
		atomic_fetch_add(&v->errors, 1);
		return nm_cudrv_errno(r);
	}
	atomic_fetch_add(&v->launched, n);
	err = nm_cuda_put_after(b, v->stream);
	if (err) {
		/* The caller puts it now: the kernel must be done reading. */
		v->cu->StreamSynchronize(v->stream);
		atomic_fetch_add(&v->errors, 1);
	}
	ctx_pop(v);
	return err;
}

int nm_gpuv_finish(struct nm_gpuv *v, struct nm_gpuv_result *r)
{
	uint64_t res[3];
	int err;

	memset(r, 0, sizeof(*r));
	err = ctx_push(v);
	if (err)
		return err;
	if (v->cu->StreamSynchronize(v->stream) != CUDA_SUCCESS ||
	    v->cu->MemcpyDtoH(res, v->res, sizeof(res)) != CUDA_SUCCESS)
		err = -EIO;
	ctx_pop(v);
	if (err)
		return err;
	r->launched = atomic_load(&v->launched);
	r->checked = res[0];
	r->bad = res[1];
	r->first_bad = res[2];
	r->launch_errors = atomic_load(&v->errors);
	return 0;
}

void nm_gpuv_destroy(struct nm_gpuv *v)
{
	if (!v)
		return;
	if (v->cu && v->ctx && !ctx_push(v)) {
		if (v->stream) {
			v->cu->StreamSynchronize(v->stream);
			v->cu->StreamDestroy(v->stream);
		}
		if (v->tbl)
			v->cu->MemFree(v->tbl);
		if (v->res)
			v->cu->MemFree(v->res);
		if (v->mod)
			v->cu->ModuleUnload(v->mod);
		ctx_pop(v);
	}
	free(v);
}

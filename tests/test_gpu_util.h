/* SPDX-License-Identifier: MIT */
/*
 * test_gpu_util.h - what the GPU tests share: the rule for a missing GPU
 * (skip, unless NM_TEST_GPU=1 asks for the GPU suite, then fail), the
 * device's primary context, and the kernels they compile with NVRTC.
 * Tests reach the driver through the library's own loader
 * (src/util/cudadrv.h), so they need no CUDA headers either.
 */
#ifndef NM_TEST_GPU_UTIL_H
#define NM_TEST_GPU_UTIL_H
#include "harness.h"
#include <netmem/cuda.h>
#include "util/cudadrv.h"

/* Skip (or, under NM_TEST_GPU=1, fail) unless a CUDA device is usable;
 * return the driver table with device 0's primary context current. */
static inline const struct nm_cudrv *t_gpu_require(void)
{
	const char *want = getenv("NM_TEST_GPU");
	const struct nm_cudrv *cu;
	CUcontext ctx;
	int err;

	cu = nm_cudrv_get(&err);
	if (!cu) {
		if (want && *want && strcmp(want, "0")) {
			fprintf(stderr, "NM_TEST_GPU is set but CUDA is off: %s\n",
				nm_cuda_status());
			exit(1);
		}
		SKIP("%s", nm_cuda_status());
	}
	err = nm_cudrv_primary_ctx(0, &ctx);
	if (err || cu->CtxPushCurrent(ctx) != CUDA_SUCCESS) {
		fprintf(stderr, "device 0 primary context: %s\n", strerror(-err));
		exit(1);
	}
	return cu;
}

/* A cuda area of @chunks chunks of 4K << @order, or exit(1). */
static inline struct nm_area *t_cuda_area(size_t chunks, unsigned int order,
					  unsigned int flags)
{
	NM_OPTS(nm_cuda_args, ca, .device = 0, .flags = flags);
	NM_OPTS(nm_area_opts, o, .size = chunks << (12 + order), .order = order,
		.provider_arg = &ca);
	struct nm_area *a = nm_area_create("cuda", &o);

	if (!a) {
		fprintf(stderr, "cuda area: %s (%s)\n", strerror(errno), nm_cuda_status());
		exit(1);
	}
	return a;
}

/* Poll @a until @cond holds or ~10 s pass; return whether it held. */
#define T_POLL_UNTIL(a, cond) ({ \
	int _ok = 0; \
	for (long _i = 0; _i < 10L * 1000 * 100; _i++) { \
		nm_area_poll(a); \
		if (cond) { _ok = 1; break; } \
		usleep(10); \
	} \
	_ok; })

/*
 * The kernels.  checksum: one thread per 4 KiB block sums its bytes and
 * xors them into a 64-bit word (sum in the low half, xor folded in the
 * high half); the host combines block results the same way, so the CPU
 * computes the same figure over the same bytes.  spin: holds the GPU for
 * about @ns nanoseconds, the "long-running consumer".
 */
static const char t_gpu_kernels[] =
	"extern \"C\" __global__ void nm_checksum(const unsigned char *p,\n"
	"        unsigned long long n, unsigned long long *out)\n"
	"{\n"
	"    unsigned long long blk = blockIdx.x * (unsigned long long)blockDim.x + threadIdx.x;\n"
	"    unsigned long long lo = blk * 4096, hi = lo + 4096;\n"
	"    unsigned long long sum = 0; unsigned int x = 0;\n"
	"    if (lo >= n) return;\n"
	"    if (hi > n) hi = n;\n"
	"    for (unsigned long long i = lo; i < hi; i++) {\n"
	"        sum += p[i]; x ^= (unsigned int)p[i] << ((i & 3) * 8);\n"
	"    }\n"
	"    atomicAdd(&out[0], sum);\n"
	"    atomicXor(&out[1], (unsigned long long)x);\n"
	"}\n"
	"extern \"C\" __global__ void nm_spin(unsigned long long ns)\n"
	"{\n"
	"    unsigned long long t0;\n"
	"    asm volatile(\"mov.u64 %0, %%globaltimer;\" : \"=l\"(t0));\n"
	"    for (;;) {\n"
	"        unsigned long long t;\n"
	"        asm volatile(\"mov.u64 %0, %%globaltimer;\" : \"=l\"(t));\n"
	"        if (t - t0 >= ns) break;\n"
	"    }\n"
	"}\n";

/* The CPU side of nm_checksum over the same bytes. */
static inline void t_cpu_checksum(const unsigned char *p, size_t n, uint64_t out[2])
{
	uint64_t sum = 0;
	uint32_t x = 0;

	for (size_t i = 0; i < n; i++) {
		sum += p[i];
		x ^= (uint32_t)p[i] << ((i & 3) * 8);
	}
	out[0] = sum;
	out[1] = x;
}

/* Load one of the kernels above, or exit(1) with the compiler's reason. */
static inline CUfunction t_gpu_kernel(const char *name, CUmodule *mod)
{
	char log[2048] = "";
	CUfunction fn;
	int err = nm_cudrv_load_kernel(t_gpu_kernels, name, 0, mod, &fn, log, sizeof(log));

	if (err) {
		fprintf(stderr, "kernel %s: %s: %s\n", name, strerror(-err), log);
		exit(1);
	}
	return fn;
}
#endif

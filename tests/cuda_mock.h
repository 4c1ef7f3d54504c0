/* SPDX-License-Identifier: MIT */
/*
 * cuda_mock.h - a stand-in CUDA driver for tests on hosts without a GPU:
 * a small libcuda look-alike built at test time with the system C
 * compiler, that the library loads through NM_CUDA_LIB.  It keeps "device
 * memory" in host memory and completes GPU work on a clock the test moves
 * by hand (mock_busy, mock_now), and counts what is live.  Its batch
 * copy (cuMemcpyBatchAsync_v2) checks its attributes as the real one
 * does, and can be made to refuse (mock_batch_fail); entering the
 * context can be made to fail (mock_push_fail).  Of kernels it
 * knows one, `netmem rx --verify`'s nm_verify (tools/gpuverify.c), which
 * it runs on the CPU at launch, with the same parameters and results.
 */
#ifndef NM_TEST_CUDA_MOCK_H
#define NM_TEST_CUDA_MOCK_H
#include "harness.h"
#include <dlfcn.h>
#include <unistd.h>

static const char t_cuda_mock_src[] =
"#include <stdlib.h>\n#include <string.h>\n#include <stdio.h>\n#include <fcntl.h>\n"
"typedef unsigned long long u64;\n"
"struct ev { u64 tick; };\n"
"static u64 now_tick, busy_until; static int live_ev, live_mem, frees, copies, depth;\n"
"void mock_busy(u64 t) { busy_until = t; }\n"
"void mock_now(u64 t) { now_tick = t; }\n"
"int mock_live_events(void) { return live_ev; }\n"
"int mock_live_mem(void) { return live_mem; }\n"
"int mock_frees(void) { return frees; }\n"
"int mock_copies(void) { return copies; }\n"
"int mock_depth(void) { return depth; }\n"
"int cuInit(unsigned f) { return 0; }\n"
"int cuDriverGetVersion(int *v) { *v = 13000; return 0; }\n"
"int cuGetErrorName(int e, const char **s) { *s = \"CUDA_ERROR_MOCK\"; return 0; }\n"
"int cuDeviceGetCount(int *n) { *n = 1; return 0; }\n"
"int cuDeviceGet(int *d, int o) { if (o) return 101; *d = 0; return 0; }\n"
"int cuDeviceGetName(char *n, int l, int d) { snprintf(n, l, \"mock GPU\"); return 0; }\n"
"int cuDeviceGetAttribute(int *v, int a, int d) { *v = a == 75 ? 9 : a == 124 ? 1 : 0; return 0; }\n"
"int cuDeviceTotalMem_v2(size_t *b, int d) { *b = 1ull << 30; return 0; }\n"
"int cuDevicePrimaryCtxRetain(void **c, int d) { *c = (void *)16; return 0; }\n"
"int cuDevicePrimaryCtxRelease_v2(int d) { return 0; }\n"
"static int push_fail;\n"
"void mock_push_fail(int n) { push_fail = n; }\n"
"int cuCtxPushCurrent_v2(void *c) { if (push_fail) { push_fail--; return 201; } depth++; return 0; }\n"
"int cuCtxPopCurrent_v2(void **c) { depth--; if (c) *c = (void *)16; return 0; }\n"
"int cuCtxSynchronize(void) { if (now_tick < busy_until) now_tick = busy_until; return 0; }\n"
"int cuMemAlloc_v2(u64 *p, size_t n) { void *m; if (n > (1ull << 30)) return 2;\n"
"  m = malloc(n); if (!m) return 2; live_mem++; *p = (u64)m; return 0; }\n"
"int cuMemFree_v2(u64 p) { free((void *)p); live_mem--; frees++; return 0; }\n"
"int cuMemcpyHtoD_v2(u64 d, const void *s, size_t n) { memcpy((void *)d, s, n); return 0; }\n"
"int cuMemcpyDtoH_v2(void *d, u64 s, size_t n) { memcpy(d, (void *)s, n); return 0; }\n"
"int cuMemcpyHtoDAsync_v2(u64 d, const void *s, size_t n, void *st) { memcpy((void *)d, s, n); copies++; return 0; }\n"
"static int batches, batch_fail;\n"
"int mock_batches(void) { return batches; }\n"
"void mock_batch_fail(int n) { batch_fail = n; }\n"
"struct mattr { int order, st, si, dt, di; unsigned flags; };\n"
"int cuMemcpyBatchAsync_v2(u64 *d, u64 *s, size_t *n, size_t c, struct mattr *at, size_t *ai,\n"
"  size_t na, void *st)\n"
"{ if (batch_fail) { batch_fail--; return 801; }\n"
"  if (!c || !na || na > c || ai[0] || at[0].order < 1 || at[0].order > 3) return 1;\n"
"  for (size_t i = 0; i < c; i++) { memcpy((void *)d[i], (const void *)s[i], n[i]); copies++; }\n"
"  batches++; return 0; }\n"
"int cuMemsetD8_v2(u64 d, unsigned char v, size_t n) { memset((void *)d, v, n); return 0; }\n"
"int cuMemHostAlloc(void **p, size_t n, unsigned f) { *p = malloc(n); return *p ? 0 : 2; }\n"
"int cuMemFreeHost(void *p) { free(p); return 0; }\n"
"int cuMemHostRegister_v2(void *p, size_t n, unsigned f) { return 0; }\n"
"int cuMemHostUnregister(void *p) { return 0; }\n"
"int cuStreamCreate(void **s, unsigned f) { *s = malloc(1); return 0; }\n"
"int cuStreamDestroy_v2(void *s) { free(s); return 0; }\n"
"int cuStreamSynchronize(void *s) { if (now_tick < busy_until) now_tick = busy_until; return 0; }\n"
"int cuStreamQuery(void *s) { return now_tick >= busy_until ? 0 : 600; }\n"
"int cuEventCreate(void **e, unsigned f) { *e = calloc(1, sizeof(struct ev)); live_ev++; return 0; }\n"
"int cuEventDestroy_v2(void *e) { free(e); live_ev--; return 0; }\n"
"int cuEventRecord(void *e, void *s) { if (s == (void *)1) return 400; ((struct ev *)e)->tick = busy_until; return 0; }\n"
"int cuEventQuery(void *e) { return ((struct ev *)e)->tick <= now_tick ? 0 : 600; }\n"
"int cuEventSynchronize(void *e) { return 0; }\n"
"int cuEventElapsedTime(float *ms, void *a, void *b) { *ms = 0; return 0; }\n"
"static int verify_fn;\n"
"int cuModuleLoadData(void **m, const void *i) { *m = (void *)32; return 0; }\n"
"int cuModuleUnload(void *m) { return 0; }\n"
"int cuModuleGetFunction(void **f, void *m, const char *n)\n"
"{ if (strcmp(n, \"nm_verify\")) return 500; *f = &verify_fn; return 0; }\n"
"int cuLaunchKernel(void *f, unsigned a, unsigned b, unsigned c, unsigned d, unsigned e,\n"
"  unsigned g, unsigned h, void *s, void **p, void **x)\n"
"{ const unsigned char *d8, *t; unsigned n, k0, per; u64 off, *res;\n"
"  if (f != &verify_fn) return 801;\n"
"  d8 = (const unsigned char *)*(u64 *)p[0]; n = *(unsigned *)p[1]; k0 = *(unsigned *)p[2];\n"
"  t = (const unsigned char *)*(u64 *)p[3]; per = *(unsigned *)p[4]; off = *(u64 *)p[5];\n"
"  res = (u64 *)*(u64 *)p[6];\n"
"  for (unsigned i = 0; i < n; i++) { res[0]++;\n"
"    if (d8[i] != t[(k0 + i) % per]) { if (off + i < res[2]) res[2] = off + i; res[1]++; } }\n"
"  return 0; }\n"
"int cuMemGetHandleForAddressRange(void *h, u64 p, size_t n, int t, unsigned long long f)\n"
"{ int fd = open(\"/dev/null\", O_RDONLY | O_CLOEXEC); if (fd < 0) return 801; *(int *)h = fd; return 0; }\n";

struct t_cuda_mock {
	char dir[32], src[64], so[64];
	void *h;	/* the stand-in, for dlsym of its mock_* controls */
};

/* Build the stand-in and point NM_CUDA_LIB at it; SKIP if it cannot be
 * built (no C compiler). */
static inline void t_cuda_mock_load(struct t_cuda_mock *m)
{
	char cmd[256];
	FILE *f;

	if (system("command -v cc >/dev/null 2>&1"))
		SKIP("no C compiler to build the stand-in driver");
	snprintf(m->dir, sizeof(m->dir), "/tmp/nm-cuda-mock-XXXXXX");
	REQUIRE(mkdtemp(m->dir));
	snprintf(m->src, sizeof(m->src), "%s/mock.c", m->dir);
	snprintf(m->so, sizeof(m->so), "%s/libcuda-mock.so", m->dir);
	f = fopen(m->src, "w");
	REQUIRE(f && fputs(t_cuda_mock_src, f) >= 0 && !fclose(f));
	snprintf(cmd, sizeof(cmd), "cc -shared -fPIC -O1 -o %s %s", m->so, m->src);
	if (system(cmd))
		SKIP("could not build the stand-in driver (%s)", cmd);
	setenv("NM_CUDA_LIB", m->so, 1);
	m->h = dlopen(m->so, RTLD_NOW);
	REQUIRE(m->h);
}

/* Remove the files (the library keeps its handle open). */
static inline void t_cuda_mock_unlink(struct t_cuda_mock *m)
{
	unlink(m->so);
	unlink(m->src);
	rmdir(m->dir);
}
#endif

/* SPDX-License-Identifier: MIT */
/*
 * bench_gpu.c - `netmem bench gpu [--json] [--bytes N] [--frag N] [--reps N]`
 *
 * Matrix:
 *   (a) gpu_place: payload from pinned staging memory into GPU pool
 *       buffers through netmem's path (fragments from nm_pool_alloc_frag,
 *       nm_buf_place per fragment, completions from nm_area_poll, puts),
 *       against the baseline measured in the same run: one plain
 *       cuMemcpyHtoDAsync of the same total from the same staging memory
 *       into a plain cuMemAlloc buffer.  Best of --reps runs each; the
 *       ratio netmem/cuda is the figure to watch (1.0 = no overhead).
 *   (b) gpu_split: a loopback TCP stream received with header/data split
 *       into a cuda pool vs into host memory.  Not built yet: it needs the
 *       receive engines (include/netmem/rx.h); see bench_split_hook().
 *
 * Without a CUDA device it prints the reason ("no CUDA driver (...)") and
 * exits 77, the suite's "skipped".
 *
 * JSON lines (--json), one per figure:
 *   {"bench":"gpu_place","impl":"netmem|cuda","metric":"bytes_per_s","value":N}
 *   {"bench":"gpu_place","impl":"netmem","metric":"ratio_vs_cuda","value":R}
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <netmem/netmem.h>
#include <netmem/cuda.h>
#include "util/cudadrv.h"
#include "cmds.h"

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static size_t parse_size(const char *s)
{
	char *e;
	double v = strtod(s, &e);

	switch (*e) {
	case 'k': case 'K': v *= 1024; break;
	case 'm': case 'M': v *= 1024 * 1024; break;
	case 'g': case 'G': v *= 1024.0 * 1024 * 1024; break;
	}
	return v > 0 ? (size_t)v : 0;
}

static int completions;

static void on_done(void *arg, int status)
{
	(void)arg;
	if (!status)
		completions++;
}

/* One pass through netmem: fragments, places, polls, puts.  Return the
 * seconds from the first place to the last completion, or < 0. */
static double netmem_pass(struct nm_pool *p, struct nm_area *a, struct nm_buf *bufs,
			  const unsigned char *src, size_t total, uint32_t frag)
{
	size_t nfrag = total / frag, placed = 0;
	double t0 = now();

	completions = 0;
	for (size_t i = 0; i < nfrag; i++) {
		if (nm_pool_alloc_frag(p, &bufs[i], frag, 64))
			return -1;
		if (nm_buf_place(&bufs[i], src + i * (size_t)frag, frag, on_done, NULL))
			return -1;
		placed++;
		/* A receive loop polls as it goes; so does the benchmark. */
		if ((i & 255) == 255)
			nm_area_poll(a);
	}
	while ((size_t)completions < placed)
		nm_area_poll(a);
	t0 = now() - t0;
	if (nm_pool_put_bulk(p, bufs, (unsigned int)nfrag) != (int)nfrag)
		return -1;
	return t0;
}

static double cuda_pass(const struct nm_cudrv *cu, CUstream s, CUdeviceptr dst,
			const unsigned char *src, size_t total)
{
	double t0 = now();

	if (cu->MemcpyHtoDAsync(dst, src, total, s) != CUDA_SUCCESS ||
	    cu->StreamSynchronize(s) != CUDA_SUCCESS)
		return -1;
	return now() - t0;
}

/*
 * (b) Hook for the loopback split-stream comparison.  When the receive
 * engines exist: receive N bytes over loopback TCP with --split into a
 * cuda pool (headers in host memory, payload placed on the GPU) and into
 * a host pool, report bytes_per_s for impl "netmem_cuda" and
 * "netmem_host" under bench "gpu_split", and their ratio.
 */
static void bench_split_hook(bool json)
{
	if (!json)
		printf("gpu_split: not built yet (needs the receive engines, include/netmem/rx.h)\n");
}

int cmd_bench_gpu(int argc, char **argv)
{
	size_t total = 256u << 20, nfrag;
	uint32_t frag = 16384;
	int reps = 5, avail, err;
	bool json = false;
	const struct nm_cudrv *cu;
	struct nm_cuda_stats st;
	unsigned char *src;
	struct nm_area *a;
	struct nm_pool *p;
	struct nm_buf *bufs;
	CUcontext ctx, old;
	CUstream s;
	CUdeviceptr dst;
	double best_nm = 1e30, best_cu = 1e30;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--json"))
			json = true;
		else if (!strcmp(argv[i], "--bytes") && i + 1 < argc)
			total = parse_size(argv[++i]);
		else if (!strcmp(argv[i], "--frag") && i + 1 < argc)
			frag = (uint32_t)parse_size(argv[++i]);
		else if (!strcmp(argv[i], "--reps") && i + 1 < argc)
			reps = atoi(argv[++i]);
		else {
			fprintf(stderr, "usage: netmem bench gpu [--json] [--bytes N] "
					"[--frag N] [--reps N]\n");
			return 2;
		}
	}
	if (!total || !frag || frag > (64u << 10) || reps < 1) {
		fprintf(stderr, "netmem bench gpu: need --bytes > 0, 0 < --frag <= 64K, --reps >= 1\n");
		return 2;
	}
	avail = nm_cuda_available();
	if (avail <= 0) {
		fprintf(stderr, "netmem bench gpu: %s\n", nm_cuda_status());
		return 77;
	}
	total -= total % frag;
	nfrag = total / frag;
	cu = nm_cudrv_get(&err);
	if (!cu || nm_cudrv_primary_ctx(0, &ctx) || cu->CtxPushCurrent(ctx) != CUDA_SUCCESS) {
		fprintf(stderr, "netmem bench gpu: device 0 context: %s\n", nm_cuda_status());
		return 1;
	}

	src = nm_cuda_host_alloc(total);
	bufs = calloc(nfrag, sizeof(*bufs));
	/* 64 KiB chunks carved into 64-byte aligned fragments, plus the
	 * chunk a previous pass left half carved. */
	size_t per_chunk = (64u << 10) / ((frag + 63) & ~63u);
	NM_OPTS(nm_area_opts, o, .size = (nfrag / per_chunk + 2) * (64u << 10), .order = 4,
		.name = "bench-gpu");
	a = nm_area_create("cuda", &o);
	p = a ? nm_pool_create(a, NULL) : NULL;
	if (!src || !bufs || !p) {
		fprintf(stderr, "netmem bench gpu: setup: %s\n", strerror(errno));
		return 1;
	}
	memset(src, 0x5a, total);
	if (cu->MemAlloc(&dst, total) != CUDA_SUCCESS ||
	    cu->StreamCreate(&s, CU_STREAM_NON_BLOCKING) != CUDA_SUCCESS) {
		fprintf(stderr, "netmem bench gpu: baseline buffer\n");
		return 1;
	}

	/* Warm both paths once (page tables, driver pools), then measure,
	 * interleaved so both see the same machine. */
	netmem_pass(p, a, bufs, src, total, frag);
	cuda_pass(cu, s, dst, src, total);
	for (int r = 0; r < reps; r++) {
		double tn = netmem_pass(p, a, bufs, src, total, frag);
		double tc = cuda_pass(cu, s, dst, src, total);
		if (tn < 0 || tc < 0) {
			fprintf(stderr, "netmem bench gpu: a pass failed\n");
			return 1;
		}
		if (tn < best_nm)
			best_nm = tn;
		if (tc < best_cu)
			best_cu = tc;
	}
	nm_cuda_area_stats(a, &st, sizeof(st));

	double bn = total / best_nm, bc = total / best_cu;
	if (json) {
		printf("{\"bench\":\"gpu_place\",\"impl\":\"netmem\",\"metric\":\"bytes_per_s\",\"value\":%.0f}\n", bn);
		printf("{\"bench\":\"gpu_place\",\"impl\":\"cuda\",\"metric\":\"bytes_per_s\",\"value\":%.0f}\n", bc);
		printf("{\"bench\":\"gpu_place\",\"impl\":\"netmem\",\"metric\":\"ratio_vs_cuda\",\"value\":%.3f}\n", bn / bc);
	} else {
		printf("gpu_place: %zu MiB from pinned staging, best of %d\n", total >> 20, reps);
		printf("  cuda    one cuMemcpyHtoDAsync          %8.2f GB/s  (baseline)\n", bc / 1e9);
		printf("  netmem  %zu fragments of %u B        %8.2f GB/s  ratio %.3f\n",
		       nfrag, frag, bn / 1e9, bn / bc);
		printf("  events recorded %llu for %llu placements\n",
		       (unsigned long long)st.events_recorded, (unsigned long long)st.place_calls);
	}
	bench_split_hook(json);

	cu->StreamDestroy(s);
	cu->MemFree(dst);
	cu->CtxPopCurrent(&old);
	nm_pool_destroy(p);
	nm_area_destroy(a);
	nm_cuda_host_free(src);
	free(bufs);
	return 0;
}

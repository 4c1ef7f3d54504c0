/* SPDX-License-Identifier: MIT */
/*
 * bench_gpu.c - `netmem bench gpu [--json] [--bytes N] [--frag N] [--reps N]
 *                [--seconds S] [--msg-size N] [--engine E] [--chunk-order N]`
 *
 * Matrix:
 *   (a) gpu_place: payload from pinned staging memory into GPU pool
 *       buffers through netmem's path (fragments from nm_pool_alloc_frag,
 *       nm_buf_place per fragment, completions from nm_area_poll, puts),
 *       against the baseline measured in the same run: one plain
 *       cuMemcpyHtoDAsync of the same total from the same staging memory
 *       into a plain cuMemAlloc buffer.  Best of --reps runs each; the
 *       ratio netmem/cuda is the figure to watch (1.0 = no overhead).
 *   (b) gpu_split: a loopback TCP stream (`netmem tx --framed`, one
 *       connection, --seconds S, frames of --msg-size bytes) received with
 *       header/data split: payload into a cuda pool (received into host
 *       staging, placed on the GPU by nm_buf_place) against the same
 *       stream with the payload in a host pool, the baseline.  Passes
 *       alternate, --reps of each; the medians and their ratio
 *       cuda/host are the figures (1.0 = GPU placement costs the stream
 *       nothing).  --engine picks the receive engine (default: the
 *       library's; socket if that cannot start).  --chunk-order sets the
 *       payload chunks' size, 2^N pages (default 6: 256 KiB, as `netmem
 *       rx --provider cuda` has them) on both sides; the staging chunks
 *       stay 64 KiB.  Each rep prints the
 *       receiving process's CPU per GB and, for the GPU, the driver copies
 *       and calls per GiB.
 *   (c) gpu_copy: what one copy costs, 16, 64 and 256 KiB from pinned
 *       staging, none adjacent: the issuing thread's time a copy and the
 *       copy engine's rate, one cuMemcpyHtoDAsync each against
 *       cuMemcpyBatchAsync of 64 (where the driver has it).  Why the
 *       cuda provider batches (docs/gpu.md).
 *
 * Without a CUDA device it prints the reason ("no CUDA driver (...)") and
 * exits 77, the suite's "skipped".
 *
 * JSON lines (--json), one per figure:
 *   {"bench":"gpu_place","impl":"netmem|cuda","metric":"bytes_per_s","value":N}
 *   {"bench":"gpu_place","impl":"netmem","metric":"ratio_vs_cuda","value":R}
 *   {"bench":"gpu_split","impl":"netmem_cuda|netmem_host","metric":"bytes_per_s","value":N}
 *   {"bench":"gpu_split","impl":"netmem_cuda|netmem_host","metric":"cpu_s_per_gb","value":N}
 *   {"bench":"gpu_copy","impl":"single_SIZE|batch64_SIZE","metric":"us_per_copy|bytes_per_s","value":N}
 *   {"bench":"gpu_split","impl":"netmem_cuda","metric":"ratio_vs_host","value":R}
 */
#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <unistd.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <netmem/rx.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <netmem/netmem.h>
#include <netmem/cuda.h>
#include "util/cudadrv.h"
#include "cmds.h"
#include "txrx.h"

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

/* ---------------------------------------------------------------- */
/* (c) what one copy costs: the calling thread's time and the copy    */
/* engine's rate, one call a copy against batches of 64               */

static int copy_costs(const struct nm_cudrv *cu, CUstream s, CUdeviceptr dst,
		      const unsigned char *src, size_t total, bool json)
{
	static const size_t sizes[] = { 16u << 10, 64u << 10, 256u << 10 };
	static CUdeviceptr ds[64], ss[64];
	static size_t ls[64];
	struct nm_cu_memcpy_attr attr = { .src_access_order = CU_MEMCPY_SRC_ACCESS_ORDER_STREAM };

	if (!json)
		printf("gpu_copy: copies from pinned staging, none adjacent (backwards), "
		       "time of the issuing loop and to the end of the stream\n");
	for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
		size_t sz = sizes[k], n = total / sz > 8192 ? 8192 : total / sz;
		double t0, ti, tt, bi = 0, bt = 0;

		if (!n)
			continue;
		t0 = now();
		for (size_t i = 0; i < n; i++) {
			size_t off = (n - 1 - i) * sz;

			if (cu->MemcpyHtoDAsync(dst + off, src + off, sz, s) != CUDA_SUCCESS)
				return -1;
		}
		ti = now() - t0;
		if (cu->StreamSynchronize(s) != CUDA_SUCCESS)
			return -1;
		tt = now() - t0;
		if (cu->MemcpyBatchAsync || cu->MemcpyBatchAsync12) {
			t0 = now();
			for (size_t i = 0; i < n;) {
				size_t m = 0, idx = 0, fail = 0;
				CUresult r;

				for (; m < 64 && i < n; m++, i++) {
					size_t off = (n - 1 - i) * sz;

					ds[m] = dst + off;
					ss[m] = (CUdeviceptr)(uintptr_t)(src + off);
					ls[m] = sz;
				}
				r = cu->MemcpyBatchAsync ?
					    cu->MemcpyBatchAsync(ds, ss, ls, m, &attr, &idx, 1, s) :
					    cu->MemcpyBatchAsync12(ds, ss, ls, m, &attr, &idx, 1,
								   &fail, s);
				if (r != CUDA_SUCCESS)
					return -1;
			}
			bi = now() - t0;
			if (cu->StreamSynchronize(s) != CUDA_SUCCESS)
				return -1;
			bt = now() - t0;
		}
		if (json) {
			printf("{\"bench\":\"gpu_copy\",\"impl\":\"single_%zu\",\"metric\":\"us_per_copy\",\"value\":%.3f}\n",
			       sz, ti / n * 1e6);
			printf("{\"bench\":\"gpu_copy\",\"impl\":\"single_%zu\",\"metric\":\"bytes_per_s\",\"value\":%.0f}\n",
			       sz, n * sz / tt);
			if (bt > 0) {
				printf("{\"bench\":\"gpu_copy\",\"impl\":\"batch64_%zu\",\"metric\":\"us_per_copy\",\"value\":%.3f}\n",
				       sz, bi / n * 1e6);
				printf("{\"bench\":\"gpu_copy\",\"impl\":\"batch64_%zu\",\"metric\":\"bytes_per_s\",\"value\":%.0f}\n",
				       sz, n * sz / bt);
			}
		} else {
			printf("  %4zu KiB x %4zu  one call each: %5.2f us a copy, %6.2f GB/s", sz >> 10,
			       n, ti / n * 1e6, n * sz / tt / 1e9);
			if (bt > 0)
				printf("   batches of 64: %5.2f us a copy, %6.2f GB/s\n", bi / n * 1e6,
				       n * sz / bt / 1e9);
			else
				printf("   (the driver has no cuMemcpyBatchAsync)\n");
		}
	}
	fflush(stdout);
	return 0;
}

/* ---------------------------------------------------------------- */
/* (b) the split stream into GPU buffers against into host buffers   */

struct split_cfg {
	const char *engine;   /* NULL: the library's default */
	double seconds;
	size_t msg;
	int order;            /* the payload (GPU or host) chunks' order */
	char self[4096];
	/* per pass, filled by split_pass: the receiving process's CPU
	 * seconds per GB (the CUDA driver's threads included), and for a
	 * cuda pass the driver copies and calls per GiB */
	double cpu_gb, thr_gb, copies_gib, calls_gib, polls_gib, events_gib;
};

static double thread_cpu_now(void)
{
	struct rusage ru;

	getrusage(RUSAGE_THREAD, &ru);
	return ru.ru_utime.tv_sec + ru.ru_stime.tv_sec +
	       (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

static double cpu_now(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_utime.tv_sec + ru.ru_stime.tv_sec +
	       (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

struct split_st {
	struct nm_pool *pool, *hdr_pool;
	atomic_uint_fast64_t bytes;
	_Atomic double t_first, t_last;
	atomic_uint closed, errs;
	atomic_bool done;
};

static int sp_conn(struct nm_rx *rx, struct nm_rx_conn *c, void *user)
{
	struct split_st *st = user;
	double zero = 0;

	(void)rx;
	(void)c;
	atomic_compare_exchange_strong(&st->t_first, &zero, now());
	return 0;
}

static int sp_data(struct nm_rx *rx, struct nm_rx_conn *c, const struct nm_rx_msg *msg,
		   void *user)
{
	struct split_st *st = user;

	(void)rx;
	(void)c;
	/* Both sides do the same: count the payload, give everything back. */
	atomic_fetch_add_explicit(&st->bytes, msg->bytes, memory_order_relaxed);
	if (msg->nr && nm_pool_put_bulk(st->pool, msg->bufs, msg->nr) != (int)msg->nr)
		atomic_fetch_add(&st->errs, 1);
	if (msg->hdr && nm_pool_put(st->hdr_pool, msg->hdr))
		atomic_fetch_add(&st->errs, 1);
	return 0;
}

static void sp_close(struct nm_rx *rx, struct nm_rx_conn *c, int err, void *user)
{
	struct split_st *st = user;

	(void)c;
	if (err)
		atomic_fetch_add(&st->errs, 1);
	atomic_store(&st->t_last, now());
	atomic_fetch_add(&st->closed, 1);
	atomic_store(&st->done, true);
	nm_rx_stop(rx);
}

static pid_t split_tx(const struct split_cfg *cfg, int port)
{
	char addr[32], secs[32], msg[32];
	pid_t pid;

	snprintf(addr, sizeof(addr), "127.0.0.1:%d", port);
	snprintf(secs, sizeof(secs), "%.3f", cfg->seconds);
	snprintf(msg, sizeof(msg), "%zu", cfg->msg);
	fflush(NULL);
	pid = fork();
	if (pid == 0) {
		execl(cfg->self, "netmem", "tx", "--connect", addr, "--seconds", secs,
		      "--msg-size", msg, "--framed", "--wait", "5", "--quiet", (char *)NULL);
		_exit(127);
	}
	return pid;
}

/*
 * One pass: the payload in @provider's memory.  Return bytes per second
 * (first connection to its close), or < 0 with the reason in @note.
 * *engine_used gets the engine's name.
 */
static double split_pass(struct split_cfg *cfg, const char *provider,
			 char *engine_used, size_t elen, char *note, size_t nlen)
{
	NM_OPTS(nm_area_opts, ao, .size = 64u << 20, .order = cfg->order, .name = "bench-gpu-split");
	NM_OPTS(nm_area_opts, ho, .size = 32u << 20, .order = 4, .name = "bench-gpu-hdr");
	struct split_st st = { 0 };
	struct nm_area *area = NULL, *hdr = NULL;
	struct nm_rx *rx = NULL;
	struct nm_rx_info info;
	double res = -1, deadline;
	pid_t tx = -1;
	int port, pinned = 0;
	double cpu0, thr0;

	area = nm_area_create(provider, &ao);
	hdr = nm_area_create("host", &ho);
	st.pool = area ? nm_pool_create(area, NULL) : NULL;
	st.hdr_pool = hdr ? nm_pool_create(hdr, NULL) : NULL;
	if (!st.pool || !st.hdr_pool) {
		snprintf(note, nlen, "%s memory: %s", provider, nm_strerror(-errno));
		goto out;
	}
	/* The GPU side copies out of the staging (header) area: pinned, as
	 * `netmem rx` pins it (docs/gpu.md). */
	if (!strcmp(provider, "cuda") && (pinned = nm_cuda_pin_area(hdr))) {
		snprintf(note, nlen, "pinning the staging area: %s", nm_strerror(pinned));
		pinned = -1;
		goto out;
	}
	pinned = !strcmp(provider, "cuda");
	NM_OPTS(nm_rx_opts, ro, .engine = cfg->engine, .flags = NM_RX_F_SPLIT, .pool = st.pool,
		.hdr_pool = st.hdr_pool, .on_data = sp_data, .on_conn = sp_conn,
		.on_close = sp_close, .user = &st);
	rx = nm_rx_create(&ro);
	if (!rx) {
		snprintf(note, nlen, "engine %s: %s", cfg->engine ? cfg->engine : "(default)",
			 nm_strerror(-errno));
		goto out;
	}
	nm_rx_info(rx, &info, sizeof(info));
	snprintf(engine_used, elen, "%s", info.engine);
	port = nm_rx_listen(rx, "127.0.0.1", 0);
	if (port < 0) {
		snprintf(note, nlen, "listen: %s", nm_strerror(port));
		goto out;
	}
	tx = split_tx(cfg, port);
	cpu0 = cpu_now();
	thr0 = thread_cpu_now();
	deadline = now() + cfg->seconds + 20;
	while (!atomic_load(&st.done) && now() < deadline) {
		int rc = nm_rx_run(rx, 250);
		if (rc < 0) {
			snprintf(note, nlen, "run: %s", nm_strerror(rc));
			goto out;
		}
	}
	if (!atomic_load(&st.done)) {
		snprintf(note, nlen, "timed out");
		goto out;
	}
	if (atomic_load(&st.errs)) {
		snprintf(note, nlen, "%u errors (connection or put)", atomic_load(&st.errs));
		goto out;
	}
	res = atomic_load(&st.bytes) / (atomic_load(&st.t_last) - atomic_load(&st.t_first));
	cfg->cpu_gb = (cpu_now() - cpu0) / (atomic_load(&st.bytes) / 1e9);
	cfg->thr_gb = (thread_cpu_now() - thr0) / (atomic_load(&st.bytes) / 1e9);
	cfg->copies_gib = cfg->calls_gib = cfg->polls_gib = cfg->events_gib = 0;
	if (pinned > 0) {
		struct nm_cuda_stats cs;
		double gib = atomic_load(&st.bytes) / (double)(1u << 30);

		if (!nm_cuda_area_stats(area, &cs, sizeof(cs))) {
			cfg->copies_gib = cs.copies / gib;
			cfg->calls_gib = cs.copy_calls / gib;
			cfg->polls_gib = cs.polls / gib;
			cfg->events_gib = cs.events_recorded / gib;
		}
	}
out:
	if (tx > 0 && !nm_reap(tx, 20) && res >= 0) {
		snprintf(note, nlen, "the sender failed");
		res = -1;
	}
	if (rx)
		nm_rx_destroy(rx);
	/* GPU placements still in flight hold buffers: let them land. */
	for (int i = 0; area && i < 100000 && nm_area_poll(area) > 0; i++)
		;
	if (st.pool && nm_pool_destroy(st.pool) && res >= 0) {
		snprintf(note, nlen, "buffers still held after the pass");
		res = -1;
	}
	if (st.hdr_pool)
		nm_pool_destroy(st.hdr_pool);
	if (area)
		nm_area_destroy(area);
	if (pinned > 0)
		nm_cuda_unpin_area(hdr);
	if (hdr)
		nm_area_destroy(hdr);
	return res;
}

static int cmp_dbl(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* Run (b), interleaved; print and return 0, or 1 when a pass failed. */
static int bench_split(struct split_cfg *cfg, int reps, bool json)
{
	static const char *const prov[2] = { "cuda", "host" };
	double v[2][64], cpu[2][64];
	char eng[2][32] = { "", "" }, note[160] = "";
	ssize_t n;

	n = readlink("/proc/self/exe", cfg->self, sizeof(cfg->self) - 1);
	if (n <= 0) {
		fprintf(stderr, "netmem bench gpu: /proc/self/exe: %s\n", strerror(errno));
		return 1;
	}
	cfg->self[n] = 0;
	if (reps > 64)
		reps = 64;
	for (int r = 0; r < reps; r++) {
		for (int k = 0; k < 2; k++) {
			v[k][r] = split_pass(cfg, prov[k], eng[k], sizeof(eng[k]), note, sizeof(note));
			if (v[k][r] < 0 && r == 0 && k == 0 && !cfg->engine &&
			    !strncmp(note, "engine", 6)) {
				/* io_uring refused here: say so, and use sockets. */
				fprintf(stderr, "gpu_split: default engine: %s; using --engine socket\n",
					note);
				cfg->engine = "socket";
				v[k][r] = split_pass(cfg, prov[k], eng[k], sizeof(eng[k]), note,
						     sizeof(note));
			}
			if (v[k][r] < 0) {
				fprintf(stderr, "netmem bench gpu: gpu_split %s: %s\n", prov[k], note);
				return 1;
			}
			cpu[k][r] = cfg->cpu_gb;
			if (!json)
				printf("  rep %d %-4s %7.2f Gbit/s  %.3f CPU s/GB (receiving thread "
				       "%.3f)%s", r + 1, prov[k], v[k][r] * 8 / 1e9, cfg->cpu_gb,
				       cfg->thr_gb, k ? "\n" : "");
			if (!json && !k)
				printf("  (per GiB: %.0f copies in %.0f driver calls, %.0f polls, "
				       "%.0f events)\n", cfg->copies_gib, cfg->calls_gib, cfg->polls_gib,
				       cfg->events_gib);
		}
	}
	qsort(cpu[0], reps, sizeof(double), cmp_dbl);
	qsort(cpu[1], reps, sizeof(double), cmp_dbl);
	qsort(v[0], reps, sizeof(double), cmp_dbl);
	qsort(v[1], reps, sizeof(double), cmp_dbl);
	double mc = v[0][reps / 2], mh = v[1][reps / 2];
	if (json) {
		printf("{\"bench\":\"gpu_split\",\"impl\":\"netmem_cuda\",\"metric\":\"bytes_per_s\",\"value\":%.0f}\n", mc);
		printf("{\"bench\":\"gpu_split\",\"impl\":\"netmem_host\",\"metric\":\"bytes_per_s\",\"value\":%.0f}\n", mh);
		printf("{\"bench\":\"gpu_split\",\"impl\":\"netmem_cuda\",\"metric\":\"ratio_vs_host\",\"value\":%.3f}\n", mc / mh);
		printf("{\"bench\":\"gpu_split\",\"impl\":\"netmem_cuda\",\"metric\":\"cpu_s_per_gb\",\"value\":%.4f}\n", cpu[0][reps / 2]);
		printf("{\"bench\":\"gpu_split\",\"impl\":\"netmem_host\",\"metric\":\"cpu_s_per_gb\",\"value\":%.4f}\n", cpu[1][reps / 2]);
	} else {
		printf("gpu_split: loopback TCP, 1 connection, %.1f s passes, %zu-byte frames, "
		       "engine %s, median of %d\n", cfg->seconds, cfg->msg, eng[0], reps);
		printf("  host    payload into host buffers      %8.2f Gbit/s  (baseline; %.2f-%.2f)\n",
		       mh * 8 / 1e9, v[1][0] * 8 / 1e9, v[1][reps - 1] * 8 / 1e9);
		printf("  cuda    payload placed into GPU buffers %7.2f Gbit/s  ratio %.3f (%.2f-%.2f)\n",
		       mc * 8 / 1e9, mc / mh, v[0][0] * 8 / 1e9, v[0][reps - 1] * 8 / 1e9);
		printf("  CPU s/GB (receiving process, medians): cuda %.3f, host %.3f, ratio %.3f\n",
		       cpu[0][reps / 2], cpu[1][reps / 2], cpu[0][reps / 2] / cpu[1][reps / 2]);
	}
	fflush(stdout);
	return 0;
}

int cmd_bench_gpu(int argc, char **argv)
{
	size_t total = 256u << 20, nfrag;
	uint32_t frag = 16384;
	int reps = 5, avail, err;
	bool json = false;
	/* 256 KiB payload chunks, as `netmem rx --provider cuda` has them:
	 * what the bench measures is what the command runs */
	struct split_cfg scfg = { .seconds = 3, .msg = 256u << 10, .order = 6 };
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
		else if (!strcmp(argv[i], "--seconds") && i + 1 < argc)
			scfg.seconds = atof(argv[++i]);
		else if (!strcmp(argv[i], "--msg-size") && i + 1 < argc)
			scfg.msg = parse_size(argv[++i]);
		else if (!strcmp(argv[i], "--engine") && i + 1 < argc)
			scfg.engine = argv[++i];
		else if (!strcmp(argv[i], "--chunk-order") && i + 1 < argc)
			scfg.order = atoi(argv[++i]);
		else {
			fprintf(stderr, "usage: netmem bench gpu [--json] [--bytes N] "
					"[--frag N] [--reps N] [--seconds S] [--msg-size N] "
					"[--engine E] [--chunk-order N]\n");
			return 2;
		}
	}
	if (!total || !frag || frag > (64u << 10) || reps < 1 || reps > 64 ||
	    !(scfg.seconds > 0) || scfg.seconds > 600 || !scfg.msg || scfg.msg > (16u << 20) ||
	    scfg.order < 4 || scfg.order > 10) {
		fprintf(stderr, "netmem bench gpu: need --bytes > 0, 0 < --frag <= 64K, "
				"1 <= --reps <= 64, 0 < --seconds <= 600, 0 < --msg-size <= 16M, "
				"4 <= --chunk-order <= 10\n");
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
		printf("  events recorded %llu, copies issued %llu in %llu driver calls, for %llu "
		       "placements\n",
		       (unsigned long long)st.events_recorded, (unsigned long long)st.copies,
		       (unsigned long long)st.copy_calls, (unsigned long long)st.place_calls);
	}
	fflush(stdout);
	if (copy_costs(cu, s, dst, src, total, json)) {
		fprintf(stderr, "netmem bench gpu: gpu_copy: a copy failed\n");
		return 1;
	}

	cu->StreamDestroy(s);
	cu->MemFree(dst);
	cu->CtxPopCurrent(&old);
	nm_pool_destroy(p);
	nm_area_destroy(a);
	nm_cuda_host_free(src);
	free(bufs);
	return bench_split(&scfg, reps, json);
}

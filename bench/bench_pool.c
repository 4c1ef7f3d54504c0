/* SPDX-License-Identifier: MIT */
/*
 * bench_pool.c - `netmem bench pool [--json] [--quick]`: what a buffer
 * costs to take and give back, netmem's pool against DPDK's mempool and
 * glibc malloc, with the machine's baselines from the same run (as Linux
 * bench_page_pool_simple.c measures them first).
 *
 * Matrix (every object is 4096 bytes: netmem's smallest chunk, order 0):
 *
 *   bench                    metric      netmem             dpdk                    malloc
 *   baseline_empty_loop      ns_per_op   (impl "baseline": an empty loop iteration)
 *   baseline_atomic_relaxed  ns_per_op   (relaxed load + store of an atomic: a stat bump)
 *   baseline_atomic_locked   ns_per_op   (lock xadd: one atomic RMW)
 *   alloc_put                ns_per_op   nm_pool_alloc +    rte_mempool_get + put,  malloc + free
 *                                        nm_pool_put        256-entry lcore cache
 *   alloc_put_bulk32         ns_per_op   nm_pool_alloc_bulk rte_mempool_get_bulk +  32 x malloc, then
 *                            (per obj)   + nm_pool_put_bulk put_bulk                32 x free
 *   xthread_bulk32           ops_per_s   thread A allocates bulks of 32 and pushes them through one
 *                                        SPSC queue (this file's, same code for all three) to
 *                                        thread B on the other CPU, which puts them back in bulk:
 *                                        netmem through the pool's return ring to A's refill;
 *                                        DPDK into B's lcore cache, flushed to the common ring
 *                                        that A's cache refills from; malloc by free() on B
 *
 *   held_1K .. held_1M       ns_per_op   alloc K in bulks of 32, then put all K back in bulks of 32
 *                            (per pair)  (K = 1K, 16K, 128K, 1M - 4096), the owner thread: netmem
 *                                        (area of 1M untouched chunks), dpdk (get_bulk/put_bulk,
 *                                        64-byte elements), and impl "floor": only the descriptor
 *                                        accesses netmem's checks need, in netmem's order;
 *                                        "held_K_ratio" netmem/dpdk and netmem/floor, and
 *                                        "held_growth" (1M over 1K) per impl
 *
 * and ratio lines: bench "<bench>_ratio", impl "netmem/dpdk" and
 * "netmem/malloc", metric "ratio".  For ns_per_op a ratio below 1 means
 * netmem is faster; for ops_per_s a ratio above 1 does.
 *
 * Every figure is the median of several timed runs (5 x ~0.2 s; 3 x
 * ~0.01 s with --quick; --reps N), the implementations interleaved run by
 * run; a ratio is the median of the ratios within each such pair.  The
 * single-thread loops run on the first CPU of the affinity mask; the
 * cross-thread pair on the first two.  DPDK's part is a module of its own
 * (netmem-bench-dpdk.so, bench_dpdk.h), loaded when the bench starts, so
 * the command does not need DPDK to run.  With it, EAL is started (no
 * hugepages, no PCI, no shared config) on those two CPUs, and both threads
 * of every cross-thread run are its lcores, so DPDK's per-lcore caches are
 * used; without the module or DPDK's libraries, or when EAL refuses, the
 * reason is printed and the netmem and malloc parts still run.
 */
#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <netmem/netmem.h>
#include "bench_dpdk.h"
#include "bench_plot.h"
#include "bench_util.h"
#include "cmds.h"

#define OBJ_ORDER   0u            /* netmem chunk order: 4 KiB */
#define OBJ_SIZE    4096u
#define NR_OBJS     8192u         /* netmem area chunks */
#define DPDK_OBJS   8191u         /* 2^n - 1: the size rte_mempool likes */
#define DPDK_CACHE  256u
#define BULK        NM_BENCH_DPDK_BULK
#define Q_SIZE      1024u         /* hand-off queue slots, power of 2 */
#define MAX_REPS    25

/* held_K: alloc K, then put K, in bulks of 32 on the owner thread, so most
 * allocs and puts go past the alloc cache (a receiver with K buffers in
 * the kernel's ring and its own queues).  The netmem area has 1M chunks of
 * 4 KiB (4 GiB of address space, mapped MAP_NORESERVE and never touched:
 * only the 32 MB of descriptors are); DPDK's mempool has 64-byte elements
 * (neither side touches the memory, and 1M x 4 KiB does not fit EAL's
 * no-hugepage memory).  The largest K leaves room for DPDK's lcore caches
 * in a mempool of 2^20 - 1. */
#define HELD_CHUNKS (1u << 20)
#define HELD_DPDK_OBJS ((1u << 20) - 1)
#define HELD_DPDK_SIZE 64u
#define NR_HELD     4
static const struct {
	unsigned int k;
	const char *name, *label;
} held_info[NR_HELD] = {
	{ 1024, "held_1K", "1K" },
	{ 16384, "held_16K", "16K" },
	{ 131072, "held_128K", "128K" },
	{ 1044480, "held_1M", "1M" },	/* 2^20 - 4096 */
};
#define HELD_MAX 1044480u
enum held_impl { H_NETMEM, H_DPDK, H_FLOOR, NR_HIMPL };
static const char *const held_impl_name[NR_HIMPL] = { "netmem", "dpdk", "floor" };

enum impl { IMPL_NETMEM, IMPL_DPDK, IMPL_MALLOC, NR_IMPLS };
static const char *const impl_name[NR_IMPLS] = { "netmem", "dpdk", "malloc" };

enum bench_id { B_SINGLE, B_BULK, B_XTHREAD, NR_BENCH };
static const struct {
	const char *name, *metric, *label, *unit;
	double per;               /* objects per loop iteration */
	bool higher_better;
} bench_info[NR_BENCH] = {
	[B_SINGLE]  = { "alloc_put", "ns_per_op", "alloc+put, one at a time", "ns/obj", 1, false },
	[B_BULK]    = { "alloc_put_bulk32", "ns_per_op", "alloc+put, bulks of 32", "ns/obj", BULK, false },
	[B_XTHREAD] = { "xthread_bulk32", "ops_per_s", "cross-thread, bulks of 32", "Mobj/s", BULK, true },
};

enum base_id { BASE_LOOP, BASE_RELAXED, BASE_LOCKED, NR_BASE };
static const struct {
	const char *name, *label;
} base_info[NR_BASE] = {
	[BASE_LOOP]    = { "baseline_empty_loop", "empty loop iteration" },
	[BASE_RELAXED] = { "baseline_atomic_relaxed", "relaxed atomic inc (load + store)" },
	[BASE_LOCKED]  = { "baseline_atomic_locked", "locked atomic inc (lock xadd)" },
};

struct figure {
	bool have;
	double med, lo, hi;
	double run[MAX_REPS];     /* each run's figure, in run order */
	unsigned int n;
};

struct bench {
	bool json, quick;
	const char *plot;         /* --plot FILE.svg */
	int reps;
	double target_s;          /* one timed single-thread run */
	double xt_s;              /* one timed cross-thread run */
	int cpu[2], ncpu;

	struct nm_area *area;
	struct nm_pool *pool;     /* single-thread and bulk */
	struct nm_pool *xpool;    /* cross-thread */

	bool dpdk;                /* mempool ready */
	bool eal;                 /* EAL lcores run the cross-thread pair */
	char dpdk_why[1024];
	const struct nm_bench_dpdk *dk;  /* the loaded module, or NULL */
	struct figure base[NR_BASE];
	struct figure fig[NR_BENCH][NR_IMPLS];

	/* held_K */
	bool held_dpdk;           /* DPDK's held mempool ready */
	char held_why[256];       /* why netmem's part failed */
	char held_skip[NR_HELD][160]; /* why a K was not run (its area) */
	uint32_t held_chunks;     /* the held area's chunks */
	char held_dpdk_why[256];  /* why DPDK's part was skipped */
	struct figure held[NR_HELD][NR_HIMPL];
};

/* Set by a loop that failed; the figure is then not reported. */
static int loop_err;

static void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#endif
}

/* ------------------------------------------------------------------ */
/* Baselines                                                            */
/* ------------------------------------------------------------------ */

static _Atomic uint64_t base_ctr;

static void base_loop(void *arg, uint64_t n)
{
	for (uint64_t i = 0; i < n; i++)
		bu_barrier();
}

static void base_relaxed(void *arg, uint64_t n)
{
	for (uint64_t i = 0; i < n; i++)
		atomic_store_explicit(&base_ctr,
			atomic_load_explicit(&base_ctr, memory_order_relaxed) + 1,
			memory_order_relaxed);
}

static void base_locked(void *arg, uint64_t n)
{
	for (uint64_t i = 0; i < n; i++)
		atomic_fetch_add_explicit(&base_ctr, 1, memory_order_relaxed);
}

static const bu_loop_fn base_fn[NR_BASE] = { base_loop, base_relaxed, base_locked };

/* ------------------------------------------------------------------ */
/* Same-thread loops                                                    */
/* ------------------------------------------------------------------ */

static void netmem_single(void *arg, uint64_t n)
{
	struct nm_pool *p = arg;
	struct nm_buf b;

	for (uint64_t i = 0; i < n; i++) {
		if (__builtin_expect(nm_pool_alloc(p, &b) != 0, 0) ||
		    __builtin_expect(nm_pool_put(p, &b) != 0, 0)) {
			loop_err = 1;
			return;
		}
	}
}

static void netmem_bulk(void *arg, uint64_t n)
{
	struct nm_pool *p = arg;
	struct nm_buf b[BULK];

	for (uint64_t i = 0; i < n; i++) {
		if (__builtin_expect(nm_pool_alloc_bulk(p, b, BULK) != BULK, 0) ||
		    __builtin_expect(nm_pool_put_bulk(p, b, BULK) != BULK, 0)) {
			loop_err = 1;
			return;
		}
	}
}

static void malloc_single(void *arg, uint64_t n)
{
	for (uint64_t i = 0; i < n; i++) {
		void *o = malloc(OBJ_SIZE);

		if (__builtin_expect(!o, 0)) {
			loop_err = 1;
			return;
		}
		bu_sink(o);
		free(o);
	}
}

static void malloc_bulk(void *arg, uint64_t n)
{
	void *o[BULK];

	for (uint64_t i = 0; i < n; i++) {
		for (unsigned int k = 0; k < BULK; k++) {
			o[k] = malloc(OBJ_SIZE);
			bu_sink(o[k]);
		}
		for (unsigned int k = 0; k < BULK; k++) {
			if (__builtin_expect(!o[k], 0))
				loop_err = 1;
			free(o[k]);
		}
		if (loop_err)
			return;
	}
}

/* ------------------------------------------------------------------ */
/* Cross-thread: a single-producer single-consumer hand-off queue       */
/* ------------------------------------------------------------------ */

/* One slot carries whatever the implementation hands over: netmem's
 * 16-byte nm_buf, or a DPDK or malloc object pointer. */
union xslot {
	struct nm_buf buf;
	void *obj;
};

struct spsc {
	_Alignas(64) _Atomic uint32_t head;  /* producer writes */
	uint32_t tail_seen;                   /* producer's copy of tail */
	_Alignas(64) _Atomic uint32_t tail;  /* consumer writes */
	uint32_t head_seen;                   /* consumer's copy of head */
	_Alignas(64) union xslot slot[Q_SIZE];
};

/* Producer: free slots, at least @want if there are that many. */
static inline uint32_t spsc_room(struct spsc *q, uint32_t want)
{
	uint32_t head = atomic_load_explicit(&q->head, memory_order_relaxed);
	uint32_t room = Q_SIZE - (head - q->tail_seen);

	if (room < want) {
		/* acquire: the consumer is done reading the slots it freed */
		q->tail_seen = atomic_load_explicit(&q->tail, memory_order_acquire);
		room = Q_SIZE - (head - q->tail_seen);
	}
	return room;
}

static inline void spsc_publish(struct spsc *q, uint32_t n)
{
	uint32_t head = atomic_load_explicit(&q->head, memory_order_relaxed);

	/* release: the slot writes are visible before the new head */
	atomic_store_explicit(&q->head, head + n, memory_order_release);
}

/* Consumer: filled slots, up to @max. */
static inline uint32_t spsc_avail(struct spsc *q, uint32_t max)
{
	uint32_t tail = atomic_load_explicit(&q->tail, memory_order_relaxed);
	uint32_t n = q->head_seen - tail;

	if (n < max) {
		/* acquire: pairs with spsc_publish() */
		q->head_seen = atomic_load_explicit(&q->head, memory_order_acquire);
		n = q->head_seen - tail;
	}
	return n < max ? n : max;
}

static inline void spsc_release(struct spsc *q, uint32_t n)
{
	uint32_t tail = atomic_load_explicit(&q->tail, memory_order_relaxed);

	/* release: our slot reads are done before the producer reuses them */
	atomic_store_explicit(&q->tail, tail + n, memory_order_release);
}

struct xt {
	struct spsc *q;
	enum impl impl;
	struct nm_pool *pool;
	const struct nm_bench_dpdk *dk;
	int cpu;                  /* for a pthread consumer */
	_Atomic int ready, stop;
	_Atomic int done;         /* B's last act: its release orders all its
				   * accesses to this struct (on A's stack)
				   * before A's acquire, which EAL's wait
				   * does not show TSan (DPDK is not
				   * instrumented) */
	int err;
};

/* Sleep a little while the other thread is not running.  Not
 * sched_yield(): on a machine busy with other programs each yield hands
 * them a whole slice, and a hand-over crawls (tests run this beside other
 * work); a sleep leaves the CPU to whoever we wait for. */
static void nap(void)
{
	struct timespec ts = { 0, 20000 };

	nanosleep(&ts, NULL);
}

/* Back off now and then, so a queue shared by two threads on one CPU (or
 * with a partner that lost its CPU) still drains. */
static inline void spin_wait(unsigned int *spins)
{
	if (++*spins >= 4096) {
		*spins = 0;
		nap();
	}
	cpu_relax();
}

/* Thread B: pop up to a bulk, put it back, until told to stop and empty. */
static int xt_consumer(void *arg)
{
	struct xt *x = arg;
	struct spsc *q = x->q;
	unsigned int spins = 0;

	atomic_store_explicit(&x->ready, 1, memory_order_release);
	for (;;) {
		uint32_t t = atomic_load_explicit(&q->tail, memory_order_relaxed);
		uint32_t n = spsc_avail(q, BULK);

		if (!n) {
			if (atomic_load_explicit(&x->stop, memory_order_acquire) &&
			    !spsc_avail(q, BULK))
				break;
			spin_wait(&spins);
			continue;
		}
		if (x->impl == IMPL_NETMEM) {
			struct nm_buf b[BULK];

			for (uint32_t i = 0; i < n; i++)
				b[i] = q->slot[(t + i) & (Q_SIZE - 1)].buf;
			spsc_release(q, n);
			if (nm_pool_put_bulk(x->pool, b, n) != (int)n)
				x->err = 1;
		} else {
			void *o[BULK];

			for (uint32_t i = 0; i < n; i++)
				o[i] = q->slot[(t + i) & (Q_SIZE - 1)].obj;
			spsc_release(q, n);
			if (x->impl == IMPL_DPDK) {
				x->dk->put_bulk(o, n);
				continue;
			}
			for (uint32_t i = 0; i < n; i++)
				free(o[i]);
		}
	}
	atomic_store_explicit(&x->done, 1, memory_order_release);
	return 0;
}

/* Thread A's take of one bulk into @s (laid out as the slots are). */
static inline unsigned int xt_take(struct xt *x, union xslot *s)
{
	unsigned int n = 0;

	switch (x->impl) {
	case IMPL_NETMEM: {
		struct nm_buf b[BULK];
		int r = nm_pool_alloc_bulk(x->pool, b, BULK);

		if (r <= 0)
			return 0;
		for (int i = 0; i < r; i++)
			s[i].buf = b[i];
		return (unsigned int)r;
	}
	case IMPL_DPDK: {
		void *o[BULK];

		if (x->dk->get_bulk(o, BULK))
			return 0;
		for (unsigned int i = 0; i < BULK; i++)
			s[i].obj = o[i];
		return BULK;
	}
	default:
		for (n = 0; n < BULK; n++) {
			s[n].obj = malloc(OBJ_SIZE);
			if (!s[n].obj)
				break;
		}
		return n;
	}
}

/* Thread A: take bulks and push them until @secs have passed.  Return the
 * objects handed over per second, or < 0. */
static double xt_producer(struct xt *x, double secs)
{
	struct spsc *q = x->q;
	union xslot s[BULK];
	uint64_t count = 0;
	unsigned int spins = 0;
	double t0, t1, end;

	t0 = bu_now();
	end = t0 + secs;
	for (;;) {
		for (int k = 0; k < 64; k++) {
			unsigned int n = xt_take(x, s), done = 0;

			if (!n) {
				/* everything is in flight: wait for B */
				spin_wait(&spins);
				continue;
			}
			while (done < n) {
				uint32_t head = atomic_load_explicit(&q->head,
								     memory_order_relaxed);
				uint32_t room = spsc_room(q, n - done);

				if (!room) {
					spin_wait(&spins);
					continue;
				}
				if (room > n - done)
					room = n - done;
				for (uint32_t i = 0; i < room; i++)
					q->slot[(head + i) & (Q_SIZE - 1)] = s[done + i];
				spsc_publish(q, room);
				done += room;
			}
			count += n;
		}
		t1 = bu_now();
		if (t1 >= end)
			break;
	}
	return (double)count / (t1 - t0);
}

static void *xt_thread(void *arg)
{
	struct xt *x = arg;

	bu_pin(x->cpu);
	xt_consumer(x);
	return NULL;
}

/* One cross-thread run of @secs: B started first, then A on this thread. */
static double xthread_run(struct bench *b, enum impl impl, double secs)
{
	struct spsc *q;
	struct xt x = { .impl = impl, .pool = b->xpool, .dk = b->dk,
			.cpu = b->cpu[b->ncpu > 1] };
	pthread_t th;
	double rate;

	q = aligned_alloc(64, sizeof(*q));
	if (!q)
		return -1;
	memset(q, 0, sizeof(*q));
	x.q = q;
	if (b->eal) {
		if (b->dk->launch(xt_consumer, &x)) {
			free(q);
			return -1;
		}
	} else if (pthread_create(&th, NULL, xt_thread, &x)) {
		free(q);
		return -1;
	}
	while (!atomic_load_explicit(&x.ready, memory_order_acquire))
		nap();
	rate = xt_producer(&x, secs);
	atomic_store_explicit(&x.stop, 1, memory_order_release);
	if (b->eal)
		b->dk->wait();
	else
		pthread_join(th, NULL);
	while (!atomic_load_explicit(&x.done, memory_order_acquire))
		nap();	/* set before B returned: at once */
	free(q);
	return x.err ? -1 : rate;
}

/* ------------------------------------------------------------------ */
/* Setup                                                                */
/* ------------------------------------------------------------------ */

static int netmem_setup(struct bench *b)
{
	NM_OPTS(nm_area_opts, ao, .size = (size_t)NR_OBJS * OBJ_SIZE,
		.order = OBJ_ORDER, .name = "bench");
	NM_OPTS(nm_pool_opts, po, .name = "bench");

	b->area = nm_area_create("host", &ao);
	if (!b->area) {
		fprintf(stderr, "bench pool: host area: %s\n", strerror(errno));
		return -1;
	}
	b->pool = nm_pool_create(b->area, &po);
	b->xpool = nm_pool_create(b->area, &po);
	if (!b->pool || !b->xpool) {
		fprintf(stderr, "bench pool: pool: %s\n", strerror(errno));
		return -1;
	}
	return 0;
}

static void netmem_teardown(struct bench *b)
{
	if (b->pool)
		nm_pool_destroy(b->pool);
	if (b->xpool)
		nm_pool_destroy(b->xpool);
	if (b->area)
		nm_area_destroy(b->area);
}

/* The DPDK module: $NETMEM_BENCH_DPDK if set, else beside the command
 * (a build tree), else where `make install` puts it, relative to the
 * command (NM_BENCH_DPDK_RELDIR: from bindir to libdir/netmem). */
#ifndef NM_BENCH_DPDK_RELDIR
#define NM_BENCH_DPDK_RELDIR "../lib/netmem"
#endif

static const struct nm_bench_dpdk *dpdk_load(char *why, size_t why_sz)
{
	const char *env = getenv("NETMEM_BENCH_DPDK");
	char exe[PATH_MAX], path[2][PATH_MAX + 64];
	int npath = 0;
	ssize_t n;

	if (env && *env) {
		snprintf(path[npath++], sizeof(path[0]), "%s", env);
	} else {
		n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
		if (n <= 0) {
			snprintf(why, why_sz, "cannot find the command's folder: %s",
				 strerror(errno));
			return NULL;
		}
		exe[n] = 0;
		*strrchr(exe, '/') = 0;
		snprintf(path[npath++], sizeof(path[0]), "%s/%s", exe, NM_BENCH_DPDK_FILE);
		snprintf(path[npath++], sizeof(path[0]), "%s/%s/%s", exe,
			 NM_BENCH_DPDK_RELDIR, NM_BENCH_DPDK_FILE);
	}
	for (int i = 0; i < npath; i++) {
		const struct nm_bench_dpdk *dk;
		void *h;

		if (access(path[i], F_OK))
			continue;
		/* Never closed: EAL's threads run its code until exit. */
		h = dlopen(path[i], RTLD_NOW | RTLD_LOCAL);
		if (!h) {
			snprintf(why, why_sz, "not available (%s)", dlerror());
			return NULL;
		}
		dk = dlsym(h, NM_BENCH_DPDK_SYM);
		if (!dk) {
			snprintf(why, why_sz, "not available (%.300s: no %s)", path[i],
				 NM_BENCH_DPDK_SYM);
			return NULL;
		}
		return dk;
	}
	snprintf(why, why_sz, "not available (no %s: netmem was built without "
		 "libdpdk, or it is not installed; looked for %.300s%s%.300s)",
		 NM_BENCH_DPDK_FILE, path[0], npath > 1 ? " and " : "",
		 npath > 1 ? path[1] : "");
	return NULL;
}

static void dpdk_setup(struct bench *b)
{
	b->dk = dpdk_load(b->dpdk_why, sizeof(b->dpdk_why));
	if (!b->dk)
		return;
	if (b->dk->init(b->cpu, b->ncpu, DPDK_OBJS, OBJ_SIZE, DPDK_CACHE, &b->eal,
			b->dpdk_why, sizeof(b->dpdk_why)))
		return;
	b->dpdk = true;
	if (b->dk->held_init(HELD_DPDK_OBJS, HELD_DPDK_SIZE, DPDK_CACHE,
			     b->held_dpdk_why, sizeof(b->held_dpdk_why)))
		fprintf(stderr, "bench pool: held_K dpdk: skipped: %s\n", b->held_dpdk_why);
	else
		b->held_dpdk = true;
}

static void dpdk_teardown(struct bench *b)
{
	if (b->dk)
		b->dk->fini();
}

/* ------------------------------------------------------------------ */
/* Measuring                                                            */
/* ------------------------------------------------------------------ */

static void figure_set(struct figure *f, double *v, unsigned int n)
{
	memcpy(f->run, v, n * sizeof(*v));	/* before the median sorts v */
	f->n = n;
	f->med = bu_median(v, n);
	f->lo = v[0];
	f->hi = v[n - 1];
	f->have = true;
}

static void run_baselines(struct bench *b)
{
	double v[NR_BASE][MAX_REPS];
	uint64_t it[NR_BASE];

	for (int i = 0; i < NR_BASE; i++)
		it[i] = bu_calibrate(base_fn[i], NULL, b->target_s / 2);
	for (int r = 0; r < b->reps; r++)
		for (int i = 0; i < NR_BASE; i++)
			v[i][r] = bu_run_ns(base_fn[i], NULL, it[i]);
	for (int i = 0; i < NR_BASE; i++)
		figure_set(&b->base[i], v[i], (unsigned int)b->reps);
}

/* Same-thread benches: each implementation's loop, calibrated once, then
 * timed rep by rep with the implementations taking turns. */
static void run_same_thread(struct bench *b, enum bench_id id)
{
	bu_loop_fn fn[NR_IMPLS] = { NULL };
	void *arg[NR_IMPLS] = { NULL };
	uint64_t it[NR_IMPLS] = { 0 };
	double v[NR_IMPLS][MAX_REPS];
	bool bad[NR_IMPLS] = { false };

	fn[IMPL_NETMEM] = id == B_SINGLE ? netmem_single : netmem_bulk;
	arg[IMPL_NETMEM] = b->pool;
	fn[IMPL_MALLOC] = id == B_SINGLE ? malloc_single : malloc_bulk;
	if (b->dpdk) {
		fn[IMPL_DPDK] = id == B_SINGLE ? b->dk->single : b->dk->bulk;
		arg[IMPL_DPDK] = &loop_err;
	}
	for (int i = 0; i < NR_IMPLS; i++) {
		if (!fn[i])
			continue;
		loop_err = 0;
		it[i] = bu_calibrate(fn[i], arg[i], b->target_s);
		bad[i] = loop_err;
	}
	for (int r = 0; r < b->reps; r++) {
		for (int i = 0; i < NR_IMPLS; i++) {
			if (!fn[i] || bad[i])
				continue;
			loop_err = 0;
			v[i][r] = bu_run_ns(fn[i], arg[i], it[i]) / bench_info[id].per;
			bad[i] = loop_err;
		}
	}
	for (int i = 0; i < NR_IMPLS; i++) {
		if (!fn[i])
			continue;
		if (bad[i]) {
			fprintf(stderr, "bench pool: %s %s: an alloc or put failed\n",
				bench_info[id].name, impl_name[i]);
			continue;
		}
		figure_set(&b->fig[id][i], v[i], (unsigned int)b->reps);
	}
}

static void run_xthread(struct bench *b)
{
	double v[NR_IMPLS][MAX_REPS];
	bool on[NR_IMPLS] = { true, b->dpdk, true };
	bool bad[NR_IMPLS] = { false };

	/* Warm up: the pool takes its working set from the area, caches
	 * and allocator arenas fill. */
	for (int i = 0; i < NR_IMPLS; i++)
		if (on[i] && xthread_run(b, (enum impl)i, b->xt_s / 4) < 0)
			bad[i] = true;
	for (int r = 0; r < b->reps; r++) {
		for (int i = 0; i < NR_IMPLS; i++) {
			if (!on[i] || bad[i])
				continue;
			v[i][r] = xthread_run(b, (enum impl)i, b->xt_s);
			if (v[i][r] < 0)
				bad[i] = true;
		}
	}
	for (int i = 0; i < NR_IMPLS; i++) {
		if (!on[i])
			continue;
		if (bad[i]) {
			fprintf(stderr, "bench pool: xthread %s: a run failed\n", impl_name[i]);
			continue;
		}
		figure_set(&b->fig[B_XTHREAD][i], v[i], (unsigned int)b->reps);
	}
}

/* ------------------------------------------------------------------ */
/* held_K: many buffers held between alloc and put                      */
/* ------------------------------------------------------------------ */

/* The floor's stand-in for a descriptor: the same 32 bytes, in an array
 * as big as the area's, touched in the order netmem's pool handed the
 * chunks out. */
struct floor_iov {
	_Atomic uint64_t held;    /* the count and the pool's tag, as nm_iov's */
	void *area;
	void *_Atomic pool;
	uint64_t user;
};
_Static_assert(sizeof(struct floor_iov) == 32, "a descriptor's size");

struct held {
	unsigned int k;
	struct nm_pool *pool;
	struct nm_buf *bufs;      /* HELD_MAX */
	void **objs;              /* HELD_MAX, DPDK's */
	const struct nm_bench_dpdk *dk;
	struct floor_iov *fl;     /* HELD_CHUNKS */
	uint32_t *order;          /* HELD_MAX chunk indexes */
	int err;
};

/* One cycle per iteration: K allocs in bulks of 32, then K puts. */
static void held_netmem(void *arg, uint64_t n)
{
	struct held *h = arg;

	for (uint64_t c = 0; c < n; c++) {
		for (unsigned int i = 0; i < h->k; i += BULK)
			if (__builtin_expect(nm_pool_alloc_bulk(h->pool, h->bufs + i, BULK) !=
					     BULK, 0)) {
				h->err = 1;
				return;
			}
		for (unsigned int i = 0; i < h->k; i += BULK)
			if (__builtin_expect(nm_pool_put_bulk(h->pool, h->bufs + i, BULK) !=
					     BULK, 0)) {
				h->err = 1;
				return;
			}
	}
}

static void held_dpdk(void *arg, uint64_t n)
{
	struct held *h = arg;

	if (h->dk->held(h->objs, h->k, n))
		h->err = 1;
}

/* What the checks cannot do without, and nothing else: the alloc's store
 * of the count (with the pool's tag: one word, as the pool stores it), the
 * put's read of count and tag (one word) and its store of the count. */
#define FLOOR_TAG	((uint64_t)7 << 32)
static void held_floor(void *arg, uint64_t n)
{
	struct held *h = arg;
	struct floor_iov *fl = h->fl;
	const uint32_t *order = h->order;

	for (uint64_t c = 0; c < n; c++) {
		for (unsigned int i = 0; i < h->k; i++)
			atomic_store_explicit(&fl[order[i]].held, FLOOR_TAG | 1, memory_order_relaxed);
		bu_barrier();
		for (unsigned int i = 0; i < h->k; i++) {
			struct floor_iov *d = &fl[order[i]];

			if (__builtin_expect(atomic_load_explicit(&d->held, memory_order_acquire) !=
					     (FLOOR_TAG | 1), 0)) {
				h->err = 1;
				return;
			}
			atomic_store_explicit(&d->held, FLOOR_TAG, memory_order_relaxed);
		}
		bu_barrier();
	}
}

/* One timed run of @cycles; ns per alloc+put pair. */
static double held_time(bu_loop_fn fn, struct held *h, uint64_t cycles)
{
	double t0 = bu_now();

	fn(h, cycles);
	return (bu_now() - t0) * 1e9 / ((double)cycles * h->k);
}

static void run_held(struct bench *b)
{
	static const bu_loop_fn fn[NR_HIMPL] = { held_netmem, held_dpdk, held_floor };
	NM_OPTS(nm_area_opts, ao, .order = OBJ_ORDER, .name = "bench-held");
	NM_OPTS(nm_pool_opts, po, .name = "bench-held");
	struct nm_area *area = NULL;
	struct held h = { 0 };
	double v[NR_HIMPL][MAX_REPS];
	uint32_t chunks = HELD_CHUNKS;

	/* A host area larger than the machine's memory is refused (ENOMEM),
	 * though this one is never touched: on a small machine (a 2 GiB VM)
	 * take the largest that is made, and skip the K it cannot hold. */
	for (;;) {
		ao.size = (size_t)chunks * OBJ_SIZE;
		area = nm_area_create("host", &ao);
		if (area || errno != ENOMEM || chunks / 2 < held_info[0].k)
			break;
		chunks /= 2;
	}
	b->held_chunks = area ? chunks : HELD_CHUNKS;
	h.pool = area ? nm_pool_create(area, &po) : NULL;
	h.bufs = calloc(HELD_MAX, sizeof(*h.bufs));
	h.objs = calloc(HELD_MAX, sizeof(*h.objs));
	h.order = calloc(HELD_MAX, sizeof(*h.order));
	h.fl = aligned_alloc(64, (size_t)HELD_CHUNKS * sizeof(*h.fl));
	if (!h.pool || !h.bufs || !h.objs || !h.order || !h.fl) {
		snprintf(b->held_why, sizeof(b->held_why), "setup: %s", strerror(errno));
		fprintf(stderr, "bench pool: held_K netmem: %s\n", b->held_why);
		goto out;
	}
	for (uint32_t i = 0; i < HELD_CHUNKS; i++) {
		atomic_init(&h.fl[i].held, FLOOR_TAG);
		h.fl[i].area = area;
		atomic_init(&h.fl[i].pool, (void *)h.pool);
		h.fl[i].user = 0;
	}
	h.dk = b->held_dpdk ? b->dk : NULL;
	for (int k = 0; k < NR_HELD; k++) {
		bool on[NR_HIMPL] = { true, h.dk != NULL, true };
		uint64_t cycles[NR_HIMPL] = { 0 };

		h.k = held_info[k].k;
		if (h.k > chunks) {
			snprintf(b->held_skip[k], sizeof(b->held_skip[k]),
				 "needs %u chunks of 4 KiB; this machine's memory allows a host "
				 "area of %u (%.1f GiB)", h.k, chunks,
				 (double)chunks * OBJ_SIZE / (1u << 30));
			fprintf(stderr, "bench pool: %s: skipped: %s\n", held_info[k].name,
				b->held_skip[k]);
			continue;
		}
		/* Warm up: netmem takes K chunks from the area once, then
		 * runs from its ring; the floor's order is the pool's. */
		h.err = 0;
		held_netmem(&h, 2);
		for (unsigned int i = 0; !h.err && i < h.k; i += BULK)
			if (nm_pool_alloc_bulk(h.pool, h.bufs + i, BULK) != BULK)
				h.err = 1;
		for (unsigned int i = 0; !h.err && i < h.k; i++)
			h.order[i] = (uint32_t)nm_buf_chunk_index(&h.bufs[i]);
		for (unsigned int i = 0; !h.err && i < h.k; i += BULK)
			if (nm_pool_put_bulk(h.pool, h.bufs + i, BULK) != BULK)
				h.err = 1;
		if (h.err) {
			snprintf(b->held_why, sizeof(b->held_why),
				 "%s: a netmem alloc or put failed", held_info[k].name);
			fprintf(stderr, "bench pool: held_K netmem: %s\n", b->held_why);
			goto out;
		}
		/* Calibrate: whole cycles, about target_s a run. */
		for (int i = 0; i < NR_HIMPL; i++) {
			double ns;

			if (!on[i])
				continue;
			h.err = 0;
			fn[i](&h, 1);
			ns = held_time(fn[i], &h, 1) * h.k;
			if (h.err) {
				on[i] = false;
				fprintf(stderr, "bench pool: %s %s: an alloc or put failed\n",
					held_info[k].name, held_impl_name[i]);
				continue;
			}
			cycles[i] = ns > 0 ? (uint64_t)(b->target_s * 1e9 / ns) : 1;
			if (cycles[i] < 1)
				cycles[i] = 1;
		}
		for (int r = 0; r < b->reps; r++)
			for (int i = 0; i < NR_HIMPL; i++) {
				if (!on[i])
					continue;
				h.err = 0;
				v[i][r] = held_time(fn[i], &h, cycles[i]);
				if (h.err) {
					on[i] = false;
					fprintf(stderr, "bench pool: %s %s: an alloc or put failed\n",
						held_info[k].name, held_impl_name[i]);
				}
			}
		for (int i = 0; i < NR_HIMPL; i++)
			if (on[i])
				figure_set(&b->held[k][i], v[i], (unsigned int)b->reps);
	}
out:
	free(h.fl);
	free(h.order);
	free(h.objs);
	free(h.bufs);
	if (h.pool)
		nm_pool_destroy(h.pool);
	if (area)
		nm_area_destroy(area);
}

/* netmem's figure over @other's at @k: the median of the paired runs'
 * ratios, as ratio_spread(); 0 when either is missing. */
static double held_ratio(const struct bench *b, int k, enum held_impl other,
			 double *lo, double *hi)
{
	const struct figure *n = &b->held[k][H_NETMEM], *o = &b->held[k][other];
	double r[MAX_REPS], med;

	if (!n->have || !o->have || n->n != o->n || !n->n)
		return 0;
	for (unsigned int i = 0; i < n->n; i++) {
		if (o->run[i] <= 0)
			return 0;
		r[i] = n->run[i] / o->run[i];
	}
	med = bu_median(r, n->n);	/* sorts r */
	if (lo)
		*lo = r[0];
	if (hi)
		*hi = r[n->n - 1];
	return med;
}

/* Cost at the largest K over cost at the smallest. */
static double held_growth(const struct bench *b, enum held_impl i)
{
	const struct figure *a = &b->held[0][i], *z = &b->held[NR_HELD - 1][i];

	return a->have && z->have && a->med > 0 ? z->med / a->med : 0;
}

/* ------------------------------------------------------------------ */
/* Output                                                               */
/* ------------------------------------------------------------------ */

/* netmem's figure over @other's: the median, over the runs, of the ratio
 * within each pair of runs taken in turn (a drift of the host's speed
 * during the bench moves both figures of a pair alike); the spread of
 * those ratios in *lo..*hi when asked.  0 when either figure is missing. */
static double ratio_spread(const struct bench *b, enum bench_id id, enum impl other,
			   double *lo, double *hi)
{
	const struct figure *n = &b->fig[id][IMPL_NETMEM], *o = &b->fig[id][other];
	double r[MAX_REPS], med;

	if (!n->have || !o->have || n->n != o->n || !n->n)
		return 0;
	for (unsigned int i = 0; i < n->n; i++) {
		if (o->run[i] <= 0)
			return 0;
		r[i] = n->run[i] / o->run[i];
	}
	med = bu_median(r, n->n);
	if (lo)
		*lo = r[0];
	if (hi)
		*hi = r[n->n - 1];
	return med;
}

static double ratio(const struct bench *b, enum bench_id id, enum impl other)
{
	return ratio_spread(b, id, other, NULL, NULL);
}

static void print_json(const struct bench *b)
{
	char name[64];

	for (int i = 0; i < NR_BASE; i++)
		bu_json_line(stdout, base_info[i].name, "baseline", "ns_per_op",
			     b->base[i].med);
	for (int id = 0; id < NR_BENCH; id++) {
		for (int i = 0; i < NR_IMPLS; i++)
			if (b->fig[id][i].have)
				bu_json_line(stdout, bench_info[id].name, impl_name[i],
					     bench_info[id].metric, b->fig[id][i].med);
		snprintf(name, sizeof(name), "%s_ratio", bench_info[id].name);
		if (ratio(b, id, IMPL_DPDK) > 0)
			bu_json_line(stdout, name, "netmem/dpdk", "ratio",
				     ratio(b, id, IMPL_DPDK));
		if (ratio(b, id, IMPL_MALLOC) > 0)
			bu_json_line(stdout, name, "netmem/malloc", "ratio",
				     ratio(b, id, IMPL_MALLOC));
	}
	for (int k = 0; k < NR_HELD; k++) {
		for (int i = 0; i < NR_HIMPL; i++)
			if (b->held[k][i].have)
				bu_json_line(stdout, held_info[k].name, held_impl_name[i],
					     "ns_per_op", b->held[k][i].med);
		snprintf(name, sizeof(name), "%s_ratio", held_info[k].name);
		for (int i = H_DPDK; i < NR_HIMPL; i++) {
			double r = held_ratio(b, k, (enum held_impl)i, NULL, NULL);
			char impl[32];

			snprintf(impl, sizeof(impl), "netmem/%s", held_impl_name[i]);
			if (r > 0)
				bu_json_line(stdout, name, impl, "ratio", r);
		}
	}
	for (int i = 0; i < NR_HIMPL; i++)
		if (held_growth(b, (enum held_impl)i) > 0)
			bu_json_line(stdout, "held_growth", held_impl_name[i], "ratio",
				     held_growth(b, (enum held_impl)i));
}

/* "12.34 +-3%": the median and half the min..max spread. */
static void cell(char *s, size_t sz, const struct figure *f, bool mega)
{
	double scale = mega ? 1e-6 : 1;

	if (!f->have) {
		snprintf(s, sz, "-");
		return;
	}
	snprintf(s, sz, "%.2f +-%.0f%%", f->med * scale,
		 f->med > 0 ? (f->hi - f->lo) / 2 / f->med * 100 : 0);
}

static void print_table(const struct bench *b)
{
	char c[NR_IMPLS][32], rd[32], rm[16];

	printf("netmem bench pool: %u-byte objects, %d runs of ~%.2f s each (cross-thread %.2f s), "
	       "median +-half the min..max spread\n",
	       OBJ_SIZE, b->reps, b->target_s, b->xt_s);
	printf("  netmem: host area of %u chunks of order %u (4 KiB), a pool with its default\n"
	       "          alloc cache (128) and return ring; one-thread loops on CPU %d\n",
	       NR_OBJS, OBJ_ORDER, b->cpu[0]);
	if (b->dpdk)
		printf("  dpdk:   rte_mempool of %u objects, per-lcore cache %u, default ops; "
		       "loops on EAL lcore %d\n", DPDK_OBJS, DPDK_CACHE, b->cpu[0]);
	else
		printf("  dpdk:   skipped: %s\n", b->dpdk_why);
	printf("  malloc: glibc malloc(%u) / free\n", OBJ_SIZE);
	printf("  cross-thread: A on CPU %d allocates bulks of %u and pushes them through an\n"
	       "          SPSC queue (%u slots of 16 bytes, the same code for every impl) to\n"
	       "          B on CPU %d, which pops up to %u and puts them back in bulk (netmem:\n"
	       "          nm_pool_put_bulk -> return ring -> A's refill; dpdk: put_bulk -> B's\n"
	       "          lcore cache -> common ring -> A's cache; malloc: free). Threads: %s\n\n",
	       b->cpu[0], BULK, Q_SIZE, b->cpu[b->ncpu > 1], BULK,
	       b->eal ? "EAL lcores" : "pthreads");
	if (b->ncpu < 2)
		printf("  note: one CPU only: the cross-thread pair shares it\n\n");

	printf("%-36s %12s\n", "baseline", "ns/op");
	for (int i = 0; i < NR_BASE; i++) {
		cell(c[0], sizeof(c[0]), &b->base[i], false);
		printf("  %-34s %12s\n", base_info[i].label, c[0]);
	}
	printf("\n%-28s %-7s %13s %13s %13s %18s %14s\n", "", "unit", "netmem", "dpdk",
	       "malloc", "netmem/dpdk", "netmem/malloc");
	for (int id = 0; id < NR_BENCH; id++) {
		bool mega = bench_info[id].higher_better;
		double r;

		for (int i = 0; i < NR_IMPLS; i++)
			cell(c[i], sizeof(c[i]), &b->fig[id][i], mega);
		double lo = 0, hi = 0;

		r = ratio_spread(b, id, IMPL_DPDK, &lo, &hi);
		if (r > 0)
			snprintf(rd, sizeof(rd), "%.2f (%.2f-%.2f)", r, lo, hi);
		else
			snprintf(rd, sizeof(rd), "-");
		r = ratio(b, id, IMPL_MALLOC);
		snprintf(rm, sizeof(rm), r > 0 ? "%.2f" : "-", r);
		printf("%-28s %-7s %13s %13s %13s %18s %14s\n", bench_info[id].label,
		       bench_info[id].unit, c[0], c[1], c[2], rd, rm);
	}
	printf("\nheld_K: alloc K in bulks of %u, then put K in bulks of %u, owner thread;\n"
	       "  netmem: host area of %u chunks (%.0f GiB reserved, never touched), default pool;\n"
	       "  dpdk: rte_mempool of %u %u-byte objects, cache %u (get_bulk/put_bulk);\n"
	       "  floor: only the descriptor accesses the checks need (alloc: store count and\n"
	       "  pool tag, one word; put: load that word, store the count), on a\n"
	       "  32-byte-per-chunk array\n"
	       "  in the order the pool handed the chunks out\n",
	       BULK, BULK, b->held_chunks, (double)b->held_chunks * OBJ_SIZE / (1u << 30),
	       HELD_DPDK_OBJS, HELD_DPDK_SIZE, DPDK_CACHE);
	if (b->held_why[0])
		printf("  netmem: %s\n", b->held_why);
	if (!b->held_dpdk)
		printf("  dpdk: skipped: %s\n", b->dpdk ? b->held_dpdk_why : b->dpdk_why);
	printf("%-10s %-7s %13s %13s %13s %18s %18s\n", "K", "unit", "netmem", "dpdk", "floor",
	       "netmem/dpdk", "netmem/floor");
	for (int k = 0; k < NR_HELD; k++) {
		char rf[32];
		double lo = 0, hi = 0, r;

		for (int i = 0; i < NR_HIMPL; i++)
			cell(c[i], sizeof(c[i]), &b->held[k][i], false);
		r = held_ratio(b, k, H_DPDK, &lo, &hi);
		if (r > 0)
			snprintf(rd, sizeof(rd), "%.2f (%.2f-%.2f)", r, lo, hi);
		else
			snprintf(rd, sizeof(rd), "-");
		r = held_ratio(b, k, H_FLOOR, &lo, &hi);
		if (r > 0)
			snprintf(rf, sizeof(rf), "%.2f (%.2f-%.2f)", r, lo, hi);
		else
			snprintf(rf, sizeof(rf), "-");
		printf("%-10s %-7s %13s %13s %13s %18s %18s\n", held_info[k].label, "ns/pair",
		       c[0], c[1], c[2], rd, rf);
		if (b->held_skip[k][0])
			printf("  %s skipped: %s\n", held_info[k].label, b->held_skip[k]);
	}
	printf("cost growth %s -> %s: netmem x%.2f, dpdk x%.2f, floor x%.2f\n",
	       held_info[0].label, held_info[NR_HELD - 1].label, held_growth(b, H_NETMEM),
	       held_growth(b, H_DPDK), held_growth(b, H_FLOOR));
	printf("\nratios are netmem's figure over the other's, the median over the runs of\n"
	       "each pair taken in turn (min-max of those in brackets): for ns/obj below\n"
	       "1.00 means netmem is faster; for Mobj/s above 1.00 means netmem is faster.\n");
}

/* The figure of --plot: the baselines, then each bench's three bars, a
 * baseline's with netmem's ratio to it (the median of the paired runs'
 * ratios and their min-max, as the table prints them). */
static int write_plot(const struct bench *b)
{
	struct bp_panel p[1 + NR_BENCH];
	char sub[256];
	int np = 0, r;

	memset(p, 0, sizeof(p));
	p[0].title = "machine baselines";
	p[0].unit = "ns/op";
	for (int i = 0; i < NR_BASE; i++) {
		struct bp_bar *bar = &p[0].bar[p[0].nbar++];
		const struct figure *f = &b->base[i];

		bar->name = i == BASE_LOOP ? "loop" : i == BASE_RELAXED ? "relaxed" : "locked";
		bar->have = f->have;
		bar->med = f->med, bar->lo = f->lo, bar->hi = f->hi;
		snprintf(bar->note, sizeof(bar->note), "%.2f  %s", f->med, base_info[i].label);
	}
	np = 1;
	for (int id = 0; id < NR_BENCH; id++, np++) {
		double scale = bench_info[id].higher_better ? 1e-6 : 1;

		p[np].title = bench_info[id].label;
		p[np].unit = bench_info[id].unit;
		p[np].higher_better = bench_info[id].higher_better;
		for (int i = 0; i < NR_IMPLS; i++) {
			struct bp_bar *bar = &p[np].bar[p[np].nbar++];
			const struct figure *f = &b->fig[id][i];
			double lo = 0, hi = 0, ra;

			bar->name = impl_name[i];
			bar->have = f->have;
			bar->med = f->med * scale, bar->lo = f->lo * scale, bar->hi = f->hi * scale;
			if (!f->have) {
				snprintf(bar->note, sizeof(bar->note), "not measured%s",
					 i == IMPL_DPDK ? ": DPDK skipped" : "");
				continue;
			}
			ra = i == IMPL_NETMEM ? 0 : ratio_spread(b, id, (enum impl)i, &lo, &hi);
			if (ra > 0)
				snprintf(bar->note, sizeof(bar->note), "%.2f   netmem/%s %.2f (%.2f-%.2f)",
					 bar->med, impl_name[i], ra, lo, hi);
			else
				snprintf(bar->note, sizeof(bar->note), "%.2f", bar->med);
		}
	}
	snprintf(sub, sizeof(sub), "%u-byte objects; median of %d runs (bar), min-max (whisker); "
		 "ratio: median of paired runs' ratios; netmem %s", OBJ_SIZE, b->reps,
		 nm_version());
	r = bp_svg(b->plot, "netmem bench pool: netmem's pool against DPDK's mempool and malloc",
		   sub, p, np);
	if (r)
		fprintf(stderr, "netmem bench pool: --plot %s: %s\n", b->plot, strerror(-r));
	return r;
}

static int usage(FILE *f)
{
	fprintf(f, "usage: netmem bench pool [--json] [--quick] [--reps N] [--plot FILE.svg]\n"
		   "  --json    one JSON object per line: "
		   "{\"bench\":...,\"impl\":...,\"metric\":...,\"value\":...}\n"
		   "  --quick   short runs (a smoke test, not figures to quote)\n"
		   "  --reps N  timed runs per figure, 1 to %d (default 5, 3 with --quick)\n"
		   "  --plot FILE.svg  also draw the figures, with their spread and ratios\n"
		   "The DPDK baseline is the module " NM_BENCH_DPDK_FILE ", loaded from\n"
		   "$NETMEM_BENCH_DPDK, else beside the command, else from " NM_BENCH_DPDK_RELDIR "/\n"
		   "next to it; without it the bench says why and measures the rest.\n",
		MAX_REPS);
	return f == stderr ? 2 : 0;
}

int cmd_bench_pool(int argc, char **argv)
{
	struct bench *b;
	cpu_set_t saved;
	int rc = 0;

	b = calloc(1, sizeof(*b));
	if (!b)
		return 1;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--json")) {
			b->json = true;
		} else if (!strcmp(argv[i], "--quick")) {
			b->quick = true;
		} else if (!strcmp(argv[i], "--reps")) {
			char *e;
			long v = i + 1 < argc ? strtol(argv[i + 1], &e, 10) : 0;

			if (i + 1 >= argc || *e || v < 1 || v > MAX_REPS) {
				fprintf(stderr, "netmem bench pool: --reps: expected 1 to %d\n",
					MAX_REPS);
				free(b);
				return usage(stderr);
			}
			b->reps = (int)v;
			i++;
		} else if (!strcmp(argv[i], "--plot")) {
			if (i + 1 >= argc || !argv[i + 1][0]) {
				fprintf(stderr, "netmem bench pool: --plot: expected a file name\n");
				free(b);
				return usage(stderr);
			}
			b->plot = argv[++i];
		} else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			free(b);
			return usage(stdout);
		} else {
			fprintf(stderr, "netmem bench pool: unknown option '%s'\n", argv[i]);
			free(b);
			return usage(stderr);
		}
	}
	if (!b->reps)
		b->reps = b->quick ? 3 : 5;
	b->target_s = b->quick ? 0.01 : 0.2;
	b->xt_s = b->quick ? 0.02 : 0.3;
	b->ncpu = bu_cpus(b->cpu, 2);
	sched_getaffinity(0, sizeof(saved), &saved);

	dpdk_setup(b);
	if (!b->dpdk)
		fprintf(stderr, "bench pool: dpdk: skipped: %s\n", b->dpdk_why);
	if (!b->eal)
		bu_pin(b->cpu[0]);	/* EAL pinned us to lcore cpu[0] already */
	if (netmem_setup(b)) {
		rc = 1;
		goto out;
	}

	run_baselines(b);
	run_same_thread(b, B_SINGLE);
	run_same_thread(b, B_BULK);
	run_xthread(b);
	run_held(b);

	if (b->json)
		print_json(b);
	else
		print_table(b);
	fflush(stdout);
	if (b->plot && write_plot(b))
		rc = 1;
out:
	netmem_teardown(b);
	dpdk_teardown(b);
	sched_setaffinity(0, sizeof(saved), &saved);
	free(b);
	return rc;
}

/* SPDX-License-Identifier: MIT */
/*
 * Stress: one allocating thread and one returning thread over at least 10
 * million buffers (fewer under sanitizers, t_sanitized(), fewest under
 * TSan; the count run is printed), while a third thread revokes the current area every
 * millisecond (every 5 under TSan, whose munmap of an area's 4 MiB costs
 * about that much), once at least MIN_PER_AREA buffers came from it: without
 * that floor a slow spell (page faults on a fresh area, TLB shootdowns on
 * unmap) could turn the run into area churn that never reaches its count.  On -ENODEV the allocator destroys its pool and area and
 * carries on with a new area and pool; buffers of old areas still queued
 * to the returner are put fine.  Every buffer carries a stamp the returner
 * checks while the data is readable.  At the end: every buffer allocated
 * was put exactly once with success, no put error, every area created by
 * the (test-registered, host-like) provider was finalised, and nothing
 * leaks (ASan).
 */
#include "harness.h"
#include <netmem/provider.h>
#include <pthread.h>
#include <stdatomic.h>
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define NR      1024
#define QSIZE   4096
#define BATCH   32

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* A host-like provider that counts areas made and finalised. */
static _Atomic long inits, finis;

static int st_init(struct nm_area_mem *m, const struct nm_area_opts *o)
{
	int r = t_anon_init(m);

	(void)o;
	if (!r)
		atomic_fetch_add(&inits, 1);
	return r;
}

static void st_fini(struct nm_area_mem *m)
{
	t_anon_fini(m);
	atomic_fetch_add(&finis, 1);
}

static const struct nm_provider_ops stress_ops = {
	.name = "stress-host",
	.area_init = st_init,
	.area_fini = st_fini,
	.alloc_bulk = nm_genpool_alloc_bulk,
	.release = nm_genpool_release,
};

struct ent {
	struct nm_buf b;
	struct nm_pool *p;
	uint64_t seq;
};

static struct ent q[QSIZE];
static _Atomic uint64_t q_head, q_tail;
static _Atomic int stop_revoker, alloc_done;
#define MIN_PER_AREA 1024
static _Atomic unsigned long cur_allocs;	/* from the current area */
static pthread_mutex_t cur_lock = PTHREAD_MUTEX_INITIALIZER;
static struct nm_area *cur;
static unsigned long revokes, put_ok, put_err, stamp_err, stamp_checked;

static unsigned long enospc;

/* A new area.  Revoked areas live until their queued buffers are put; when
 * the revoker outruns the returner (slow builds: TSan) they can reach the
 * registry's limit of live areas, -ENOSPC: wait for the returner to drain
 * the queue, which frees them, and try again. */
static struct nm_area *new_area(void)
{
	NM_OPTS(nm_area_opts, o, .size = NR * 4096);
	struct nm_area *a;

	while (!(a = nm_area_create("stress-host", &o)) && errno == ENOSPC) {
		enospc++;
		while (atomic_load_explicit(&q_tail, memory_order_acquire) !=
		       atomic_load_explicit(&q_head, memory_order_relaxed))
			t_nap();
	}
	if (!a)
		fprintf(stderr, "nm_area_create: %s\n", strerror(errno));
	REQUIRE(a);
	return a;
}

static void *revoker(void *arg)
{
	(void)arg;
	while (!atomic_load_explicit(&stop_revoker, memory_order_acquire)) {
		usleep(T_TSAN ? 5000 : 1000);
		pthread_mutex_lock(&cur_lock);
		if (cur && atomic_load_explicit(&cur_allocs, memory_order_relaxed) >=
			   MIN_PER_AREA && nm_area_revoke(cur, 0) >= 0)
			revokes++;
		pthread_mutex_unlock(&cur_lock);
	}
	return NULL;
}

static void *returner(void *arg)
{
	struct nm_buf batch[BATCH];
	uint64_t calls = 0;

	(void)arg;
	for (;;) {
		uint64_t t = atomic_load_explicit(&q_tail, memory_order_relaxed);
		uint64_t h = atomic_load_explicit(&q_head, memory_order_acquire);
		unsigned int k = 0;
		struct nm_pool *p;

		if (t == h) {
			if (atomic_load_explicit(&alloc_done, memory_order_acquire) &&
			    t == atomic_load_explicit(&q_head, memory_order_acquire))
				return NULL;
			t_nap();
			continue;
		}
		/* A batch of consecutive entries of one pool. */
		p = q[t % QSIZE].p;
		while (t + k < h && k < BATCH && q[(t + k) % QSIZE].p == p) {
			struct ent *e = &q[(t + k) % QSIZE];
			uint64_t *d = nm_buf_data(&e->b);

			if (d) {
				stamp_checked++;
				if (*d != e->seq && stamp_err++ < 5)
					fprintf(stderr, "chunk %d: stamp %llu, want %llu\n",
						nm_buf_chunk_index(&e->b),
						(unsigned long long)*d,
						(unsigned long long)e->seq);
			}
			batch[k++] = e->b;
		}
		if (++calls % 2) {
			int r = nm_pool_put_bulk(p, batch, k);
			put_ok += r > 0 ? (unsigned int)r : 0;
			put_err += r == (int)k ? 0 : k - (r > 0 ? (unsigned int)r : 0);
		} else {
			for (unsigned int i = 0; i < k; i++) {
				if (nm_buf_put(&batch[i]) == 0)
					put_ok++;
				else
					put_err++;
			}
		}
		atomic_store_explicit(&q_tail, t + k, memory_order_release);
	}
}

int main(void)
{
	const int sanitized = t_sanitized();
	const uint64_t target = !sanitized ? 10000000 : T_TSAN ? 300000 : 1000000;
	unsigned long areas = 1, enomem = 0;
	struct nm_pool *pool;
	pthread_t rv, rt;
	uint64_t seq = 0;
	double start = now();

	REQUIRE(nm_provider_register(&stress_ops) == 0);
	cur = new_area();
	pool = nm_pool_create(cur, NULL);
	REQUIRE(pool);
	REQUIRE(pthread_create(&rt, NULL, returner, NULL) == 0);
	REQUIRE(pthread_create(&rv, NULL, revoker, NULL) == 0);

	/* No time limit here (the runner's timeout is the limit); and at
	 * least one area replaced, so that the revocation path was run
	 * whatever the scheduler did. */
	while (seq < target || areas < 2) {
		uint64_t h = atomic_load_explicit(&q_head, memory_order_relaxed);
		struct nm_buf b;
		int r;

		if (h - atomic_load_explicit(&q_tail, memory_order_acquire) >= QSIZE) {
			t_nap();
			continue;
		}
		r = nm_pool_alloc(pool, &b);
		if (r == -ENODEV) {
			/* Revoked: give pool and area up, start over. */
			REQUIRE(nm_pool_destroy(pool) >= 0);
			do {
				/* the new area may be revoked before its pool
				 * exists: then that fails -ENODEV */
				pthread_mutex_lock(&cur_lock);
				CHECK_EQ(nm_area_destroy(cur), 0);
				cur = new_area();
				atomic_store_explicit(&cur_allocs, 0,
						      memory_order_relaxed);
				pthread_mutex_unlock(&cur_lock);
				areas++;
				pool = nm_pool_create(cur, NULL);
				REQUIRE(pool || errno == ENODEV);
			} while (!pool);
			continue;
		}
		if (r == -ENOMEM) {
			enomem++;
			t_nap();
			continue;
		}
		REQUIRE(r == 0);
		uint64_t *d = nm_buf_data(&b);
		if (d)
			*d = seq;
		q[h % QSIZE] = (struct ent){ .b = b, .p = pool, .seq = seq };
		atomic_store_explicit(&q_head, h + 1, memory_order_release);
		seq++;
		atomic_fetch_add_explicit(&cur_allocs, 1, memory_order_relaxed);
	}
	atomic_store_explicit(&alloc_done, 1, memory_order_release);
	pthread_join(rt, NULL);
	atomic_store_explicit(&stop_revoker, 1, memory_order_release);
	pthread_join(rv, NULL);

	printf("%llu buffers (target %llu) in %.1fs, %lu areas, %lu revokes, "
	       "%lu stamps checked, %lu empty, %lu area limit waits\n",
	       (unsigned long long)seq, (unsigned long long)target,
	       now() - start, areas, revokes, stamp_checked, enomem, enospc);
	CHECK(seq >= target);
	CHECK_EQ(put_ok, seq);
	CHECK_EQ(put_err, 0);
	CHECK_EQ(stamp_err, 0);
	CHECK(stamp_checked > 0);
	CHECK(areas > 1);

	/* The last pool: nothing out, everything back. */
	{
		struct nm_pool_stats st;

		REQUIRE(nm_pool_get_stats(pool, &st, sizeof(st)) == 0);
		CHECK_EQ(st.inflight, 0);
		CHECK_EQ(st.err_double_put + st.err_foreign + st.err_not_buf +
			 st.err_range + st.err_inval, 0);
	}
	CHECK_EQ(nm_pool_destroy(pool), 0);
	CHECK_EQ(nm_area_destroy(cur), 0);
	CHECK_EQ(atomic_load(&inits), (long)areas);
	CHECK_EQ(atomic_load(&finis), (long)areas);
	return t_done();
}

/* SPDX-License-Identifier: MIT */
/*
 * nm_pool_destroy() with buffers in flight returns at once with the number
 * of chunks still out; nm_pool_held listed exactly those chunks before;
 * cached and ring chunks go back to the area at destroy; the pool lives on
 * while the held buffers are put back, from the destroying thread and from
 * another one, and frees itself with the last (run under ASan with
 * detect_leaks=1: a pool left behind is a leak).  Then many rounds of
 * destroy racing with another thread's puts: every put succeeds and every
 * chunk is back in the area.
 */
#include "harness.h"
#include <pthread.h>
#include <stdatomic.h>
#include <time.h>

#define NR     64
#define WHOLE  10
#define FRAG   512
#define PER    (4096 / FRAG)
#define MIN_ROUNDS 20

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

struct job {
	struct nm_pool *pool;
	struct nm_buf *bufs;
	unsigned int n;
	_Atomic int go;
	int bad;
};

static void *putter(void *arg)
{
	struct job *j = arg;

	while (!atomic_load_explicit(&j->go, memory_order_acquire))
		t_nap();
	for (unsigned int i = 0; i < j->n; i++)
		if (nm_pool_put(j->pool, &j->bufs[i]))
			j->bad++;
	return NULL;
}

static void area_counts(struct nm_area *a, uint32_t out, uint32_t free_)
{
	struct nm_area_info info;

	REQUIRE(nm_area_info(a, &info, sizeof(info)) == 0);
	CHECK_EQ(info.nr_outstanding, out);
	CHECK_EQ(info.nr_free, free_);
	CHECK_EQ(info.state, NM_AREA_LIVE);
}

static int by_chunk(const void *x, const void *y)
{
	const struct nm_held *a = x, *b = y;

	return (a->chunk > b->chunk) - (a->chunk < b->chunk);
}

static void destroy_with_inflight(struct nm_area *a)
{
	struct nm_pool *p = nm_pool_create(a, NULL);
	struct nm_buf whole[WHOLE], frag[PER + 1], ring_one, all[WHOLE + PER + 1];
	struct nm_held h[NR], want[NR];
	struct job j = { 0 };
	pthread_t th;
	unsigned int n = 0, nw = 0;
	long nh;

	REQUIRE(p);
	for (int i = 0; i < WHOLE; i++) {
		REQUIRE(nm_pool_alloc(p, &whole[i]) == 0);
		want[nw++] = (struct nm_held){ nm_buf_chunk_index(&whole[i]), 1 };
	}
	for (int i = 0; i <= PER; i++)
		REQUIRE(nm_pool_alloc_frag(p, &frag[i], FRAG, 0) == 0);
	want[nw++] = (struct nm_held){ nm_buf_chunk_index(&frag[0]), PER };
	want[nw++] = (struct nm_held){ nm_buf_chunk_index(&frag[PER]), 1 };
	/* one chunk sitting in the return ring at destroy */
	REQUIRE(nm_pool_alloc(p, &ring_one) == 0);
	j.pool = p;
	j.bufs = &ring_one;
	j.n = 1;
	j.go = 1;
	REQUIRE(pthread_create(&th, NULL, putter, &j) == 0);
	pthread_join(th, NULL);
	CHECK_EQ(j.bad, 0);

	nh = nm_pool_held(p, h, NR);
	CHECK_EQ(nh, (long)nw);
	qsort(h, (size_t)nh, sizeof(h[0]), by_chunk);
	qsort(want, nw, sizeof(want[0]), by_chunk);
	for (unsigned int i = 0; i < nw && i < (unsigned int)nh; i++) {
		CHECK_EQ(h[i].chunk, want[i].chunk);
		CHECK_EQ(h[i].refs, want[i].refs);
	}
	CHECK_EQ(nm_pool_inflight(p), (long)nw);

	/* Returns at once with what is out; cache and ring went back. */
	CHECK_EQ(nm_pool_destroy(p), (int)nw);
	area_counts(a, nw, NR - nw);

	/* The owner thread puts some after destroy... */
	for (int i = 0; i < WHOLE / 2; i++)
		CHECK_EQ(nm_pool_put(p, &whole[i]), 0);
	for (int i = 0; i < PER / 2; i++)
		CHECK_EQ(nm_pool_put(p, &frag[i]), 0);
	area_counts(a, nw - WHOLE / 2, NR - nw + WHOLE / 2);
	/* ...and another thread the rest, the last one freeing the pool. */
	for (int i = WHOLE / 2; i < WHOLE; i++)
		all[n++] = whole[i];
	for (int i = PER / 2; i <= PER; i++)
		all[n++] = frag[i];
	j = (struct job){ .pool = p, .bufs = all, .n = n, .go = 1 };
	REQUIRE(pthread_create(&th, NULL, putter, &j) == 0);
	pthread_join(th, NULL);
	CHECK_EQ(j.bad, 0);
	area_counts(a, 0, NR);
}

/* Destroy while another thread is putting: at least MIN_ROUNDS rounds,
 * more until time is up. */
static void destroy_racing_puts(struct nm_area *a)
{
	struct nm_buf bufs[NR];
	double end = now() + (t_sanitized() ? 1.0 : 2.0);
	unsigned int rounds = 0;

	while ((rounds < MIN_ROUNDS || now() < end) && rounds < 20000) {
		struct nm_pool *p = nm_pool_create(a, NULL);
		struct job j = { 0 };
		pthread_t th;
		int n, left;

		REQUIRE(p);
		n = nm_pool_alloc_bulk(p, bufs, NR);
		REQUIRE(n == NR);
		/* put a few back first, so cache and ring are not empty */
		CHECK_EQ(nm_pool_put_bulk(p, bufs, 4), 4);
		j.pool = p;
		j.bufs = bufs + 4;
		j.n = (unsigned int)n - 4;
		REQUIRE(pthread_create(&th, NULL, putter, &j) == 0);
		atomic_store_explicit(&j.go, 1, memory_order_release);
		/* A delay that varies from round to round, so the destroy
		 * meets the puts at different points: counted iterations (a
		 * few microseconds at most), not yields, which on a busy
		 * machine give a whole slice to other programs each. */
		for (volatile unsigned int spin = (rounds % 64) * 64; spin; spin--)
			;
		left = nm_pool_destroy(p);
		CHECK(left >= 0 && left <= n - 4);
		pthread_join(th, NULL);
		CHECK_EQ(j.bad, 0);
		area_counts(a, 0, NR);
		rounds++;
	}
	printf("%u destroy/put races\n", rounds);
}

int main(void)
{
	struct nm_area *a = t_host_area(NR, 0);
	struct nm_pool *p;

	destroy_with_inflight(a);

	/* Nothing out: 0, and everything back at once. */
	p = nm_pool_create(a, NULL);
	REQUIRE(p);
	{
		struct nm_buf b;
		REQUIRE(nm_pool_alloc(p, &b) == 0);
		CHECK_EQ(nm_pool_put(p, &b), 0);
	}
	CHECK_EQ(nm_pool_destroy(p), 0);
	area_counts(a, 0, NR);

	destroy_racing_puts(a);
	CHECK_EQ(nm_area_destroy(a), 0);
	return t_done();
}

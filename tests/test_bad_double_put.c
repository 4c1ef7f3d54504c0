/* SPDX-License-Identifier: MIT */
/*
 * Double put: a buffer put twice is rejected with -EALREADY by
 * nm_pool_put, nm_buf_put and nm_pool_put_bulk, whether the chunk sits in
 * the alloc cache, in the return ring or back in the area; each rejection
 * is counted in err_double_put and nothing else moves: in-flight count,
 * good-operation stats and later allocations (every chunk handed out once)
 * are exactly as they would be without the bad call.
 */
#include "harness.h"
#include <pthread.h>

#define NR 64

static struct nm_pool *pool;
static struct nm_buf other;

static void *put_other(void *arg)
{
	(void)arg;
	CHECK_EQ(nm_pool_put(pool, &other), 0);
	return NULL;
}

/* Take every chunk of the pool: all distinct; put them back. */
static void all_distinct(struct nm_pool *p)
{
	struct nm_buf bufs[NR + 1];
	char seen[NR] = { 0 };
	int n = nm_pool_alloc_bulk(p, bufs, NR + 1);

	CHECK_EQ(n, NR);
	for (int i = 0; i < n; i++) {
		int c = nm_buf_chunk_index(&bufs[i]);
		REQUIRE(c >= 0 && c < NR);
		CHECK(!seen[c]);
		seen[c] = 1;
	}
	CHECK_EQ(nm_pool_put_bulk(p, bufs, (unsigned int)n), n);
}

int main(void)
{
	struct nm_area *a = t_host_area(NR, 0);
	struct nm_pool_stats s0, s1;
	struct nm_buf b, held, two[2];
	pthread_t th;

	pool = nm_pool_create(a, NULL);
	REQUIRE(pool);
	REQUIRE(nm_pool_alloc(pool, &held) == 0);

	/* 1. Chunk in the alloc cache (put by the owner). */
	REQUIRE(nm_pool_alloc(pool, &b) == 0);
	CHECK_EQ(nm_pool_put(pool, &b), 0);
	nm_pool_get_stats(pool, &s0, sizeof(s0));
	CHECK_EQ(s0.inflight, 1);
	CHECK_EQ(nm_pool_put(pool, &b), -EALREADY);
	CHECK_EQ(nm_buf_put(&b), -EALREADY);
	nm_pool_get_stats(pool, &s1, sizeof(s1));
	CHECK(t_same_good_stats(&s0, &s1));
	CHECK_EQ(s1.err_double_put, 2);
	CHECK_EQ(s1.err_foreign + s1.err_not_buf + s1.err_range + s1.err_inval, 0);
	CHECK_EQ(nm_pool_inflight(pool), 1);

	/* 2. In put_bulk: the bad one is skipped, the good one goes back. */
	REQUIRE(nm_pool_alloc(pool, &two[0]) == 0);	/* held */
	REQUIRE(nm_pool_alloc(pool, &two[1]) == 0);
	CHECK(two[0].iov != two[1].iov);
	CHECK_EQ(nm_pool_put(pool, &two[1]), 0);	/* now a stale copy */
	nm_pool_get_stats(pool, &s0, sizeof(s0));
	CHECK_EQ(s0.inflight, 2);
	CHECK_EQ(nm_pool_put_bulk(pool, two, 2), 1);
	nm_pool_get_stats(pool, &s1, sizeof(s1));
	CHECK_EQ(s1.err_double_put, s0.err_double_put + 1);
	CHECK_EQ(s1.inflight, 1);
	CHECK_EQ(s1.recycle_cached, s0.recycle_cached + 1);

	/* 2b. The same buffer twice in one bulk, in the owner's pass (two
	 * a turn, then an odd one): the second copy finds the count the
	 * first dropped, whichever place it has in the turn. */
	{
		struct nm_buf x, y, z, five[5];

		REQUIRE(nm_pool_alloc(pool, &x) == 0);
		REQUIRE(nm_pool_alloc(pool, &y) == 0);
		REQUIRE(nm_pool_alloc(pool, &z) == 0);
		five[0] = x;
		five[1] = x;	/* same turn as the first */
		five[2] = y;
		five[3] = z;
		five[4] = z;	/* the odd one after a turn */
		nm_pool_get_stats(pool, &s0, sizeof(s0));
		/* a chunk cached twice would hang what follows: stop here */
		REQUIRE(nm_pool_put_bulk(pool, five, 5) == 3);
		nm_pool_get_stats(pool, &s1, sizeof(s1));
		CHECK_EQ(s1.err_double_put, s0.err_double_put + 2);
		CHECK_EQ(s1.inflight, s0.inflight - 3);
		CHECK_EQ(s1.recycle_cached, s0.recycle_cached + 3);
	}

	/* 3. Chunk in the return ring (put by another thread). */
	REQUIRE(nm_pool_alloc(pool, &other) == 0);
	REQUIRE(pthread_create(&th, NULL, put_other, NULL) == 0);
	pthread_join(th, NULL);
	nm_pool_get_stats(pool, &s0, sizeof(s0));
	CHECK_EQ(s0.inflight, 1);
	CHECK_EQ(nm_pool_put(pool, &other), -EALREADY);
	nm_pool_get_stats(pool, &s1, sizeof(s1));
	CHECK(t_same_good_stats(&s0, &s1));
	CHECK_EQ(s1.err_double_put, s0.err_double_put + 1);

	/* Later allocations are unharmed: every chunk exactly once. */
	CHECK_EQ(nm_pool_put(pool, &held), 0);
	all_distinct(pool);
	CHECK_EQ(nm_pool_inflight(pool), 0);

	/* 4. Chunk given back to the area (pool destroyed, buffer kept as a
	 * stale copy): a second pool over the area does not own it. */
	nm_pool_get_stats(pool, &s0, sizeof(s0));
	CHECK_EQ(s0.err_double_put, 6);
	CHECK_EQ(nm_pool_destroy(pool), 0);
	pool = nm_pool_create(a, NULL);
	REQUIRE(pool);
	CHECK_EQ(nm_pool_put(pool, &other), -EALREADY);
	CHECK_EQ(nm_buf_put(&other), -EALREADY);
	nm_pool_get_stats(pool, &s1, sizeof(s1));
	CHECK_EQ(s1.err_double_put, 1);
	CHECK_EQ(s1.inflight, 0);
	CHECK_EQ(s1.hold, 0);
	all_distinct(pool);

	CHECK_EQ(nm_pool_destroy(pool), 0);
	CHECK_EQ(nm_area_destroy(a), 0);
	return t_done();
}

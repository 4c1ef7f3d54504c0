/* SPDX-License-Identifier: MIT */
/*
 * nm_pool_put_bulk of one buffer (what a packet application returns per
 * message) takes the single put's path: it must answer as the bulk path
 * does (1 taken, 0 refused) and count exactly what nm_pool_put counts, for
 * every kind of buffer: a good one on the owner thread (cached, handed out
 * again), a good one from another thread (parked, not cached), a window
 * past the chunk, a double put, another pool's buffer, a pointer that is
 * no descriptor, a fragment, and a revoked area.  The same buffers through
 * a bulk of two (a good one first) count the same again.
 */
#include "harness.h"
#include <pthread.h>

static struct nm_pool *g_pool;
static struct nm_buf g_buf;
static int g_ret;

static void *other_thread(void *arg)
{
	(void)arg;
	g_ret = nm_pool_put_bulk(g_pool, &g_buf, 1);
	return NULL;
}

static void stats(struct nm_pool *p, struct nm_pool_stats *s)
{
	REQUIRE(nm_pool_get_stats(p, s, sizeof(*s)) == 0);
}

int main(void)
{
	struct nm_area *a = t_host_area(64, 0), *a2 = t_host_area(8, 0);
	struct nm_pool *p = nm_pool_create(a, NULL), *p2 = nm_pool_create(a2, NULL);
	struct nm_pool_stats s0, s1;
	struct nm_buf b, c, two[2], junk, frag, other;
	pthread_t th;

	REQUIRE(p && p2);

	/* A good buffer on the owner thread: taken, cached, handed out again
	 * (the cache is a stack: the next alloc returns it). */
	REQUIRE(nm_pool_alloc(p, &b) == 0);
	stats(p, &s0);
	CHECK_EQ(nm_pool_put_bulk(p, &b, 1), 1);
	stats(p, &s1);
	CHECK_EQ(s1.recycle_cached, s0.recycle_cached + 1);
	CHECK_EQ(s1.inflight, 0);
	REQUIRE(nm_pool_alloc(p, &c) == 0);
	CHECK(c.iov == b.iov);
	/* and once more: a double put, refused and counted */
	CHECK_EQ(nm_pool_put_bulk(p, &c, 1), 1);
	stats(p, &s0);
	CHECK_EQ(nm_pool_put_bulk(p, &c, 1), 0);
	stats(p, &s1);
	CHECK_EQ(s1.err_double_put, s0.err_double_put + 1);
	CHECK_EQ(s1.recycle_cached, s0.recycle_cached);

	/* A window past the chunk: refused, the chunk still held, then put
	 * with its real window. */
	REQUIRE(nm_pool_alloc(p, &b) == 0);
	c = b;
	c.off = 1;
	stats(p, &s0);
	CHECK_EQ(nm_pool_put_bulk(p, &c, 1), 0);
	CHECK_EQ(nm_pool_put(p, &c), -ERANGE);
	stats(p, &s1);
	CHECK_EQ(s1.err_range, s0.err_range + 2);
	CHECK_EQ(s1.inflight, 1);

	/* Another pool's buffer and a pointer that is no descriptor. */
	REQUIRE(nm_pool_alloc(p2, &other) == 0);
	junk = b;
	junk.iov = (struct nm_iov *)((char *)b.iov + 8);
	stats(p, &s0);
	CHECK_EQ(nm_pool_put_bulk(p, &other, 1), 0);
	CHECK_EQ(nm_pool_put(p, &other), -EXDEV);
	CHECK_EQ(nm_pool_put_bulk(p, &junk, 1), 0);
	CHECK_EQ(nm_pool_put(p, &junk), -EFAULT);
	stats(p, &s1);
	CHECK_EQ(s1.err_foreign, s0.err_foreign + 2);
	CHECK_EQ(s1.err_not_buf, s0.err_not_buf + 2);

	/* The same two bad ones behind a good one in a bulk of two: the good
	 * one is taken, the bad one counted the same way. */
	two[0] = b;
	two[1] = other;
	stats(p, &s0);
	CHECK_EQ(nm_pool_put_bulk(p, two, 2), 1);
	stats(p, &s1);
	CHECK_EQ(s1.err_foreign, s0.err_foreign + 1);
	CHECK_EQ(s1.inflight, 0);
	CHECK_EQ(nm_pool_put(p2, &other), 0);

	/* A fragment: its chunk is being carved, the general path takes it. */
	REQUIRE(nm_pool_alloc_frag(p, &frag, 100, 0) == 0);
	CHECK_EQ(nm_pool_put_bulk(p, &frag, 1), 1);
	CHECK_EQ(nm_pool_put_bulk(p, &frag, 1), 0);

	/* From a thread that does not own the pool: taken (parked in its put
	 * slot, not the owner's cache). */
	REQUIRE(nm_pool_alloc(p, &g_buf) == 0);
	g_pool = p;
	stats(p, &s0);
	REQUIRE(pthread_create(&th, NULL, other_thread, NULL) == 0);
	pthread_join(th, NULL);
	CHECK_EQ(g_ret, 1);
	stats(p, &s1);
	CHECK_EQ(s1.recycle_cached, s0.recycle_cached);
	CHECK_EQ(s1.inflight, 0);

	/* A revoked area: the buffer is still taken back, into the area. */
	REQUIRE(nm_pool_alloc(p, &b) == 0);
	CHECK(nm_area_revoke(a, 0) >= 1);	/* b is out */
	CHECK_EQ(nm_pool_put_bulk(p, &b, 1), 1);
	CHECK_EQ(nm_pool_inflight(p), 0);

	/* NULLs are -EINVAL, as for any n. */
	CHECK_EQ(nm_pool_put_bulk(NULL, &b, 1), -EINVAL);
	CHECK_EQ(nm_pool_put_bulk(p, NULL, 1), -EINVAL);

	CHECK_EQ(nm_pool_destroy(p), 0);
	CHECK_EQ(nm_pool_destroy(p2), 0);
	nm_area_destroy(a);
	nm_area_destroy(a2);
	return t_done();
}

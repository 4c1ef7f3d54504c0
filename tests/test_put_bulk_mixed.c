/* SPDX-License-Identifier: MIT */
/*
 * nm_pool_put_bulk by the owner: its one-pass fast path takes whole chunks
 * into the alloc cache and hands everything else (a double put, a foreign
 * pointer, a bad window, a fragment, the buffers beyond a full cache) to
 * the general path, one by one.  A bulk mixing all of these must return
 * exactly the number of good buffers, count each bad one once, fill the
 * cache to its limit and send the rest through the ring, and lose nothing:
 * afterwards every chunk is allocated exactly once again.
 */
#include "harness.h"

#define NR 512

int main(void)
{
	struct nm_area *a = t_host_area(NR, 0);
	struct nm_pool *p = nm_pool_create(a, NULL);
	struct nm_pool_stats s0, s1;
	struct nm_buf b[NR], mix[16], f1, f2, junk, held, wide;
	static char seen[NR];
	int n, good = 0;

	REQUIRE(p);

	/* 1. A mixed bulk. */
	n = nm_pool_alloc_bulk(p, b, 8);
	REQUIRE(n == 8);
	REQUIRE(nm_pool_alloc(p, &held) == 0);
	REQUIRE(nm_pool_alloc_frag(p, &f1, 100, 64) == 0);
	REQUIRE(nm_pool_alloc_frag(p, &f2, 100, 64) == 0);
	CHECK(f1.iov == f2.iov);
	CHECK_EQ(nm_pool_put(p, &b[7]), 0);		/* b[7] is now stale */
	junk = b[0];
	junk.off = nm_pool_chunk_size(p);		/* window out of the chunk */
	/* a buffer still held alone, its window from 0 one byte past the
	 * chunk: refused, not mistaken for the whole chunk */
	wide = held;
	wide.len = nm_pool_chunk_size(p) + 1;
	nm_pool_get_stats(p, &s0, sizeof(s0));

	mix[0] = b[0]; mix[1] = b[1];			/* good */
	mix[2] = b[7];					/* double put */
	mix[3] = b[2];					/* good */
	mix[4] = f1;					/* fragment */
	mix[5] = junk;					/* -ERANGE */
	mix[6] = b[3];					/* good */
	mix[7].iov = (struct nm_iov *)&seen[1];		/* not a buffer */
	mix[7].off = 0; mix[7].len = 1;
	mix[8] = b[4]; mix[9] = f2; mix[10] = b[5]; mix[11] = b[6];
	CHECK_EQ(nm_pool_put_bulk(p, mix, 12), 9);	/* 7 whole + 2 frags */
	nm_pool_get_stats(p, &s1, sizeof(s1));
	CHECK_EQ(s1.err_double_put - s0.err_double_put, 1);
	CHECK_EQ(s1.err_range - s0.err_range, 1);
	CHECK_EQ(s1.err_not_buf - s0.err_not_buf, 1);
	/* held alone (the carved chunk is the pool's own) */
	CHECK_EQ(s1.inflight, 1);
	/* The whole chunks went to the cache (the carved one is the pool's
	 * until carving finishes). */
	CHECK_EQ(s1.recycle_cached - s0.recycle_cached, 7);
	/* The wide window leading a bulk of whole chunks the owner's pass
	 * would take: refused there, the good one after it taken. */
	REQUIRE(nm_pool_alloc(p, &mix[1]) == 0);
	mix[0] = wide;
	CHECK_EQ(nm_pool_put_bulk(p, mix, 2), 1);
	nm_pool_get_stats(p, &s0, sizeof(s0));
	CHECK_EQ(s0.err_range - s1.err_range, 1);
	CHECK_EQ(nm_pool_put(p, &held), 0);		/* still held: puts once */

	/* 2. More than the cache holds, in one bulk: the cache fills, the
	 * rest goes through the ring, nothing is lost or counted bad. */
	for (int i = 0; i < NR; i++)
		seen[i] = 0;
	n = nm_pool_alloc_bulk(p, b, NR);
	REQUIRE(n == NR - 1);	/* one chunk is being carved */
	nm_pool_get_stats(p, &s0, sizeof(s0));
	CHECK_EQ(nm_pool_put_bulk(p, b, (unsigned int)n), n);
	nm_pool_get_stats(p, &s1, sizeof(s1));
	CHECK_EQ(s1.err_double_put + s1.err_foreign + s1.err_not_buf + s1.err_range,
		 s0.err_double_put + s0.err_foreign + s0.err_not_buf + s0.err_range);
	CHECK_EQ(s1.inflight, 0);
	CHECK(s1.recycle_cached - s0.recycle_cached > 0);
	CHECK_EQ((s1.recycle_cached - s0.recycle_cached) +
		 (s1.recycle_ring - s0.recycle_ring) +
		 (s1.recycle_released - s0.recycle_released), (uint64_t)n);

	/* 3. Every chunk comes out exactly once. */
	n = nm_pool_alloc_bulk(p, b, NR);
	CHECK_EQ(n, NR - 1);
	for (int i = 0; i < n; i++) {
		int c = nm_buf_chunk_index(&b[i]);

		REQUIRE(c >= 0 && c < NR);
		CHECK(!seen[c]);
		seen[c] = 1;
		good++;
	}
	CHECK_EQ(nm_pool_put_bulk(p, b, (unsigned int)n), n);
	CHECK_EQ(good, NR - 1);
	CHECK_EQ(nm_pool_destroy(p), 0);
	nm_area_destroy(a);
	return t_done();
}

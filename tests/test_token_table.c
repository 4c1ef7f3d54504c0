/* SPDX-License-Identifier: MIT */
/*
 * What a token table accepts and what it gives back.  nm_token_add takes
 * only a buffer someone holds: a garbage descriptor (-EFAULT), a window
 * outside its chunk (-ERANGE) and a buffer already put, a fragment of the
 * chunk still being carved among them (-EALREADY), get no token and are
 * not counted.  A full table says -ENOSPC and leaves the buffer with the
 * caller.  A token whose buffer was put behind the table's back is spent
 * by its release but not counted as released (it counts as rejected).
 * Destroying a table with live tokens puts their buffers back: the pool
 * then has nothing in flight and its destroy finishes at once.
 */
#include "harness.h"

#define NR  16
#define CAP 4

int main(void)
{
	struct nm_area *a = t_host_area(NR, 0);
	struct nm_pool *p = nm_pool_create(a, NULL);
	struct nm_token_table *t = nm_token_table_create(CAP);
	struct nm_area_info ai;
	struct nm_buf b[CAP + 1], w, f;
	uint64_t fake[8] = { 0 };
	uint32_t tok[CAP + 1], k;

	REQUIRE(p && t);
	REQUIRE(nm_pool_alloc_bulk(p, b, CAP + 1) == CAP + 1);

	/* Garbage: no token, nothing counted. */
	w.iov = (struct nm_iov *)fake;
	w.off = 0;
	w.len = 64;
	CHECK_EQ(nm_token_add(t, &w, &k), -EFAULT);
	w = b[0];
	w.iov = (struct nm_iov *)((char *)b[0].iov + 8);
	CHECK_EQ(nm_token_add(t, &w, &k), -EFAULT);
	w = b[0];
	w.off = 4000;
	w.len = 97;
	CHECK_EQ(nm_token_add(t, &w, &k), -ERANGE);
	/* a buffer already put */
	REQUIRE(nm_pool_alloc(p, &w) == 0);
	REQUIRE(nm_pool_put(p, &w) == 0);
	CHECK_EQ(nm_token_add(t, &w, &k), -EALREADY);
	/* a fragment put while its chunk is still being carved */
	REQUIRE(nm_pool_alloc_frag(p, &f, 100, 0) == 0);
	REQUIRE(nm_pool_put(p, &f) == 0);
	CHECK_EQ(nm_token_add(t, &f, &k), -EALREADY);
	CHECK_EQ(nm_token_count(t), 0);
	CHECK_EQ(nm_token_rejected(t), 0);

	/* Full: -ENOSPC, the buffer stays the caller's. */
	for (int i = 0; i < CAP; i++)
		CHECK_EQ(nm_token_add(t, &b[i], &tok[i]), 0);
	CHECK_EQ(nm_token_count(t), CAP);
	CHECK_EQ(nm_token_add(t, &b[CAP], &tok[CAP]), -ENOSPC);
	CHECK_EQ(nm_token_count(t), CAP);
	CHECK_EQ(nm_pool_put(p, &b[CAP]), 0);

	/* b[0] put behind the table's back: its token is spent, not a
	 * release. */
	CHECK_EQ(nm_pool_put(p, &b[0]), 0);
	CHECK_EQ(nm_token_release(t, &tok[0], 1), 0);
	CHECK_EQ(nm_token_count(t), CAP - 1);
	CHECK_EQ(nm_token_rejected(t), 1);
	CHECK_EQ(nm_token_release(t, &tok[0], 1), 0);	/* now stale */
	CHECK_EQ(nm_token_rejected(t), 2);
	CHECK_EQ(nm_token_release(t, &tok[1], 1), 1);
	CHECK_EQ(nm_token_count(t), CAP - 2);
	CHECK_EQ(nm_pool_inflight(p), CAP - 2);

	/* Destroyed with two live tokens: their buffers go back. */
	nm_token_table_destroy(t);
	CHECK_EQ(nm_pool_inflight(p), 0);
	CHECK_EQ(nm_pool_put(p, &b[2]), -EALREADY);
	CHECK_EQ(nm_pool_destroy(p), 0);
	REQUIRE(nm_area_info(a, &ai, sizeof(ai)) == 0);
	CHECK_EQ(ai.nr_outstanding, 0);
	CHECK_EQ(ai.nr_free, NR);
	CHECK_EQ(nm_area_destroy(a), 0);
	return t_done();
}

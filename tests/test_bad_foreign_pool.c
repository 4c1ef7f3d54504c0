/* SPDX-License-Identifier: MIT */
/*
 * Put to the wrong pool: a buffer of pool P1 put to P2 (same area) or to Q
 * (another area) is rejected with -EXDEV, counted in the wrong pool's
 * err_foreign, and changes nothing: the buffer is still held by P1 (listed
 * by nm_pool_held, counted in its in-flight), the wrong pool's good stats
 * and in-flight do not move, and the buffer can then be put to P1 (0), or
 * through nm_buf_put, which finds its own pool and never says -EXDEV.
 */
#include "harness.h"

static void same_good_stats(const struct nm_pool_stats *a,
			    const struct nm_pool_stats *b)
{
	CHECK(t_same_good_stats(a, b));
	CHECK_EQ(a->err_double_put, b->err_double_put);
	CHECK_EQ(a->err_not_buf, b->err_not_buf);
	CHECK_EQ(a->err_range, b->err_range);
	CHECK_EQ(a->err_inval, b->err_inval);
}

/* Whether chunk c of pool p is listed as held, with refs references. */
static int listed(struct nm_pool *p, int c, uint32_t refs)
{
	struct nm_held h[16];
	long n = nm_pool_held(p, h, 16);

	for (long i = 0; i < n && i < 16; i++)
		if ((int)h[i].chunk == c)
			return h[i].refs == refs;
	return 0;
}

int main(void)
{
	struct nm_area *a = t_host_area(256, 0), *b = t_host_area(64, 0);
	struct nm_pool *p1 = nm_pool_create(a, NULL);
	struct nm_pool *p2 = nm_pool_create(a, NULL);
	struct nm_pool *q = nm_pool_create(b, NULL);
	struct nm_pool_stats s1a, s1b, s2a, s2b, qa, qb;
	struct nm_buf x, y, mine, two[2];

	REQUIRE(p1 && p2 && q);
	REQUIRE(nm_pool_alloc(p1, &x) == 0);
	REQUIRE(nm_pool_alloc(p2, &mine) == 0);
	REQUIRE(nm_pool_alloc(q, &y) == 0);
	memset(nm_buf_data(&x), 0x5a, x.len);

	nm_pool_get_stats(p1, &s1a, sizeof(s1a));
	nm_pool_get_stats(p2, &s2a, sizeof(s2a));
	nm_pool_get_stats(q, &qa, sizeof(qa));

	/* Same area, other pool; another area's pool; both ways round.  A
	 * foreign put taken would leave a chunk in two pools' hands, and what
	 * follows could then wait forever: stop at once. */
	REQUIRE(nm_pool_put(p2, &x) == -EXDEV);
	REQUIRE(nm_pool_put(q, &x) == -EXDEV);
	REQUIRE(nm_pool_put(p1, &y) == -EXDEV);
	REQUIRE(nm_pool_put(p1, &mine) == -EXDEV);
	/* In a bulk: the foreign one skipped, the own one accepted. */
	two[0] = x;
	two[1] = mine;
	REQUIRE(nm_pool_put_bulk(p2, two, 2) == 1);

	nm_pool_get_stats(p1, &s1b, sizeof(s1b));
	nm_pool_get_stats(p2, &s2b, sizeof(s2b));
	nm_pool_get_stats(q, &qb, sizeof(qb));
	CHECK_EQ(s2b.err_foreign, 2);
	CHECK_EQ(qb.err_foreign, 1);
	CHECK_EQ(s1b.err_foreign, 2);
	s2b.recycle_cached--;	/* the good put of `mine` in the bulk */
	s2b.inflight++;
	same_good_stats(&s1a, &s1b);
	same_good_stats(&s2a, &s2b);
	same_good_stats(&qa, &qb);

	/* x is still P1's: held, one reference, data untouched. */
	CHECK_EQ(nm_pool_inflight(p1), 1);
	CHECK(listed(p1, nm_buf_chunk_index(&x), 1));
	CHECK(!listed(p2, nm_buf_chunk_index(&x), 1));
	CHECK(nm_buf_data(&x) && ((unsigned char *)nm_buf_data(&x))[x.len - 1] == 0x5a);
	CHECK_EQ(nm_pool_inflight(p2), 0);
	CHECK_EQ(nm_pool_inflight(q), 1);

	/* And it goes back where it belongs. */
	CHECK_EQ(nm_pool_put(p1, &x), 0);
	CHECK_EQ(nm_pool_inflight(p1), 0);
	CHECK_EQ(nm_buf_put(&y), 0);	/* finds q itself */
	CHECK_EQ(nm_pool_inflight(q), 0);

	/* Both pools still allocate normally, and P1 gets x's chunk back. */
	REQUIRE(nm_pool_alloc(p1, &mine) == 0);
	CHECK(mine.iov == x.iov);
	CHECK_EQ(nm_pool_put(p1, &mine), 0);
	REQUIRE(nm_pool_alloc(p2, &mine) == 0);
	CHECK_EQ(nm_buf_put(&mine), 0);

	CHECK_EQ(nm_pool_destroy(p1), 0);
	CHECK_EQ(nm_pool_destroy(p2), 0);
	CHECK_EQ(nm_pool_destroy(q), 0);
	CHECK_EQ(nm_area_destroy(a), 0);
	CHECK_EQ(nm_area_destroy(b), 0);
	return t_done();
}

/* SPDX-License-Identifier: MIT */
/*
 * The owner thread holding many more buffers than the alloc cache (128):
 * its puts past a full cache spill the cache's older half to the return
 * ring in one bulk, its allocs refill from the ring in bulk.  Whatever the
 * depth, every put is accepted once and counted once (cached + ring +
 * released = puts), nothing is lost or handed out twice, a double put of
 * a spilled chunk is still refused, and with a ring too small the spill's
 * overflow goes back to the area (recycle_ring_full).  Also the empty
 * bulk: nm_pool_put_bulk(pool, NULL, 0) is 0 and touches nothing (it used
 * to do NULL + 0, which UBSan reports), while NULL with n > 0 is -EINVAL.
 */
#include "harness.h"

#define NR    4096
#define BATCH 32

static struct nm_buf bufs[NR];

/* Take all @n chunks of the area, each once; return 0 or -1. */
static int take_all(struct nm_pool *p, unsigned int n, int bulk)
{
	static char seen[NR];
	int got = 0;

	memset(seen, 0, sizeof(seen));
	if (bulk) {
		for (unsigned int i = 0; i < n; i += BATCH)
			got += nm_pool_alloc_bulk(p, bufs + i, BATCH);
	} else {
		for (unsigned int i = 0; i < n; i++)
			got += nm_pool_alloc(p, &bufs[i]) == 0;
	}
	CHECK_EQ(got, (int)n);
	if (got != (int)n)
		return -1;
	for (unsigned int i = 0; i < n; i++) {
		int c = nm_buf_chunk_index(&bufs[i]);

		if (c < 0 || c >= (int)n || seen[c]) {
			fprintf(stderr, "chunk %d handed out twice or out of range\n", c);
			nm_test_failures++;
			return -1;
		}
		seen[c] = 1;
	}
	return 0;
}

static void put_all(struct nm_pool *p, unsigned int n, int bulk)
{
	int ok = 0;

	if (bulk) {
		for (unsigned int i = 0; i < n; i += BATCH)
			ok += nm_pool_put_bulk(p, bufs + i, BATCH);
	} else {
		for (unsigned int i = 0; i < n; i++)
			ok += nm_pool_put(p, &bufs[i]) == 0;
	}
	CHECK_EQ(ok, (int)n);
}

/* Every put so far counted once, nothing held. */
static void check_counted(struct nm_pool *p, uint64_t puts)
{
	struct nm_pool_stats st;

	REQUIRE(nm_pool_get_stats(p, &st, sizeof(st)) == 0);
	CHECK_EQ(st.inflight, 0);
	CHECK_EQ(st.recycle_cached + st.recycle_ring + st.recycle_released, puts);
	CHECK_EQ(st.recycle_ring_full, st.recycle_released);
	CHECK_EQ(st.err_double_put + st.err_foreign + st.err_not_buf + st.err_range +
		 st.err_inval, 0);
}

/* Deep holds with a ring that has room: nothing goes back to the area. */
static void deep(void)
{
	struct nm_area *a = t_host_area(NR, 0);
	struct nm_pool *p = nm_pool_create(a, NULL);
	struct nm_pool_stats s0, s1;
	struct nm_area_info ai;
	uint64_t puts = 0;

	REQUIRE(p);
	for (int round = 0; round < 4; round++) {
		int bulk = round & 1;

		if (take_all(p, NR, !bulk))
			break;
		put_all(p, NR, bulk);
		puts += NR;
		check_counted(p, puts);
	}
	REQUIRE(nm_pool_get_stats(p, &s0, sizeof(s0)) == 0);
	CHECK_EQ(s0.recycle_released, 0);
	CHECK_EQ(s0.hold, NR);		/* each chunk taken from the area once */
	/* the spills went through the ring, and stayed counted as cached */
	CHECK_EQ(s0.recycle_ring, 0);
	CHECK_EQ(s0.recycle_cached, puts);

	/* A chunk that was spilled to the ring is no one's: its put again
	 * is a double put, refused and counted, nothing else changes. */
	REQUIRE(nm_pool_get_stats(p, &s0, sizeof(s0)) == 0);
	CHECK_EQ(nm_pool_put(p, &bufs[0]), -EALREADY);
	CHECK_EQ(nm_pool_put_bulk(p, bufs, BATCH), 0);
	REQUIRE(nm_pool_get_stats(p, &s1, sizeof(s1)) == 0);
	CHECK_EQ(s1.err_double_put, s0.err_double_put + 1 + BATCH);
	CHECK(t_same_good_stats(&s0, &s1));

	CHECK_EQ(nm_pool_destroy(p), 0);
	REQUIRE(nm_area_info(a, &ai, sizeof(ai)) == 0);
	CHECK_EQ(ai.nr_outstanding, 0);
	CHECK_EQ(nm_area_destroy(a), 0);
}

/* A bad buffer in a bulk that crosses a spill: the good ones before and
 * after it go back, it alone is refused. */
static void bad_in_spill(void)
{
	struct nm_area *a = t_host_area(1024, 0);
	struct nm_pool *p = nm_pool_create(a, NULL);
	struct nm_buf b[BATCH + 1];
	struct nm_pool_stats st;

	REQUIRE(p);
	REQUIRE(nm_pool_alloc_bulk(p, bufs, 1024) == 1024);
	/* cache fills to 120, then a bulk of 32 crosses the spill at 128 */
	for (unsigned int i = 0; i < 120; i++)
		REQUIRE(nm_pool_put(p, &bufs[i]) == 0);
	memcpy(b, bufs + 120, sizeof(b));
	b[20] = bufs[0];		/* put already */
	CHECK_EQ(nm_pool_put_bulk(p, b, BATCH), BATCH - 1);
	REQUIRE(nm_pool_get_stats(p, &st, sizeof(st)) == 0);
	CHECK_EQ(st.err_double_put, 1);
	CHECK_EQ(st.recycle_cached + st.recycle_ring + st.recycle_released, 120 + BATCH - 1);
	/* bufs[140] was not in the bulk (b[20] replaced it) */
	CHECK_EQ(nm_pool_put(p, &bufs[140]), 0);
	CHECK_EQ(nm_pool_put_bulk(p, bufs + 120 + BATCH, 1024 - 120 - BATCH),
		 1024 - 120 - BATCH);
	REQUIRE(nm_pool_get_stats(p, &st, sizeof(st)) == 0);
	CHECK_EQ(st.inflight, 0);
	CHECK_EQ(st.recycle_cached + st.recycle_ring + st.recycle_released, 1024);
	CHECK_EQ(nm_pool_destroy(p), 0);
	CHECK_EQ(nm_area_destroy(a), 0);
}

/* A ring too small for the spills: what it cannot take goes back to the
 * area, and every chunk can still be taken again, each once. */
static void small_ring(void)
{
	struct nm_area *a = t_host_area(1024, 0);
	NM_OPTS(nm_pool_opts, po, .ring_size = 64);
	struct nm_pool *p = nm_pool_create(a, &po);
	struct nm_pool_stats st;
	struct nm_area_info ai;

	REQUIRE(p);
	for (int round = 0; round < 2; round++) {
		if (take_all(p, 1024, 1))
			break;
		put_all(p, 1024, round);
		REQUIRE(nm_pool_get_stats(p, &st, sizeof(st)) == 0);
		CHECK_EQ(st.inflight, 0);
		CHECK(st.recycle_ring_full > 0);
		CHECK_EQ(st.recycle_ring_full, st.recycle_released);
		/* each put counted once where it went; what a full ring
		 * could not take is also counted as released */
		CHECK_EQ(st.recycle_cached + st.recycle_ring, 1024u * (round + 1));
		REQUIRE(nm_area_info(a, &ai, sizeof(ai)) == 0);
		CHECK_EQ(ai.nr_free + st.hold - st.release, 1024);
	}
	CHECK_EQ(nm_pool_destroy(p), 0);
	REQUIRE(nm_area_info(a, &ai, sizeof(ai)) == 0);
	CHECK_EQ(ai.nr_free, 1024);
	CHECK_EQ(nm_area_destroy(a), 0);
}

static void empty_bulk(void)
{
	struct nm_area *a = t_host_area(64, 0);
	struct nm_pool *p = nm_pool_create(a, NULL);
	struct nm_pool_stats s0, s1;

	REQUIRE(p);
	REQUIRE(nm_pool_set_owner(p) == 0);
	REQUIRE(nm_pool_get_stats(p, &s0, sizeof(s0)) == 0);
	CHECK_EQ(nm_pool_put_bulk(p, NULL, 0), 0);
	CHECK_EQ(nm_pool_alloc_bulk(p, NULL, 0), 0);
	REQUIRE(nm_pool_get_stats(p, &s1, sizeof(s1)) == 0);
	CHECK(t_same_good_stats(&s0, &s1));
	CHECK_EQ(s1.err_inval, s0.err_inval);
	CHECK_EQ(nm_pool_put_bulk(p, NULL, 1), -EINVAL);
	CHECK_EQ(nm_pool_alloc_bulk(p, NULL, 1), -EINVAL);
	REQUIRE(nm_pool_get_stats(p, &s1, sizeof(s1)) == 0);
	CHECK_EQ(s1.err_inval, s0.err_inval + 2);
	CHECK_EQ(nm_pool_destroy(p), 0);
	CHECK_EQ(nm_area_destroy(a), 0);
}

int main(void)
{
	empty_bulk();
	deep();
	bad_in_spill();
	small_ring();
	return t_done();
}

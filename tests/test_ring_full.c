/* SPDX-License-Identifier: MIT */
/*
 * A full return ring: what another thread puts while the ring has no room
 * goes back to the area (counted in recycle_ring_full and
 * recycle_released), never lost and never handed out twice.  A pool with
 * a 64-entry ring and 512 chunks out: another thread puts all of them
 * (its put slot sends them on 128 at a time), 64 fit in the ring and 448
 * go back to the area.  The owner then takes all 512 again, each once,
 * from the ring and the area, and after the last put and destroy the
 * area has every chunk.
 */
#include "harness.h"
#include <pthread.h>

#define NR    512
#define RING  64
#define BATCH 32

static struct nm_pool *pool;
static struct nm_buf bufs[NR];
static int put_ok;

static void *putter(void *arg)
{
	(void)arg;
	for (int i = 0; i < NR; i += BATCH)
		put_ok += nm_pool_put_bulk(pool, bufs + i, BATCH);
	return NULL;
}

int main(void)
{
	struct nm_area *a = t_host_area(NR, 0);
	NM_OPTS(nm_pool_opts, po, .ring_size = RING);
	struct nm_pool_stats st;
	struct nm_area_info ai;
	char seen[NR] = { 0 };
	pthread_t th;
	int n;

	pool = nm_pool_create(a, &po);
	REQUIRE(pool);
	REQUIRE(nm_pool_alloc_bulk(pool, bufs, NR) == NR);
	REQUIRE(pthread_create(&th, NULL, putter, NULL) == 0);
	REQUIRE(pthread_join(th, NULL) == 0);
	CHECK_EQ(put_ok, NR);

	REQUIRE(nm_pool_get_stats(pool, &st, sizeof(st)) == 0);
	CHECK_EQ(st.inflight, 0);
	CHECK_EQ(st.recycle_ring_full, NR - RING);
	CHECK_EQ(st.recycle_released, NR - RING);
	CHECK_EQ(st.recycle_ring, RING);	/* waiting in the ring */
	CHECK_EQ(st.err_double_put + st.err_foreign + st.err_not_buf + st.err_range, 0);
	REQUIRE(nm_area_info(a, &ai, sizeof(ai)) == 0);
	CHECK_EQ(ai.nr_free, NR - RING);

	/* All of them again, each once. */
	n = nm_pool_alloc_bulk(pool, bufs, NR);
	CHECK_EQ(n, NR);
	for (int i = 0; i < n; i++) {
		int c = nm_buf_chunk_index(&bufs[i]);

		REQUIRE(c >= 0 && c < NR);
		CHECK(!seen[c]);
		seen[c] = 1;
	}
	REQUIRE(nm_area_info(a, &ai, sizeof(ai)) == 0);
	CHECK_EQ(ai.nr_free, 0);
	CHECK_EQ(nm_pool_put_bulk(pool, bufs, (unsigned int)n), n);
	CHECK_EQ(nm_pool_destroy(pool), 0);
	REQUIRE(nm_area_info(a, &ai, sizeof(ai)) == 0);
	CHECK_EQ(ai.nr_outstanding, 0);
	CHECK_EQ(ai.nr_free, NR);
	CHECK_EQ(nm_area_destroy(a), 0);
	return t_done();
}

/* SPDX-License-Identifier: MIT */
/* Pool basics: alloc, put, recycle through the cache, bulk, stats. */
#include "harness.h"

int main(void)
{
	struct nm_area *a = t_host_area(256, 0);
	struct nm_pool *p = nm_pool_create(a, NULL);
	struct nm_buf b, bufs[300];
	struct nm_pool_stats st;
	int n;

	REQUIRE(p);
	CHECK_EQ(nm_pool_alloc(p, &b), 0);
	CHECK_EQ(b.len, 4096);
	CHECK(nm_buf_data(&b) != NULL);
	memset(nm_buf_data(&b), 0xab, b.len);
	CHECK_EQ(nm_pool_inflight(p), 1);
	CHECK_EQ(nm_pool_put(p, &b), 0);
	CHECK_EQ(nm_pool_inflight(p), 0);

	/* Bulk: the whole area, then empty. */
	n = nm_pool_alloc_bulk(p, bufs, 300);
	CHECK_EQ(n, 256);
	CHECK_EQ(nm_pool_alloc(p, &b), -ENOMEM);
	CHECK_EQ(nm_pool_inflight(p), 256);
	CHECK_EQ(nm_pool_put_bulk(p, bufs, (unsigned)n), n);
	CHECK_EQ(nm_pool_inflight(p), 0);
	nm_pool_get_stats(p, &st, sizeof(st));
	CHECK_EQ(st.alloc_area, 256);
	CHECK_EQ(st.alloc_empty, 2); /* the bulk that ran dry, then the single alloc */
	CHECK(st.recycle_cached > 0);
	CHECK_EQ(st.recycle_released + st.recycle_cached + st.recycle_ring, 257);

	/* Every chunk distinct and inside the area. */
	n = nm_pool_alloc_bulk(p, bufs, 256);
	CHECK_EQ(n, 256);
	for (int i = 0; i < n; i++)
		for (int j = i + 1; j < n; j++)
			if (bufs[i].iov == bufs[j].iov)
				CHECK(!"chunk handed out twice");
	CHECK_EQ(nm_pool_put_bulk(p, bufs, (unsigned)n), n);

	CHECK_EQ(nm_pool_destroy(p), 0);
	CHECK_EQ(nm_area_destroy(a), 0);
	return t_done();
}

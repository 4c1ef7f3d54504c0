/* SPDX-License-Identifier: MIT */
/*
 * A buffer whose offset or length lies outside its chunk is refused with
 * -ERANGE by nm_pool_put (and skipped by nm_pool_put_bulk), counted in
 * err_range; the chunk keeps its reference, and the same buffer with its
 * real window is then put fine.
 */
#include "harness.h"

int main(void)
{
	struct nm_area *a = t_host_area(16, 0);
	struct nm_pool *p = nm_pool_create(a, NULL);
	struct nm_pool_stats s0, s1;
	struct nm_buf b, bad;
	const struct { uint32_t off, len; } cases[] = {
		{ 0, 4097 }, { 1, 4096 }, { 4096, 1 }, { 4095, 2 },
		{ UINT32_MAX, 1 }, { 1, UINT32_MAX }, { UINT32_MAX, UINT32_MAX },
	};
	const unsigned int nc = sizeof(cases) / sizeof(cases[0]);

	REQUIRE(p);
	REQUIRE(nm_pool_alloc(p, &b) == 0);
	nm_pool_get_stats(p, &s0, sizeof(s0));
	for (unsigned int i = 0; i < nc; i++) {
		bad = b;
		bad.off = cases[i].off;
		bad.len = cases[i].len;
		CHECK_EQ(nm_pool_put(p, &bad), -ERANGE);
		CHECK_EQ(nm_buf_put(&bad), -ERANGE);
		CHECK_EQ(nm_pool_put_bulk(p, &bad, 1), 0);
	}
	nm_pool_get_stats(p, &s1, sizeof(s1));
	CHECK_EQ(s1.err_range, s0.err_range + 3 * nc);
	CHECK_EQ(s1.inflight, 1);
	CHECK_EQ(s1.recycle_cached, s0.recycle_cached);
	CHECK_EQ(s1.err_double_put + s1.err_foreign + s1.err_not_buf, 0);

	/* Edge windows inside the chunk are fine. */
	bad = b;
	bad.off = 4096;
	bad.len = 0;
	CHECK_EQ(nm_pool_put(p, &bad), 0);
	CHECK_EQ(nm_pool_inflight(p), 0);
	CHECK_EQ(nm_pool_put(p, &b), -EALREADY);

	CHECK_EQ(nm_pool_destroy(p), 0);
	CHECK_EQ(nm_area_destroy(a), 0);
	return t_done();
}

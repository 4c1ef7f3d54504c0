/* SPDX-License-Identifier: MIT */
/*
 * nm_pool_opts.ring_size: a power of 2 up to 2^24, or 0 for the default.
 * Anything else (not a power of 2, too large) is refused with EINVAL;
 * the smallest ring (1 entry) and the largest (2^24) work, and the area
 * has every chunk back at the end.
 */
#include "harness.h"

int main(void)
{
	static const unsigned int bad[] = { 3, 100, 4095, 0x80000001u, 1u << 25, UINT32_MAX };
	struct nm_area *a = t_host_area(8, 0);
	struct nm_area_info ai;
	struct nm_pool *p;
	struct nm_buf b;

	for (unsigned int i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		NM_OPTS(nm_pool_opts, po, .ring_size = bad[i]);

		errno = 0;
		p = nm_pool_create(a, &po);
		CHECK(p == NULL);
		CHECK_EQ(errno, EINVAL);
		if (p)
			nm_pool_destroy(p);
	}
	{
		NM_OPTS(nm_pool_opts, po, .ring_size = 1);

		p = nm_pool_create(a, &po);
		REQUIRE(p);
		CHECK_EQ(nm_pool_alloc(p, &b), 0);
		CHECK_EQ(nm_pool_put(p, &b), 0);
		CHECK_EQ(nm_pool_destroy(p), 0);
	}
	{
		NM_OPTS(nm_pool_opts, po, .ring_size = 1u << 24);

		p = nm_pool_create(a, &po);
		REQUIRE(p);
		CHECK_EQ(nm_pool_destroy(p), 0);
	}
	REQUIRE(nm_area_info(a, &ai, sizeof(ai)) == 0);
	CHECK_EQ(ai.nr_free, 8);
	CHECK_EQ(nm_area_destroy(a), 0);
	return t_done();
}

/* SPDX-License-Identifier: MIT */
/*
 * A fragment larger than a chunk (or with a bad alignment) is refused with
 * -EINVAL and counted in err_inval, and the chunk being carved is not
 * disturbed: the next good fragment comes from the same chunk right after
 * the previous one, a whole-chunk-sized fragment is fine, and in-flight
 * counts and stats of good operations are as they were.
 */
#include "harness.h"

int main(void)
{
	struct nm_area *a = t_host_area(8, 0);
	struct nm_pool *p = nm_pool_create(a, NULL);
	struct nm_pool_stats s0, s1;
	struct nm_buf f1, f2, f3, x;
	const struct { uint32_t size, align; } bad[] = {
		{ 4097, 0 }, { 8192, 1 }, { UINT32_MAX, 0 }, { 1u << 31, 64 },
		{ 100, 3 }, { 100, 8192 }, { 100, 1u << 31 }, { 4096, 96 },
	};
	const unsigned int nb = sizeof(bad) / sizeof(bad[0]);

	REQUIRE(p);
	REQUIRE(nm_pool_alloc_frag(p, &f1, 1000, 0) == 0);
	CHECK_EQ(f1.off, 0);
	CHECK_EQ(f1.len, 1000);
	nm_pool_get_stats(p, &s0, sizeof(s0));
	for (unsigned int i = 0; i < nb; i++)
		CHECK_EQ(nm_pool_alloc_frag(p, &x, bad[i].size, bad[i].align), -EINVAL);
	nm_pool_get_stats(p, &s1, sizeof(s1));
	CHECK_EQ(s1.err_inval, s0.err_inval + nb);
	CHECK_EQ(s1.alloc_frag, s0.alloc_frag);
	CHECK_EQ(s1.alloc_fast, s0.alloc_fast);
	CHECK_EQ(s1.alloc_slow, s0.alloc_slow);
	CHECK_EQ(s1.inflight, 1);

	/* Carving carries on in the same chunk, aligned to 64. */
	REQUIRE(nm_pool_alloc_frag(p, &f2, 1000, 0) == 0);
	CHECK(f2.iov == f1.iov);
	CHECK_EQ(f2.off, 1024);
	/* A fragment of exactly a chunk starts a new one. */
	REQUIRE(nm_pool_alloc_frag(p, &f3, 4096, 4096) == 0);
	CHECK(f3.iov != f1.iov);
	CHECK_EQ(f3.off, 0);
	CHECK_EQ(f3.len, 4096);
	CHECK_EQ(nm_pool_inflight(p), 2);

	CHECK_EQ(nm_pool_put(p, &f1), 0);
	CHECK_EQ(nm_pool_put(p, &f2), 0);
	CHECK_EQ(nm_pool_put(p, &f3), 0);
	CHECK_EQ(nm_pool_inflight(p), 0);
	nm_pool_get_stats(p, &s1, sizeof(s1));
	CHECK_EQ(s1.err_double_put + s1.err_foreign + s1.err_not_buf + s1.err_range, 0);
	CHECK_EQ(nm_pool_destroy(p), 0);
	CHECK_EQ(nm_area_destroy(a), 0);
	return t_done();
}

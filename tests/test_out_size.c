/* SPDX-License-Identifier: MIT */
/*
 * Output structs take the caller's size: nm_pool_get_stats and
 * nm_area_info write at most that many bytes (a caller built against an
 * older, shorter struct keeps the memory past it), zero what a longer,
 * newer struct has beyond the library's, and refuse a size below the
 * struct's first version (the size of a pointer, passed by mistake) with
 * -EINVAL, writing nothing.  (nm_rx_info/nm_rx_stats: test_rx_args;
 * nm_cuda_*: test_cuda_refusal.)
 */
#include "harness.h"

#define GUARD 0xa5

/* A buffer larger than the struct, filled with GUARD. */
static unsigned char out[512];

static int untouched_from(size_t from)
{
	for (size_t i = from; i < sizeof(out); i++)
		if (out[i] != GUARD)
			return 0;
	return 1;
}

int main(void)
{
	struct nm_area *a = t_host_area(16, 0);
	struct nm_pool *p = nm_pool_create(a, NULL);
	struct nm_pool_stats st;
	struct nm_area_info info;
	struct nm_buf b;

	REQUIRE(p);
	REQUIRE(sizeof(struct nm_pool_stats) + 64 <= sizeof(out));
	REQUIRE(sizeof(struct nm_area_info) + 64 <= sizeof(out));
	REQUIRE(nm_pool_alloc(p, &b) == 0);
	REQUIRE(nm_pool_put(p, &b) == 0);
	REQUIRE(nm_pool_get_stats(p, &st, sizeof(st)) == 0);
	CHECK_EQ(st.alloc_slow + st.alloc_fast, 1);
	CHECK_EQ(st.recycle_cached, 1);

	/* Too small: nothing written. */
	memset(out, GUARD, sizeof(out));
	CHECK_EQ(nm_pool_get_stats(p, (struct nm_pool_stats *)out, sizeof(void *)), -EINVAL);
	CHECK_EQ(nm_pool_get_stats(p, (struct nm_pool_stats *)out, 0), -EINVAL);
	CHECK_EQ(nm_area_info(a, (struct nm_area_info *)out, sizeof(void *)), -EINVAL);
	CHECK(untouched_from(0));

	/* Exactly the struct: the same figures. */
	memset(out, GUARD, sizeof(out));
	CHECK_EQ(nm_pool_get_stats(p, (struct nm_pool_stats *)out, sizeof(st)), 0);
	CHECK(!memcmp(out, &st, sizeof(st)));
	CHECK(untouched_from(sizeof(st)));

	/* A newer caller's longer struct: the tail reads as zero, nothing
	 * past the size it gave is written. */
	memset(out, GUARD, sizeof(out));
	CHECK_EQ(nm_pool_get_stats(p, (struct nm_pool_stats *)out, sizeof(st) + 40), 0);
	CHECK(!memcmp(out, &st, sizeof(st)));
	for (size_t i = sizeof(st); i < sizeof(st) + 40; i++)
		CHECK_EQ(out[i], 0);
	CHECK(untouched_from(sizeof(st) + 40));

	memset(out, GUARD, sizeof(out));
	CHECK_EQ(nm_area_info(a, &info, sizeof(info)), 0);
	CHECK_EQ(info.nr_chunks, 16);
	CHECK_EQ(nm_area_info(a, (struct nm_area_info *)out, sizeof(info) + 24), 0);
	CHECK_EQ(((struct nm_area_info *)out)->nr_chunks, 16);
	CHECK(!strcmp(((struct nm_area_info *)out)->provider, "host"));
	for (size_t i = sizeof(info); i < sizeof(info) + 24; i++)
		CHECK_EQ(out[i], 0);
	CHECK(untouched_from(sizeof(info) + 24));

	CHECK_EQ(nm_pool_destroy(p), 0);
	CHECK_EQ(nm_area_destroy(a), 0);
	return t_done();
}

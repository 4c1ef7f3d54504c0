/* SPDX-License-Identifier: MIT */
/*
 * Zero sizes: an area of 0 bytes (-EINVAL), an options struct whose sz is
 * 0 or too small to hold sz (-EINVAL), a fragment of 0 bytes (-EINVAL,
 * counted), a token table of 0 entries (-EINVAL).  Zero counts are no-ops
 * that succeed (bulk alloc/put of 0, held list of 0 entries, a 0-byte
 * place), and a ring_size of 0 means the default.  Nothing leaks and the
 * pool works normally afterwards.
 */
#include "harness.h"

int main(void)
{
	NM_OPTS(nm_area_opts, ao, .size = 0);
	NM_OPTS(nm_pool_opts, po, .ring_size = 0);
	struct nm_area_opts tiny = { .sz = 0, .size = 4096 };
	struct nm_pool_opts ptiny = { .sz = 4 };
	struct nm_area *a;
	struct nm_pool *p;
	struct nm_pool_stats s0, s1;
	struct nm_buf b, f, none[1];
	char c = 0;

	errno = 0;
	CHECK(nm_area_create("host", &ao) == NULL);
	CHECK_EQ(errno, EINVAL);
	errno = 0;
	CHECK(nm_area_create("host", &tiny) == NULL);
	CHECK_EQ(errno, EINVAL);
	tiny.sz = sizeof(size_t) - 1;
	errno = 0;
	CHECK(nm_area_create("host", &tiny) == NULL);
	CHECK_EQ(errno, EINVAL);
	errno = 0;
	CHECK(nm_token_table_create(0) == NULL);
	CHECK_EQ(errno, EINVAL);

	/* 1 byte rounds up to one chunk. */
	ao.size = 1;
	a = nm_area_create("host", &ao);
	REQUIRE(a);
	errno = 0;
	CHECK(nm_pool_create(a, &ptiny) == NULL);
	CHECK_EQ(errno, EINVAL);
	p = nm_pool_create(a, &po);	/* ring_size 0: the default */
	REQUIRE(p);
	CHECK_EQ(nm_pool_chunk_size(p), 4096);

	REQUIRE(nm_pool_alloc_frag(p, &f, 64, 0) == 0);
	nm_pool_get_stats(p, &s0, sizeof(s0));
	CHECK_EQ(nm_pool_alloc_frag(p, &b, 0, 0), -EINVAL);
	CHECK_EQ(nm_pool_alloc_frag(p, &b, 0, 1), -EINVAL);
	CHECK_EQ(nm_pool_alloc_bulk(p, none, 0), 0);
	CHECK_EQ(nm_pool_alloc_bulk(p, NULL, 0), 0);
	CHECK_EQ(nm_pool_put_bulk(p, none, 0), 0);
	CHECK_EQ(nm_pool_put_bulk(p, NULL, 0), 0);
	CHECK_EQ(nm_pool_held(p, NULL, 0), 1);
	CHECK_EQ(nm_buf_place(&f, &c, 0, NULL, NULL), 0);
	CHECK_EQ(nm_buf_place(&f, NULL, 0, NULL, NULL), 0);
	nm_pool_get_stats(p, &s1, sizeof(s1));
	CHECK_EQ(s1.err_inval, s0.err_inval + 2);
	CHECK_EQ(s1.alloc_frag, s0.alloc_frag);
	CHECK_EQ(s1.alloc_fast, s0.alloc_fast);
	CHECK_EQ(s1.alloc_slow, s0.alloc_slow);
	CHECK_EQ(s1.inflight, 1);

	/* The carving goes on where it was. */
	REQUIRE(nm_pool_alloc_frag(p, &b, 64, 0) == 0);
	CHECK(b.iov == f.iov);
	CHECK_EQ(b.off, 64);
	CHECK_EQ(nm_pool_put(p, &b), 0);
	CHECK_EQ(nm_pool_put(p, &f), 0);

	CHECK_EQ(nm_pool_destroy(p), 0);
	CHECK_EQ(nm_area_destroy(a), 0);
	return t_done();
}

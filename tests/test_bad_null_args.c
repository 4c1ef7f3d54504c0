/* SPDX-License-Identifier: MIT */
/*
 * Every public entry point given NULL (and, where it takes a buffer or a
 * token, garbage) returns its documented error without crashing: -EINVAL
 * from int-returning functions, NULL with errno from constructors, NULL or
 * 0 from lookups.  Errors charged to a real pool are counted in its
 * err_inval / err_not_buf, and the pool works normally afterwards.
 */
#include "harness.h"
#include <limits.h>
#include <netmem/provider.h>

int main(void)
{
	struct nm_area *a = t_host_area(16, 0);
	struct nm_pool *p = nm_pool_create(a, NULL);
	struct nm_buf b, garbage = { .iov = (struct nm_iov *)&b, .off = 7, .len = 9 };
	struct nm_buf nulliov = { .iov = NULL };
	struct nm_pool_stats st;
	struct nm_area_info info;
	struct nm_token_table *t;
	struct nm_held held[2];
	const char *names[4];
	uint32_t tok = 12345;
	uint64_t addr;
	char c = 0;

	REQUIRE(p);
	REQUIRE(nm_version() && strlen(nm_version()) >= 5);

	/* Areas. */
	errno = 0;
	CHECK(nm_area_create(NULL, NULL) == NULL);
	CHECK_EQ(errno, EINVAL);
	errno = 0;
	CHECK(nm_area_create("host", NULL) == NULL);
	CHECK_EQ(errno, EINVAL);
	{
		NM_OPTS(nm_area_opts, o, .size = 4096);
		errno = 0;
		CHECK(nm_area_create(NULL, &o) == NULL);
		CHECK_EQ(errno, EINVAL);
		errno = 0;
		CHECK(nm_area_create("no-such-provider", &o) == NULL);
		CHECK_EQ(errno, ENOENT);
		errno = 0;
		CHECK(nm_area_create("", &o) == NULL);
		CHECK_EQ(errno, ENOENT);
	}
	CHECK_EQ(nm_area_revoke(NULL, 0), -EINVAL);
	CHECK_EQ(nm_area_revoke(NULL, NM_REVOKE_GONE), -EINVAL);
	CHECK_EQ(nm_area_destroy(NULL), -EINVAL);
	CHECK_EQ(nm_area_info(NULL, &info, sizeof(info)), -EINVAL);
	CHECK_EQ(nm_area_info(a, NULL, sizeof(struct nm_area_info)), -EINVAL);
	CHECK_EQ(nm_area_info(NULL, NULL, sizeof(struct nm_area_info)), -EINVAL);
	CHECK_EQ(nm_area_poll(NULL), -EINVAL);

	/* Pools. */
	errno = 0;
	CHECK(nm_pool_create(NULL, NULL) == NULL);
	CHECK_EQ(errno, EINVAL);
	CHECK_EQ(nm_pool_destroy(NULL), -EINVAL);
	CHECK_EQ(nm_pool_set_owner(NULL), -EINVAL);
	CHECK_EQ(nm_pool_alloc(NULL, &b), -EINVAL);
	CHECK_EQ(nm_pool_alloc(NULL, NULL), -EINVAL);
	CHECK_EQ(nm_pool_alloc(p, NULL), -EINVAL);			/* counted */
	CHECK_EQ(nm_pool_alloc_bulk(NULL, &b, 1), -EINVAL);
	CHECK_EQ(nm_pool_alloc_bulk(p, NULL, 1), -EINVAL);		/* counted */
	CHECK_EQ(nm_pool_alloc_frag(NULL, &b, 64, 0), -EINVAL);
	CHECK_EQ(nm_pool_alloc_frag(p, NULL, 64, 0), -EINVAL);	/* counted */
	CHECK_EQ(nm_pool_put(NULL, &b), -EINVAL);
	CHECK_EQ(nm_pool_put(p, NULL), -EINVAL);			/* counted */
	CHECK_EQ(nm_pool_put_bulk(NULL, &b, 1), -EINVAL);
	CHECK_EQ(nm_pool_put_bulk(p, NULL, 1), -EINVAL);		/* counted */
	CHECK_EQ(nm_pool_put(p, &nulliov), -EFAULT);			/* not_buf */
	CHECK_EQ(nm_pool_put(p, &garbage), -EFAULT);			/* not_buf */
	CHECK_EQ(nm_pool_get_stats(NULL, &st, sizeof(st)), -EINVAL);
	CHECK_EQ(nm_pool_get_stats(p, NULL, sizeof(struct nm_pool_stats)), -EINVAL);
	CHECK_EQ(nm_pool_inflight(NULL), -EINVAL);
	CHECK_EQ(nm_pool_held(NULL, held, 2), -EINVAL);
	CHECK_EQ(nm_pool_held(p, NULL, 2), -EINVAL);
	CHECK(nm_pool_area(NULL) == NULL);
	CHECK(nm_pool_area(p) == a);
	CHECK_EQ(nm_pool_chunk_size(NULL), 0);

	/* Buffers: NULL, a NULL descriptor, a garbage descriptor. */
	CHECK_EQ(nm_buf_put(NULL), -EINVAL);
	CHECK_EQ(nm_buf_put(&nulliov), -EFAULT);
	CHECK_EQ(nm_buf_put(&garbage), -EFAULT);
	CHECK_EQ(nm_buf_get(NULL), -EINVAL);
	CHECK_EQ(nm_buf_get(&nulliov), -EFAULT);
	CHECK_EQ(nm_buf_get(&garbage), -EFAULT);
	CHECK(nm_buf_data(NULL) == NULL);
	CHECK(nm_buf_data(&nulliov) == NULL);
	CHECK(nm_buf_data(&garbage) == NULL);
	CHECK_EQ(nm_buf_io_addr(NULL, &addr), -EINVAL);
	CHECK_EQ(nm_buf_io_addr(&garbage, &addr), -EINVAL);
	CHECK(nm_buf_area(NULL) == NULL);
	CHECK(nm_buf_area(&nulliov) == NULL);
	CHECK(nm_buf_area(&garbage) == NULL);
	CHECK_EQ(nm_buf_chunk_index(NULL), -EINVAL);
	CHECK_EQ(nm_buf_chunk_index(&garbage), -EINVAL);
	CHECK_EQ(nm_buf_sync(NULL, NM_SYNC_FOR_CPU), -EINVAL);
	CHECK_EQ(nm_buf_sync(&garbage, NM_SYNC_FOR_DEVICE), -EINVAL);
	CHECK_EQ(nm_buf_place(NULL, &c, 1, NULL, NULL), -EINVAL);
	CHECK_EQ(nm_buf_place(&garbage, &c, 1, NULL, NULL), -EINVAL);

	/* A real buffer with NULL or garbage companions. */
	REQUIRE(nm_pool_alloc(p, &b) == 0);
	CHECK_EQ(nm_buf_io_addr(&b, NULL), -EINVAL);
	CHECK_EQ(nm_buf_sync(&b, (enum nm_sync_dir)7), -EINVAL);
	CHECK_EQ(nm_buf_sync(&b, (enum nm_sync_dir)-1), -EINVAL);
	CHECK_EQ(nm_buf_place(&b, NULL, 1, NULL, NULL), -EINVAL);
	CHECK_EQ(nm_buf_io_addr(&b, &addr), 0);
	CHECK_EQ(nm_buf_sync(&b, NM_SYNC_FOR_CPU), 0);

	/* Tokens. */
	errno = 0;
	CHECK(nm_token_table_create(0) == NULL);
	CHECK_EQ(errno, EINVAL);
	errno = 0;
	CHECK(nm_token_table_create(UINT_MAX) == NULL);
	CHECK_EQ(errno, EINVAL);
	nm_token_table_destroy(NULL);
	t = nm_token_table_create(4);
	REQUIRE(t);
	CHECK_EQ(nm_token_add(NULL, &b, &tok), -EINVAL);
	CHECK_EQ(nm_token_add(t, NULL, &tok), -EINVAL);
	CHECK_EQ(nm_token_add(t, &b, NULL), -EINVAL);
	CHECK_EQ(nm_token_add(t, &nulliov, &tok), -EINVAL);
	CHECK_EQ(nm_token_lookup(NULL, 1, &b), -EINVAL);
	CHECK_EQ(nm_token_lookup(t, 1, NULL), -EINVAL);
	CHECK_EQ(nm_token_lookup(t, 0xffffffffu, &garbage), -EINVAL);
	CHECK_EQ(nm_token_release(NULL, &tok, 1), -EINVAL);
	CHECK_EQ(nm_token_release(t, NULL, 1), -EINVAL);
	tok = 0xffffffffu;
	CHECK_EQ(nm_token_release(t, &tok, 1), 0);
	CHECK_EQ(nm_token_rejected(t), 1);
	CHECK_EQ(nm_token_count(NULL), 0);
	CHECK_EQ(nm_token_rejected(NULL), 0);
	CHECK_EQ(nm_token_count(t), 0);
	nm_token_table_destroy(t);

	/* Providers and the allocator helpers. */
	CHECK_EQ(nm_provider_register(NULL), -EINVAL);
	errno = 0;
	CHECK(nm_provider_find(NULL) == NULL);
	CHECK(errno == EINVAL || errno == ENOENT);
	CHECK_EQ(nm_provider_list(NULL, 4), -EINVAL);
	CHECK_EQ(nm_provider_list(names, -1), -EINVAL);
	CHECK(nm_provider_list(NULL, 0) >= 1);
	CHECK(nm_provider_list(names, 4) >= 1);
	CHECK_EQ(nm_genpool_alloc_bulk(NULL, &tok, 1), -EINVAL);
	nm_genpool_release(NULL, &tok, 1);
	CHECK_EQ(nm_genpool_avail(NULL), 0);

	/* Messages for any value, including ones that cannot be negated. */
	CHECK(nm_strerror(0) != NULL);
	CHECK(nm_strerror(-EALREADY) != NULL);
	CHECK(nm_strerror(INT_MIN) != NULL);
	CHECK(nm_strerror(INT_MAX) != NULL);

	/* The pool counted what was charged to it and still works. */
	REQUIRE(nm_pool_get_stats(p, &st, sizeof(st)) == 0);
	CHECK_EQ(st.err_inval, 5);
	CHECK_EQ(st.err_not_buf, 2);
	CHECK_EQ(st.err_double_put + st.err_foreign + st.err_range, 0);
	CHECK_EQ(st.inflight, 1);
	CHECK_EQ(nm_pool_put(p, &b), 0);
	CHECK_EQ(nm_pool_alloc(p, &b), 0);
	CHECK_EQ(nm_pool_put(p, &b), 0);
	CHECK_EQ(nm_pool_inflight(p), 0);

	CHECK_EQ(nm_pool_destroy(p), 0);
	CHECK_EQ(nm_area_destroy(a), 0);
	return t_done();
}

/* SPDX-License-Identifier: MIT */
/*
 * nm_token_release_all: every buffer behind a live token goes back to its
 * pool (in-flight drops to what is held without a token), the tokens turn
 * stale (rejected and counted afterwards), already released tokens are
 * not put twice, and the table is usable again at full capacity.
 */
#include "harness.h"

#define CAP 16

int main(void)
{
	struct nm_area *a = t_host_area(64, 0);
	struct nm_pool *p = nm_pool_create(a, NULL);
	struct nm_token_table *t = nm_token_table_create(CAP);
	struct nm_pool_stats st;
	struct nm_buf b[CAP], kept;
	uint32_t tok[CAP];

	REQUIRE(p && t);
	CHECK_EQ(nm_token_release_all(NULL), -EINVAL);
	CHECK_EQ(nm_token_release_all(t), 0);		/* empty table */
	for (int i = 0; i < CAP; i++) {
		REQUIRE(nm_pool_alloc(p, &b[i]) == 0);
		REQUIRE(nm_token_add(t, &b[i], &tok[i]) == 0);
	}
	REQUIRE(nm_pool_alloc(p, &kept) == 0);		/* held, no token */
	CHECK_EQ(nm_token_release(t, tok, 3), 3);	/* some released already */
	CHECK_EQ(nm_pool_inflight(p), CAP - 3 + 1);

	CHECK_EQ(nm_token_release_all(t), CAP - 3);
	CHECK_EQ(nm_token_count(t), 0);
	CHECK_EQ(nm_pool_inflight(p), 1);
	REQUIRE(nm_pool_get_stats(p, &st, sizeof(st)) == 0);
	CHECK_EQ(st.err_double_put, 0);			/* nothing put twice */

	/* The tokens are stale now, all of them. */
	CHECK_EQ(nm_token_release(t, tok, CAP), 0);
	CHECK_EQ(nm_token_rejected(t), CAP);
	CHECK_EQ(nm_token_release_all(t), 0);

	/* Full capacity again, with fresh tokens. */
	for (int i = 0; i < CAP; i++) {
		uint32_t k;

		REQUIRE(nm_pool_alloc(p, &b[i]) == 0);
		CHECK_EQ(nm_token_add(t, &b[i], &k), 0);
		for (int j = 0; j < CAP; j++)
			CHECK(k != tok[j]);
	}
	CHECK_EQ(nm_token_release_all(t), CAP);
	CHECK_EQ(nm_pool_put(p, &kept), 0);
	CHECK_EQ(nm_pool_inflight(p), 0);
	nm_token_table_destroy(t);
	CHECK_EQ(nm_pool_destroy(p), 0);
	CHECK_EQ(nm_area_destroy(a), 0);
	return t_done();
}

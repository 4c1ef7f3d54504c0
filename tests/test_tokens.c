/* SPDX-License-Identifier: MIT */
/*
 * Tokens (devmem TCP style): a token stands for a held buffer; lookup
 * gives it back; releasing tokens in a batch puts their buffers back to
 * their pools (in-flight drops).  Unknown, stale (released, slot reused)
 * and repeated tokens are rejected and counted and touch no buffer; a full
 * table says -ENOSPC; slots are reused with a new generation.
 */
#include "harness.h"

#define CAP 8

int main(void)
{
	struct nm_area *a = t_host_area(64, 0);
	struct nm_pool *p = nm_pool_create(a, NULL);
	struct nm_token_table *t = nm_token_table_create(CAP);
	struct nm_buf b[CAP + 1], got;
	uint32_t tok[CAP + 1], stale, bad[3];

	REQUIRE(p && t);
	for (int i = 0; i < CAP; i++) {
		REQUIRE(nm_pool_alloc(p, &b[i]) == 0);
		CHECK_EQ(nm_token_add(t, &b[i], &tok[i]), 0);
		for (int j = 0; j < i; j++)
			CHECK(tok[j] != tok[i]);
	}
	REQUIRE(nm_pool_alloc(p, &b[CAP]) == 0);
	CHECK_EQ(nm_token_add(t, &b[CAP], &tok[CAP]), -ENOSPC);
	CHECK_EQ(nm_token_count(t), CAP);
	for (int i = 0; i < CAP; i++) {
		CHECK_EQ(nm_token_lookup(t, tok[i], &got), 0);
		CHECK(got.iov == b[i].iov && got.off == b[i].off && got.len == b[i].len);
	}
	CHECK_EQ(nm_pool_inflight(p), CAP + 1);

	/* Release half in one batch. */
	CHECK_EQ(nm_token_release(t, tok, CAP / 2), CAP / 2);
	CHECK_EQ(nm_token_count(t), CAP / 2);
	CHECK_EQ(nm_pool_inflight(p), CAP / 2 + 1);
	CHECK_EQ(nm_token_rejected(t), 0);

	/* Repeated and stale tokens: rejected, counted, nothing put. */
	stale = tok[0];
	CHECK_EQ(nm_token_release(t, &stale, 1), 0);
	CHECK_EQ(nm_token_lookup(t, stale, &got), -EINVAL);
	CHECK_EQ(nm_token_rejected(t), 1);
	/* The slot is reused with another generation: the old token is
	 * still stale, the new one is not. */
	CHECK_EQ(nm_token_add(t, &b[CAP], &tok[CAP]), 0);
	for (int i = 0; i < CAP / 2; i++)
		CHECK(tok[CAP] != tok[i]);
	CHECK_EQ(nm_token_release(t, &stale, 1), 0);
	bad[0] = 0xffffffffu;
	bad[1] = tok[CAP] ^ (1u << 31);
	bad[2] = tok[CAP];
	CHECK_EQ(nm_token_release(t, bad, 3), 1);	/* only the last is valid */
	CHECK_EQ(nm_token_rejected(t), 4);
	CHECK_EQ(nm_pool_inflight(p), CAP / 2);
	CHECK_EQ(nm_token_release(t, bad + 2, 1), 0);	/* repeated */
	CHECK_EQ(nm_token_rejected(t), 5);

	/* The rest, and the pool is whole again. */
	CHECK_EQ(nm_token_release(t, tok + CAP / 2, CAP / 2), CAP / 2);
	CHECK_EQ(nm_token_count(t), 0);
	CHECK_EQ(nm_pool_inflight(p), 0);
	{
		struct nm_pool_stats st;
		REQUIRE(nm_pool_get_stats(p, &st, sizeof(st)) == 0);
		CHECK_EQ(st.err_double_put + st.err_foreign + st.err_not_buf, 0);
	}
	/* Many add/release cycles through a small table stay consistent. */
	for (int i = 0; i < 10000; i++) {
		uint32_t k;
		REQUIRE(nm_pool_alloc(p, &b[0]) == 0);
		REQUIRE(nm_token_add(t, &b[0], &k) == 0);
		REQUIRE(nm_token_release(t, &k, 1) == 1);
		CHECK_EQ(nm_token_release(t, &k, 1), 0);
	}
	CHECK_EQ(nm_pool_inflight(p), 0);
	CHECK_EQ(nm_token_rejected(t), 5 + 10000);

	nm_token_table_destroy(t);
	CHECK_EQ(nm_pool_destroy(p), 0);
	CHECK_EQ(nm_area_destroy(a), 0);
	return t_done();
}

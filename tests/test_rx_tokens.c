/* SPDX-License-Identifier: MIT */
/*
 * Tokens (NM_RX_F_TOKENS): every delivered buffer comes with a token; the
 * application returns them in batches with nm_rx_release_tokens(), as
 * SO_DEVMEM_DONTNEED does.  Unknown, stale and repeated tokens are
 * rejected (-EINVAL when none of a batch is valid), counted, and harmless.
 * Tokens still held at destroy are released by it.  Both engines.
 */
#include "test_rx_util.h"

static uint32_t toks[1 << 16];
static unsigned int ntoks;

static int on_data(struct nm_rx *rx, struct nm_rx_conn *c, const struct nm_rx_msg *m,
		   void *user)
{
	struct t_rx *t = user;

	REQUIRE(m->tokens);
	for (unsigned int i = 0; i < m->nr; i++) {
		t_check_bytes(t, nm_rx_conn_user(c), nm_buf_data(&m->bufs[i]), m->bufs[i].len);
		REQUIRE(m->tokens[i] != NM_RX_NO_TOKEN);
		toks[ntoks++] = m->tokens[i];
	}
	return 0;
}

static void run(const char *engine)
{
	struct nm_pool *pool = t_pool(64, 4);
	struct t_rx t = { .lock = PTHREAD_MUTEX_INITIALIZER };
	NM_OPTS(nm_rx_opts, o, .engine = engine, .pool = pool, .on_data = on_data,
		.on_conn = t_on_conn, .on_close = t_on_close, .user = &t,
		.flags = NM_RX_F_TOKENS, .tok_capacity = 4096);
	struct t_sender s = { .nconn = 2, .seed0 = 7000, .maxmsg = 8192,
			      .per_conn = 1 << 20 };
	struct nm_rx_stats st;
	struct nm_rx *rx = nm_rx_create(&o);
	uint32_t bad[4], first = 0;
	unsigned int done = 0;

	REQUIRE(rx);
	ntoks = 0;
	s.port = nm_rx_listen(rx, "127.0.0.1", 0);
	REQUIRE(s.port > 0);
	t_sender_start(&s);
	/* Return tokens in batches of up to 32 as we go. */
	uint64_t end = t_now_ms() + t_recv_ms();
	while (atomic_load(&t.closed) < s.nconn && t_now_ms() < end) {
		REQUIRE(nm_rx_poll(rx, 10) >= 0);
		if (ntoks - done > 8) {
			unsigned int k = ntoks - done - 4;	/* keep a few */
			if (!done)
				first = toks[0];
			CHECK_EQ(nm_rx_release_tokens(rx, toks + done, k), (int)k);
			done += k;
		}
	}
	t_sender_join(&s);
	CHECK_EQ(atomic_load(&t.bad), 0);
	CHECK_EQ(atomic_load(&t.bytes), s.per_conn * 2);
	REQUIRE(done > 0);
	/* Bad tokens: stale (released above), repeated, unknown. */
	bad[0] = first;
	bad[1] = toks[done - 1];
	bad[2] = 0xfffffff0u;
	bad[3] = 0;
	CHECK_EQ(nm_rx_release_tokens(rx, bad, 4), -EINVAL);
	/* A batch with one good among bad ones: the good one goes back. */
	uint32_t mix[3] = { bad[2], toks[done], bad[0] };
	CHECK_EQ(nm_rx_release_tokens(rx, mix, 3), 1);
	CHECK_EQ(nm_rx_release_tokens(rx, mix + 1, 1), -EINVAL);	/* repeated */
	done++;
	REQUIRE(!nm_rx_stats(rx, &st, sizeof(st)));
	CHECK_EQ(st.tok_rejected, 4 + 2 + 1);
	CHECK_EQ(st.tok_full, 0);
	/* Keep some tokens: destroy gives their buffers back. */
	CHECK(ntoks > done);
	CHECK(nm_pool_inflight(pool) > 0);
	CHECK_EQ(nm_rx_destroy(rx), 0);
	CHECK_EQ(nm_pool_inflight(pool), 0);
	CHECK_EQ(t_pool_done(pool), 0);
}

int main(void)
{
	run("socket");
	run("uring");
	return t_done();
}

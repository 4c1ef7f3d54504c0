/* SPDX-License-Identifier: MIT */
/*
 * uring with incremental buffer consumption (IOU_PBUF_RING_INC) required
 * and bundles off: small messages land one after another in 64 KiB chunks
 * the kernel keeps (IORING_CQE_F_BUF_MORE); every fragment holds its own
 * reference, the chunk recycles when the last one is put.  Skips when the
 * kernel refuses INC.
 *
 * What is checked is what INC guarantees, not how the timing fell: a
 * stream of random-sized messages on 8 connections arrives whole (as
 * many completions as buffers per message, no bundle), and on a fresh
 * receiver two small messages sent one after the other land in the same
 * chunk, the second right after the first, each completion saying the
 * kernel keeps the buffer.  (How many messages share a chunk in the stream
 * depends on how fast the receiver runs: slow under a sanitizer, each
 * completion can fill a whole buffer.)
 */
#include "test_rx_util.h"

/* The small-messages part: where each delivered piece landed. */
struct small {
	int chunk;            /* chunk index of the first piece, or -1 */
	uint32_t next_off;    /* where the next piece must start */
	uint64_t bytes;
	int scattered;        /* a piece elsewhere than right after the last */
};

static int small_data(struct nm_rx *rx, struct nm_rx_conn *c, const struct nm_rx_msg *m,
		      void *user)
{
	struct small *s = user;

	for (unsigned int i = 0; i < m->nr; i++) {
		const struct nm_buf *b = &m->bufs[i];

		if (s->chunk < 0) {
			s->chunk = nm_buf_chunk_index(b);
			s->next_off = b->off;
		}
		if (nm_buf_chunk_index(b) != s->chunk || b->off != s->next_off)
			s->scattered++;
		s->next_off = b->off + b->len;
		s->bytes += b->len;
		CHECK_EQ(nm_buf_put(b), 0);
	}
	return 0;
}

static void small_messages(void)
{
	struct nm_pool *pool = t_pool(64, 4);
	struct small s = { .chunk = -1 };
	NM_OPTS(nm_rx_opts, o, .engine = "uring", .pool = pool, .on_data = small_data,
		.user = &s, .flags = NM_RX_F_REQUIRE_INC | NM_RX_F_NO_BUNDLE,
		.ring_entries = 16);
	struct nm_rx *rx = nm_rx_create(&o);
	struct nm_rx_stats st;
	char msg[100];
	int sv[2];

	REQUIRE(rx);
	t_tcp_pair(sv);
	REQUIRE(!nm_rx_add_fd(rx, sv[0], 0));
	memset(msg, 'a', sizeof(msg));
	for (int k = 1; k <= 2; k++) {
		REQUIRE(!t_send_all(sv[1], msg, sizeof(msg)));
		CHECK_EQ(T_RUN_UNTIL(rx, s.bytes == (uint64_t)k * sizeof(msg), t_recv_ms()), 0);
	}
	REQUIRE(!nm_rx_stats(rx, &st, sizeof(st)));
	printf("inc: 2 small messages in chunk %d, up to offset %u, %llu partial\n",
	       s.chunk, s.next_off, (unsigned long long)st.inc_partial);
	CHECK_EQ(s.scattered, 0);	/* one chunk, one piece after the other */
	CHECK(st.inc_partial >= 2);	/* the kernel kept the buffer each time */
	CHECK_EQ(st.bundles, 0);
	close(sv[1]);
	CHECK_EQ(nm_rx_destroy(rx), 0);
	CHECK_EQ(t_pool_done(pool), 0);
}

int main(void)
{
	struct nm_pool *pool = t_pool(64, 4);
	struct t_rx t = { .lock = PTHREAD_MUTEX_INITIALIZER };
	NM_OPTS(nm_rx_opts, o, .engine = "uring", .pool = pool, .on_data = t_on_data,
		.on_conn = t_on_conn, .on_close = t_on_close, .user = &t,
		.flags = NM_RX_F_REQUIRE_INC | NM_RX_F_NO_BUNDLE, .ring_entries = 16);
	struct t_sender s = { .nconn = 8, .seed0 = 1000, .maxmsg = 3000,
			      .per_conn = t_sanitized() ? 200000 : 1000000 };
	struct nm_rx_stats st;
	struct nm_rx_info info;
	struct nm_rx *rx = nm_rx_create(&o);

	if (!rx && errno == EOPNOTSUPP)
		SKIP("the kernel refuses IOU_PBUF_RING_INC");
	REQUIRE(rx);
	REQUIRE(!nm_rx_info(rx, &info, sizeof(info)));
	CHECK(info.features & NM_RX_FEAT_INC);
	CHECK(!(info.features & NM_RX_FEAT_BUNDLE));
	t_send_and_receive(rx, &s, &t);
	REQUIRE(!nm_rx_stats(rx, &st, sizeof(st)));
	printf("inc: %llu msgs, %llu partial (BUF_MORE), refill %llu\n",
	       (unsigned long long)st.msgs, (unsigned long long)st.inc_partial,
	       (unsigned long long)st.refill);
	/* No bundles: one buffer per completion, each a message. */
	CHECK_EQ(st.bundles, 0);
	CHECK_EQ(st.bufs, st.msgs);
	CHECK_EQ(nm_rx_destroy(rx), 0);
	CHECK_EQ(t_pool_done(pool), 0);
	small_messages();
	return t_done();
}

/* SPDX-License-Identifier: MIT */
/*
 * uring with incremental buffer consumption (IOU_PBUF_RING_INC) required
 * and bundles off: small messages land one after another in 64 KiB chunks
 * the kernel keeps (IORING_CQE_F_BUF_MORE); every fragment holds its own
 * reference, the chunk recycles when the last one is put.  Skips when the
 * kernel refuses INC.
 */
#include "test_rx_util.h"

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
	CHECK(st.inc_partial > 0);
	/* Many messages per chunk: far fewer chunks than messages. */
	CHECK(st.refill < st.msgs);
	CHECK_EQ(nm_rx_destroy(rx), 0);
	CHECK_EQ(t_pool_done(pool), 0);
	return t_done();
}

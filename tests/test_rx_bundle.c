/* SPDX-License-Identifier: MIT */
/*
 * uring with recv bundles required and INC off: one completion covers
 * several consecutive ring buffers (small 4 KiB fragments of 64 KiB
 * chunks, large messages).  Skips when the kernel lacks
 * IORING_FEAT_RECVSEND_BUNDLE.
 */
#include "test_rx_util.h"

int main(void)
{
	struct nm_pool *pool = t_pool(64, 4);
	struct t_rx t = { .lock = PTHREAD_MUTEX_INITIALIZER };
	NM_OPTS(nm_rx_opts, o, .engine = "uring", .pool = pool, .on_data = t_on_data,
		.on_conn = t_on_conn, .on_close = t_on_close, .user = &t,
		.flags = NM_RX_F_REQUIRE_BUNDLE | NM_RX_F_NO_INC,
		.buf_size = 4096, .ring_entries = 256);
	struct t_sender s = { .nconn = 4, .seed0 = 2000, .maxmsg = 1 << 20,
			      .per_conn = t_sanitized() ? (1 << 20) : (8 << 20) };
	struct nm_rx_stats st;
	struct nm_rx_info info;
	struct nm_rx *rx = nm_rx_create(&o);

	if (!rx && errno == EOPNOTSUPP)
		SKIP("the kernel has no recv bundles");
	REQUIRE(rx);
	REQUIRE(!nm_rx_info(rx, &info, sizeof(info)));
	CHECK(info.features & NM_RX_FEAT_BUNDLE);
	CHECK(!(info.features & NM_RX_FEAT_INC));
	CHECK_EQ(info.buf_size, 4096);
	t_send_and_receive(rx, &s, &t);
	REQUIRE(!nm_rx_stats(rx, &st, sizeof(st)));
	printf("bundle: %llu msgs, %llu bufs, %llu bundles, enobufs %llu\n",
	       (unsigned long long)st.msgs, (unsigned long long)st.bufs,
	       (unsigned long long)st.bundles, (unsigned long long)st.enobufs);
	CHECK(st.bundles > 0);
	CHECK(st.bufs > st.msgs);
	CHECK_EQ(nm_rx_destroy(rx), 0);
	CHECK_EQ(t_pool_done(pool), 0);
	return t_done();
}

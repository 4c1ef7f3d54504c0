/* SPDX-License-Identifier: MIT */
/*
 * uring with recv bundles required and INC off: one completion covers
 * several consecutive ring buffers (small 4 KiB fragments of 64 KiB
 * chunks, large messages).  Skips when the kernel lacks
 * IORING_FEAT_RECVSEND_BUNDLE.
 *
 * A stream on 4 connections arrives whole.  That a completion spans
 * several buffers is checked where the kernel guarantees it, not where the
 * timing may fall either way: 32 KiB already queued on a connection when
 * its first bundle recv is issued fills 8 buffers in one completion.
 */
#include "test_rx_util.h"
#include <sys/ioctl.h>
#include <linux/sockios.h>

static void queued_bundle(void)
{
	struct nm_pool *pool = t_pool(64, 4);
	struct t_rx t = { .lock = PTHREAD_MUTEX_INITIALIZER };
	NM_OPTS(nm_rx_opts, o, .engine = "uring", .pool = pool, .on_data = t_on_data,
		.on_conn = t_on_conn, .on_close = t_on_close, .user = &t,
		.flags = NM_RX_F_REQUIRE_BUNDLE | NM_RX_F_NO_INC,
		.buf_size = 4096, .ring_entries = 256);
	struct nm_rx *rx = nm_rx_create(&o);
	static uint8_t msg[4 + (32 << 10) - 4];
	struct nm_rx_stats st;
	int sv[2], inq = 0;

	REQUIRE(rx);
	t_tcp_pair(sv);
	msg[0] = 7;	/* the seed, then the pattern */
	for (size_t i = 4; i < sizeof(msg); i++)
		msg[i] = pat(7, i - 4);
	REQUIRE(!t_send_all(sv[1], msg, sizeof(msg)));
	/* Wait (bounded by tries, not asserted on time) until all of it is in
	 * the receiving socket. */
	for (int i = 0; i < 10000 && inq < (int)sizeof(msg); i++) {
		REQUIRE(!ioctl(sv[0], SIOCINQ, &inq));
		if (inq < (int)sizeof(msg))
			usleep(1000);
	}
	REQUIRE(inq == (int)sizeof(msg));
	REQUIRE(!nm_rx_add_fd(rx, sv[0], 0));
	CHECK_EQ(T_RUN_UNTIL(rx, atomic_load(&t.bytes) == sizeof(msg) - 4 ||
				 atomic_load(&t.bad), t_recv_ms()), 0);
	CHECK_EQ(atomic_load(&t.bad), 0);
	REQUIRE(!nm_rx_stats(rx, &st, sizeof(st)));
	printf("queued 32 KiB: %llu msgs, %llu bufs, %llu bundles\n",
	       (unsigned long long)st.msgs, (unsigned long long)st.bufs,
	       (unsigned long long)st.bundles);
	CHECK(st.bundles > 0);
	CHECK(st.bufs > st.msgs);
	close(sv[1]);
	CHECK_EQ(T_RUN_UNTIL(rx, atomic_load(&t.closed) == 1, t_recv_ms()), 0);
	CHECK_EQ(nm_rx_destroy(rx), 0);
	CHECK_EQ(t_pool_done(pool), 0);
}

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
	CHECK_EQ(nm_rx_destroy(rx), 0);
	CHECK_EQ(t_pool_done(pool), 0);
	queued_bundle();
	return t_done();
}

/* SPDX-License-Identifier: MIT */
/*
 * test_udp_gro: UDP GRO batches on loopback (a UDP_SEGMENT sender: the
 * kernel hands the socket the whole GSO batch when it accepts GRO), through
 * io_uring and through recvmmsg.  With 128 KiB buffers GRO is on
 * (NM_RX_FEAT_UDP_GRO) and batches come as one message whose seg_size
 * splits them into the datagrams sent, the last one shorter: every
 * datagram is there once with its checksum, pkts counts datagrams, not
 * messages.  With 2 KiB buffers GRO is off, and the same sends come as
 * single datagrams (seg_size 0).
 */
#include "test_udp_util.h"

static struct u_rx u;

/* Batches of @segs datagrams of @seg bytes, the last @seg / 2 + 16. */
static const struct { uint32_t seg, segs; } sends[] = {
	{ 1000, 10 }, { 1472, 44 }, { 200, 64 }, { 64, 2 }, { 1400, 30 },
	{ 512, 50 }, { 100, 3 }, { 1472, 1 }, { 800, 64 }, { 333, 17 },
};

static void run(int mmsg, int big)
{
	struct nm_pool *pool = big ? t_pool(16, 5) : t_pool(256, 0);
	NM_OPTS(nm_rx_opts, o, .engine = "udp", .pool = pool,
		.buf_size = big ? 0 : 2048, .on_data = u_on_data, .user = &u);
	static uint8_t buf[65536];
	struct nm_rx_stats st;
	struct nm_rx_info info;
	struct nm_rx *rx;
	uint32_t seq = 0, want_batches = 0;
	int port, fd;

	memset(&u, 0, sizeof(u));
	u_mode(mmsg);
	rx = nm_rx_create(&o);
	if (!rx && errno == EOPNOTSUPP)
		SKIP("udp engine refused here");
	REQUIRE(rx);
	REQUIRE(!nm_rx_info(rx, &info, sizeof(info)));
	CHECK_EQ(!!(info.features & NM_RX_FEAT_UDP_GRO), big);
	port = nm_rx_listen(rx, "127.0.0.1", 0);
	REQUIRE(port > 0);
	/* The socket becomes a connection, UDP_GRO set, on the first pass:
	 * what comes before it is not batched. */
	CHECK(nm_rx_poll(rx, 0) >= 0);
	fd = u_client(port, &u.src);
	u.check_src = 1;
	u.check_ts = -1;	/* not asked for: none */
	u.t0_ns = u_real_ns();
	for (size_t i = 0; i < sizeof(sends) / sizeof(sends[0]); i++) {
		int gs = (int)sends[i].seg;
		uint32_t off = 0;

		if (setsockopt(fd, SOL_UDP, UDP_SEGMENT, &gs, sizeof(gs)))
			SKIP("no UDP_SEGMENT (GSO) here: %s", strerror(errno));
		for (uint32_t k = 0; k < sends[i].segs; k++) {
			uint32_t len = k + 1 < sends[i].segs ? sends[i].seg : sends[i].seg / 2 + 16;

			u_fill(buf + off, seq++, len);
			off += len;
		}
		REQUIRE(send(fd, buf, off, 0) == (ssize_t)off);
		want_batches += sends[i].segs > 1;
		CHECK_EQ(T_RUN_UNTIL(rx, u.dgrams + u.bad >= seq, t_small_ms()), 0);
	}
	CHECK_EQ(u.bad, 0);
	CHECK_EQ(u.dup, 0);
	CHECK_EQ(u.dgrams, seq);
	for (uint32_t s = 0; s < seq; s++)
		if (u.seen[s] != 1) {
			fprintf(stderr, "seq %u seen %u times\n", s, u.seen[s]);
			CHECK(0);
			break;
		}
	REQUIRE(!nm_rx_stats(rx, &st, sizeof(st)));
	CHECK_EQ(st.pkts, seq);
	CHECK_EQ(st.udp_truncated, 0);
	CHECK_EQ(st.udp_drops, 0);
	if (big) {
		/* loopback keeps each GSO send whole: one batch each */
		CHECK_EQ(u.batches, want_batches);
		CHECK_EQ(u.max_seg, 1472);
		CHECK_EQ(st.msgs, sizeof(sends) / sizeof(sends[0]));
	} else {
		CHECK_EQ(u.batches, 0);
		CHECK_EQ(st.msgs, seq);
	}
	printf("%s, %s buffers: %u datagrams in %llu messages (%llu batches)\n",
	       mmsg ? "recvmmsg" : "uring", big ? "128 KiB" : "2 KiB", seq,
	       (unsigned long long)st.msgs, (unsigned long long)u.batches);
	close(fd);
	CHECK_EQ(nm_rx_destroy(rx), 0);
	CHECK_EQ(t_pool_done(pool), 0);
}

int main(void)
{
	for (int mmsg = 0; mmsg < 2; mmsg++)
		for (int big = 0; big < 2; big++)
			run(mmsg, big);
	return nm_test_failures ? 1 : 0;
}

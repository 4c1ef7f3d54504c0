/* SPDX-License-Identifier: MIT */
/*
 * test_udp_loopback: the udp engine on loopback, through io_uring and
 * through recvmmsg (NM_UDP_RECVMMSG=1), the same checks for both: every
 * datagram of every size from 16 B to the buffer's room arrives once with
 * its checksum right, its source address and a kernel timestamp, in a
 * message of its own (NM_RX_MSG_PKT), payload 64-byte aligned; one longer
 * than the room is not delivered and counted in udp_truncated; the socket
 * is a connection (on_conn once, on_close -ECANCELED at destroy); stats
 * count packets, bytes, no drops.  Each way again with the buffers lent
 * (NM_RX_F_LEND), where the callback puts nothing; pkt->data is always
 * nm_buf_data()'s address.  Last, a careless callback that puts what it
 * was lent: every such put is counted as a double put when the engine
 * takes the buffer back, none is recycled twice, nothing is lost.
 */
#include "test_udp_util.h"

#define BUF 2048u	/* two buffers a 4 KiB chunk */
#define BURST 32

static struct u_rx u;

static void run(int mmsg, int lend)
{
	struct nm_pool *pool = t_pool(256, 0);
	/* lent and put by a careless callback: whole-chunk buffers, each its
	 * chunk's only holder, so that every such put is a detectable double
	 * put (with two buffers to a chunk, the first put of the pair takes
	 * the other's reference, which nothing can tell apart) */
	const uint32_t buf = lend == 2 ? 4096 : BUF, room = buf - 128;
	NM_OPTS(nm_rx_opts, o, .engine = "udp", .pool = pool, .buf_size = buf,
		.flags = NM_RX_F_TIMESTAMP | (lend ? NM_RX_F_LEND : 0), .on_data = u_on_data,
		.on_conn = u_on_conn, .on_close = u_on_close, .user = &u);
	unsigned int n = t_sanitized() ? 2000 : 6000;
	uint8_t dg[4096 + 64];
	struct nm_rx_stats st;
	struct nm_rx_info info;
	struct nm_rx *rx;
	uint64_t bytes = 0, sent = 0;
	int port, fd, r;

	memset(&u, 0, sizeof(u));
	u.lend = lend;
	u_mode(mmsg);
	rx = nm_rx_create(&o);
	if (!rx && errno == EOPNOTSUPP)
		SKIP("udp engine refused here");
	REQUIRE(rx);
	REQUIRE(!nm_rx_info(rx, &info, sizeof(info)));
	CHECK(!strcmp(info.engine, "udp"));
	CHECK_EQ(info.buf_size, buf);
	/* Which way it receives: io_uring where the kernel allows it. */
	if (mmsg)
		CHECK_EQ(info.features & NM_RX_FEAT_MULTISHOT, 0);
	else if (!(info.features & NM_RX_FEAT_MULTISHOT))
		printf("io_uring refused here: recvmmsg both times\n");
	CHECK_EQ(info.features & NM_RX_FEAT_UDP_GRO, 0);	/* 2 KiB buffers */
	port = nm_rx_listen(rx, "127.0.0.1", 0);
	REQUIRE(port > 0);
	fd = u_client(port, &u.src);
	u.check_src = u.check_ts = 1;
	u.t0_ns = u_real_ns();

	for (unsigned int s = 0; s < n; s += BURST) {
		for (unsigned int k = s; k < s + BURST && k < n; k++) {
			/* every size from 16 to the room, then round again */
			uint32_t len = U_HDR + k % (room - U_HDR + 1);

			u_fill(dg, k, len);
			REQUIRE(send(fd, dg, len, 0) == (ssize_t)len);
			bytes += len;
			sent++;
		}
		r = T_RUN_UNTIL(rx, u.dgrams + u.bad >= sent, t_small_ms());
		/* fatal: the rest waits on datagrams that did not come (lent
		 * buffers never taken back, say) */
		REQUIRE(r == 0);
	}
	CHECK_EQ(u.bad, 0);
	CHECK_EQ(u.dup, 0);
	CHECK_EQ(u.dgrams, n);
	for (unsigned int s = 0; s < n; s++)
		if (u.seen[s] != 1) {
			fprintf(stderr, "seq %u seen %u times\n", s, u.seen[s]);
			CHECK(0);
			break;
		}
	CHECK_EQ(u.opened, 1);
	CHECK_EQ(u.closed, 0);

	/* One byte over the room: not delivered, counted; the next is. */
	u_fill(dg, n, room + 1);
	REQUIRE(send(fd, dg, room + 1, 0) == (ssize_t)(room + 1));
	u_fill(dg, n + 1, room);
	REQUIRE(send(fd, dg, room, 0) == (ssize_t)room);
	bytes += room;
	CHECK_EQ(T_RUN_UNTIL(rx, u.dgrams + u.bad >= (uint64_t)n + 1, t_small_ms()), 0);
	CHECK_EQ(u.seen[n], 0);
	CHECK_EQ(u.seen[n + 1], 1);

	REQUIRE(!nm_rx_stats(rx, &st, sizeof(st)));
	CHECK_EQ(st.udp_truncated, 1);
	CHECK_EQ(st.pkts, (uint64_t)n + 1);
	CHECK_EQ(st.msgs, (uint64_t)n + 1);
	CHECK_EQ(st.bytes, bytes);
	CHECK_EQ(st.udp_drops, 0);
	CHECK_EQ(st.conns_opened, 1);
	CHECK_EQ(st.conns_active, 1);
	printf("%s%s: %llu datagrams, %llu recv calls, refill %llu in %llu batches, "
	       "enobufs %llu, rearm %llu\n", mmsg ? "recvmmsg" : "uring", lend == 2 ? ", lent and put" : lend ? ", lent" : "",
	       (unsigned long long)st.pkts, (unsigned long long)st.recv_calls,
	       (unsigned long long)st.refill, (unsigned long long)st.refill_batches,
	       (unsigned long long)st.enobufs, (unsigned long long)st.rearm);

	close(fd);
	CHECK_EQ(nm_rx_destroy(rx), 0);
	CHECK_EQ(u.closed, 1);
	CHECK_EQ(u.close_err, -ECANCELED);
	if (lend == 2) {
		/* each lent buffer put by the callback as well: the take-back
		 * found every one gone, counted each as a double put, and
		 * recycled none twice (every datagram arrived once) */
		struct nm_pool_stats ps;

		REQUIRE(!nm_pool_get_stats(pool, &ps, sizeof(ps)));
		CHECK_EQ(ps.err_double_put, (uint64_t)n + 1);
	}
	CHECK_EQ(t_pool_done(pool), 0);	/* every buffer back */
}

/* Timestamps are the udp engine's alone: a stream engine refuses the flag. */
static void stream_engines_refuse_timestamps(void)
{
	static const char *const names[] = { "uring", "socket" };
	struct nm_pool *pool = t_pool(16, 0);

	for (unsigned int i = 0; i < 2; i++) {
		NM_OPTS(nm_rx_opts, o, .engine = names[i], .pool = pool,
			.flags = NM_RX_F_TIMESTAMP, .on_data = u_on_data, .user = &u);

		errno = 0;
		CHECK(nm_rx_create(&o) == NULL);
		CHECK_EQ(errno, EINVAL);
	}
	CHECK_EQ(t_pool_done(pool), 0);
}

int main(void)
{
	stream_engines_refuse_timestamps();
	run(0, 0);
	run(1, 0);
	/* lent (NM_RX_F_LEND): the callback puts nothing, and 6000 datagrams
	 * through 512 buffers (two to a chunk) go round only if the engine
	 * takes each back */
	run(0, 1);
	run(1, 1);
	/* a careless program that puts what it was lent */
	run(0, 2);
	return nm_test_failures ? 1 : 0;
}

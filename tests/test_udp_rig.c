/* SPDX-License-Identifier: MIT */
/*
 * test_udp_rig: the udp engine on the veth rig (tests/netns_rig.h), through
 * io_uring and through recvmmsg, the receiver in the RX namespace.
 *   - flow: the sender's datagrams arrive once each with their checksum,
 *     and every one that does not is counted by the kernel: the engine's
 *     udp_drops (equal to the namespace's UDP InErrors) or the veths'.
 *   - hold: the application keeps every buffer.  Delivery stops once the
 *     pool is out (no more messages than buffers), the socket overflows
 *     and its drops are counted in udp_drops (again equal to the UDP MIB);
 *     when the application lets go, delivery resumes with what waited in
 *     the socket, and every datagram sent is delivered or counted.
 *   - a bad address: nm_rx_listen on one the namespace lacks says
 *     -EADDRNOTAVAIL.
 */
#include "test_udp_util.h"
#include "netns_rig.h"

#define SIZE 200

static struct rig r;
static struct rig_track tr;
static uint64_t delivered;
static int hold;
static struct nm_buf *held;
static unsigned int nheld, held_cap;

static int on_data(struct nm_rx *rx, struct nm_rx_conn *c, const struct nm_rx_msg *m,
		   void *user)
{
	const uint8_t *p = nm_buf_data(&m->bufs[0]);

	CHECK(m->nr == 1 && m->pkt && (m->flags & NM_RX_MSG_PKT));
	/* no NM_RX_F_TIMESTAMP here: no time */
	CHECK(m->pkt->ts_ns == 0 && m->pkt->src_len == sizeof(struct sockaddr_in));
	delivered++;
	CHECK_EQ(rig_track(&tr, p, m->bufs[0].len), 0);
	if (hold) {
		if (nheld == held_cap) {
			held_cap = held_cap ? 2 * held_cap : 1024;
			held = realloc(held, held_cap * sizeof(*held));
			REQUIRE(held);
		}
		held[nheld++] = m->bufs[0];
	} else {
		CHECK_EQ(nm_buf_put(&m->bufs[0]), 0);
	}
	return 0;
}

/* Poll until @quiet_ms pass with nothing delivered (or the bound). */
static void drain(struct nm_rx *rx, int quiet_ms)
{
	uint64_t end = t_now_ms() + t_small_ms(), last = t_now_ms();

	while (t_now_ms() - last < (uint64_t)quiet_ms && t_now_ms() < end) {
		int n = nm_rx_poll(rx, 5);

		REQUIRE(n >= 0);
		if (n > 0)
			last = t_now_ms();
	}
}

/* Every datagram sent is delivered or counted by the kernel. */
static void account(const char *what, struct nm_rx *rx, const struct rig_tx *tx,
		    const struct rig_drops *d0, const struct rig_udp_snmp *u0)
{
	struct rig_drops d1;
	struct rig_udp_snmp u1;
	struct nm_rx_stats st;
	uint64_t good, link, softnet;

	REQUIRE(!nm_rx_stats(rx, &st, sizeof(st)));
	REQUIRE(!rig_drops(&r, &d1));
	REQUIRE(!rig_udp_snmp(&r, RIG_RX, &u1));
	good = atomic_load(&tr.good);
	link = (d1.tx_dropped - d0->tx_dropped) + (d1.rx_dropped - d0->rx_dropped);
	softnet = d1.softnet - d0->softnet;
	printf("%s: sent %llu, delivered %llu, udp_drops %llu (UDP InErrors %llu, "
	       "RcvbufErrors %llu), veth drops %llu, softnet drops %llu, enobufs %llu\n",
	       what, (unsigned long long)tx->sent, (unsigned long long)good,
	       (unsigned long long)st.udp_drops,
	       (unsigned long long)(u1.in_errors - u0->in_errors),
	       (unsigned long long)(u1.rcvbuf_errors - u0->rcvbuf_errors),
	       (unsigned long long)link, (unsigned long long)softnet,
	       (unsigned long long)st.enobufs);
	CHECK_EQ(atomic_load(&tr.bad), 0);
	CHECK_EQ(atomic_load(&tr.dup), 0);
	CHECK_EQ(good, delivered);
	CHECK_EQ(st.pkts, delivered);
	/* Only this socket receives in the namespace: its drops are the MIB's. */
	CHECK_EQ(st.udp_drops, u1.in_errors - u0->in_errors);
	CHECK(good + st.udp_drops + link <= tx->sent);
	if (tx->sent > good + st.udp_drops + link + softnet) {
		rig_track_print_missing(&tr, stderr, 10);
		CHECK(0);	/* lost without a counter */
	}
	CHECK_EQ(u1.no_ports - u0->no_ports, 0);
}

static void run(int mmsg, int do_hold)
{
	/* 128 buffers of 2 KiB.  The engine gives the socket 4 MiB (the
	 * kernel counts 8 MiB of skb truesize against it): holding, 20000
	 * datagrams of SIZE (each skb 640 bytes or more) overflow it however
	 * the build is made. */
	struct nm_pool *pool = t_pool(64, 0);
	NM_OPTS(nm_rx_opts, o, .engine = "udp", .pool = pool, .buf_size = 2048,
		.ring_entries = 64, .on_data = on_data);
	struct rig_tx tx = { .rig = &r, .size = SIZE,
			     .count = do_hold || !t_sanitized() ? 20000 : 5000,
			     .pps = do_hold ? 0 : 40000 };
	struct rig_drops d0;
	struct rig_udp_snmp u0;
	struct nm_rx_stats st;
	struct nm_rx *rx;
	uint64_t end;

	u_mode(mmsg);
	delivered = 0;
	hold = do_hold;
	REQUIRE(!rig_track_init(&tr, tx.count));
	rx = nm_rx_create(&o);
	if (!rx && errno == EOPNOTSUPP)
		SKIP("udp engine refused here");
	REQUIRE(rx);
	CHECK_EQ(nm_rx_listen(rx, "10.201.99.1", RIG_PORT), -EADDRNOTAVAIL);
	CHECK_EQ(nm_rx_listen(rx, r.ip[RIG_RX], RIG_PORT), RIG_PORT);
	CHECK(nm_rx_poll(rx, 0) >= 0);	/* the socket becomes a connection */
	REQUIRE(!rig_drops(&r, &d0));
	REQUIRE(!rig_udp_snmp(&r, RIG_RX, &u0));
	REQUIRE(!rig_tx_start(&tx));
	end = t_now_ms() + t_recv_ms();
	while (rig_tx_sent(&tx) < tx.count && !tx.err && t_now_ms() < end)
		REQUIRE(nm_rx_poll(rx, 5) >= 0);
	CHECK_EQ(rig_tx_wait(&tx), 0);
	drain(rx, 300);
	if (do_hold) {
		/* Stopped at the pool's buffers; the socket overflowed. */
		REQUIRE(!nm_rx_stats(rx, &st, sizeof(st)));
		CHECK(delivered <= 128);
		CHECK(delivered >= 64);	/* the ring's worth at least */
		CHECK(st.udp_drops > 0);
		CHECK(st.enobufs > 0);
		printf("%s holding: %llu delivered, %llu dropped and counted\n",
		       mmsg ? "recvmmsg" : "uring", (unsigned long long)delivered,
		       (unsigned long long)st.udp_drops);
		{
			uint64_t before = delivered;

			hold = 0;
			for (unsigned int i = 0; i < nheld; i++)
				CHECK_EQ(nm_buf_put(&held[i]), 0);
			nheld = 0;
			drain(rx, 300);
			CHECK(delivered > before);	/* what waited in the socket */
		}
	}
	account(do_hold ? (mmsg ? "recvmmsg, hold" : "uring, hold")
			: (mmsg ? "recvmmsg, flow" : "uring, flow"), rx, &tx, &d0, &u0);
	CHECK_EQ(nm_rx_destroy(rx), 0);
	CHECK_EQ(t_pool_done(pool), 0);
	rig_track_fini(&tr);
}

int main(void)
{
	struct rig_opts o = { .tag = "udp" };

	RIG_UP_OR_SKIP(&r, &o);
	REQUIRE(!rig_enter(&r, RIG_RX));
	for (int mmsg = 0; mmsg < 2; mmsg++) {
		run(mmsg, 0);
		run(mmsg, 1);
	}
	rig_leave();
	rig_down(&r);
	free(held);
	return nm_test_failures ? 1 : 0;
}

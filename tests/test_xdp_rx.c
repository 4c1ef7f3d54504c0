/* SPDX-License-Identifier: MIT */
/*
 * The xdp engine on the veth rig: 20000 UDP packets of 64 and of 1472
 * bytes, each delivered as one message whose buffer holds the whole frame
 * past the XDP headroom of its chunk; every payload's magic, seq and
 * checksum right, none twice; every packet sent is delivered or counted
 * as dropped by the kernel (XDP_STATISTICS in the stats, the veths'
 * counters): sent == delivered + dropped, nothing silent.  The socket is
 * one connection (on_conn with an fd, on_close -ECANCELED at destroy); the
 * redirect program is on the interface while the receiver lives and gone
 * after; every frame is back in the pool at the end.  Skips without root,
 * netns or AF_XDP.
 */
#include "test_xdp_util.h"

static void send_and_check(struct xt *t, size_t size, uint64_t count)
{
	struct rig_tx tx = { .rig = &t->rig, .size = size, .count = count, .pps = 200000 };
	uint64_t xsk, base = atomic_load(&t->pkts), foreign0 = atomic_load(&t->foreign), foreign;
	uint64_t got, drops;

	xt_track_init(t, count);
	xt_drops_mark(t);
	REQUIRE(!rig_tx_start(&tx));
	REQUIRE(!rig_tx_wait(&tx));
	CHECK_EQ(tx.err, 0);
	CHECK_EQ(tx.sent, count);
	got = xt_settle(t, tx.sent, 10000);
	drops = xt_drops(t);
	xsk = xt_xsk_drops(t);
	/* frames the rig did not send (an IPv6 packet from a veth that came
	 * up before its namespace turned IPv6 off) are delivered too */
	foreign = atomic_load(&t->foreign) - foreign0;
	CHECK(foreign <= 4);
	printf("%zu bytes: sent %llu, delivered %llu, dropped %llu (of which the socket "
	       "counted %llu)\n", size, (unsigned long long)tx.sent,
	       (unsigned long long)atomic_load(&t->track.good), (unsigned long long)drops,
	       (unsigned long long)xsk);
	CHECK(xsk <= xt_rx_drops(t));
	CHECK_EQ(got, tx.sent);
	CHECK_EQ(atomic_load(&t->pkts) - base - foreign, atomic_load(&t->track.good));
	CHECK_EQ(atomic_load(&t->track.bad), 0);
	CHECK_EQ(atomic_load(&t->track.dup), 0);
	CHECK_EQ(atomic_load(&t->track.good) + drops, tx.sent);
	CHECK(atomic_load(&t->track.good) > 0);
	if (rig_track_missing(&t->track) > drops)
		rig_track_print_missing(&t->track, stderr, 10);
	xt_track_fini(t);
}

int main(void)
{
	struct xt t;
	struct nm_rx_info info;
	struct nm_rx_stats st;
	struct nm_pool_stats ps;

	xt_setup(&t, "xdprx", 1, 4096);
	xt_rx_or_skip(&t, 0, 0);
	CHECK(xt_prog_attached(&t));
	REQUIRE(!nm_rx_info(t.rx, &info, sizeof(info)));
	CHECK(!strcmp(info.engine, "xdp"));
	CHECK_EQ(info.buf_size, 4096);
	/* not a stream engine */
	CHECK_EQ(nm_rx_listen(t.rx, "127.0.0.1", 0), -EOPNOTSUPP);

	xt_run_start(&t);
	send_and_check(&t, 64, 20000);
	send_and_check(&t, 1472, 20000);
	CHECK_EQ(atomic_load(&t.bad_queue), 0);
	CHECK_EQ(atomic_load(&t.bad_off), 0);
	xt_run_stop(&t);

	REQUIRE(!nm_rx_stats(t.rx, &st, sizeof(st)));
	CHECK_EQ(st.pkts, atomic_load(&t.pkts));
	CHECK_EQ(st.msgs, atomic_load(&t.pkts));
	CHECK(st.refill >= st.pkts);
	CHECK_EQ(atomic_load(&t.conns), 1);
	CHECK_EQ(atomic_load(&t.conn_fd_ok), 1);
	CHECK_EQ(st.conns_active, 1);

	CHECK_EQ(nm_rx_destroy(t.rx), 0);
	CHECK_EQ(atomic_load(&t.closes), 1);
	CHECK_EQ(atomic_load(&t.close_err), -ECANCELED);
	CHECK(!xt_prog_attached(&t));	/* libxdp detached it with the socket */
	/* every frame the kernel held came back */
	CHECK_EQ(nm_pool_inflight(t.pools[0]), 0);
	REQUIRE(!nm_pool_get_stats(t.pools[0], &ps, sizeof(ps)));
	CHECK_EQ(ps.err_double_put + ps.err_foreign + ps.err_not_buf + ps.err_range, 0);
	CHECK_EQ(nm_pool_destroy(t.pools[0]), 0);
	CHECK_EQ(nm_area_destroy(t.area), 0);
	rig_down(&t.rig);
	return nm_test_failures ? 1 : 0;
}

/* SPDX-License-Identifier: MIT */
/*
 * Revoking the area under traffic: two queues on one UMEM receive from a
 * sender running flat out while the application holds some frames; the
 * area is revoked from another thread.  Each queue's socket goes (on_close
 * with -ENODEV, once each), the program leaves the interface, the
 * receiver keeps running (nm_rx_run returns 0, nothing delivered any
 * more), and every frame is accounted for: those the kernel held are back
 * at once (the first socket's, whose fd is the UMEM's, when the UMEM
 * goes), those the application held when it puts them; then no chunk of
 * the area is out.  Skips without root, netns or AF_XDP.
 */
#include "test_xdp_util.h"

int main(void)
{
	struct xt t;
	uint16_t ports[16];
	struct rig_tx tx = { .size = 64, .count = 0, .seconds = 20, .ports = ports,
			     .nports = 16, .pps = 200000 };
	struct nm_area_info ai;
	struct nm_rx_stats st;
	uint64_t pkts;
	unsigned int held;
	int out, i;

	for (i = 0; i < 16; i++)
		ports[i] = (uint16_t)(RIG_PORT + i);
	xt_setup(&t, "xdprevoke", 2, 2048);
	xt_rx_or_skip(&t, 0, 512);
	tx.rig = &t.rig;
	xt_track_init(&t, 1ull << 26);
	atomic_store(&t.hold, 1);	/* keep the first packets */
	xt_run_start(&t);
	REQUIRE(!rig_tx_start(&tx));
	for (i = 0; i < 1000 && atomic_load(&t.pkts) < 256; i++)
		usleep(10000);
	REQUIRE(atomic_load(&t.pkts) >= 256);
	atomic_store(&t.hold, 0);	/* the rest goes back as it comes */
	usleep(200000);			/* traffic on both queues */

	out = nm_area_revoke(t.area, 0);
	printf("revoked with %d chunks out, after %llu packets\n", out,
	       (unsigned long long)atomic_load(&t.pkts));
	CHECK(out > 0);
	for (i = 0; i < 500 && atomic_load(&t.closes) < 2; i++)
		usleep(10000);
	CHECK_EQ(atomic_load(&t.closes), 2);	/* each queue's socket */
	CHECK_EQ(atomic_load(&t.close_err), -ENODEV);
	for (i = 0; i < 200 && xt_prog_attached(&t); i++)
		usleep(10000);
	CHECK(!xt_prog_attached(&t));

	/* nothing more arrives, and the queues run on */
	pkts = atomic_load(&t.pkts);
	usleep(200000);
	CHECK_EQ(atomic_load(&t.pkts), pkts);
	atomic_store(&tx.stop, 1);
	rig_tx_wait(&tx);
	xt_run_stop(&t);
	REQUIRE(!nm_rx_stats(t.rx, &st, sizeof(st)));
	CHECK_EQ(st.pkts, pkts);
	CHECK_EQ(atomic_load(&t.track.bad), 0);
	CHECK_EQ(atomic_load(&t.track.dup), 0);

	/* the kernel's frames are all back: only the application's are out */
	pthread_mutex_lock(&t.held_lock);
	held = t.nheld;
	pthread_mutex_unlock(&t.held_lock);
	CHECK_EQ(nm_pool_inflight(t.pools[0]) + nm_pool_inflight(t.pools[1]), held);
	CHECK_EQ(xt_release_held(&t), held);
	CHECK_EQ(nm_pool_inflight(t.pools[0]) + nm_pool_inflight(t.pools[1]), 0);
	CHECK_EQ(nm_rx_destroy(t.rx), 0);
	for (int q = 0; q < 2; q++)
		CHECK_EQ(nm_pool_destroy(t.pools[q]), 0);
	REQUIRE(!nm_area_info(t.area, &ai, sizeof(ai)));
	CHECK_EQ(ai.nr_outstanding, 0);
	CHECK_EQ(nm_area_destroy(t.area), 0);
	xt_track_fini(&t);
	rig_down(&t.rig);
	return nm_test_failures ? 1 : 0;
}

/* SPDX-License-Identifier: MIT */
/*
 * The application holds every frame: with 512 frames and a fill ring of
 * 256, an application that keeps every packet it gets stops the receive
 * once the pool is dry; the kernel finds the fill ring empty and says so
 * (xdp_fill_empty, and rx_dropped: nothing is lost silently, sent ==
 * delivered + dropped).  When the application gives the frames back, from
 * a thread other than the queue's, receive resumes (packets sent after
 * arrive) and the accounting holds again.  Every frame is back at the end.
 * Skips without root, netns or AF_XDP.
 */
#include "test_xdp_util.h"

#define FRAMES 512

int main(void)
{
	struct xt t;
	struct nm_rx_stats st;
	uint64_t good, drops, xsk, fill_empty;
	unsigned int held;

	xt_setup(&t, "xdpstarve", 1, FRAMES);
	xt_rx_or_skip(&t, 0, 256);
	atomic_store(&t.hold, 1);
	xt_run_start(&t);

	xt_phase(&t, 4000, "holding every frame", &good, &drops, &xsk);
	CHECK(good <= FRAMES);		/* no frame twice while held */
	CHECK(good > 0);
	CHECK(drops >= 4000 - FRAMES);
	/* the socket said so, for those that reached it (under load the
	 * sending veth may drop some first, its peer's ring full) */
	CHECK(xsk > 0);
	REQUIRE(!nm_rx_stats(t.rx, &st, sizeof(st)));
	CHECK(st.xdp_fill_empty > 0);	/* the kernel saw the fill ring dry */
	CHECK(st.xdp_rx_dropped > 0);
	fill_empty = st.xdp_fill_empty;
	pthread_mutex_lock(&t.held_lock);
	held = t.nheld;
	pthread_mutex_unlock(&t.held_lock);
	CHECK_EQ(held, atomic_load(&t.pkts));

	/* let go, from this thread: the queue's refill finds them */
	atomic_store(&t.hold, 0);
	CHECK_EQ(xt_release_held(&t), held);
	xt_phase(&t, 4000, "after letting go", &good, &drops, &xsk);
	CHECK(good > 0);		/* receive resumed */
	REQUIRE(!nm_rx_stats(t.rx, &st, sizeof(st)));
	printf("fill ring empty: %llu while held, %llu after\n",
	       (unsigned long long)fill_empty,
	       (unsigned long long)(st.xdp_fill_empty - fill_empty));

	xt_run_stop(&t);
	CHECK_EQ(nm_rx_destroy(t.rx), 0);
	CHECK(!xt_prog_attached(&t));
	CHECK_EQ(nm_pool_inflight(t.pools[0]), 0);
	CHECK_EQ(nm_pool_destroy(t.pools[0]), 0);
	CHECK_EQ(nm_area_destroy(t.area), 0);
	rig_down(&t.rig);
	return nm_test_failures ? 1 : 0;
}

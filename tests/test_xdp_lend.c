/* SPDX-License-Identifier: MIT */
/*
 * Frames lent to on_data (NM_RX_F_LEND): the application never puts, and
 * the engine takes each frame back when the callback returns.
 *   - 4000 packets through 512 frames with no put at all: every one
 *     delivered or counted dropped, so the frames went round several
 *     times; each message's pkt->data is nm_buf_data()'s answer.
 *   - An application that keeps what it is lent (a reference of its own,
 *     nm_buf_get) starves the fill ring as one that held given buffers
 *     would: the kernel says so (xdp_fill_empty); once it puts its
 *     references, from another thread, receive resumes.
 *   - Every frame back at the end.
 *   - Tokens beside it are refused (EINVAL).
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

	xt_setup(&t, "xdplend", 1, FRAMES);
	/* a token names a buffer held past the callback: not one lent */
	t.rx_flags = NM_RX_F_LEND | NM_RX_F_TOKENS;
	t.rx = xt_rx_create(&t, 0, 256);
	if (!t.rx && errno == EOPNOTSUPP)
		SKIP("AF_XDP (or libxdp) not available: %s", nm_strerror(-EOPNOTSUPP));
	CHECK(!t.rx && errno == EINVAL);
	if (t.rx)
		nm_rx_destroy(t.rx);
	t.rx_flags = NM_RX_F_LEND;
	xt_rx_or_skip(&t, 0, 256);
	xt_run_start(&t);

	xt_phase(&t, 4000, "lent, none kept", &good, &drops, &xsk);
	/* more packets than frames, with no put by the application: the
	 * engine took each frame back (drops only under load) */
	CHECK(good > 2 * FRAMES);
	CHECK_EQ(atomic_load(&t.bad_data), 0);
	CHECK_EQ(atomic_load(&t.unreadable), 0);

	atomic_store(&t.hold, 1);
	xt_phase(&t, 4000, "lent, every one kept", &good, &drops, &xsk);
	CHECK(good <= FRAMES);		/* no frame twice while kept */
	CHECK(good > 0);
	REQUIRE(!nm_rx_stats(t.rx, &st, sizeof(st)));
	CHECK(st.xdp_fill_empty > 0);	/* the kernel saw the fill ring dry */
	fill_empty = st.xdp_fill_empty;
	pthread_mutex_lock(&t.held_lock);
	held = t.nheld;
	pthread_mutex_unlock(&t.held_lock);
	CHECK(held > 0);
	/* the references are ours: the pool counts the frames out */
	CHECK(nm_pool_inflight(t.pools[0]) >= held);

	atomic_store(&t.hold, 0);
	CHECK_EQ(xt_release_held(&t), held);
	xt_phase(&t, 4000, "after letting go", &good, &drops, &xsk);
	CHECK(good > 0);		/* receive resumed */
	CHECK_EQ(atomic_load(&t.bad_data), 0);
	REQUIRE(!nm_rx_stats(t.rx, &st, sizeof(st)));
	printf("fill ring empty: %llu while kept, %llu after\n",
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

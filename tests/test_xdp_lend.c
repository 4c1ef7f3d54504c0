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
	uint64_t good, drops, xsk;

	xt_setup(&t, "xdplend", 1, FRAMES);
	/* a token names a buffer held past the callback: not one lent */
	t.rx_flags = NM_RX_F_LEND | NM_RX_F_TOKENS;
	xt_rx_refused_or_skip(&t, 256);
	t.rx_flags = NM_RX_F_LEND;
	xt_rx_or_skip(&t, 0, 256);
	xt_run_start(&t);

	xt_phase(&t, 4000, "lent, none kept", &good, &drops, &xsk);
	/* more packets than frames, with no put by the application: the
	 * engine took each frame back (drops only under load) */
	CHECK(good > 2 * FRAMES);
	CHECK_EQ(atomic_load(&t.bad_data), 0);
	CHECK_EQ(atomic_load(&t.unreadable), 0);

	/* kept past the callback with nm_buf_get, the frames run out as
	 * given ones would, and come back when the references are put */
	xt_starve_resume(&t, FRAMES);
	CHECK_EQ(atomic_load(&t.bad_data), 0);
	return xt_finish(&t);
}

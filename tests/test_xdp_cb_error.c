/* SPDX-License-Identifier: MIT */
/*
 * An xdp receiver whose on_data says -EIO at the 100th packet, frames lent
 * (NM_RX_F_LEND), driven by the test's own nm_rx_poll calls so that the
 * failing packet has others behind it in its pass: the socket's connection
 * ends with that error (on_close -EIO, once), on_data is never called
 * again, neither for the rest of that pass nor for packets sent after, and
 * every frame comes back (the ones on_data saw taken back, the others
 * put).  Skips
 * without root, netns or AF_XDP.
 */
#include "test_xdp_util.h"

#define FRAMES 1024

int main(void)
{
	struct xt t;
	struct nm_rx_stats st;

	xt_setup(&t, "xdpcberr", 1, FRAMES);
	t.rx_flags = NM_RX_F_LEND;
	t.fail_at = 100;
	xt_rx_or_skip(&t, 0, 512);
	/* The application's own passes: the first opens the socket's
	 * connection and fills the fill ring; then 300 packets wait in the
	 * RX ring, so that the pass that fails at the 100th has more behind
	 * it in the same run (a pass takes up to 256, 64 at a time). */
	CHECK(nm_rx_poll(t.rx, 0) >= 0);
	CHECK_EQ(atomic_load(&t.conns), 1);
	xt_burst_then_passes(&t);
	CHECK_EQ(atomic_load(&t.closes), 1);
	CHECK_EQ(atomic_load(&t.close_err), -EIO);
	/* and more after the end */
	xt_burst_then_passes(&t);
	printf("on_data called %llu times (it failed the 100th)\n",
	       (unsigned long long)atomic_load(&t.pkts));
	CHECK_EQ(atomic_load(&t.pkts), 100);	/* none after the error */
	REQUIRE(!nm_rx_stats(t.rx, &st, sizeof(st)));
	CHECK_EQ(st.msgs, 100);
	CHECK_EQ(atomic_load(&t.closes), 1);
	return xt_finish(&t);
}

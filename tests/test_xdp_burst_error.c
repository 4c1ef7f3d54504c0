/* SPDX-License-Identifier: MIT */
/*
 * An xdp receiver taking bursts (opts.on_pkts) whose callback says -EIO at
 * the 100th packet, in the middle of a burst, driven by the test's own
 * nm_rx_poll calls so that 300 packets wait in the RX ring: the socket's
 * connection ends with that error (on_close -EIO, once); on_pkts is never
 * called again, neither for the rest of that pass nor for packets sent
 * after; the stats count the bursts it saw, no more; and every frame
 * comes back (pool inflight 0 after destroy), both with frames lent
 * (NM_RX_F_LEND: the engine takes back the whole failing burst) and given
 * (the callback puts the failing burst's rest itself).
 * Skips without root, netns or AF_XDP.
 */
#include "test_xdp_util.h"

#define FRAMES 1024

static void fail_mid_burst(struct xt *t, unsigned int flags)
{
	struct nm_rx_stats st;
	uint64_t seen;

	t->rx_flags = flags;
	t->fail_at = 100;
	atomic_store(&t->pkts, 0);
	atomic_store(&t->bursts, 0);
	atomic_store(&t->burst_pkts, 0);
	atomic_store(&t->after_err, 0);
	atomic_store(&t->failed, 0);
	atomic_store(&t->closes, 0);
	atomic_store(&t->close_err, 0);
	xt_rx_or_skip(t, 0, 512);
	CHECK(nm_rx_poll(t->rx, 0) >= 0);	/* opens the connection, fills */
	xt_burst_then_passes(t);
	CHECK_EQ(atomic_load(&t->closes), 1);
	CHECK_EQ(atomic_load(&t->close_err), -EIO);
	xt_burst_then_passes(t);			/* and more after the end */
	seen = atomic_load(&t->burst_pkts);
	printf("%s: on_pkts called %llu times for %llu packets, failed at the 100th\n",
	       flags & NM_RX_F_LEND ? "lent" : "given",
	       (unsigned long long)atomic_load(&t->bursts), (unsigned long long)seen);
	CHECK_EQ(atomic_load(&t->pkts), 100);	/* none looked at after it */
	CHECK_EQ(atomic_load(&t->after_err), 0);	/* no call after the failing one */
	CHECK(seen >= 100 && seen < 100 + 64);	/* the failing burst's rest, no more */
	REQUIRE(!nm_rx_stats(t->rx, &st, sizeof(st)));
	CHECK_EQ(st.msgs, seen);
	CHECK_EQ(st.pkts, seen);
	CHECK_EQ(st.conns_err, 1);
	CHECK_EQ(atomic_load(&t->closes), 1);
	CHECK_EQ(nm_rx_destroy(t->rx), 0);
	t->rx = NULL;
	CHECK_EQ(nm_pool_inflight(t->pools[0]), 0);	/* every frame back */
}

int main(void)
{
	struct xt t;

	xt_setup(&t, "xdpbursterr", 1, FRAMES);
	t.burst = 1;
	fail_mid_burst(&t, NM_RX_F_LEND);
	fail_mid_burst(&t, 0);
	t.rx_flags = NM_RX_F_LEND;
	t.fail_at = 0;
	xt_rx_or_skip(&t, 0, 512);
	return xt_finish(&t);
}

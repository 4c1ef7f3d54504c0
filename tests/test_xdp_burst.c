/* SPDX-License-Identifier: MIT */
/*
 * The xdp engine's bursts (opts.on_pkts, no on_data at all):
 *   - lent frames (NM_RX_F_LEND): 4000 packets through 512 frames, every
 *     one delivered once (its seq and checksum checked), in order, with
 *     each entry's data pointer nm_buf_data()'s and its queue id; the
 *     receiver's stats count the packets as on_data's would (msgs, bufs,
 *     pkts: one each; bytes), and on_pkts was called for them all;
 *   - nm_buf_get() inside on_pkts keeps a lent frame: every 8th packet
 *     held while the others go round, and after another 4000 packets
 *     through the rest of the frames each held one still has its own
 *     packet, whole; the references put from this thread, none lost;
 *   - given, not lent (no LEND): the callback puts each, and every frame
 *     is back after destroy;
 *   - NM_RX_F_TOKENS beside on_pkts is refused (EINVAL: no token per
 *     entry).
 * Skips without root, netns or AF_XDP.
 */
#include "test_xdp_util.h"

#define FRAMES 512

/* Each held buffer still holds a packet of the rig, whole. */
static unsigned int held_intact(struct xt *t)
{
	unsigned int ok = 0;

	pthread_mutex_lock(&t->held_lock);
	for (unsigned int i = 0; i < t->nheld; i++) {
		const uint8_t *f = nm_buf_data(&t->held[i]), *p;
		uint32_t plen = 0;
		_Alignas(8) uint8_t copy[2048];

		p = f ? xt_payload(f, t->held[i].len, &plen) : NULL;
		if (p && plen <= sizeof(copy) &&
		    !rig_check_payload(memcpy(copy, p, plen), plen, NULL, NULL))
			ok++;
	}
	pthread_mutex_unlock(&t->held_lock);
	return ok;
}

static void lent_bursts(struct xt *t)
{
	struct nm_rx_stats st;
	uint64_t good, drops, xsk;
	unsigned int held;

	xt_phase(t, 4000, "bursts, lent", &good, &drops, &xsk);
	CHECK(good > 2 * FRAMES);	/* the frames went round */
	CHECK_EQ(atomic_load(&t->out_of_order), 0);
	CHECK_EQ(atomic_load(&t->bad_data), 0);
	CHECK_EQ(atomic_load(&t->bad_queue), 0);
	CHECK_EQ(atomic_load(&t->bad_off), 0);
	CHECK_EQ(atomic_load(&t->foreign), 0);
	REQUIRE(!nm_rx_stats(t->rx, &st, sizeof(st)));
	printf("on_pkts: %llu calls for %llu packets\n",
	       (unsigned long long)atomic_load(&t->bursts),
	       (unsigned long long)atomic_load(&t->burst_pkts));
	CHECK(atomic_load(&t->bursts) > 0);
	CHECK_EQ(atomic_load(&t->burst_pkts), good);
	CHECK_EQ(st.pkts, good);
	CHECK_EQ(st.msgs, good);
	CHECK_EQ(st.bufs, good);
	CHECK(st.bytes >= good * (14 + 20 + 8 + 64));

	/* every 8th packet kept with a reference of its own */
	t->hold_every = 8;
	atomic_store(&t->hold, 1);
	xt_phase(t, 2000, "bursts, every 8th kept", &good, &drops, &xsk);
	atomic_store(&t->hold, 0);
	pthread_mutex_lock(&t->held_lock);
	held = t->nheld;
	pthread_mutex_unlock(&t->held_lock);
	CHECK(held > 0 && held <= (good + 7) / 8);
	CHECK(nm_pool_inflight(t->pools[0]) >= held);
	/* more traffic through the frames not kept: the kept ones untouched */
	xt_phase(t, 4000, "bursts, while the kept ones wait", &good, &drops, &xsk);
	CHECK(good > FRAMES);
	CHECK_EQ(held_intact(t), held);
	CHECK_EQ(xt_release_held(t), held);
	CHECK_EQ(atomic_load(&t->out_of_order), 0);
}

int main(void)
{
	struct xt t;
	uint64_t good, drops, xsk;

	xt_setup(&t, "xdpburst", 1, FRAMES);
	t.burst = 1;
	t.rx_flags = NM_RX_F_TOKENS;
	xt_rx_refused_or_skip(&t, 256);
	t.rx_flags = NM_RX_F_LEND;
	xt_rx_or_skip(&t, 0, 256);
	xt_run_start(&t);
	lent_bursts(&t);
	xt_run_stop(&t);
	CHECK_EQ(nm_rx_destroy(t.rx), 0);
	CHECK_EQ(nm_pool_inflight(t.pools[0]), 0);

	/* given: the callback puts each one */
	t.rx_flags = 0;
	atomic_store(&t.bursts, 0);
	atomic_store(&t.burst_pkts, 0);
	xt_rx_or_skip(&t, 0, 256);
	xt_run_start(&t);
	xt_phase(&t, 4000, "bursts, given", &good, &drops, &xsk);
	CHECK(good > 2 * FRAMES);
	CHECK_EQ(atomic_load(&t.burst_pkts), good);
	CHECK_EQ(atomic_load(&t.out_of_order), 0);
	CHECK_EQ(atomic_load(&t.bad_data), 0);
	return xt_finish(&t);
}

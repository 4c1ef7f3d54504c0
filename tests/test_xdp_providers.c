/* SPDX-License-Identifier: MIT */
/*
 * The UMEM from each provider with a CPU mapping: memfd (a shared
 * mapping) and hugepage (hugetlb pages, or THP where the pool is empty),
 * 4 KiB chunks as frames.  2000 packets each, every one checked, sent ==
 * delivered + the veths' drops, every frame back at the end.  (host: the
 * other xdp tests.)  Skips without root, netns or AF_XDP.
 */
#include "test_xdp_util.h"

#define COUNT 2000

static void one(const char *provider)
{
	struct xt t;
	struct rig_tx tx = { .size = 200, .count = COUNT, .pps = 50000 };
	struct nm_area_info ai;

	xt_provider = provider;
	xt_setup(&t, provider, 1, 2048);
	REQUIRE(!nm_area_info(t.area, &ai, sizeof(ai)));
	xt_rx_or_skip(&t, 0, 1024);
	tx.rig = &t.rig;
	xt_run_start(&t);
	xt_track_init(&t, COUNT);
	xt_drops_mark(&t);
	REQUIRE(!rig_tx_start(&tx));
	REQUIRE(!rig_tx_wait(&tx));
	CHECK_EQ(tx.sent, COUNT);
	CHECK_EQ(xt_settle(&t, tx.sent, 10000), COUNT);
	xt_run_stop(&t);
	printf("%s (%s): %llu delivered, %llu dropped\n", provider, ai.detail,
	       (unsigned long long)atomic_load(&t.track.good), (unsigned long long)xt_drops(&t));
	CHECK(atomic_load(&t.track.good) > 0);
	CHECK_EQ(atomic_load(&t.track.bad), 0);
	CHECK_EQ(atomic_load(&t.track.dup), 0);
	CHECK_EQ(nm_rx_destroy(t.rx), 0);
	CHECK(!xt_prog_attached(&t));
	CHECK_EQ(nm_pool_inflight(t.pools[0]), 0);
	CHECK_EQ(nm_pool_destroy(t.pools[0]), 0);
	CHECK_EQ(nm_area_destroy(t.area), 0);
	xt_track_fini(&t);
	rig_down(&t.rig);
}

int main(void)
{
	one("memfd");
	one("hugepage");
	return nm_test_failures ? 1 : 0;
}

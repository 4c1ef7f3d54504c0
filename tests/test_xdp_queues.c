/* SPDX-License-Identifier: MIT */
/*
 * Two queues on one UMEM: a veth with two receive queues, two pools over
 * one area, a receiver of two queues (sockets bound to NIC queues 0 and
 * 1, the second sharing the first's UMEM, XDP_SHARED_UMEM).  16 flows
 * (destination ports): the sending veth picks a queue by each flow's
 * hash, so both queues get packets (all 16 on one queue: 1 in 32768).
 * Every packet checked, each on the receiver queue of the NIC queue it
 * came in on (pkt->queue_id), nothing lost silently; both sockets on one
 * UMEM (ss's XDP diag, where ss has it).  Every frame back in its pool.
 * Skips without root, netns or AF_XDP.
 */
#include "test_xdp_util.h"

#define COUNT 20000

/* Both XSKs of this process on one UMEM: ss -f xdp -e shows "umem:ID"
 * per socket.  1 shared, 0 not, -1 ss cannot tell. */
static int umem_shared(const struct xt *t)
{
	char cmd[256], line[512];
	int ids[4], n = 0;
	FILE *f;

	snprintf(cmd, sizeof(cmd), "ip netns exec %s ss -f xdp -e -p 2>/dev/null",
		 t->rig.ns[RIG_RX]);
	f = popen(cmd, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f) && n < 4) {
		char *u = strstr(line, "umem:");

		if (u)
			ids[n++] = atoi(u + 5);
	}
	pclose(f);
	if (n < 2)
		return -1;
	return ids[0] == ids[1];
}

int main(void)
{
	struct xt t;
	uint16_t ports[16];
	struct rig_tx tx = { .size = 64, .count = COUNT, .pps = 100000, .ports = ports,
			     .nports = 16 };
	struct nm_rx_stats s0, s1;
	uint64_t got, drops, xsk;
	int shared;

	for (int i = 0; i < 16; i++)
		ports[i] = (uint16_t)(RIG_PORT + i);
	xt_setup(&t, "xdpq", 2, 2048);
	xt_rx_or_skip(&t, 0, 0);
	tx.rig = &t.rig;
	CHECK(xt_prog_attached(&t));
	shared = umem_shared(&t);
	printf("both sockets on one UMEM: %s\n", shared < 0 ? "ss cannot tell" :
	       shared ? "yes" : "no");
	CHECK(shared != 0);

	xt_run_start(&t);
	xt_track_init(&t, COUNT);
	xt_drops_mark(&t);
	REQUIRE(!rig_tx_start(&tx));
	REQUIRE(!rig_tx_wait(&tx));
	CHECK_EQ(tx.err, 0);
	CHECK_EQ(tx.sent, COUNT);
	got = xt_settle(&t, tx.sent, 10000);
	drops = xt_drops(&t);
	xsk = xt_xsk_drops(&t);
	xt_run_stop(&t);
	printf("sent %llu: queue 0 %llu, queue 1 %llu, dropped %llu (the sockets counted %llu)\n",
	       (unsigned long long)tx.sent, (unsigned long long)atomic_load(&t.per_q[0]),
	       (unsigned long long)atomic_load(&t.per_q[1]), (unsigned long long)drops,
	       (unsigned long long)xsk);
	CHECK_EQ(got, tx.sent);
	CHECK(xsk <= xt_rx_drops(&t));
	CHECK_EQ(atomic_load(&t.track.bad), 0);
	CHECK_EQ(atomic_load(&t.track.dup), 0);
	CHECK(atomic_load(&t.per_q[0]) > 0);
	CHECK(atomic_load(&t.per_q[1]) > 0);
	CHECK_EQ(atomic_load(&t.bad_queue), 0);	/* pkt->queue_id is the queue's */
	CHECK_EQ(atomic_load(&t.bad_off), 0);
	CHECK_EQ(atomic_load(&t.conns), 2);	/* a socket per queue */

	REQUIRE(!nm_rx_queue_stats(t.rx, 0, &s0, sizeof(s0)));
	REQUIRE(!nm_rx_queue_stats(t.rx, 1, &s1, sizeof(s1)));
	CHECK_EQ(s0.pkts, atomic_load(&t.per_q[0]));
	CHECK_EQ(s1.pkts, atomic_load(&t.per_q[1]));

	CHECK_EQ(nm_rx_destroy(t.rx), 0);
	CHECK_EQ(atomic_load(&t.closes), 2);
	CHECK(!xt_prog_attached(&t));
	for (int q = 0; q < 2; q++) {
		CHECK_EQ(nm_pool_inflight(t.pools[q]), 0);
		CHECK_EQ(nm_pool_destroy(t.pools[q]), 0);
	}
	CHECK_EQ(nm_area_destroy(t.area), 0);
	xt_track_fini(&t);
	rig_down(&t.rig);
	return nm_test_failures ? 1 : 0;
}

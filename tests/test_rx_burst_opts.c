/* SPDX-License-Identifier: MIT */
/*
 * opts.on_pkts (bursts) where it cannot be: refused with EINVAL by the
 * stream engines ("uring", "socket", and the default choice), by "udp"
 * (its datagrams' metadata does not fit a burst's entry), and with
 * neither on_data nor on_pkts; an older caller's smaller opts (no
 * on_pkts) still needs on_data.  No root needed (test_xdp_burst checks
 * the xdp engine's refusal of NM_RX_F_TOKENS beside on_pkts).
 */
#include "harness.h"
#include <netmem/rx.h>

static int data_cb(struct nm_rx *rx, struct nm_rx_conn *c, const struct nm_rx_msg *m,
		   void *user)
{
	return 0;
}

static int pkts_cb(struct nm_rx *rx, struct nm_rx_conn *c, const struct nm_rx_pktbuf *p,
		   unsigned int n, void *user)
{
	return 0;
}

static void refused(struct nm_pool *pool, const char *engine, unsigned int flags,
		    nm_rx_data_fn on_data, nm_rx_pkts_fn on_pkts, const char *what)
{
	NM_OPTS(nm_rx_opts, o, .engine = engine, .pool = pool, .flags = flags,
		.on_data = on_data, .on_pkts = on_pkts);
	struct nm_rx *rx;

	errno = 0;
	rx = nm_rx_create(&o);
	printf("%-40s %s\n", what, rx ? "made" : strerror(errno));
	CHECK(!rx && errno == EINVAL);
	if (rx)
		nm_rx_destroy(rx);
}

int main(void)
{
	NM_OPTS(nm_area_opts, ao, .size = 64 * 4096, .order = 0, .name = "burstopts");
	struct nm_area *area = nm_area_create("host", &ao);
	struct nm_pool *pool;

	REQUIRE(area);
	pool = nm_pool_create(area, NULL);
	REQUIRE(pool);
	_Static_assert(sizeof(struct nm_rx_pktbuf) == 32, "an entry is half a cache line");

	refused(pool, "uring", 0, data_cb, pkts_cb, "uring with on_pkts");
	refused(pool, "socket", 0, data_cb, pkts_cb, "socket with on_pkts");
	refused(pool, NULL, 0, data_cb, pkts_cb, "default engine with on_pkts");
	refused(pool, "udp", 0, NULL, pkts_cb, "udp with on_pkts");
	refused(pool, "udp", NM_RX_F_LEND, data_cb, pkts_cb, "udp, lent, with on_pkts");
	refused(pool, "socket", 0, NULL, NULL, "neither on_data nor on_pkts");

	/* a caller built before on_pkts: its sz ends before the field */
	{
		NM_OPTS(nm_rx_opts, o, .engine = "socket", .pool = pool, .on_pkts = pkts_cb);
		struct nm_rx *rx;

		o.sz = offsetof(struct nm_rx_opts, on_pkts);
		rx = nm_rx_create(&o);
		CHECK(!rx && errno == EINVAL);	/* on_pkts unseen: no on_data */
		if (rx)
			nm_rx_destroy(rx);
	}
	/* and the stream engines still take on_data alone */
	{
		NM_OPTS(nm_rx_opts, o, .engine = "socket", .pool = pool, .on_data = data_cb);
		struct nm_rx *rx = nm_rx_create(&o);

		CHECK(rx != NULL);
		if (rx)
			CHECK_EQ(nm_rx_destroy(rx), 0);
	}
	CHECK_EQ(nm_pool_destroy(pool), 0);
	CHECK_EQ(nm_area_destroy(area), 0);
	return nm_test_failures ? 1 : 0;
}

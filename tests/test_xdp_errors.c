/* SPDX-License-Identifier: MIT */
/*
 * The xdp engine's clear errors.  Without the rig: xdp options with
 * another engine, unknown xdp_flags and COPY with ZEROCOPY are EINVAL.
 * On the rig: a missing interface is ENODEV; a queue the veth lacks,
 * 8 KiB chunks (no XDP frame size), a buf_size other than the chunk,
 * split, and memory with no CPU mapping are EINVAL; zero-copy asked of
 * veth (copy only) is EOPNOTSUPP, with nm_strerror's text; a failed
 * create leaves no program on the interface; generic (skb) mode and
 * copy mode work; a stream socket handed in is refused (closed with an
 * error) while the queue keeps its own connection.  Skips without root,
 * netns or AF_XDP.
 */
#include "test_xdp_util.h"
#include <sys/socket.h>

static int on_data_nop(struct nm_rx *rx, struct nm_rx_conn *c, const struct nm_rx_msg *m,
		       void *u)
{
	nm_buf_put(&m->bufs[0]);
	return 0;
}

/* nm_rx_create with @o's engine "xdp" on @ifname: NULL and errno. */
static int create_err(struct nm_rx_opts *o)
{
	struct nm_rx *rx = nm_rx_create(o);

	if (rx) {
		nm_rx_destroy(rx);
		return 0;
	}
	return errno;
}

static void opts_without_rig(struct nm_pool *p)
{
	NM_OPTS(nm_rx_opts, o, .pool = p, .on_data = on_data_nop);

	o.ifname = "lo";	/* with uring, socket (and the default) */
	CHECK_EQ(create_err(&o), EINVAL);
	o.engine = "socket";
	CHECK_EQ(create_err(&o), EINVAL);
	o.ifname = NULL;
	o.xdp_flags = NM_RX_XDP_COPY;
	CHECK_EQ(create_err(&o), EINVAL);
	o.xdp_flags = 0;
	o.queue_id = 1;
	CHECK_EQ(create_err(&o), EINVAL);
	o.queue_id = 0;
	o.engine = "xdp";
	o.ifname = "lo";
	o.xdp_flags = NM_RX_XDP_COPY | NM_RX_XDP_ZEROCOPY;
	CHECK_EQ(create_err(&o), EINVAL);
	o.xdp_flags = 1u << 7;
	CHECK_EQ(create_err(&o), EINVAL);
	o.xdp_flags = 0;
	o.ifname = NULL;	/* xdp needs an interface */
	CHECK_EQ(create_err(&o), EINVAL);
}

int main(void)
{
	struct xt t;
	struct nm_area *big, *nocpu;
	struct nm_pool *bigp, *nocpup;
	NM_OPTS(nm_area_opts, bo, .size = 1 << 20, .order = 1);
	NM_OPTS(nm_area_opts, no, .size = 1 << 20, .order = 0, .flags = NM_AREA_F_NO_CPU_MAP);
	const char *e;
	int r;

	{
		NM_OPTS(nm_area_opts, ao, .size = 1 << 20);
		struct nm_area *a = nm_area_create("host", &ao);
		struct nm_pool *p = nm_pool_create(a, NULL);

		REQUIRE(a && p);
		opts_without_rig(p);
		nm_pool_destroy(p);
		nm_area_destroy(a);
	}

	xt_setup(&t, "xdperr", 1, 1024);
	NM_OPTS(nm_rx_opts, o, .engine = "xdp", .ifname = t.rig.ifname[RIG_RX],
		.pool = t.pools[0], .on_data = on_data_nop, .on_conn = xt_on_conn,
		.on_close = xt_on_close, .user = &t);

	/* first, whether AF_XDP works here at all */
	r = create_err(&o);
	if (r == EOPNOTSUPP)
		SKIP("AF_XDP (or libxdp) not available");
	CHECK_EQ(r, 0);
	CHECK(!xt_prog_attached(&t));	/* destroy took it off */

	o.ifname = "nm-nosuch0";
	CHECK_EQ(create_err(&o), ENODEV);
	o.ifname = t.rig.ifname[RIG_RX];
	o.queue_id = 5;			/* the veth has one queue */
	CHECK_EQ(create_err(&o), EINVAL);
	o.queue_id = 0;
	o.buf_size = 2048;		/* a frame is a whole chunk */
	CHECK_EQ(create_err(&o), EINVAL);
	o.buf_size = 0;
	big = nm_area_create("host", &bo);	/* 8 KiB chunks */
	bigp = nm_pool_create(big, NULL);
	REQUIRE(big && bigp);
	o.flags = NM_RX_F_SPLIT;		/* packets, not streams */
	o.hdr_pool = bigp;
	CHECK_EQ(create_err(&o), EINVAL);
	o.flags = 0;
	o.hdr_pool = NULL;
	o.pool = bigp;
	CHECK_EQ(create_err(&o), EINVAL);
	nocpu = nm_area_create("host", &no);
	nocpup = nm_pool_create(nocpu, NULL);
	REQUIRE(nocpu && nocpup);
	o.pool = nocpup;
	CHECK_EQ(create_err(&o), EINVAL);
	o.pool = t.pools[0];

	/* veth does copy mode only */
	o.xdp_flags = NM_RX_XDP_ZEROCOPY;
	CHECK_EQ(create_err(&o), EOPNOTSUPP);
	e = nm_strerror(-EOPNOTSUPP);
	CHECK(e && strstr(e, "not supported"));
	CHECK(!xt_prog_attached(&t));	/* failure paths leave nothing behind */

	/* copy mode, generic XDP: works, and a stream socket is refused */
	o.xdp_flags = NM_RX_XDP_COPY | NM_RX_XDP_SKB;
	{
		struct nm_rx *rx = nm_rx_create(&o);
		int sv[2];

		REQUIRE(rx);
		CHECK(xt_prog_attached(&t));
		CHECK_EQ(nm_rx_poll(rx, 0), 0);	/* opens the socket's connection */
		CHECK_EQ(atomic_load(&t.conns), 1);
		REQUIRE(!socketpair(AF_UNIX, SOCK_STREAM, 0, sv));
		if (nm_rx_add_fd(rx, sv[0], 0) == 0) {
			CHECK_EQ(nm_rx_poll(rx, 0), 0);
			CHECK_EQ(atomic_load(&t.closes), 1);	/* refused at once */
			CHECK_EQ(atomic_load(&t.close_err), -EOPNOTSUPP);
		} else {
			close(sv[0]);
		}
		close(sv[1]);
		CHECK_EQ(nm_rx_destroy(rx), 0);
		CHECK(!xt_prog_attached(&t));
	}
	CHECK_EQ(nm_pool_inflight(t.pools[0]), 0);
	nm_pool_destroy(bigp);
	nm_area_destroy(big);
	nm_pool_destroy(nocpup);
	nm_area_destroy(nocpu);
	nm_pool_destroy(t.pools[0]);
	nm_area_destroy(t.area);
	rig_down(&t.rig);
	return nm_test_failures ? 1 : 0;
}

/* SPDX-License-Identifier: MIT */
/*
 * `netmem rx --engine xdp --iface IF --once --json` in the rig's receiving
 * namespace, 5000 packets from the rig's sender: rx exits 0 once packets
 * stop, and its JSON says every packet sent was received or dropped by
 * the kernel (pkts + drops; a stray IPv6 packet of the veth's may come
 * too), with packets/s and CPU per packet; --copy works on veth and
 * --zerocopy fails (exit 1, nm_strerror's words); the same with --lend,
 * where rx puts nothing and the pool's stats show the engine took the
 * frames back; the xdp options refuse what they cannot mean (exit 2).
 * Skips without root, netns or AF_XDP.
 */
#include "cli_util.h"
#include "netns_rig.h"

#define COUNT 5000

static const char *bin;

static int run_rc(const char *const argv[])
{
	int err;
	pid_t p = t_spawn(argv, NULL, NULL, &err);
	int rc = t_wait(p, 20);

	close(err);
	return rc;
}

/* Wait for rx's "receiving on" line (its socket is bound then). */
static int wait_ready(int fd, char *log, size_t cap)
{
	size_t len = 0;

	for (int i = 0; i < 200; i++) {
		len = t_read_into(fd, log, cap, len, 0.1);
		if (strstr(log, "rx: receiving on"))
			return 0;
		if (strstr(log, "netmem rx:"))
			return -1;
	}
	return -1;
}

/* rx --engine xdp --copy --once --json (with --lend: frames lent) takes
 * COUNT packets: every one received or counted dropped. */
static void xdp_run(struct rig *rp, bool lend)
{
	char log[16384], out[16384];
	int out_fd, err_fd, rc;
	size_t olen;
	pid_t rx;
	const char *a[] = { "ip", "netns", "exec", rp->ns[RIG_RX], bin, "rx", "--engine",
			    "xdp", "--iface", rp->ifname[RIG_RX], "--copy", "--once",
			    "--timeout", "60", "--json", "--no-stats",
			    lend ? "--lend" : NULL, NULL };
	struct rig_tx tx = { .rig = rp, .size = 100, .count = COUNT, .pps = 50000 };
	unsigned long long pkts, drops;
	struct rig_drops d0, d1;

	log[0] = 0;
	rx = t_spawn(a, NULL, &out_fd, &err_fd);
	REQUIRE(!wait_ready(err_fd, log, sizeof(log)));
	REQUIRE(!rig_drops(rp, &d0));
	REQUIRE(!rig_tx_start(&tx));
	REQUIRE(!rig_tx_wait(&tx));
	CHECK_EQ(tx.sent, COUNT);
	rc = t_wait(rx, 60);
	REQUIRE(!rig_drops(rp, &d1));
	olen = t_read_into(out_fd, out, sizeof(out), 0, 2);
	t_read_into(err_fd, log, sizeof(log), strlen(log), 2);
	close(out_fd);
	close(err_fd);
	printf("rx --engine xdp%s: exit %d\n%s", lend ? " --lend" : "", rc, out);
	CHECK_EQ(rc, 0);
	if (rc)
		fprintf(stderr, "rx said:\n%s\n", log);
	CHECK(olen > 0 && out[0] == '{');
	CHECK(strstr(out, "\"engine\":\"xdp\"") != NULL);
	pkts = t_json_u(out, "pkts");
	drops = t_json_u(out, "drops");
	CHECK_EQ(drops, t_json_u(out, "xdp_rx_dropped") + t_json_u(out, "xdp_rx_ring_full"));
	/* every packet received, or counted as dropped by the socket (or,
	 * before it, by the sending veth: its peer's ring full) */
	CHECK(pkts + drops + (d1.tx_dropped - d0.tx_dropped) >= COUNT);
	CHECK(pkts + drops <= COUNT + 4);
	CHECK(pkts > 0);
	CHECK(t_json_u(out, "pps") > 0 && t_json_u(out, "pps") != ~0ull);
	CHECK(strstr(out, "\"cpu_ns_per_pkt\":") != NULL);
	CHECK_EQ(t_json_u(out, "conn_errors"), 0);
	/* nothing put by rx with --lend: the engine's take-back is what
	 * recycled the frames */
	if (lend)
		CHECK(t_json_u(out, "recycle_cached") >= pkts / 2 &&
		      t_json_u(out, "recycle_cached") != ~0ull);
}

int main(void)
{
	struct rig r;
	struct rig_opts ro = { .tag = "xdpcli" };
	char log[16384];
	int rc;

	bin = t_netmem();
	{
		const char *a[] = { bin, "rx", "--engine", "xdp", NULL };
		const char *b[] = { bin, "rx", "--engine", "xdp", "--iface", "lo", "--listen",
				    "127.0.0.1:0", NULL };
		const char *c[] = { bin, "rx", "--listen", "127.0.0.1:0", "--iface", "lo", NULL };
		const char *d[] = { bin, "rx", "--engine", "xdp", "--iface", "lo",
				    "--chunk-order", "4", NULL };
		const char *e[] = { bin, "rx", "--engine", "xdp", "--iface", "lo", "--split", NULL };
		const char *f[] = { bin, "rx", "--listen", "127.0.0.1:0", "--copy", NULL };
		const char *g[] = { bin, "rx", "--listen", "127.0.0.1:0", "--lend", NULL };

		CHECK_EQ(run_rc(a), 2);		/* no interface */
		CHECK_EQ(run_rc(b), 2);		/* an interface and an address */
		CHECK_EQ(run_rc(c), 2);		/* --iface without xdp */
		CHECK_EQ(run_rc(d), 2);		/* frames are 4 KiB */
		CHECK_EQ(run_rc(e), 2);
		CHECK_EQ(run_rc(f), 2);
		CHECK_EQ(run_rc(g), 2);		/* --lend without xdp */
	}

	RIG_UP_OR_SKIP(&r, &ro);
	{
		const char *z[] = { "ip", "netns", "exec", r.ns[RIG_RX], bin, "rx", "--engine",
				    "xdp", "--iface", r.ifname[RIG_RX], "--zerocopy", "--no-stats",
				    NULL };
		int ef;
		pid_t p = t_spawn(z, NULL, NULL, &ef);

		rc = t_wait(p, 20);
		t_read_into(ef, log, sizeof(log), 0, 2);
		close(ef);
		if (rc == 1 && strstr(log, "libxdp"))
			SKIP("AF_XDP (or libxdp) not available: %s", log);
		CHECK_EQ(rc, 1);	/* veth has no zero-copy */
		CHECK(strstr(log, nm_strerror(-EOPNOTSUPP)) != NULL);
	}
	xdp_run(&r, false);
	xdp_run(&r, true);
	t_kill_children();
	rig_down(&r);
	return nm_test_failures ? 1 : 0;
}

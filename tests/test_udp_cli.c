/* SPDX-License-Identifier: MIT */
/*
 * `netmem tx --udp` into `netmem rx --engine udp --once --verify` on
 * loopback, through io_uring and recvmmsg (NM_UDP_RECVMMSG=1): rx's JSON
 * says every datagram sent was received or dropped by the kernel (pkts +
 * udp_drops), the verify passed, and gives pps and CPU per packet; a
 * datagram in another pattern fails the verify (exit 1); with --lend
 * (buffers lent to rx's callback) the same holds and the pool's stats say
 * the engine took them back; the packet options refuse what they cannot
 * mean (exit 2).
 */
#include "cli_util.h"

#define COUNT 5000

static const char *bin;

static void one(const char *verify, bool expect_fail, bool lend)
{
	const char *rx_argv[] = { bin, "rx", "--engine", "udp", "--listen", "127.0.0.1:0",
				  "--once", "--verify", verify, "--chunk-order", "0",
				  "--buf-size", "2048", "--timeout", "60", "--json",
				  "--no-stats", lend ? "--lend" : NULL, NULL };
	char log[16384], out[16384], txout[4096], port_s[48];
	const char *tx_argv[] = { bin, "tx", "--udp", "--connect", port_s, "--count", "5000",
				  "--size", "300", "--pps", "20000", "--json", NULL };
	int err_fd, out_fd, tx_out, port, rc_rx, rc_tx;
	size_t olen;
	pid_t rx, tx;

	rx = t_spawn(rx_argv, NULL, &out_fd, &err_fd);
	port = t_rx_port(err_fd, log, sizeof(log), 20);
	REQUIRE(port > 0);
	snprintf(port_s, sizeof(port_s), "127.0.0.1:%d", port);
	tx = t_spawn(tx_argv, NULL, &tx_out, NULL);
	rc_tx = t_wait(tx, 60);
	rc_rx = t_wait(rx, 60);
	olen = t_read_into(out_fd, out, sizeof(out), 0, 2);
	t_read_into(err_fd, log, sizeof(log), strlen(log), 2);
	t_read_into(tx_out, txout, sizeof(txout), 0, 2);
	close(out_fd);
	close(err_fd);
	close(tx_out);
	printf("rx --engine udp --verify %s%s (%s): rx %d, tx %d\n%s%s", verify,
	       lend ? " --lend" : "", getenv("NM_UDP_RECVMMSG") ? "recvmmsg" : "uring", rc_rx,
	       rc_tx, out, txout);
	CHECK_EQ(rc_tx, 0);
	CHECK_EQ(t_json_u(txout, "pkts"), COUNT);
	if (expect_fail) {
		CHECK_EQ(rc_rx, 1);
		CHECK(strstr(log, "differs at byte 8") != NULL);
		CHECK(strstr(out, "\"verify_ok\":false") != NULL);
		return;
	}
	CHECK_EQ(rc_rx, 0);
	CHECK(olen > 0 && out[0] == '{' && out[olen - 2] == '}');
	CHECK(strstr(out, "\"engine\":\"udp\"") != NULL);
	CHECK(strstr(out, "\"verify_ok\":true") != NULL);
	/* nothing lost without the kernel's counter saying so */
	CHECK_EQ(t_json_u(out, "pkts") + t_json_u(out, "udp_drops"), COUNT);
	CHECK_EQ(t_json_u(out, "drops"), t_json_u(out, "udp_drops"));
	CHECK_EQ(t_json_u(out, "udp_truncated"), 0);
	CHECK(t_json_u(out, "lost") <= t_json_u(out, "udp_drops"));
	CHECK_EQ(t_json_u(out, "bytes"), t_json_u(out, "pkts") * 300);
	CHECK(t_json_u(out, "pkts") > 0);
	CHECK(t_json_u(out, "pps") > 0 && t_json_u(out, "pps") != ~0ull);
	CHECK(strstr(out, "\"cpu_ns_per_pkt\":") != NULL);
	CHECK_EQ(t_json_u(out, "conn_errors"), 0);
	/* with --lend rx puts nothing: the engine's take-back recycled (a
	 * chunk is two 2 KiB buffers, recycled with its last; some are still
	 * out at the end) */
	if (lend)
		CHECK(t_json_u(out, "recycle_cached") >= t_json_u(out, "pkts") / 4 &&
		      t_json_u(out, "recycle_cached") != ~0ull);
	if (rc_rx)
		fprintf(stderr, "rx said:\n%s\n", log);
}

static int run_rc(const char *const argv[])
{
	int err;
	pid_t p = t_spawn(argv, NULL, NULL, &err);
	int rc = t_wait(p, 20);

	close(err);
	return rc;
}

int main(void)
{
	bin = t_netmem();
	for (int mmsg = 0; mmsg < 2; mmsg++) {
		if (mmsg)
			setenv("NM_UDP_RECVMMSG", "1", 1);
		one("seq", false, false);
		one("random:1", true, false);
		one("seq", false, true);
	}
	{
		const char *a[] = { bin, "tx", "--udp", "-c", "127.0.0.1", "--size", "7", NULL };
		const char *b[] = { bin, "tx", "--udp", "--connect", "127.0.0.1:9", "--bytes", "1M", NULL };
		const char *c[] = { bin, "tx", "-c", "127.0.0.1", "--pps", "10", NULL };
		const char *d[] = { bin, "tx", "--udp", "--connect", "127.0.0.1:9", NULL };
		const char *e[] = { bin, "rx", "--engine", "udp", "--listen", "127.0.0.1:0",
				    "--split", NULL };

		CHECK_EQ(run_rc(a), 2);
		CHECK_EQ(run_rc(b), 2);
		CHECK_EQ(run_rc(c), 2);
		CHECK_EQ(run_rc(d), 2);	/* neither --count nor -t */
		CHECK_EQ(run_rc(e), 2);
	}
	t_kill_children();
	return nm_test_failures ? 1 : 0;
}

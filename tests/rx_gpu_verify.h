/* SPDX-License-Identifier: MIT */
/*
 * rx_gpu_verify.h - the scenario test_gpu_rx_split (a real GPU) and
 * test_cuda_mock_rx (the stand-in driver) share: `netmem tx --framed` into
 * `netmem rx --split --provider cuda --verify`, where the payload lands in
 * GPU memory the CPU cannot read and every byte of it is compared with the
 * pattern by a kernel.  rx must report a clean verify, and the GPU's count
 * of the bytes it compared must equal the payload bytes received: not one
 * unchecked.  Then the check must bite: a stream in another pattern fails
 * it, with the offset of the first wrong byte.
 */
#ifndef NM_TEST_RX_GPU_VERIFY_H
#define NM_TEST_RX_GPU_VERIFY_H
#include "cli_util.h"

/*
 * One rx/tx pair: @conns connections of @bytes each, frames of @msg
 * (MIN:MAX) bytes, tx pattern @tx_pat, rx --verify @verify.  Return 0,
 * or 1 when the engine cannot run here (said on stdout, not a failure).
 */
static int t_rx_gpu_one(const char *bin, const char *engine, unsigned long long bytes,
			int conns, const char *msg, const char *tx_pat, const char *verify,
			bool expect_fail)
{
	char bytes_s[32], conns_s[16], port_s[48], log[16384], out[16384];
	int err_fd, out_fd, tx_err, port, rc_rx, rc_tx;
	size_t olen;
	pid_t rx, tx;

	snprintf(conns_s, sizeof(conns_s), "%d", conns);
	snprintf(bytes_s, sizeof(bytes_s), "%llu", bytes);
	const char *rx_argv[] = { bin, "rx", "--listen", "127.0.0.1:0", "--engine", engine,
				  "--split", "--provider", "cuda", "--verify", verify, "--once",
				  "--expect", conns_s, "--timeout", "120", "--json", "--no-stats",
				  NULL };
	rx = t_spawn(rx_argv, NULL, &out_fd, &err_fd);
	port = t_rx_port(err_fd, log, sizeof(log), 30);
	if (port < 0) {
		t_wait(rx, 10);
		if (strstr(log, "netmem rx: engine ")) {
			printf("engine %s cannot run here: %s\n", engine, log);
			close(out_fd);
			close(err_fd);
			return 1;
		}
		REQUIRE(port > 0);
	}
	snprintf(port_s, sizeof(port_s), "127.0.0.1:%d", port);
	const char *tx_argv[] = { bin, "tx", "--connect", port_s, "--bytes", bytes_s,
				  "--conns", conns_s, "--msg-size", msg, "--pattern", tx_pat,
				  "--framed", "--wait", "10", "--quiet", NULL };
	tx = t_spawn(tx_argv, NULL, NULL, &tx_err);
	rc_tx = t_wait(tx, 120);
	rc_rx = t_wait(rx, 120);
	olen = t_read_into(out_fd, out, sizeof(out), 0, 2);
	t_read_into(err_fd, log, sizeof(log), strlen(log), 2);
	close(out_fd);
	close(err_fd);
	close(tx_err);
	printf("rx --engine %s --split --provider cuda --verify %s <- tx --pattern %s, "
	       "%d x %llu bytes, frames %s: rx %d, tx %d; GPU compared %llu bytes, %llu differ\n",
	       engine, verify, tx_pat, conns, bytes, msg, rc_rx, rc_tx,
	       t_json_u(out, "verify_gpu_bytes"), t_json_u(out, "verify_gpu_differ"));
	if (expect_fail) {
		CHECK_EQ(rc_rx, 1);
		CHECK(strstr(log, "differs at stream offset 0 ") != NULL);
		CHECK(strstr(out, "\"verify_ok\":false") != NULL);
		CHECK(t_json_u(out, "verify_gpu_differ") > 0);
		if (rc_rx != 1 || !strstr(log, "differs"))
			fprintf(stderr, "rx said:\n%s\n%s\n", log, out);
		return 0;
	}
	CHECK_EQ(rc_tx, 0);
	CHECK_EQ(rc_rx, 0);
	CHECK(olen > 0 && out[0] == '{');
	CHECK_EQ(t_json_u(out, "bytes"), conns * bytes);
	CHECK_EQ(t_json_u(out, "conns"), conns);
	CHECK_EQ(t_json_u(out, "conn_errors"), 0);
	CHECK(strstr(out, "\"verify_ok\":true") != NULL);
	/* every payload byte compared on the GPU, none differing */
	CHECK_EQ(t_json_u(out, "verify_gpu_bytes"), conns * bytes);
	CHECK_EQ(t_json_u(out, "verify_gpu_differ"), 0);
	CHECK_EQ(t_json_u(out, "put_errors"), 0);
	if (rc_rx || rc_tx || !strstr(out, "\"verify_ok\":true"))
		fprintf(stderr, "rx said:\n%s\n%s\n", log, out);
	return 0;
}

/* The scenario on both engines; @bytes per connection. */
static void t_rx_gpu_verify(unsigned long long bytes)
{
	static const char *const engines[] = { "socket", "uring" };
	const char *bin = t_netmem();
	int ran = 0;

	for (size_t i = 0; i < sizeof(engines) / sizeof(engines[0]); i++) {
		if (t_rx_gpu_one(bin, engines[i], bytes, 4, "1:300000", "seq", "seq", false))
			continue;
		ran++;
		t_rx_gpu_one(bin, engines[i], bytes / 3 + 1, 2, "100:70000", "random:99",
			     "random:99", false);
		t_rx_gpu_one(bin, engines[i], 1 << 20, 1, "65536", "seq", "random:1", true);
	}
	CHECK(ran > 0);
}
#endif

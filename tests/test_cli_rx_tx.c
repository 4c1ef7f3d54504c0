/* SPDX-License-Identifier: MIT */
/*
 * `netmem tx` into `netmem rx --once --verify`: 8 connections of a random
 * length each, random message sizes, both patterns, both engines, with and
 * without header/data split (tx --framed), one and two queues.  rx must
 * report every byte (8 x --bytes), every connection, and a clean verify.
 * And the check must bite: a stream in another pattern fails it, with the
 * offset of the first wrong byte.  The sizes come from a seed printed
 * first, so a failing run can be repeated (NM_TEST_SEED=...).
 */
#include "cli_util.h"

static const char *bin;

struct run {
	const char *engine;
	const char *tx_pat, *tx_seed; /* tx --pattern */
	const char *verify;           /* rx --verify */
	bool split;
	const char *queues;
	bool expect_fail;
};

static void one(const struct run *r, unsigned long long bytes, const char *msg)
{
	char bytes_s[32], log[16384], out[16384], port_s[48], txo[4096];
	const char *rx_argv[24], *tx_argv[24];
	int n = 0, m = 0, err_fd, out_fd, tx_err, tx_out, port, rc_rx, rc_tx;
	size_t olen, tlen;
	pid_t rx, tx;

	rx_argv[n++] = bin;
	rx_argv[n++] = "rx";
	rx_argv[n++] = "--listen";
	rx_argv[n++] = "127.0.0.1:0";
	rx_argv[n++] = "--engine";
	rx_argv[n++] = r->engine;
	rx_argv[n++] = "--once";
	rx_argv[n++] = "--expect";
	rx_argv[n++] = "8";
	rx_argv[n++] = "--verify";
	rx_argv[n++] = r->verify;
	rx_argv[n++] = "--timeout";
	rx_argv[n++] = "60";
	rx_argv[n++] = "--json";
	if (r->split)
		rx_argv[n++] = "--split";
	if (r->queues) {
		rx_argv[n++] = "--queues";
		rx_argv[n++] = r->queues;
	}
	rx_argv[n] = NULL;
	rx = t_spawn(rx_argv, NULL, &out_fd, &err_fd);
	port = t_rx_port(err_fd, log, sizeof(log), 20);
	REQUIRE(port > 0);

	snprintf(port_s, sizeof(port_s), "127.0.0.1:%d", port);
	snprintf(bytes_s, sizeof(bytes_s), "%llu", bytes);
	tx_argv[m++] = bin;
	tx_argv[m++] = "tx";
	tx_argv[m++] = "--connect";
	tx_argv[m++] = port_s;
	tx_argv[m++] = "--bytes";
	tx_argv[m++] = bytes_s;
	tx_argv[m++] = "--conns";
	tx_argv[m++] = "8";
	tx_argv[m++] = "--msg-size";
	tx_argv[m++] = msg;
	tx_argv[m++] = "--pattern";
	tx_argv[m++] = r->tx_pat;
	if (r->tx_seed)
		tx_argv[m++] = r->tx_seed;
	tx_argv[m++] = "--wait";
	tx_argv[m++] = "10";
	if (r->split)
		tx_argv[m++] = "--framed";
	tx_argv[m++] = "--json";
	tx_argv[m] = NULL;
	tx = t_spawn(tx_argv, NULL, &tx_out, &tx_err);

	rc_tx = t_wait(tx, 60);
	rc_rx = t_wait(rx, 60);
	tlen = t_read_into(tx_out, txo, sizeof(txo) - 1, 0, 2);
	txo[tlen] = 0;
	close(tx_out);
	olen = t_read_into(out_fd, out, sizeof(out), 0, 2);
	t_read_into(err_fd, log, sizeof(log), strlen(log), 2);
	close(out_fd);
	close(err_fd);
	close(tx_err);
	printf("rx --engine %s%s%s%s --verify %s <- tx %s%s%s, 8 x %llu bytes, msg %s: rx %d, tx %d\n",
	       r->engine, r->split ? " --split" : "", r->queues ? " --queues " : "",
	       r->queues ? r->queues : "", r->verify, r->tx_pat, r->tx_seed ? " " : "",
	       r->tx_seed ? r->tx_seed : "", bytes, msg, rc_rx, rc_tx);

	if (r->expect_fail) {
		/* the sender may see its peer go away; the receiver must fail */
		CHECK_EQ(rc_rx, 1);
		CHECK(strstr(log, "differs at stream offset 0") != NULL);
		CHECK(strstr(out, "\"verify_ok\":false") != NULL);
		if (rc_rx != 1 || !strstr(log, "differs"))
			fprintf(stderr, "rx said:\n%s\n%s\n", log, out);
		return;
	}
	CHECK_EQ(rc_tx, 0);
	CHECK_EQ(rc_rx, 0);
	CHECK(olen > 0 && out[0] == '{' && out[olen - 2] == '}');
	CHECK_EQ(t_json_u(out, "bytes"), 8 * bytes);
	CHECK_EQ(t_json_u(out, "conns"), 8);
	CHECK_EQ(t_json_u(out, "conn_errors"), 0);
	CHECK(strstr(out, "\"verify_ok\":true") != NULL);
	/* the CPU figure says its clock: perf's task clock, or getrusage
	 * where perf events are not allowed */
	CHECK(strstr(out, "\"cpu_clock\":\"task\"") ||
	      strstr(out, "\"cpu_clock\":\"getrusage\""));
	/* and so does the sender's, in its summary line */
	{
		const char *t = strstr(txo, "{\"cmd\":\"tx\"");

		CHECK(t != NULL);
		if (t) {
			CHECK_EQ(t_json_u(t, "bytes"), 8 * bytes);
			CHECK(strstr(t, "\"cpu_clock\":\"task\"") ||
			      strstr(t, "\"cpu_clock\":\"getrusage\""));
			CHECK(strstr(t, "\"cpu_s_getrusage\":") && strstr(t, "\"cpu_s\":"));
		} else {
			fprintf(stderr, "tx printed:\n%s\n", txo);
		}
	}
	/* one "verify" key, the pattern's name (a second, null, would win
	 * in most JSON readers) */
	{
		const char *v = strstr(out, "\"verify\":");

		CHECK(v && v[9] == '"' && !strstr(v + 1, "\"verify\":"));
	}
	if (r->split) {
		CHECK(t_json_u(out, "frames") > 0);
		CHECK_EQ(t_json_u(out, "hdr_bytes"), 4 * t_json_u(out, "frames"));
	}
	if (rc_rx || rc_tx || !strstr(out, "\"verify_ok\":true"))
		fprintf(stderr, "rx said:\n%s\n%s\n", log, out);
}

int main(void)
{
	static const struct run runs[] = {
		{ "uring", "random", "4242", "random:4242", false, NULL, false },
		{ "socket", "seq", NULL, "seq", false, NULL, false },
		{ "uring", "seq", NULL, "seq", true, NULL, false },
		{ "socket", "random:7", NULL, "random:7", true, NULL, false },
		{ "uring", "seq", NULL, "seq", false, "2", false },
		{ "uring", "seq", NULL, "random:1", false, NULL, true },
	};
	const char *env = getenv("NM_TEST_SEED");
	unsigned int seed = env ? (unsigned int)strtoul(env, NULL, 0) : (unsigned int)time(NULL);

	bin = t_netmem();
	printf("seed %u\n", seed);
	srand(seed);
	for (size_t i = 0; i < sizeof(runs) / sizeof(runs[0]); i++) {
		/* 1 byte to 6 MiB per connection; message sizes from 1 byte
		 * up to past a buffer, so frames and writes straddle buffers */
		unsigned long long bytes = 1 + (unsigned long long)rand() % (6u << 20);
		unsigned int lo = 1 + rand() % 4096, hi = lo + rand() % (200u << 10);
		char msg[48];

		if (i == 0)
			bytes = 1;      /* the shortest stream there is */
		snprintf(msg, sizeof(msg), "%u:%u", lo, hi);
		one(&runs[i], bytes, msg);
	}
	return t_done();
}

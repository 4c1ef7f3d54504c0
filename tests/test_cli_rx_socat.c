/* SPDX-License-Identifier: MIT */
/*
 * `netmem rx --once --out FILE` writes exactly the bytes a foreign sender
 * sent: a pseudo-random file goes over loopback with socat and with nc,
 * into each engine, and the two files must match byte for byte.  An empty
 * stream gives an empty file.  Skips when neither socat nor nc is there.
 */
#include "cli_util.h"

static const char *bin;
static bool nc_has_N;

/* Send @file to `netmem rx --engine @engine` with @sender; compare. */
static void one(const char *engine, const char *sender, const char *file, const char *dir)
{
	char out[256], port_s[16], log[8192], dest[64];
	const char *rx_argv[] = { bin, "rx", "--listen", "127.0.0.1:0", "--engine", engine,
				  "--once", "--out", out, "--timeout", "60", NULL };
	unsigned char *a, *b;
	size_t alen, blen;
	int err_fd, port, rc_tx, rc_rx;
	pid_t rx, tx;

	snprintf(out, sizeof(out), "%s/out-%s-%s", dir, engine, sender);
	rx = t_spawn(rx_argv, NULL, NULL, &err_fd);
	port = t_rx_port(err_fd, log, sizeof(log), 20);
	REQUIRE(port > 0);
	snprintf(port_s, sizeof(port_s), "%d", port);
	snprintf(dest, sizeof(dest), "TCP:127.0.0.1:%d", port);
	if (!strcmp(sender, "socat")) {
		const char *argv[] = { "socat", "-u", "STDIN", dest, NULL };
		tx = t_spawn(argv, file, NULL, NULL);
	} else {
		/* OpenBSD nc: -N shuts the socket down at EOF; others: -q 0 */
		const char *argv[] = { "nc", nc_has_N ? "-N" : "-q", "127.0.0.1", port_s, NULL };
		const char *argq[] = { "nc", "-q", "0", "127.0.0.1", port_s, NULL };
		tx = t_spawn(nc_has_N ? argv : argq, file, NULL, NULL);
	}
	rc_tx = t_wait(tx, 60);
	rc_rx = t_wait(rx, 60);
	t_read_into(err_fd, log, sizeof(log), strlen(log), 1);
	close(err_fd);
	if (rc_tx || rc_rx)
		fprintf(stderr, "%s -> rx --engine %s: sender exit %d, rx exit %d; rx said:\n%s\n",
			sender, engine, rc_tx, rc_rx, log);
	CHECK_EQ(rc_tx, 0);
	CHECK_EQ(rc_rx, 0);
	a = t_slurp(file, &alen);
	b = t_slurp(out, &blen);
	REQUIRE(a);
	CHECK(b != NULL);
	if (b) {
		CHECK_EQ(blen, alen);
		if (blen == alen && memcmp(a, b, alen)) {
			size_t i = 0;
			while (a[i] == b[i])
				i++;
			fprintf(stderr, "%s -> %s: files differ at byte %zu\n", sender, engine, i);
			CHECK(0);
		}
	}
	printf("%-6s -> rx --engine %-6s: %zu bytes %s\n", sender, engine, alen,
	       b && blen == alen && !memcmp(a, b, alen) ? "identical" : "DIFFER");
	free(a);
	free(b);
}

int main(void)
{
	static const char *const engines[] = { "uring", "socket" };
	const char *dir;
	char big[256], odd[256], empty[256];
	bool socat, nc;

	bin = t_netmem();
	socat = t_have("socat");
	nc = t_have("nc");
	if (!socat && !nc)
		SKIP("neither socat nor nc is installed (apt-get install socat netcat-openbsd)");
	if (nc) {
		FILE *p = popen("nc -h 2>&1", "r");
		char line[256];

		while (p && fgets(line, sizeof(line), p))
			if (strstr(line, "-N"))
				nc_has_N = true;
		if (p)
			pclose(p);
	}
	dir = t_mktmpdir();
	snprintf(big, sizeof(big), "%s/big", dir);
	snprintf(odd, sizeof(odd), "%s/odd", dir);
	snprintf(empty, sizeof(empty), "%s/empty", dir);
	/* bigger than the pool's ring of 64 KiB buffers, so they recycle;
	 * an odd size so the last buffer is partial */
	t_random_file(big, (48u << 20) + 12345, 1);
	t_random_file(odd, 77777, 2);
	t_random_file(empty, 0, 3);

	for (size_t e = 0; e < 2; e++) {
		if (socat) {
			one(engines[e], "socat", big, dir);
			one(engines[e], "socat", empty, dir);
		}
		if (nc)
			one(engines[e], "nc", odd, dir);
	}
	if (!socat)
		printf("note: socat not installed, only nc was used\n");
	if (!nc)
		printf("note: nc not installed, only socat was used\n");
	return t_done();
}

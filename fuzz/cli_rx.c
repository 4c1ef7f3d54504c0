/* SPDX-License-Identifier: MIT */
/*
 * cli_rx.c - `netmem rx`'s parse step for the argument fuzzer: the
 * command's own file, compiled in here, so its static parse_args() and
 * listen_addr() are the ones fuzzed.  fz_rx_parse() does what cmd_rx()
 * does before any I/O, and returns what it would exit with then (2 for
 * bad arguments) or 0.
 */
#include "../tools/rx.c"

int fz_rx_parse(int argc, char **argv);
int fz_rx_parse(int argc, char **argv)
{
	struct rx_cfg cfg = { .provider = "host", .queues = 1, .order = 4, .interval = -1 };
	char host[INET6_ADDRSTRLEN];
	int port;

	if (parse_args(argc, argv, &cfg) || listen_addr(cfg.listen, host, sizeof(host), &port))
		return 2;
	return 0;
}

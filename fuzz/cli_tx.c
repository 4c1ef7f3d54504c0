/* SPDX-License-Identifier: MIT */
/*
 * cli_tx.c - `netmem tx`'s parse step for the argument fuzzer, as
 * cli_rx.c does it for rx: the command's file compiled in, and what
 * cmd_tx() does before any I/O.
 */
#include "../tools/tx.c"

int fz_tx_parse(int argc, char **argv);
int fz_tx_parse(int argc, char **argv)
{
	struct tx_cfg cfg = { .msg_min = 64 << 10, .msg_max = 64 << 10, .conns = 1 };
	struct sockaddr_storage ss;
	socklen_t sslen;
	char err[160];

	if (parse_args(argc, argv, &cfg))
		return 2;
	if (nm_parse_hostport(cfg.connect, false, &ss, &sslen, err, sizeof(err)))
		return 2;
	return 0;
}

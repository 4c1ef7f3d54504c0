/* SPDX-License-Identifier: MIT */
/*
 * netmem.c - the netmem command: a front door to the subcommands.  Each
 * subcommand lives in a file of its own; one that was not built into this
 * binary says so instead of failing obscurely.
 */
#include <stdio.h>
#include <string.h>
#include <netmem/netmem.h>
#include <netmem/provider.h>
#include "cmds.h"
#include "opts.h"

#pragma weak cmd_rx
#pragma weak cmd_tx
#pragma weak cmd_probe
#pragma weak cmd_stat
#pragma weak nm_cmd_rx
#pragma weak nm_cmd_tx
#pragma weak nm_cmd_stat
#pragma weak cmd_bench_pool
#pragma weak cmd_bench_rx
#pragma weak cmd_bench_gpu
#pragma weak cmd_bench_pkt
#pragma weak cmd_soak

typedef int (*cmd_fn)(int, char **);

/* A subcommand with an option table: its synopsis and summary from there. */
static void usage_cmd(FILE *f, const struct nm_cmd *c)
{
	if (c)
		fprintf(f, "  %s %s\n      %s\n", c->name, c->synopsis, c->summary);
}

static int usage(FILE *f)
{
	fprintf(f, "usage: netmem COMMAND [ARGS]   (netmem COMMAND --help for its options)\n");
	usage_cmd(f, &nm_cmd_rx);
	usage_cmd(f, &nm_cmd_tx);
	usage_cmd(f, &nm_cmd_stat);
	fprintf(f,
		"  probe [--json]            which receive features this host has, and why not\n"
		"  bench pool|rx|gpu|pkt [--json]  benchmarks with baselines from the same run\n"
		"  soak [--seconds S] [--conns N] [--json]   long loopback run with resets and revocations\n"
		"  providers                 list memory providers\n"
		"  version | --version\n");
	return f == stderr ? 2 : 0;
}

static int run(cmd_fn fn, const char *name, int argc, char **argv)
{
	if (!fn) {
		fprintf(stderr, "netmem: '%s' is not built into this binary\n", name);
		return 2;
	}
	return fn(argc, argv);
}

int main(int argc, char **argv)
{
	const char *cmd = argc > 1 ? argv[1] : NULL;

	if (!cmd)
		return usage(stderr);
	if (!strcmp(cmd, "-h") || !strcmp(cmd, "--help") || !strcmp(cmd, "help"))
		return usage(stdout);
	if (!strcmp(cmd, "version") || !strcmp(cmd, "--version")) {
		printf("netmem %s\n", nm_version());
		return 0;
	}
	if (!strcmp(cmd, "providers")) {
		const char *names[32];
		int n = nm_provider_list(names, 32);
		for (int i = 0; i < n && i < 32; i++)
			printf("%s\n", names[i]);
		return 0;
	}
	if (!strcmp(cmd, "rx"))
		return run(cmd_rx, cmd, argc - 1, argv + 1);
	if (!strcmp(cmd, "tx"))
		return run(cmd_tx, cmd, argc - 1, argv + 1);
	if (!strcmp(cmd, "soak"))
		return run(cmd_soak, cmd, argc - 1, argv + 1);
	if (!strcmp(cmd, "stat"))
		return run(cmd_stat, cmd, argc - 1, argv + 1);
	if (!strcmp(cmd, "probe"))
		return run(cmd_probe, cmd, argc - 1, argv + 1);
	if (!strcmp(cmd, "bench")) {
		const char *what = argc > 2 ? argv[2] : "";
		if (!strcmp(what, "pool"))
			return run(cmd_bench_pool, "bench pool", argc - 2, argv + 2);
		if (!strcmp(what, "rx"))
			return run(cmd_bench_rx, "bench rx", argc - 2, argv + 2);
		if (!strcmp(what, "gpu"))
			return run(cmd_bench_gpu, "bench gpu", argc - 2, argv + 2);
		if (!strcmp(what, "pkt"))
			return run(cmd_bench_pkt, "bench pkt", argc - 2, argv + 2);
		fprintf(stderr, "netmem bench: expected pool, rx, gpu or pkt\n");
		return 2;
	}
	fprintf(stderr, "netmem: unknown command '%s'\n", cmd);
	return usage(stderr);
}

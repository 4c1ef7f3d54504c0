/* SPDX-License-Identifier: MIT */
/*
 * opts.h - the netmem command's options as tables.  Each subcommand
 * describes its options once, in a `struct nm_cmd`; the same table parses
 * argv and prints the usage, so the help text cannot drift from what is
 * accepted (xdp-tools' lib/util/params.c works the same way).  The top
 * level `netmem --help` prints each subcommand's summary from its table,
 * and tests/test_cli_usage.c checks docs/cli.md against the tables.
 *
 * Options: `--long VALUE`, `--long=VALUE`, `-s VALUE`, `-sVALUE`; flags
 * take no value.  Errors are printed as "netmem CMD: ..." and parsing
 * stops with -EINVAL (the caller exits 2).
 */
#ifndef NM_TOOLS_OPTS_H
#define NM_TOOLS_OPTS_H
#include <stdio.h>

struct nm_opt {
	int id;              /* what nm_opt_parse returns; 0 ends the table */
	char shrt;           /* 's' for -s, or 0 */
	const char *lng;     /* "--listen", or NULL */
	const char *arg;     /* the value's name ("HOST:PORT"); NULL: a flag */
	const char *help;    /* one line; '\n' starts a continuation line */
	const char *alias;   /* a second spelling ("-q"), or NULL */
};

struct nm_cmd {
	const char *name;        /* "rx" */
	const char *synopsis;    /* after "netmem rx ": the required part */
	const char *summary;     /* what the command does, one line */
	const char *positional;  /* e.g. "[PID|SOCKET]"; NULL: none taken */
	const struct nm_opt *opts;
	const char *footer;      /* printed after the options, or NULL */
};

/* One table entry; the alias, where there is one, set after it. */
#define NM_OPT(ID, SHORT, LONG, ARG, HELP) \
	{ .id = (ID), .shrt = (SHORT), .lng = (LONG), .arg = (ARG), .help = (HELP) }

#define NM_OPT_POSITIONAL (-1)

/*
 * nm_opt_parse - one step over argv[*i] (start with *i = 1; loop while
 * *i < argc, then ++*i).  Return: the option's id with *val its value
 * (NULL for a flag), NM_OPT_POSITIONAL with *val the argument (only where
 * @cmd takes one), or -EINVAL after printing what was wrong.
 */
int nm_opt_parse(const struct nm_cmd *cmd, int argc, char **argv, int *i,
		 const char **val);

/* The usage: synopsis, summary, one line per option (and its help). */
void nm_opt_usage(const struct nm_cmd *cmd, FILE *f);

/* How an option is spelt in messages: "--listen" or "-s". */
const char *nm_opt_name(const struct nm_cmd *cmd, int id);

/* The tables, one per subcommand, in their command's file. */
extern const struct nm_cmd nm_cmd_rx, nm_cmd_tx, nm_cmd_stat;
#endif

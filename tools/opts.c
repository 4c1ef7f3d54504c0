/* SPDX-License-Identifier: MIT */
/*
 * opts.c - parse argv against a subcommand's option table and print its
 * usage from the same table; see opts.h.
 */
#include <errno.h>
#include <string.h>
#include "opts.h"

static const struct nm_opt *find_long(const struct nm_cmd *cmd, const char *a, size_t len)
{
	for (const struct nm_opt *o = cmd->opts; o->id; o++) {
		if (o->lng && strlen(o->lng) == len && !strncmp(o->lng, a, len))
			return o;
		if (o->alias && strlen(o->alias) == len && !strncmp(o->alias, a, len))
			return o;
	}
	return NULL;
}

static const struct nm_opt *find_short(const struct nm_cmd *cmd, char c)
{
	for (const struct nm_opt *o = cmd->opts; o->id; o++)
		if (o->shrt && o->shrt == c)
			return o;
	return NULL;
}

int nm_opt_parse(const struct nm_cmd *cmd, int argc, char **argv, int *i,
		 const char **val)
{
	const char *a = argv[*i], *eq = NULL, *inl = NULL;
	const struct nm_opt *o = NULL;

	*val = NULL;
	if (a[0] != '-' || !a[1] || !strcmp(a, "--")) {
		if (cmd->positional) {
			*val = a;
			return NM_OPT_POSITIONAL;
		}
		fprintf(stderr, "netmem %s: unexpected argument '%s'\n", cmd->name, a);
		return -EINVAL;
	}
	if (a[1] == '-') {
		eq = strchr(a, '=');
		o = find_long(cmd, a, eq ? (size_t)(eq - a) : strlen(a));
	} else {
		o = find_long(cmd, a, strlen(a));	/* an alias such as "-q" */
		if (!o && (o = find_short(cmd, a[1])) && a[2])
			inl = a + 2;
	}
	if (!o) {
		fprintf(stderr, "netmem %s: unknown option '%.*s'\n", cmd->name,
			eq ? (int)(eq - a) : (int)strlen(a), a);
		return -EINVAL;
	}
	if (!o->arg) {
		if (eq || inl) {
			fprintf(stderr, "netmem %s: %s takes no value\n", cmd->name, nm_opt_name(cmd, o->id));
			return -EINVAL;
		}
		return o->id;
	}
	if (eq || inl) {
		*val = eq ? eq + 1 : inl;
		return o->id;
	}
	if (*i + 1 >= argc) {
		fprintf(stderr, "netmem %s: %s needs a value\n", cmd->name, a);
		return -EINVAL;
	}
	*val = argv[++*i];
	return o->id;
}

const char *nm_opt_name(const struct nm_cmd *cmd, int id)
{
	static char buf[4];

	for (const struct nm_opt *o = cmd->opts; o->id; o++) {
		if (o->id != id)
			continue;
		if (o->lng)
			return o->lng;
		buf[0] = '-';
		buf[1] = o->shrt;
		buf[2] = 0;
		return buf;
	}
	return "?";
}

/* "-s, --server", "    --listen HOST:PORT", "-A CPUS": the option column. */
static int opt_label(const struct nm_opt *o, char *buf, size_t len)
{
	char sh[8] = "    ";

	if (o->shrt)
		snprintf(sh, sizeof(sh), "-%c%s", o->shrt, o->lng ? ", " : "");
	return snprintf(buf, len, "%s%s%s%s%s%s", sh, o->lng ? o->lng : "",
			o->alias ? ", " : "", o->alias ? o->alias : "",
			o->arg ? " " : "", o->arg ? o->arg : "");
}

void nm_opt_usage(const struct nm_cmd *cmd, FILE *f)
{
	int width = 0;
	char lab[96];

	fprintf(f, "usage: netmem %s %s\n", cmd->name, cmd->synopsis);
	fprintf(f, "%s\n", cmd->summary);
	for (const struct nm_opt *o = cmd->opts; o->id; o++) {
		int n = opt_label(o, lab, sizeof(lab));
		if (n > width && n <= 28)
			width = n;
	}
	for (const struct nm_opt *o = cmd->opts; o->id; o++) {
		const char *h = o->help, *nl;
		int n = opt_label(o, lab, sizeof(lab));

		if (n > width)
			fprintf(f, "  %s\n  %*s", lab, width, "");
		else
			fprintf(f, "  %-*s", width, lab);
		while ((nl = strchr(h, '\n'))) {
			fprintf(f, "  %.*s\n  %*s", (int)(nl - h), h, width, "");
			h = nl + 1;
		}
		fprintf(f, "  %s\n", h);
	}
	if (cmd->footer)
		fprintf(f, "%s", cmd->footer);
}

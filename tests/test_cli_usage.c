/* SPDX-License-Identifier: MIT */
/*
 * The usage lives in one place: each subcommand's option table
 * (tools/opts.h).  This checks the docs against it: docs/cli.md holds
 * exactly what `netmem rx|tx|stat --help` prints, and every option of
 * every table (long and short spelling) has a row in its tables; and
 * `netmem --help` names every subcommand from the tables.
 */
#include "cli_util.h"

/* `netmem @cmd --help` into @out; its exit status. */
static int help_of(const char *bin, const char *cmd, char *out, size_t cap)
{
	const char *argv[] = { bin, cmd, "--help", NULL };
	int fd, rc;
	pid_t pid = t_spawn(argv, NULL, &fd, NULL);

	t_read_into(fd, out, cap, 0, 15);
	rc = t_wait(pid, 15);
	close(fd);
	return rc;
}

/* Every "-x" and "--long" at the start of an option line of @help must
 * appear in @doc as "`-x" / "`--long". */
static void options_documented(const char *cmd, const char *help, const char *doc)
{
	int seen = 0;

	for (const char *l = help; (l = strchr(l, '\n')); ) {
		const char *p = ++l;
		char tok[64], want[80];

		if (strncmp(p, "  -", 3) && strncmp(p, "      --", 8))
			continue;
		/* "  -s, --server", "      --listen HOST:PORT", "  -q, --quiet" */
		while (*p == ' ')
			p++;
		while (*p == '-') {
			size_t n = strcspn(p, ", \n");
			snprintf(tok, sizeof(tok), "%.*s", (int)n, p);
			snprintf(want, sizeof(want), "`%s", tok);
			if (!strstr(doc, want)) {
				fprintf(stderr, "docs/cli.md: netmem %s's %s has no row\n", cmd, tok);
				nm_test_failures++;
			}
			seen++;
			p += n;
			if (*p == ',')
				p++;
			while (*p == ' ')
				p++;
		}
	}
	CHECK(seen >= 3);
}

int main(void)
{
	static char help[16384], top[8192];
	char path[PATH_MAX];
	const char *bin = t_netmem();
	size_t len;
	char *doc;

	snprintf(path, sizeof(path), "%s", __FILE__);
	snprintf(strrchr(path, '/') ? strrchr(path, '/') : path, 64, "/../docs/cli.md");
	doc = (char *)t_slurp(path, &len);
	if (!doc)
		SKIP("docs/cli.md not found beside the test's source (%s)", path);
	doc = realloc(doc, len + 1);
	doc[len] = 0;

	static const char *const cmds[] = { "rx", "tx", "stat" };
	CHECK_EQ(help_of(bin, "--help", top, sizeof(top)), 0);
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		char line[32];

		CHECK_EQ(help_of(bin, cmds[i], help, sizeof(help)), 0);
		CHECK(!strncmp(help, "usage: netmem ", 14));
		if (!strstr(doc, help)) {
			fprintf(stderr, "docs/cli.md lacks `netmem %s --help` as it prints:\n%s\n",
				cmds[i], help);
			nm_test_failures++;
		}
		options_documented(cmds[i], help, doc);
		snprintf(line, sizeof(line), "\n  %s ", cmds[i]);
		CHECK(strstr(top, line) != NULL);
	}
	free(doc);
	return t_done();
}

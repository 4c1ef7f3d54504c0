/* SPDX-License-Identifier: MIT */
/*
 * `netmem bench pool --quick --json` speaks the benchmarks' JSON: every
 * line is exactly {"bench":"B","impl":"I","metric":"M","value":N}, and every
 * figure the matrix promises is there with a positive value.  Not a timing
 * test: how fast anything is does not matter here.  The DPDK figures are
 * required unless the command said on stderr why DPDK was skipped; the
 * held_1M ones unless it said why it skipped that K (a machine with less
 * memory than its 4 GiB host area).
 */
#include "harness.h"
#include <ctype.h>
#include <limits.h>
#include <libgen.h>
#include <math.h>
#include <sys/wait.h>
#include <unistd.h>

struct line {
	char bench[64], impl[64], metric[64];
	double value;
};

/* A string of [A-Za-z0-9_/.-] in quotes; return the end or NULL. */
static const char *parse_str(const char *s, char *out, size_t sz)
{
	size_t n = 0;

	if (*s++ != '"')
		return NULL;
	while (*s && *s != '"') {
		if (!isalnum((unsigned char)*s) && !strchr("_/.-", *s))
			return NULL;
		if (n + 1 >= sz)
			return NULL;
		out[n++] = *s++;
	}
	if (*s != '"' || !n)
		return NULL;
	out[n] = 0;
	return s + 1;
}

static const char *expect(const char *s, const char *lit)
{
	size_t n = strlen(lit);

	return s && !strncmp(s, lit, n) ? s + n : NULL;
}

static int parse_line(const char *s, struct line *l)
{
	char *end;

	s = expect(s, "{\"bench\":");
	s = s ? parse_str(s, l->bench, sizeof(l->bench)) : NULL;
	s = expect(s, ",\"impl\":");
	s = s ? parse_str(s, l->impl, sizeof(l->impl)) : NULL;
	s = expect(s, ",\"metric\":");
	s = s ? parse_str(s, l->metric, sizeof(l->metric)) : NULL;
	s = expect(s, ",\"value\":");
	if (!s || !(*s == '-' || isdigit((unsigned char)*s)))
		return -1;
	l->value = strtod(s, &end);
	if (end == s || !isfinite(l->value))
		return -1;
	s = expect(end, "}");
	return s && (*s == 0 || !strcmp(s, "\n")) ? 0 : -1;
}

static const struct {
	const char *bench, *impl, *metric;
	bool dpdk;
	bool held_1M;	/* missing when the bench said why it skipped held_1M:
			 * its 4 GiB area is refused on a machine with less
			 * memory (a 2 GiB VM) */
} required[] = {
	{ "baseline_empty_loop", "baseline", "ns_per_op", false, false },
	{ "baseline_atomic_relaxed", "baseline", "ns_per_op", false, false },
	{ "baseline_atomic_locked", "baseline", "ns_per_op", false, false },
	{ "alloc_put", "netmem", "ns_per_op", false, false },
	{ "alloc_put", "malloc", "ns_per_op", false, false },
	{ "alloc_put", "dpdk", "ns_per_op", true, false },
	{ "alloc_put_bulk32", "netmem", "ns_per_op", false, false },
	{ "alloc_put_bulk32", "malloc", "ns_per_op", false, false },
	{ "alloc_put_bulk32", "dpdk", "ns_per_op", true, false },
	{ "xthread_bulk32", "netmem", "ops_per_s", false, false },
	{ "xthread_bulk32", "malloc", "ops_per_s", false, false },
	{ "xthread_bulk32", "dpdk", "ops_per_s", true, false },
	{ "held_1K", "netmem", "ns_per_op", false, false },
	{ "held_1K", "floor", "ns_per_op", false, false },
	{ "held_1K", "dpdk", "ns_per_op", true, false },
	{ "held_1M", "netmem", "ns_per_op", false, true },
	{ "held_1M", "floor", "ns_per_op", false, true },
	{ "held_1M", "dpdk", "ns_per_op", true, true },
	{ "held_1M_ratio", "netmem/floor", "ratio", false, true },
	{ "held_growth", "netmem", "ratio", false, true },
};
#define NR_REQUIRED (sizeof(required) / sizeof(required[0]))

int main(int argc, char **argv)
{
	char self[PATH_MAX], bin[PATH_MAX + 16], cmd[2 * PATH_MAX + 64];
	char errpath[] = "/tmp/nm_bench_json_XXXXXX";
	char buf[512];
	bool seen[NR_REQUIRED] = { false }, dpdk_skipped = false, held_1M_skipped = false;
	int nlines = 0, status, fd;
	ssize_t len;
	FILE *f;

	len = readlink("/proc/self/exe", self, sizeof(self) - 1);
	REQUIRE(len > 0);
	self[len] = 0;
	snprintf(bin, sizeof(bin), "%s/../netmem", dirname(self));
	if (access(bin, X_OK))
		SKIP("no netmem command at %s", bin);

	fd = mkstemp(errpath);
	REQUIRE(fd >= 0);
	close(fd);
	snprintf(cmd, sizeof(cmd), "'%s' bench pool --quick --json 2>'%s'", bin, errpath);
	f = popen(cmd, "r");
	REQUIRE(f);
	while (fgets(buf, sizeof(buf), f)) {
		struct line l;

		nlines++;
		if (parse_line(buf, &l)) {
			fprintf(stderr, "not the JSON shape: %s", buf);
			nm_test_failures++;
			continue;
		}
		for (size_t i = 0; i < NR_REQUIRED; i++) {
			if (strcmp(l.bench, required[i].bench) ||
			    strcmp(l.impl, required[i].impl) ||
			    strcmp(l.metric, required[i].metric))
				continue;
			if (seen[i]) {
				fprintf(stderr, "twice: %s", buf);
				nm_test_failures++;
			}
			seen[i] = true;
			if (!(l.value > 0)) {
				fprintf(stderr, "not positive: %s", buf);
				nm_test_failures++;
			}
		}
	}
	status = pclose(f);

	f = fopen(errpath, "r");
	if (f) {
		while (fgets(buf, sizeof(buf), f)) {
			fprintf(stderr, "netmem: %s", buf);
			if (strstr(buf, "dpdk: skipped"))
				dpdk_skipped = true;
			if (strstr(buf, "bench pool: held_1M: skipped: needs "))
				held_1M_skipped = true;
		}
		fclose(f);
	}
	unlink(errpath);

	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	CHECK(nlines > 0);
	for (size_t i = 0; i < NR_REQUIRED; i++) {
		if (seen[i])
			continue;
		if (required[i].dpdk && dpdk_skipped) {
			printf("note: no %s/%s figure: DPDK was skipped\n",
			       required[i].bench, required[i].impl);
			continue;
		}
		if (required[i].held_1M && held_1M_skipped) {
			printf("note: no %s/%s figure: held_1M was skipped (see above)\n",
			       required[i].bench, required[i].impl);
			continue;
		}
		fprintf(stderr, "missing: %s %s %s\n", required[i].bench,
			required[i].impl, required[i].metric);
		nm_test_failures++;
	}
	return t_done();
}

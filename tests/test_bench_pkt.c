/* SPDX-License-Identifier: MIT */
/*
 * `netmem bench pkt --json` (short: one rep of 0.3 s at 64 bytes) speaks the
 * benchmarks' JSON: every stdout line is exactly
 * {"bench":"B","impl":"I","metric":"M","value":N}; the setup is there;
 * recvmmsg always has its figures, positive; each other receiver has its
 * figures or a line on stderr saying why not (an engine not in this build,
 * libxdp missing); a ratio is there exactly when both of its sides are;
 * --plot draws a kpps and a CPU panel with a bar for each receiver; and
 * the rig's namespaces are gone when the command has ended; --sender raw
 * (frames on an AF_PACKET socket) gets recvmmsg its datagrams.  Not a
 * timing test: how fast anything is does not matter here.  Needs root.
 */
#include "harness.h"
#include "netns_rig.h"
#include <ctype.h>
#include <limits.h>
#include <libgen.h>
#include <math.h>
#include <stdbool.h>

struct line {
	char bench[64], impl[64], metric[64];
	double value;
};

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

enum { XDP, REF, UDP, MMSG, NR };
static const char *const impls[NR] = { "xdp", "xsk_ref", "udp", "recvmmsg" };
static const char *const metrics[] = { "kpps", "offered_kpps", "thread_ns_per_pkt",
				       "kpps_rep1" };
#define NR_METRICS (sizeof(metrics) / sizeof(metrics[0]))

int main(void)
{
	char self[PATH_MAX], bin[PATH_MAX + 16], cmd[2 * PATH_MAX + 128], buf[1024];
	char errpath[] = "/tmp/nm_bench_pkt_XXXXXX", svgpath[64];
	bool seen[NR][NR_METRICS] = { { false } }, why[NR] = { false }, pinned = false;
	bool setup = false, ratio[3] = { false };
	static const int pairs[3][2] = { { XDP, REF }, { XDP, MMSG }, { UDP, MMSG } };
	const char *na = rig_unavailable();
	int nlines = 0, status, fd, pid = 0;
	ssize_t len;
	FILE *f;

	if (na)
		SKIP("%s", na);
	len = readlink("/proc/self/exe", self, sizeof(self) - 1);
	REQUIRE(len > 0);
	self[len] = 0;
	snprintf(bin, sizeof(bin), "%s/../netmem", dirname(self));
	if (access(bin, X_OK))
		SKIP("no netmem command at %s", bin);
	fd = mkstemp(errpath);
	REQUIRE(fd >= 0);
	close(fd);
	/* the shell's pid is the command's (exec): its namespaces carry it */
	snprintf(svgpath, sizeof(svgpath), "%s.svg", errpath);
	snprintf(cmd, sizeof(cmd), "echo $$; exec '%s' bench pkt --json --reps 1 --seconds 0.3 "
		 "--size 64 --plot '%s' 2>'%s'", bin, svgpath, errpath);
	f = popen(cmd, "r");
	REQUIRE(f);
	REQUIRE(fgets(buf, sizeof(buf), f));
	pid = atoi(buf);
	while (fgets(buf, sizeof(buf), f)) {
		struct line l;

		nlines++;
		if (parse_line(buf, &l)) {
			fprintf(stderr, "not the JSON shape: %s", buf);
			nm_test_failures++;
			continue;
		}
		if (!strcmp(l.bench, "pkt_setup")) {
			setup = true;
			if (!strcmp(l.metric, "rx_cpu") && l.value >= 0)
				pinned = true;
			continue;
		}
		CHECK(!strcmp(l.bench, "pkt_64"));
		for (int i = 0; i < 3; i++) {
			char name[32];

			snprintf(name, sizeof(name), "%s/%s", impls[pairs[i][0]], impls[pairs[i][1]]);
			if (!strcmp(l.impl, name) && !strcmp(l.metric, "kpps_ratio")) {
				ratio[i] = true;
				CHECK(l.value > 0);
			}
		}
		for (int k = 0; k < NR; k++) {
			if (strcmp(l.impl, impls[k]))
				continue;
			for (size_t m = 0; m < NR_METRICS; m++)
				if (!strcmp(l.metric, metrics[m])) {
					if (seen[k][m]) {
						fprintf(stderr, "twice: %s", buf);
						nm_test_failures++;
					}
					seen[k][m] = true;
					if (!(l.value > 0)) {
						fprintf(stderr, "not positive: %s", buf);
						nm_test_failures++;
					}
				}
			if (!strcmp(l.metric, "cpu_ns_per_pkt"))
				CHECK(l.value > 0);
		}
	}
	status = pclose(f);
	f = fopen(errpath, "r");
	if (f) {
		while (fgets(buf, sizeof(buf), f)) {
			fprintf(stderr, "netmem: %s", buf);
			for (int k = 0; k < NR; k++) {
				char tag[32];

				snprintf(tag, sizeof(tag), " rep 1 %s ", impls[k]);
				if (strstr(buf, tag))
					why[k] = true;
			}
		}
		fclose(f);
	}
	unlink(errpath);
	/* --plot: a panel of kpps and one of CPU per packet, a bar (or a
	 * "not measured") per receiver in each */
	f = fopen(svgpath, "r");
	CHECK(f != NULL);
	if (f) {
		static char svg[1 << 16];
		size_t n = fread(svg, 1, sizeof(svg) - 1, f);

		fclose(f);
		svg[n] = 0;
		CHECK(strstr(svg, "<svg") && strstr(svg, "</svg>"));
		CHECK(strstr(svg, "64-byte payloads: packets received per second") != NULL);
		CHECK(strstr(svg, "64-byte payloads: receiver CPU per packet") != NULL);
		for (int k = 0; k < NR; k++) {
			char tag[32];
			int c = 0;

			snprintf(tag, sizeof(tag), ">%s<", impls[k]);
			for (const char *q = svg; (q = strstr(q, tag)); q += strlen(tag))
				c++;
			if (c != 2) {
				fprintf(stderr, "plot: %d bars for %s, expected 2\n", c, impls[k]);
				nm_test_failures++;
			}
		}
		unlink(svgpath);
	}

	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	CHECK(nlines > 0);
	CHECK(setup);
	printf("pinned: %s\n", pinned ? "yes" : "no");
	for (int k = 0; k < NR; k++) {
		bool all = true, none = true;

		for (size_t m = 0; m < NR_METRICS; m++) {
			all = all && seen[k][m];
			none = none && !seen[k][m];
		}
		if (all)
			printf("%s: measured\n", impls[k]);
		else if (none && why[k] && k != MMSG)
			printf("%s: not measured, stderr says why\n", impls[k]);
		else {
			fprintf(stderr, "%s: figures missing%s\n", impls[k],
				why[k] ? " (and a failure on stderr)" : " and nothing says why");
			nm_test_failures++;
		}
	}
	for (int i = 0; i < 3; i++) {
		bool both = seen[pairs[i][0]][0] && seen[pairs[i][1]][0];

		if (both != ratio[i]) {
			fprintf(stderr, "ratio %s/%s: %s\n", impls[pairs[i][0]], impls[pairs[i][1]],
				both ? "missing" : "there without both sides");
			nm_test_failures++;
		}
	}
	/* --sender raw: the rig's AF_PACKET sender; recvmmsg gets its
	 * frames as datagrams (so they are well formed), the setup says which
	 * sender, and the refusals are a count (0 or more); a bad name is
	 * refused with the usage's status */
	{
		bool raw = false, refused = false, got = false;

		snprintf(cmd, sizeof(cmd), "exec '%s' bench pkt --json --reps 1 --seconds 0.3 "
			 "--size 64 --impl recvmmsg --sender raw 2>/dev/null", bin);
		f = popen(cmd, "r");
		REQUIRE(f);
		while (fgets(buf, sizeof(buf), f)) {
			struct line l;

			if (parse_line(buf, &l)) {
				fprintf(stderr, "not the JSON shape: %s", buf);
				nm_test_failures++;
				continue;
			}
			if (!strcmp(l.bench, "pkt_setup") && !strcmp(l.impl, "sender") &&
			    !strcmp(l.metric, "raw"))
				raw = l.value == 1;
			if (!strcmp(l.impl, "recvmmsg") && !strcmp(l.metric, "kpps"))
				got = l.value > 0;
			if (!strcmp(l.impl, "recvmmsg") && !strcmp(l.metric, "sends_refused_per_kpkt"))
				refused = l.value >= 0;
		}
		status = pclose(f);
		CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
		CHECK(raw);
		CHECK(got);
		CHECK(refused);
		printf("--sender raw: recvmmsg received its frames\n");
		snprintf(cmd, sizeof(cmd), "'%s' bench pkt --sender tcp >/dev/null 2>&1", bin);
		status = system(cmd);
		CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 2);
	}
	/* nothing of the command's rig is left */
	{
		DIR *d = opendir("/run/netns");
		struct dirent *de;
		char pre[32];

		snprintf(pre, sizeof(pre), "nmrig-%d-", pid);
		while (d && (de = readdir(d)))
			if (!strncmp(de->d_name, pre, strlen(pre))) {
				fprintf(stderr, "left behind: namespace %s\n", de->d_name);
				nm_test_failures++;
			}
		if (d)
			closedir(d);
	}
	return t_done();
}

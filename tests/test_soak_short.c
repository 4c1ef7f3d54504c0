/* SPDX-License-Identifier: MIT */
/*
 * A short `netmem soak` through the built command: 50 connections for 3 s
 * with streams reset mid-way, an area revoked and its receiver replaced
 * every second, and a slow consumer holding buffers.  It must exit 0 and
 * say so in its JSON: every stream that was not reset or cut arrived
 * whole and matched what was sent, at least one area was revoked under
 * load, and nothing is held at the end.  (Flatness of RSS and in-flight
 * counts needs the long run; a 3 s run is not judged on it.)  A 1 s run
 * passes too: it ends before the first 1 s sample, so it is sampled at
 * its end (it used to fail with no failure named).
 */
#include "cli_util.h"

/* The unsigned number after "KEY": in @json, or -1. */
static long long jnum(const char *json, const char *key)
{
	char pat[64];
	const char *p;

	snprintf(pat, sizeof(pat), "\"%s\":", key);
	p = strstr(json, pat);
	return p ? strtoll(p + strlen(pat), NULL, 10) : -1;
}

/* Run `netmem ARGV...` into @out; return its exit status. */
static int run_soak(const char *const *argv, char *out, size_t len)
{
	int fd, rc;
	pid_t pid = t_spawn(argv, NULL, &fd, NULL);

	t_read_into(fd, out, len, 0, 120);
	close(fd);
	rc = t_wait(pid, 30);
	printf("%s", out);
	return rc;
}

int main(void)
{
	const char *bin = t_netmem();
	const char *argv[] = { bin, "soak", "--seconds", "3", "--conns", "50",
			       "--revoke-every", "1", "--json", "--quiet", NULL };
	const char *argv1[] = { bin, "soak", "--seconds", "1", "--conns", "20",
				"--revoke-every", "1", "--json", "--quiet", NULL };
	static char out[16384];

	CHECK_EQ(run_soak(argv, out, sizeof(out)), 0);
	CHECK(strstr(out, "\"pass\":true") != NULL);
	CHECK(jnum(out, "intact") > 0);
	CHECK(jnum(out, "revocations") >= 1);
	CHECK_EQ(jnum(out, "total"), 0);             /* failures */
	CHECK_EQ(jnum(out, "pools_with_inflight"), 0);
	CHECK_EQ(jnum(out, "held_buffers"), 0);
	CHECK(strstr(out, "\"why\":\"\"") != NULL);

	CHECK_EQ(run_soak(argv1, out, sizeof(out)), 0);
	CHECK(strstr(out, "\"pass\":true") != NULL);
	CHECK(strstr(out, "\"why\":\"\"") != NULL);
	CHECK_EQ(jnum(out, "total"), 0);
	return t_done();
}

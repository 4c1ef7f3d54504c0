/* SPDX-License-Identifier: MIT */
/*
 * `netmem bench rx --veth --json`, and `--veth-rps` (short: one rep of 0.3 s,
 * 4 connections, uring and plain): the TCP stream crosses a veth pair between two
 * namespaces (the sender reaches the receiver's 10.201.0.2 only there),
 * every JSON line (stdout's; stderr is read along and echoed) is the
 * benchmarks' JSON shape, each receiver has its
 * throughput, its process CPU per GB (and getrusage's) and, pinned, the receiving CPU's
 * busy time per GB, the sending CPU's busy share, its ACKs per MB and the
 * most its sockets held unread; uring has its
 * re-arms per completion; the command exits 0; and the rig's namespaces
 * are gone when it has ended.  Not a timing test.  Needs root.
 */
#include "cli_util.h"
#include "netns_rig.h"
#include <math.h>

enum { URING, PLAIN, NR };
static const char *const impls[NR] = { "uring", "plain" };
enum { GBIT, CPU, RXCPU, TXBUSY, REARM, BACKLOG, ACKS, RUCPU, NR_M };
static const char *const metrics[NR_M] = { "gbit_per_s", "cpu_s_per_gb", "rx_cpu_s_per_gb",
					    "tx_cpu_busy", "rearm_per_completion",
					    "rx_backlog_max_mb", "rx_acks_per_mb",
					    "cpu_s_per_gb_getrusage" };

/* One run of the bench with @rig: "--veth" or "--veth-rps". */
static void run_rig(const char *rig)
{
	char cmd[PATH_MAX + 128], buf[1024];
	double val[NR][NR_M];
	bool seen[NR][NR_M] = { { false } }, unpinned = false;
	const char *bin = t_netmem();
	int status, pid, nlines = 0;
	FILE *f;

	/* the shell's pid is the command's (exec): its namespaces carry it;
	 * stderr comes along, and what is not a JSON line is its */
	snprintf(cmd, sizeof(cmd), "echo $$; exec '%s' bench rx %s --json --reps 1 "
		 "--seconds 0.3 --conns 4 --impl uring,plain 2>&1", bin, rig);
	f = popen(cmd, "r");
	REQUIRE(f);
	REQUIRE(fgets(buf, sizeof(buf), f));
	pid = atoi(buf);
	while (fgets(buf, sizeof(buf), f)) {
		char bench[64], impl[64], metric[64], tail[8] = "";
		double v;

		if (buf[0] != '{') {
			fprintf(stderr, "netmem: %s", buf);
			if (strstr(buf, "fewer than 2 CPUs to pin to"))
				unpinned = true;
			continue;
		}
		nlines++;
		if (sscanf(buf, "{\"bench\":\"%63[^\"]\",\"impl\":\"%63[^\"]\",\"metric\":\"%63[^\"]\","
			   "\"value\":%lf%7s", bench, impl, metric, &v, tail) != 5 ||
		    strcmp(tail, "}") || strcmp(bench, "rx_tcp") || !isfinite(v)) {
			fprintf(stderr, "not the JSON shape: %s", buf);
			nm_test_failures++;
			continue;
		}
		for (int k = 0; k < NR; k++)
			for (int m = 0; m < NR_M; m++)
				if (!strcmp(impl, impls[k]) && !strcmp(metric, metrics[m])) {
					if (seen[k][m]) {
						fprintf(stderr, "twice: %s", buf);
						nm_test_failures++;
					}
					seen[k][m] = true;
					val[k][m] = v;
				}
	}
	status = pclose(f);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	CHECK(nlines > 0);
	for (int k = 0; k < NR; k++) {
		REQUIRE(seen[k][GBIT] && seen[k][CPU]);
		CHECK(val[k][GBIT] > 0);
		CHECK(val[k][CPU] > 0);
		/* the process CPU by getrusage too, beside the task clock's */
		CHECK(seen[k][RUCPU] && val[k][RUCPU] > 0);
		/* the per-CPU figures need the two sides pinned apart */
		CHECK(seen[k][RXCPU] == !unpinned && seen[k][TXBUSY] == !unpinned);
		CHECK(seen[k][BACKLOG] == !unpinned && seen[k][ACKS] == !unpinned);
		if (seen[k][RXCPU]) {
			CHECK(val[k][RXCPU] > 0);
			/* a share of one CPU; ticks are 10 ms, so a little over 1 */
			CHECK(val[k][TXBUSY] >= 0 && val[k][TXBUSY] < 1.5);
			/* no more than the run's bytes can wait unread (rig_tcp_unread
			 * itself: test_rig_tcp_unread) */
			CHECK(val[k][BACKLOG] >= 0 &&
			      val[k][BACKLOG] <= val[k][GBIT] / 8 * 1000 * 0.3 + 1);
			/* TCP acknowledges what it receives: at least one ACK for
			 * the run, at most about one per 1448-byte segment */
			CHECK(val[k][ACKS] > 0 && val[k][ACKS] < 1000);
		}
		CHECK(seen[k][REARM] == (k == URING));
	}
	if (seen[URING][REARM])
		CHECK(val[URING][REARM] >= 0);
	printf("%s: uring %.2f Gbit/s, plain %.2f Gbit/s over veth (%s)\n", rig,
	       val[URING][GBIT], val[PLAIN][GBIT], unpinned ? "not pinned" : "pinned");

	/* nothing of the rig is left: no namespace named with the pid */
	DIR *d = opendir("/run/netns");
	char want[32];
	int left = 0;
	struct dirent *de;

	snprintf(want, sizeof(want), "nmrig-%d-", pid);
	while (d && (de = readdir(d)))
		if (!strncmp(de->d_name, want, strlen(want))) {
			fprintf(stderr, "left behind: %s\n", de->d_name);
			left++;
		}
	if (d)
		closedir(d);
	CHECK(left == 0);
}

int main(void)
{
	const char *na = rig_unavailable();

	if (na)
		SKIP("%s", na);
	run_rig("--veth");
	/* TSO and RPS instead of NAPI threads; it needs two CPUs to pin to */
	cpu_set_t set;

	if (sched_getaffinity(0, sizeof(set), &set) == 0 && CPU_COUNT(&set) >= 2)
		run_rig("--veth-rps");
	else
		printf("--veth-rps not run: fewer than 2 CPUs to pin to\n");
	return t_done();
}

/* SPDX-License-Identifier: MIT */
/*
 * `netmem rx`/`tx` with iperf3's habits: `rx -s -p PORT` and
 * `tx -c 127.0.0.1 -p PORT -t 3 -i 1` print interval lines on both sides
 * as they go; with -J those are JSON lines whose bytes add up to the
 * summary's; -P runs parallel connections; -A pins every thread of the
 * receiver to the CPUs given; the short options' errors are usage errors;
 * and rx says what memory its provider got (the area's detail).
 */
#include "cli_util.h"

static const char *bin;

/* Count the lines of @s that start with @prefix. */
static int count_lines(const char *s, const char *prefix)
{
	int n = 0;

	for (const char *l = s; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL)
		n += !strncmp(l, prefix, strlen(prefix));
	return n;
}

/* Sum "bytes" over the interval JSON lines of @s; the summary's "bytes"
 * (the line without "event") into *total. */
static unsigned long long sum_intervals(const char *s, unsigned long long *total, int *n)
{
	unsigned long long sum = 0;

	*total = ~0ull;
	*n = 0;
	for (const char *l = s; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
		const char *b = strstr(l, "\"bytes\":"), *nl = strchr(l, '\n');
		if (!b || (nl && b > nl))
			continue;
		if (!strncmp(l, "{\"event\":\"interval\"", 19)) {
			sum += strtoull(b + 8, NULL, 10);
			(*n)++;
		} else {
			*total = strtoull(b + 8, NULL, 10);
		}
	}
	return sum;
}

/* rx -s -p 0 (a free port, printed) with @rx_extra; tx -c with @tx_extra.
 * Both stdouts into @rx_out/@tx_out; return 0 when both exited 0. */
static int run_pair(const char *const rx_extra[], const char *const tx_extra[],
		    char *rx_out, char *tx_out, size_t cap, pid_t *rx_pid_seen)
{
	const char *argv[32];
	char log[8192], port[16];
	int n = 0, rx_out_fd, rx_err, tx_out_fd, p, rc_rx, rc_tx;
	pid_t rx, tx;

	argv[n++] = bin;
	argv[n++] = "rx";
	argv[n++] = "-s";
	argv[n++] = "-p";
	argv[n++] = "0";
	argv[n++] = "-1";
	argv[n++] = "--timeout";
	argv[n++] = "60";
	for (int i = 0; rx_extra[i]; i++)
		argv[n++] = rx_extra[i];
	argv[n] = NULL;
	rx = t_spawn(argv, NULL, &rx_out_fd, &rx_err);
	p = t_rx_port(rx_err, log, sizeof(log), 30);
	REQUIRE(p > 0);
	if (rx_pid_seen)
		*rx_pid_seen = rx;
	snprintf(port, sizeof(port), "%d", p);
	n = 0;
	argv[n++] = bin;
	argv[n++] = "tx";
	argv[n++] = "-c";
	argv[n++] = "127.0.0.1";
	argv[n++] = "-p";
	argv[n++] = port;
	for (int i = 0; tx_extra[i]; i++)
		argv[n++] = tx_extra[i];
	argv[n] = NULL;
	tx = t_spawn(argv, NULL, &tx_out_fd, NULL);
	t_read_into(tx_out_fd, tx_out, cap, 0, 60);
	rc_tx = t_wait(tx, 60);
	t_read_into(rx_out_fd, rx_out, cap, 0, 60);
	rc_rx = t_wait(rx, 60);
	t_read_into(rx_err, log, sizeof(log), strlen(log), 1);
	close(rx_out_fd);
	close(rx_err);
	close(tx_out_fd);
	if (rc_rx || rc_tx)
		fprintf(stderr, "rx exit %d, tx exit %d\nrx stdout:\n%s\nrx stderr:\n%s\ntx:\n%s\n",
			rc_rx, rc_tx, rx_out, log, tx_out);
	return rc_rx || rc_tx;
}

/* -A: every thread of @pid runs on CPU 0 only. */
static void check_pinned(pid_t pid)
{
	char path[64], line[256];
	FILE *f;
	bool seen = false;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "r");
	if (!f)
		return;	/* already gone */
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, "Cpus_allowed_list:", 18)) {
			CHECK(!strcmp(line + 18 + strspn(line + 18, " \t"), "0\n"));
			seen = true;
		}
	fclose(f);
	CHECK(seen);
}

static void bad(const char *needle, const char *const args[])
{
	const char *argv[16];
	char log[8192];
	int n = 0, err_fd, rc;
	pid_t pid;

	argv[n++] = bin;
	for (int i = 0; args[i]; i++)
		argv[n++] = args[i];
	argv[n] = NULL;
	pid = t_spawn(argv, NULL, NULL, &err_fd);
	t_read_into(err_fd, log, sizeof(log), 0, 15);
	rc = t_wait(pid, 15);
	close(err_fd);
	if (rc != 2 || !strstr(log, needle))
		fprintf(stderr, "%s %s: exit %d, stderr lacks '%s':\n%s\n", args[0], args[1], rc,
			needle, log);
	CHECK_EQ(rc, 2);
	CHECK(strstr(log, needle) != NULL);
}

#define BAD(needle, ...) bad(needle, (const char *const[]){ __VA_ARGS__, NULL })

static void memory_said(void)
{
	const char *argv[] = { bin, "rx", "--listen", "127.0.0.1:0", "--provider", "hugepage",
			       "--once", "--timeout", "30", "--json", NULL };
	char log[8192], out[8192], addr[32];
	int out_fd, err_fd, p;
	pid_t rx;

	rx = t_spawn(argv, NULL, &out_fd, &err_fd);
	p = t_rx_port(err_fd, log, sizeof(log), 30);
	REQUIRE(p > 0);
	/* "provider hugepage: hugetlb 2M x 16" or "...: THP fallback (...)" */
	CHECK(strstr(log, "provider hugepage: hugetlb 2M x ") ||
	      strstr(log, "provider hugepage: THP fallback") ||
	      strstr(log, "provider hugepage: 4K pages: no THP"));
	snprintf(addr, sizeof(addr), "127.0.0.1:%d", p);
	const char *tx[] = { bin, "tx", "--connect", addr, "--bytes", "1M", "--quiet", NULL };
	CHECK_EQ(t_wait(t_spawn(tx, NULL, NULL, NULL), 30), 0);
	t_read_into(out_fd, out, sizeof(out), 0, 30);
	CHECK_EQ(t_wait(rx, 30), 0);
	CHECK(strstr(out, "\"memory\":\"hugetlb 2M x ") ||
	      strstr(out, "\"memory\":\"THP fallback") ||
	      strstr(out, "\"memory\":\"4K pages: no THP"));
	if (!strstr(out, "\"memory\":\""))
		fprintf(stderr, "rx said:\n%s\n%s\n", log, out);
	close(out_fd);
	close(err_fd);
}

int main(void)
{
	static char rx_out[1 << 16], tx_out[1 << 16];
	unsigned long long total, sum;
	int n;
	pid_t rx;

	bin = t_netmem();

	/* The bar: text interval lines from the sender as it goes, and from
	 * the receiver (-s: every second by default). */
	REQUIRE(!run_pair((const char *const[]){ NULL },
			  (const char *const[]){ "-t", "3", "-i", "1", NULL },
			  rx_out, tx_out, sizeof(tx_out), NULL));
	/* The first interval starts at 0; how many follow depends on the
	 * clock (3 on an idle machine), so only "one at least" is asserted;
	 * the JSON run below checks that they account for every byte. */
	CHECK(count_lines(tx_out, "tx:   0.00-") == 1);
	CHECK(count_lines(tx_out, "tx: ") >= 2);  /* intervals and the summary */
	CHECK(count_lines(rx_out, "rx:   0.00-") == 1);
	CHECK(strstr(tx_out, " GB ") && strstr(tx_out, " Gbit/s"));
	fprintf(stderr, "tx said:\n%s", tx_out);

	/* JSON lines (-J) with parallel connections (-P): the intervals add
	 * up to the whole, on both sides; -A pins the receiver. */
	REQUIRE(!run_pair((const char *const[]){ "-J", "-i", "0.5", "--expect", "2", "-A", "0",
						 NULL },
			  (const char *const[]){ "-n", "64M", "-P", "2", "-i", "0.5", "-J", "-A", "0",
						 NULL },
			  rx_out, tx_out, sizeof(tx_out), &rx));
	sum = sum_intervals(tx_out, &total, &n);
	CHECK(n >= 1);
	CHECK_EQ(total, 2ull * 64 * 1024 * 1024);
	CHECK_EQ(sum, total);
	sum = sum_intervals(rx_out, &total, &n);
	CHECK(n >= 1);
	CHECK_EQ(total, 2ull * 64 * 1024 * 1024);
	CHECK_EQ(sum, total);
	if (sum != total)
		fprintf(stderr, "rx said:\n%s\ntx said:\n%s\n", rx_out, tx_out);

	/* -A: the receiver's threads, its queue thread and stats thread
	 * included, run where they were told. */
	{
		const char *argv[] = { bin, "rx", "-s", "-p", "0", "-A", "0", "--queues", "2",
				       "--timeout", "30", "-q", NULL };
		char task[96], log[256];
		int err_fd;
		pid_t pid = t_spawn(argv, NULL, NULL, &err_fd);
		FILE *f;

		/* -q: no listening line; wait until its threads are there */
		for (int i = 0; i < 200; i++) {
			snprintf(task, sizeof(task), "/proc/%d/task", (int)pid);
			snprintf(log, sizeof(log), "ls %s | wc -l", task);
			f = popen(log, "r");
			n = f && fgets(log, sizeof(log), f) ? atoi(log) : 0;
			if (f)
				pclose(f);
			if (n >= 3)	/* main, a queue thread, stats */
				break;
			usleep(20000);
		}
		CHECK(n >= 3);
		f = popen((snprintf(log, sizeof(log), "grep -h Cpus_allowed_list /proc/%d/task/*/status"
				    " | sort -u", (int)pid), log), "r");
		REQUIRE(f);
		n = 0;
		while (fgets(log, sizeof(log), f)) {
			n++;
			CHECK(!strcmp(log + 18 + strspn(log + 18, " \t"), "0\n"));
		}
		pclose(f);
		CHECK_EQ(n, 1);
		check_pinned(pid);
		kill(pid, SIGTERM);
		t_wait(pid, 30);
		close(err_fd);
	}

	/* Usage errors of the short options. */
	BAD("not both", "rx", "-s", "--listen", "127.0.0.1:0");
	BAD("-p and -B go with -s", "rx", "-p", "5201");
	BAD("-p '70000'", "rx", "-s", "-p", "70000");
	BAD("-i 'soon'", "rx", "-s", "-i", "soon");
	BAD("-A '3-1'", "rx", "-s", "-A", "3-1");
	BAD("unknown option '-Z'", "rx", "-s", "-Z");
	BAD("-p goes with -c", "tx", "--connect", "127.0.0.1:1", "-p", "2", "-t", "1");
	BAD("not both", "tx", "-c", "127.0.0.1", "--connect", "127.0.0.1:1");
	BAD("--seconds '0'", "tx", "-c", "127.0.0.1", "-t", "0");
	BAD("-p '0'", "tx", "-c", "127.0.0.1", "-p", "0");
	BAD("-A 'x'", "tx", "-c", "127.0.0.1", "-A", "x");
	BAD("--json takes no value", "tx", "-c", "127.0.0.1", "--json=1");

	memory_said();
	return t_done();
}

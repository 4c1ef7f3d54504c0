/* SPDX-License-Identifier: MIT */
/*
 * `netmem stat` reads a running `netmem rx`: by socket path and by PID, as
 * text, JSON and Prometheus text, with the receiver's pool, area and
 * engine in it.  Hostile clients of the stats socket (one that connects
 * and says nothing, one that sends garbage, one that sends a megabyte, one
 * that asks and never reads, one that sends half a request and stops, a
 * flood of connections beyond the server's slots) are held open while a verified stream goes through: the stream
 * still completes intact, and `netmem stat` is still answered meanwhile.
 */
#include "cli_util.h"
#include <sys/socket.h>
#include <sys/un.h>

#define FLOOD 40

static const char *bin;

/* After "listening on", read @fd until the "live stats: netmem stat PATH"
 * line; PATH into @path. */
static int stats_path(int fd, char *log, size_t cap, char *path, size_t plen)
{
	size_t len = strlen(log);
	double end = t_now() + 20;

	while (t_now() < end) {
		const char *l = strstr(log, "live stats: netmem stat ");
		const char *nl = l ? strchr(l, '\n') : NULL;

		if (nl) {
			l += strlen("live stats: netmem stat ");
			snprintf(path, plen, "%.*s", (int)(nl - l), l);
			return 0;
		}
		len = t_read_into(fd, log, cap, len, 0.2);
	}
	fprintf(stderr, "no 'live stats' line from netmem rx; it said:\n%s\n", log);
	return -1;
}

/* `netmem stat A1 A2 --timeout 60`: its exit status, stdout into @out.
 * (The long timeout: during the flood below it waits its turn.) */
static int run_stat(char *out, size_t cap, const char *a1, const char *a2)
{
	const char *argv[] = { bin, "stat", "--timeout", "60", a1, a2, NULL };
	int out_fd, rc;
	pid_t pid = t_spawn(argv, NULL, &out_fd, NULL);

	t_read_into(out_fd, out, cap, 0, 90);
	rc = t_wait(pid, 90);
	close(out_fd);
	return rc;
}

static int dial_nb(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	REQUIRE(fd >= 0);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		close(fd);
		return -1;	/* backlog full: a flood does that */
	}
	return fd;
}

/* Write what the socket takes of @len bytes, never blocking. */
static void push(int fd, const char *p, size_t len)
{
	while (len) {
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
		if (n <= 0)
			return;
		p += n;
		len -= n;
	}
}

int main(void)
{
	static char log[1 << 16], out[1 << 16];
	char port_s[16], path[256], pid_s[16], tx_addr[64];
	int hostile[8 + FLOOD], nh = 0, err_fd, out_fd, rc;
	char *mb;
	pid_t rx, tx;

	bin = t_netmem();
	const char *rx_argv[] = { bin, "rx", "--listen", "127.0.0.1:0", "--once", "--expect", "2",
				  "--verify", "seq", "--timeout", "120", "--json", NULL };
	rx = t_spawn(rx_argv, NULL, &out_fd, &err_fd);
	rc = t_rx_port(err_fd, log, sizeof(log), 30);
	REQUIRE(rc > 0);
	snprintf(port_s, sizeof(port_s), "%d", rc);
	snprintf(tx_addr, sizeof(tx_addr), "127.0.0.1:%s", port_s);
	REQUIRE(!stats_path(err_fd, log, sizeof(log), path, sizeof(path)));
	snprintf(pid_s, sizeof(pid_s), "%d", (int)rx);
	CHECK(strstr(path, pid_s) != NULL);

	/* By path, JSON: the receiver's pool, area and engine. */
	CHECK_EQ(run_stat(out, sizeof(out), path, "--json"), 0);
	CHECK(strstr(out, "\"pools\":[{\"label\":\"rx\",\"queue\":0") != NULL);
	CHECK(strstr(out, "\"provider\":\"host\"") != NULL);
	CHECK(strstr(out, "\"rx\":[{\"label\":\"rx\",\"engine\":") != NULL);
	CHECK(strstr(out, "\"inflight_bytes\":") != NULL);
	/* By PID, Prometheus and text. */
	CHECK_EQ(run_stat(out, sizeof(out), pid_s, "--prom"), 0);
	CHECK(strstr(out, "# TYPE netmem_pool_alloc_fast_total counter") != NULL);
	CHECK(strstr(out, "netmem_pool_inflight{pool=\"rx\",queue=\"0\"") != NULL);
	CHECK_EQ(run_stat(out, sizeof(out), pid_s, NULL), 0);
	CHECK(strstr(out, "pool rx queue 0") != NULL);
	/* Bad arguments and no such receiver. */
	CHECK_EQ(run_stat(out, sizeof(out), "--bogus", NULL), 2);
	CHECK_EQ(run_stat(out, sizeof(out), "/nonexistent/netmem.sock", NULL), 1);

	/* Hostile clients, held open through the stream. */
	mb = malloc(1 << 20);
	REQUIRE(mb);
	memset(mb, 'x', 1 << 20);
	hostile[nh++] = dial_nb(path);                    /* says nothing */
	hostile[nh] = dial_nb(path);                      /* garbage */
	push(hostile[nh++], "\x01\xff garbage \x7f\r\n\r\n", 16);
	hostile[nh] = dial_nb(path);                      /* a megabyte */
	push(hostile[nh++], mb, 1 << 20);
	hostile[nh] = dial_nb(path);                      /* asks, never reads */
	push(hostile[nh++], "json\n", 5);
	hostile[nh] = dial_nb(path);                      /* half a line, then silence */
	push(hostile[nh++], "js", 2);
	for (int i = 0; i < FLOOD; i++)                    /* beyond every slot */
		hostile[nh++] = dial_nb(path);
	for (int i = 0; i < 5; i++)
		CHECK(hostile[i] >= 0);

	/* First connection: a verified stream while they hang on. */
	const char *tx1[] = { bin, "tx", "--connect", tx_addr, "--bytes", "256M",
			      "--pattern", "seq", "--quiet", NULL };
	tx = t_spawn(tx1, NULL, NULL, NULL);
	/* Stats are still answered (once the idle ones' time is up). */
	double t_stat = t_now();
	CHECK_EQ(run_stat(out, sizeof(out), path, "--json"), 0);
	CHECK(strstr(out, "\"pools\":[{") != NULL);
	{
		/* the flood took every slot and the backlog (17 at least) */
		int c = 0;
		for (int i = 5; i < nh; i++)
			c += hostile[i] >= 0;
		CHECK(c > 8);
		fprintf(stderr, "stat answered in %.1f s with %d flood clients connected\n",
			t_now() - t_stat, c);
	}
	CHECK_EQ(t_wait(tx, 120), 0);
	/* Every hostile client was dropped or answered, none left hanging:
	 * reading each ends (EOF or reset) instead of waiting forever. */
	for (int i = 0; i < 5; i++) {
		char b[256];
		if (hostile[i] < 0)
			continue;
		fcntl(hostile[i], F_SETFL, 0);
		size_t n = t_read_into(hostile[i], b, sizeof(b), 0, 30);
		if (i == 2)
			CHECK(n == 0 || strstr(b, "error: request too long") != NULL);
		if (i == 1)
			CHECK(n == 0 || strstr(b, "error: unknown request") != NULL);
	}
	/* Second connection ends the receiver (--once --expect 2). */
	CHECK_EQ(run_stat(out, sizeof(out), pid_s, "--json"), 0);
	const char *tx2[] = { bin, "tx", "--connect", tx_addr, "--bytes", "1M", "--quiet", NULL };
	CHECK_EQ(t_wait(t_spawn(tx2, NULL, NULL, NULL), 60), 0);
	t_read_into(out_fd, out, sizeof(out), 0, 120);
	rc = t_wait(rx, 120);
	CHECK_EQ(rc, 0);
	CHECK(strstr(out, "\"verify_ok\":true") != NULL);
	CHECK(strstr(out, "\"bytes\":269484032,") != NULL);	/* 256M + 1M */
	if (rc || !strstr(out, "\"verify_ok\":true"))
		fprintf(stderr, "rx said:\n%s\n%s\n", out, log);
	for (int i = 0; i < nh; i++)
		if (hostile[i] >= 0)
			close(hostile[i]);
	free(mb);
	/* The socket went with the receiver. */
	CHECK(access(path, F_OK) != 0);
	return t_done();
}

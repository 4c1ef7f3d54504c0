/* SPDX-License-Identifier: MIT */
/*
 * examples/epoll_loop.c does what its comment says: one epoll loop of its
 * own serves two netmem queues and a timerfd.  Started with port 0 and 4
 * connections it prints the port; the first connection stays open, half
 * sent, until the program's timer has printed a tick (the loop serves its
 * own fd while netmem's are in it); then all four send known bytes and
 * close.  It prints their total and checksum (which must match what was
 * sent), each queue's bytes (both queues served: connections alternate),
 * pools with nothing held, and exits 0.
 */
#include "cli_util.h"
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

static int conn_to(int port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port) };
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	REQUIRE(fd >= 0);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	REQUIRE(!connect(fd, (struct sockaddr *)&sa, sizeof(sa)));
	return fd;
}

static void send_all(int fd, const unsigned char *p, size_t len)
{
	while (len) {
		ssize_t n = write(fd, p, len);

		REQUIRE(n > 0);
		p += n;
		len -= (size_t)n;
	}
}

int main(void)
{
	static char bin[PATH_MAX + 64], out[1 << 16];
	const size_t len[4] = { 3 << 20, (2 << 20) + 12345, 777777, 1 };
	unsigned long long got = 0, sum = 0, want_sum = 0, qb[2] = { 0, 0 };
	unsigned int conns = 0;
	unsigned char *data = malloc(len[0]);
	char self[PATH_MAX];
	ssize_t sl = readlink("/proc/self/exe", self, sizeof(self) - 1);
	const char *l;
	size_t olen;
	int ofd, port, first;
	pid_t pid;

	REQUIRE(data && sl > 0);
	self[sl] = 0;
	snprintf(bin, sizeof(bin), "%s/../examples/example_epoll_loop", dirname(self));
	if (access(bin, X_OK))
		SKIP("example not built at %s", bin);
	atexit(t_kill_children);
	for (size_t i = 0; i < len[0]; i++)
		data[i] = (unsigned char)(i * 2654435761u >> 13);
	for (int k = 0; k < 4; k++)
		for (size_t i = 0; i < len[k]; i++)
			want_sum += data[i];

	const char *argv[] = { bin, "0", "4", NULL };
	pid = t_spawn(argv, NULL, &ofd, NULL);
	port = t_rx_port(ofd, out, sizeof(out), 10);
	REQUIRE(port > 0);
	first = conn_to(port);
	send_all(first, data, len[0] / 2);
	/* Wait (bounded) for the program's own timer to print a tick. */
	olen = strlen(out);
	for (int i = 0; i < 60 && !strstr(out, "tick:"); i++)
		olen = t_read_into(ofd, out, sizeof(out), olen, 1);
	CHECK(strstr(out, "tick:") != NULL);
	send_all(first, data + len[0] / 2, len[0] - len[0] / 2);
	close(first);
	for (int k = 1; k < 4; k++) {
		int fd = conn_to(port);

		send_all(fd, data, len[k]);
		close(fd);
	}
	CHECK_EQ(t_wait(pid, 60), 0);
	t_read_into(ofd, out, sizeof(out), strlen(out), 5);
	printf("%s", out);
	l = strstr(out, "received ");
	REQUIRE(l);
	CHECK_EQ(sscanf(l, "received %llu bytes on %u connection(s), checksum %llu",
			&got, &conns, &sum), 3);
	CHECK_EQ(got, len[0] + len[1] + len[2] + len[3]);
	CHECK_EQ(conns, 4);
	CHECK_EQ(sum, want_sum);
	l = strstr(out, "end: queue 0: ");
	CHECK(l && sscanf(l, "end: queue 0: %llu bytes", &qb[0]) == 1);
	l = strstr(out, "end: queue 1: ");
	CHECK(l && sscanf(l, "end: queue 1: %llu bytes", &qb[1]) == 1);
	CHECK(qb[0] > 0 && qb[1] > 0);
	CHECK_EQ(qb[0] + qb[1], got);
	CHECK(strstr(out, "pool 0: 0 still held") && strstr(out, "pool 1: 0 still held"));
	free(data);
	return t_done();
}

/* SPDX-License-Identifier: MIT */
/*
 * examples/rx_sink.c does what its comment says: started with port 0 it
 * prints the port, takes two connections that send known bytes, and when
 * both have closed prints their total and checksum (which must match what
 * was sent) and a pool with nothing left held, and exits 0.
 */
#include "cli_util.h"
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

static void send_bytes(int port, const unsigned char *p, size_t len)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port) };
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	REQUIRE(fd >= 0);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	REQUIRE(!connect(fd, (struct sockaddr *)&sa, sizeof(sa)));
	while (len) {
		ssize_t n = write(fd, p, len);

		REQUIRE(n > 0);
		p += n;
		len -= (size_t)n;
	}
	close(fd);
}

int main(void)
{
	static char bin[PATH_MAX + 64], out[4096];
	const size_t len[2] = { 5 << 20, (3 << 20) + 12345 };
	unsigned long long got = 0, sum = 0, want_sum = 0, held = 1;
	unsigned int conns = 0;
	unsigned char *data = malloc(len[0]);
	char self[PATH_MAX];
	ssize_t sl = readlink("/proc/self/exe", self, sizeof(self) - 1);
	const char *l;
	int ofd, port;
	pid_t pid;

	REQUIRE(data && sl > 0);
	self[sl] = 0;
	snprintf(bin, sizeof(bin), "%s/../examples/example_rx_sink", dirname(self));
	if (access(bin, X_OK))
		SKIP("example not built at %s", bin);
	atexit(t_kill_children);
	for (size_t i = 0; i < len[0]; i++)
		data[i] = (unsigned char)(i * 2654435761u >> 13);
	for (int k = 0; k < 2; k++)
		for (size_t i = 0; i < len[k]; i++)
			want_sum += data[i];

	const char *argv[] = { bin, "0", "host", "2", NULL };
	pid = t_spawn(argv, NULL, &ofd, NULL);
	port = t_rx_port(ofd, out, sizeof(out), 10);
	REQUIRE(port > 0);
	send_bytes(port, data, len[0]);
	send_bytes(port, data, len[1]);
	CHECK_EQ(t_wait(pid, 30), 0);
	t_read_into(ofd, out, sizeof(out), strlen(out), 5);
	printf("%s", out);
	l = strstr(out, "received ");
	REQUIRE(l);
	CHECK_EQ(sscanf(l, "received %llu bytes on %u connection(s), checksum %llu",
			&got, &conns, &sum), 3);
	CHECK_EQ(got, len[0] + len[1]);
	CHECK_EQ(conns, 2);
	CHECK_EQ(sum, want_sum);
	l = strstr(out, "put back, ");
	CHECK(l && sscanf(l, "put back, %llu still held", &held) == 1 && held == 0);
	free(data);
	return t_done();
}

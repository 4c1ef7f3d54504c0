/* SPDX-License-Identifier: MIT */
/*
 * rig_tcp_unread() (tests/netns_rig.h), behind `bench rx --veth`'s "MB
 * unread" figure: in a namespace of the rig's own, where the only TCP
 * sockets are this test's, it is exactly the bytes sent and not yet read.
 * A connection left in the listener's accept queue does not count (a
 * listener's rx_queue is that queue's length), and what is read goes
 * out of the sum.  Needs root.
 */
#include "test_rx_util.h"	/* t_connect */
#include "netns_rig.h"

#define SENT	40000
#define READ	15000

static int listener(uint16_t *port)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t al = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) || listen(fd, 8) ||
	    getsockname(fd, (struct sockaddr *)&a, &al))
		return -1;
	*port = ntohs(a.sin_port);
	return fd;
}

/* Until rig_tcp_unread() says @want, or 5 s: loopback delivers within the
 * send, but a loaded machine may run its softirq later. */
static uint64_t wait_unread(uint64_t want)
{
	uint64_t u = rig_tcp_unread();

	for (int i = 0; i < 500 && u != want; i++) {
		usleep(10000);
		u = rig_tcp_unread();
	}
	return u;
}

struct res {
	uint64_t before, sent, partly_read, closed;
	int err;
};

static int in_ns(const struct rig *r, void *arg)
{
	struct res *res = arg;
	static char buf[SENT];
	uint16_t port;
	int lfd = listener(&port), c = -1, s = -1, queued = -1;
	size_t off = 0;

	(void)r;
	res->before = rig_tcp_unread();
	if (lfd < 0)
		return -errno;
	c = t_connect(port);
	s = c >= 0 ? accept4(lfd, NULL, NULL, SOCK_CLOEXEC) : -1;
	queued = s >= 0 ? t_connect(port) : -1;	/* left in the accept queue */
	if (queued < 0) {
		res->err = -errno;
		goto out;
	}
	memset(buf, 0x5a, sizeof(buf));
	while (off < SENT) {
		ssize_t n = send(c, buf + off, SENT - off, 0);

		if (n <= 0) {
			res->err = -errno;
			goto out;
		}
		off += (size_t)n;
	}
	res->sent = wait_unread(SENT);
	for (off = 0; off < READ;) {
		ssize_t n = recv(s, buf, READ - off, 0);

		if (n <= 0) {
			res->err = -EIO;
			goto out;
		}
		off += (size_t)n;
	}
	res->partly_read = wait_unread(SENT - READ);
	close(s);	/* unread data: the kernel resets, and nothing waits */
	s = -1;
	res->closed = wait_unread(0);
out:
	if (queued >= 0)
		close(queued);
	if (s >= 0)
		close(s);
	if (c >= 0)
		close(c);
	close(lfd);
	return res->err;
}

int main(void)
{
	const char *na = rig_unavailable();
	struct rig r;
	struct res res = { 0 };

	if (na)
		SKIP("%s", na);
	REQUIRE(rig_up(&r, NULL) == 0);
	CHECK_EQ(rig_call(&r, RIG_RX, in_ns, &res), 0);
	rig_down(&r);
	printf("unread: %llu before, %llu after %d bytes sent, %llu after %d read, %llu closed\n",
	       (unsigned long long)res.before, (unsigned long long)res.sent, SENT,
	       (unsigned long long)res.partly_read, READ, (unsigned long long)res.closed);
	CHECK_EQ(res.err, 0);
	CHECK_EQ(res.before, 0);
	CHECK_EQ(res.sent, SENT);
	CHECK_EQ(res.partly_read, SENT - READ);
	CHECK_EQ(res.closed, 0);
	CHECK(rig_gone(&r));
	return t_done();
}

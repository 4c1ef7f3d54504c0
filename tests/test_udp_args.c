/* SPDX-License-Identifier: MIT */
/*
 * test_udp_args: the udp engine's options and how sockets get in, through
 * io_uring and recvmmsg.  Refused with EINVAL: SPLIT, a REQUIRE flag, xdp's
 * options, a buf_size with no room after the 128-byte header (191; 192
 * works); nm_rx_add_fd with a stream socket.  A bound UDP socket the
 * application made is taken by nm_rx_add_fd and receives; nm_rx_listen on
 * a port another socket holds says -EADDRINUSE; with two queues
 * nm_rx_listen makes one socket per queue (a connection each, on its own
 * queue), SO_REUSEPORT on one port; a UDP connection closed from on_data
 * gets on_close with that error and nothing more; a loop of the
 * application's own (nm_rx_queue_fd + poll, nm_rx_queue_poll) is woken for
 * datagrams and gets every one.
 */
#include "test_udp_util.h"
#include <poll.h>

static struct u_rx u;
static int close_after = -1;

static int on_data_close(struct nm_rx *rx, struct nm_rx_conn *c,
			 const struct nm_rx_msg *m, void *user)
{
	u_on_data(rx, c, m, user);
	if ((int)u.msgs == close_after)
		CHECK_EQ(nm_rx_conn_close(c, -ECONNABORTED), 0);
	return 0;
}

static struct nm_rx *mk(struct nm_pool *p, uint32_t buf_size, unsigned int flags,
			struct nm_pool *hdr, unsigned int nq, struct nm_pool **pools)
{
	NM_OPTS(nm_rx_opts, o, .engine = "udp", .pool = nq > 1 ? NULL : p,
		.pools = nq > 1 ? pools : NULL, .nr_queues = nq,
		.buf_size = buf_size, .flags = flags, .hdr_pool = hdr,
		.on_data = on_data_close, .on_conn = u_on_conn,
		.on_close = u_on_close, .user = &u);

	return nm_rx_create(&o);
}

static int bound_udp(int port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	REQUIRE(fd >= 0);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	REQUIRE(!bind(fd, (struct sockaddr *)&a, sizeof(a)));
	return fd;
}

static int port_of(int fd)
{
	struct sockaddr_in a;
	socklen_t l = sizeof(a);

	REQUIRE(!getsockname(fd, (struct sockaddr *)&a, &l));
	return ntohs(a.sin_port);
}

static void send_n(int fd, uint32_t seq0, unsigned int n)
{
	uint8_t dg[256];

	for (unsigned int i = 0; i < n; i++) {
		u_fill(dg, seq0 + i, 48);	/* fits 192 - 128 */
		REQUIRE(send(fd, dg, 48, 0) == 48);
	}
}

static void run(int mmsg)
{
	struct nm_pool *p = t_pool(64, 0), *h = t_pool(64, 0), *p2 = t_pool(64, 0);
	struct nm_pool *pools[2] = { p, p2 };
	struct nm_rx *rx;
	int sv[2], fd, cl, port, busy, rb, rb_before = 0;
	socklen_t rbl = sizeof(rb_before);

	memset(&u, 0, sizeof(u));
	u_mode(mmsg);
	errno = 0;
	CHECK(!mk(p, 0, NM_RX_F_SPLIT, h, 1, NULL) && errno == EINVAL);
	errno = 0;
	CHECK(!mk(p, 0, NM_RX_F_REQUIRE_INC, NULL, 1, NULL) && errno == EINVAL);
	errno = 0;
	CHECK(!mk(p, 0, NM_RX_F_REQUIRE_BUNDLE, NULL, 1, NULL) && errno == EINVAL);
	errno = 0;
	CHECK(!mk(p, 191, 0, NULL, 1, NULL) && errno == EINVAL);
	{
		NM_OPTS(nm_rx_opts, o, .engine = "udp", .pool = p, .ifname = "lo",
			.on_data = u_on_data);
		errno = 0;
		CHECK(!nm_rx_create(&o) && errno == EINVAL);
	}
	rx = mk(p, 192, 0, NULL, 1, NULL);
	if (!rx && errno == EOPNOTSUPP)
		SKIP("udp engine refused here");
	REQUIRE(rx);

	/* Only datagram sockets come in. */
	t_tcp_pair(sv);
	CHECK_EQ(nm_rx_add_fd(rx, sv[0], -1), -EINVAL);
	close(sv[0]);
	close(sv[1]);
	CHECK_EQ(nm_rx_listen(rx, "no-such-host", 0), -EINVAL);
	busy = bound_udp(0);
	CHECK_EQ(nm_rx_listen(rx, "127.0.0.1", port_of(busy)), -EADDRINUSE);
	close(busy);

	/* The application's own bound socket, with a small receive buffer:
	 * the engine gives it room for its batched waits (4 MiB with
	 * CAP_NET_ADMIN, else up to rmem_max, which is above 4 KiB). */
	fd = bound_udp(0);
	port = port_of(fd);
	rb = 4096;
	REQUIRE(!setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rb, sizeof(rb)));
	REQUIRE(!getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rb_before, &rbl));
	CHECK_EQ(nm_rx_add_fd(rx, fd, 0), 0);
	CHECK(nm_rx_poll(rx, 0) >= 0);
	CHECK_EQ(u.opened, 1);
	rbl = sizeof(rb);
	REQUIRE(!getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rb, &rbl));
	CHECK(rb > rb_before);
	if (geteuid() == 0)
		CHECK(rb >= 2 * (4 << 20));
	cl = u_client(port, NULL);
	send_n(cl, 0, 10);
	CHECK_EQ(T_RUN_UNTIL(rx, u.dgrams >= 10, t_small_ms()), 0);
	CHECK_EQ(u.bad, 0);
	CHECK_EQ(u.dgrams, 10);

	/* Closed from on_data: on_close with that error, nothing more. */
	close_after = 12;
	send_n(cl, 10, 5);
	CHECK_EQ(T_RUN_UNTIL(rx, u.closed == 1, t_small_ms()), 0);
	CHECK_EQ(u.close_err, -ECONNABORTED);
	CHECK_EQ(u.msgs, 12);
	for (int i = 0; i < 5; i++)
		CHECK(nm_rx_poll(rx, 10) >= 0);
	CHECK_EQ(u.msgs, 12);
	close_after = -1;
	close(cl);
	CHECK_EQ(nm_rx_destroy(rx), 0);
	CHECK_EQ(u.closed, 1);	/* not again */

	/* The application's loop: the queue's fd wakes it for datagrams. */
	memset(&u, 0, sizeof(u));
	rx = mk(p, 0, 0, NULL, 1, NULL);
	REQUIRE(rx);
	{
		int qfd = nm_rx_queue_fd(rx, 0), idle = 0, sent = 0;
		uint64_t end = t_now_ms() + t_small_ms();

		REQUIRE(qfd >= 0);
		port = nm_rx_listen(rx, "127.0.0.1", 0);
		REQUIRE(port > 0);
		cl = u_client(port, NULL);
		while (u.dgrams < 20 && t_now_ms() < end) {
			struct pollfd pf = { .fd = qfd, .events = POLLIN };

			/* Datagrams wait: the fd must say so (5 s: a bug, not
			 * a slow machine). */
			if (poll(&pf, 1, sent ? 5000 : 1000) == 0 && (sent || ++idle > 3)) {
				CHECK(!"queue fd woken");
				break;
			}
			CHECK(nm_rx_queue_poll(rx, 0, 0) >= 0);
			if (u.opened == 1 && !sent) {
				send_n(cl, 0, 20);	/* the socket is a connection now */
				sent = 1;
			}
		}
		CHECK_EQ(u.dgrams, 20);
		CHECK_EQ(u.bad, 0);
		close(cl);
	}
	CHECK_EQ(nm_rx_destroy(rx), 0);

	/* Two queues: a socket each, one port. */
	memset(&u, 0, sizeof(u));
	rx = mk(NULL, 0, 0, NULL, 2, pools);
	REQUIRE(rx);
	port = nm_rx_listen(rx, "127.0.0.1", 0);
	REQUIRE(port > 0);
	for (unsigned int q = 0; q < 2; q++)
		CHECK(nm_rx_queue_poll(rx, q, 0) >= 0);
	CHECK_EQ(u.opened, 2);
	CHECK_EQ(u.conns_per_queue[0], 1);
	CHECK_EQ(u.conns_per_queue[1], 1);
	{
		/* The kernel spreads sources over the group: many ports reach
		 * both queues, every datagram once. */
		struct nm_rx_stats s0, s1;
		int cls[32];

		for (int i = 0; i < 32; i++) {
			cls[i] = u_client(port, NULL);
			send_n(cls[i], (uint32_t)i * 4, 4);
		}
		for (uint64_t end = t_now_ms() + t_small_ms(); u.dgrams < 128 && t_now_ms() < end;)
			for (unsigned int q = 0; q < 2; q++)
				CHECK(nm_rx_queue_poll(rx, q, 1) >= 0);
		CHECK_EQ(u.dgrams, 128);
		CHECK_EQ(u.dup, 0);
		REQUIRE(!nm_rx_queue_stats(rx, 0, &s0, sizeof(s0)));
		REQUIRE(!nm_rx_queue_stats(rx, 1, &s1, sizeof(s1)));
		CHECK(s0.pkts > 0 && s1.pkts > 0);
		CHECK_EQ(s0.pkts + s1.pkts, 128);
		for (int i = 0; i < 32; i++)
			close(cls[i]);
	}
	CHECK_EQ(nm_rx_destroy(rx), 0);
	CHECK_EQ(u.closed, 2);
	CHECK_EQ(t_pool_done(p), 0);
	CHECK_EQ(t_pool_done(p2), 0);
	CHECK_EQ(t_pool_done(h), 0);
}

int main(void)
{
	run(0);
	run(1);
	return nm_test_failures ? 1 : 0;
}

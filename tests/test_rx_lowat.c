/* SPDX-License-Identifier: MIT */
/*
 * uring: batching by the socket (SO_RCVLOWAT).  A connection whose
 * completion brings 32 KiB or more gets the socket's low-water mark raised
 * (the socket wakes the queue only once 1 MiB waits: the queue's one
 * streaming connection has the whole budget's cap), and once it has
 * been idle the mark goes back to 1.  What is checked is what rx.h
 * promises: the mark is raised on a stream, bytes below the mark are
 * still delivered while the connection stays open (a burst's tail is not
 * held until more comes), the mark comes back down, and
 * NM_RX_F_NO_LOWAT leaves the socket alone.  The bounds are for a bug
 * (t_recv_ms), not for speed.
 */
#include "test_rx_util.h"
#include <fcntl.h>
#include <linux/sockios.h>
#include <sys/ioctl.h>

struct count {
	uint64_t bytes;
};

static int count_data(struct nm_rx *rx, struct nm_rx_conn *c, const struct nm_rx_msg *m,
		      void *user)
{
	struct count *n = user;

	for (unsigned int i = 0; i < m->nr; i++) {
		n->bytes += m->bufs[i].len;
		CHECK_EQ(nm_buf_put(&m->bufs[i]), 0);
	}
	return 0;
}

static int lowat_of(int fd)
{
	int v = -1;
	socklen_t l = sizeof(v);

	REQUIRE(!getsockopt(fd, SOL_SOCKET, SO_RCVLOWAT, &v, &l));
	return v;
}

/* Queue what the socket takes without the receiver running, then let it
 * run: its first completion brings 32 KiB or more (LOWAT_TRIGGER in
 * uring.c), a stream's mark.  How much the receiving socket takes before
 * its first read is the kernel's choice: a few hundred KiB on 6.18, just
 * under 64 KiB on Debian's 6.1 (its first window), so 32 KiB is what is
 * asked. */
static uint64_t stream(struct nm_rx *rx, int fd, int rfd, struct count *n, uint64_t total)
{
	static uint8_t blk[256 << 10];
	uint64_t sent = 0;
	int first = 1;

	memset(blk, 0x5a, sizeof(blk));
	for (;;) {
		ssize_t w = send(fd, blk, sizeof(blk) < total - sent ? sizeof(blk) : total - sent,
				 MSG_DONTWAIT | MSG_NOSIGNAL);
		if (w > 0)
			sent += (uint64_t)w;
		if (sent == total || (w < 0 && errno != EAGAIN))
			break;
		if (w < 0) {
			int r, inq = 0;

			if (first) {
				REQUIRE(!ioctl(rfd, SIOCINQ, &inq));
				printf("queued before the first pass: %d bytes\n", inq);
				REQUIRE(inq >= 32 << 10);
				first = 0;
			}
			r = nm_rx_poll(rx, 1);
			REQUIRE(r >= 0);
		}
	}
	CHECK_EQ(sent, total);
	CHECK_EQ(T_RUN_UNTIL(rx, n->bytes == sent, t_recv_ms()), 0);
	return sent;
}

static void run(unsigned int flags)
{
	struct nm_pool *pool = t_pool(256, 4);
	struct count n = { 0 };
	NM_OPTS(nm_rx_opts, o, .engine = "uring", .pool = pool, .on_data = count_data,
		.user = &n, .flags = flags);
	struct nm_rx *rx = nm_rx_create(&o);
	uint64_t want;
	int sv[2];

	if (!rx && errno == EOPNOTSUPP)
		SKIP("no uring engine here: %s", strerror(errno));
	REQUIRE(rx);
	t_tcp_pair(sv);
	int sndbuf = 4 << 20;
	REQUIRE(!setsockopt(sv[1], SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf)));
	REQUIRE(!nm_rx_add_fd(rx, sv[0], 0));
	CHECK_EQ(lowat_of(sv[0]), 1);

	want = stream(rx, sv[1], sv[0], &n, 8u << 20);
	if (flags & NM_RX_F_NO_LOWAT)
		CHECK_EQ(lowat_of(sv[0]), 1);
	else
		CHECK_EQ(lowat_of(sv[0]), 1 << 20);

	/* A tail far below the mark, the connection left open: delivered. */
	REQUIRE(!t_send_all(sv[1], "tail", 4));
	want += 4;
	CHECK_EQ(T_RUN_UNTIL(rx, n.bytes == want, t_recv_ms()), 0);
	/* Idle now: the mark comes back down. */
	CHECK_EQ(T_RUN_UNTIL(rx, lowat_of(sv[0]) == 1, t_recv_ms()), 0);
	/* And one byte more still arrives, at once or after the idle check. */
	REQUIRE(!t_send_all(sv[1], "!", 1));
	want += 1;
	CHECK_EQ(T_RUN_UNTIL(rx, n.bytes == want, t_recv_ms()), 0);
	printf("lowat%s: %llu bytes, mark back to %d\n",
	       flags & NM_RX_F_NO_LOWAT ? " off" : "", (unsigned long long)n.bytes,
	       lowat_of(sv[0]));

	close(sv[1]);
	CHECK_EQ(nm_rx_destroy(rx), 0);
	CHECK_EQ(t_pool_done(pool), 0);
}

int main(void)
{
	run(0);
	run(NM_RX_F_NO_LOWAT);
	return t_done();
}

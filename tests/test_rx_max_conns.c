/* SPDX-License-Identifier: MIT */
/*
 * max_conns is per queue, with two queues (rx.h: "per queue"), both
 * engines.  One listener on queue 0 hands accepted connections
 * round-robin to the queues; the test drives both queues itself
 * (nm_rx_queue_poll), so nothing but the receiver decides where a
 * connection goes.  Proves:
 *
 *  - with queue 0 at its limit, connections accepted next all go to
 *    queue 1: opened there, none closed (a full queue is passed over, not
 *    chosen and then found without a slot);
 *  - with both queues at their limit, nm_rx_add_fd to either queue, or
 *    round-robin, says -ENOSPC and leaves the fd the caller's (open, the
 *    peer sees no end), also once the queues have taken every fd handed
 *    to them; a connection accepted then is closed at once and never
 *    opened;
 *  - once a connection of queue 1 ends, the next accepted one is opened
 *    there.
 */
#include "test_rx_util.h"
#include <fcntl.h>
#include <poll.h>

#define MAXC 2

struct mc {
	int opened[2], closed[2];
};

static int on_conn(struct nm_rx *rx, struct nm_rx_conn *c, void *user)
{
	struct mc *m = user;
	int q = nm_rx_conn_queue(c);

	REQUIRE(q == 0 || q == 1);
	m->opened[q]++;
	return 0;
}

static void on_close(struct nm_rx *rx, struct nm_rx_conn *c, int err, void *user)
{
	struct mc *m = user;
	int q = nm_rx_conn_queue(c);

	REQUIRE(q == 0 || q == 1);
	m->closed[q]++;
}

static int on_data(struct nm_rx *rx, struct nm_rx_conn *c, const struct nm_rx_msg *msg,
		   void *user)
{
	for (unsigned int i = 0; i < msg->nr; i++)
		CHECK_EQ(nm_buf_put(&msg->bufs[i]), 0);
	return 0;
}

/* One pass of each queue, on this thread. */
static void pass(struct nm_rx *rx)
{
	REQUIRE(nm_rx_queue_poll(rx, 0, 5) >= 0);
	REQUIRE(nm_rx_queue_poll(rx, 1, 5) >= 0);
}

/* Pass both queues until cond or the deadline (a bound for a bug, not a
 * speed); 0 or -ETIME. */
#define RUN_UNTIL(rx, cond) ({ \
	uint64_t _end = t_now_ms() + t_small_ms(); int _r = 0; \
	while (!(cond)) { \
		pass(rx); \
		if (t_now_ms() > _end) { _r = -ETIME; break; } \
	} _r; })

/* Whether the peer @fd has seen its connection end (read 0 or an error),
 * without waiting. */
static int ended(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	char c;

	if (poll(&p, 1, 0) != 1)
		return 0;
	return recv(fd, &c, 1, MSG_DONTWAIT) <= 0;
}

/* Pass both queues until the peer @fd sees its end; 1, or 0 at the
 * deadline. */
static int peer_sees_close(struct nm_rx *rx, int fd)
{
	return RUN_UNTIL(rx, ended(fd)) == 0;
}

static void run(const char *engine)
{
	struct nm_pool *pools[2] = { t_pool(16, 4), t_pool(16, 4) };
	struct mc m = { 0 };
	NM_OPTS(nm_rx_opts, o, .engine = engine, .pools = pools, .nr_queues = 2,
		.on_data = on_data, .on_conn = on_conn, .on_close = on_close, .user = &m,
		.max_conns = MAXC);
	struct nm_rx *rx = nm_rx_create(&o);
	struct nm_rx_stats st;
	int a[MAXC][2], x[2], port, acc[MAXC], late, again;

	REQUIRE(rx);
	port = nm_rx_listen(rx, "127.0.0.1", 0);
	REQUIRE(port > 0);

	/* Queue 0 at its limit, its inbox drained. */
	for (int i = 0; i < MAXC; i++) {
		t_tcp_pair(a[i]);
		CHECK_EQ(nm_rx_add_fd(rx, a[i][0], 0), 0);
	}
	CHECK_EQ(RUN_UNTIL(rx, m.opened[0] == MAXC), 0);

	/* Accepted now: every one goes to queue 1, whichever queue
	 * round-robin names first. */
	for (int i = 0; i < MAXC; i++) {
		int before = m.opened[0] + m.opened[1];

		acc[i] = t_connect(port);
		REQUIRE(acc[i] >= 0);
		CHECK_EQ(RUN_UNTIL(rx, m.opened[0] + m.opened[1] > before || ended(acc[i])), 0);
		CHECK(!ended(acc[i]));
	}
	CHECK_EQ(m.opened[0], MAXC);
	CHECK_EQ(m.opened[1], MAXC);
	CHECK_EQ(m.closed[0] + m.closed[1], 0);

	/* Both full, every fd taken in: add_fd refuses and the fd stays the
	 * caller's, on either queue or round-robin. */
	pass(rx);
	t_tcp_pair(x);
	CHECK_EQ(nm_rx_add_fd(rx, x[0], 0), -ENOSPC);
	CHECK_EQ(nm_rx_add_fd(rx, x[0], 1), -ENOSPC);
	CHECK_EQ(nm_rx_add_fd(rx, x[0], -1), -ENOSPC);
	CHECK_EQ(nm_rx_add_fd(rx, x[0], -1), -ENOSPC);
	pass(rx);
	CHECK(fcntl(x[0], F_GETFD) >= 0);
	CHECK(!ended(x[1]));

	/* Accepted with both full: closed at once, never opened. */
	late = t_connect(port);
	REQUIRE(late >= 0);
	CHECK(peer_sees_close(rx, late));
	CHECK_EQ(m.opened[0] + m.opened[1], 2 * MAXC);
	for (int i = 0; i < MAXC; i++) {
		CHECK(!ended(a[i][1]));
		CHECK(!ended(acc[i]));
	}

	/* One of queue 1's ends: the next accepted one is opened there. */
	close(acc[0]);
	CHECK_EQ(RUN_UNTIL(rx, m.closed[1] == 1), 0);
	again = t_connect(port);
	REQUIRE(again >= 0);
	CHECK_EQ(RUN_UNTIL(rx, m.opened[0] + m.opened[1] > 2 * MAXC || ended(again)), 0);
	CHECK(!ended(again));
	CHECK_EQ(m.opened[0], MAXC);
	CHECK_EQ(m.opened[1], MAXC + 1);

	REQUIRE(!nm_rx_stats(rx, &st, sizeof(st)));
	CHECK_EQ(st.conns_opened, 2 * MAXC + 1);
	CHECK_EQ(st.conns_active, 2 * MAXC);
	CHECK_EQ(nm_rx_destroy(rx), 0);
	for (int i = 0; i < MAXC; i++)
		close(a[i][1]);
	close(acc[1]);
	close(late);
	close(again);
	close(x[0]);
	close(x[1]);
	CHECK_EQ(t_pool_done(pools[0]), 0);
	CHECK_EQ(t_pool_done(pools[1]), 0);
}

int main(void)
{
	run("uring");
	run("socket");
	return t_done();
}

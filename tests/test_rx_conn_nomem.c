/* SPDX-License-Identifier: MIT */
/*
 * A connection the receiver has no memory to open (the calloc of its
 * state fails, src/util/fault.h): no on_conn, no on_close, the fd closed
 * (the peer sees its end), and the stats count it opened, closed and
 * with an error (rx.h: conns_err), none active.  The receiver goes on:
 * the next connection opens.
 */
#include "test_rx_util.h"
#include "util/fault.h"
#include <sys/socket.h>

static int conns, closes;

static int on_conn(struct nm_rx *rx, struct nm_rx_conn *c, void *user)
{
	conns++;
	return 0;
}

static int on_data(struct nm_rx *rx, struct nm_rx_conn *c, const struct nm_rx_msg *m,
		   void *user)
{
	for (unsigned int i = 0; i < m->nr; i++)
		CHECK_EQ(nm_buf_put(&m->bufs[i]), 0);
	return 0;
}

static void on_close(struct nm_rx *rx, struct nm_rx_conn *c, int err, void *user)
{
	closes++;
}

/* Fault @n (0: count) while a connection is added and a pass runs.
 * Return the fallible calls counted. */
static unsigned long one(unsigned long n, int *found)
{
	struct nm_pool *pool = t_pool(16, 0);
	NM_OPTS(nm_rx_opts, o, .engine = "socket", .pool = pool, .on_data = on_data,
		.on_conn = on_conn, .on_close = on_close, .max_conns = 4);
	struct nm_rx *rx = nm_rx_create(&o);
	struct nm_rx_stats st;
	unsigned long count;
	const char *site;
	int sv[2], r, sv2[2];
	char ch;

	REQUIRE(rx);
	REQUIRE(!socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv));
	conns = closes = 0;
	nm_fault_arm(n);
	r = nm_rx_add_fd(rx, sv[0], 0);
	if (!r)
		CHECK(nm_rx_poll(rx, 0) >= 0);
	count = nm_fault_count();
	site = nm_fault_site();
	nm_fault_off();
	if (r)
		close(sv[0]);
	if (!r && site && strstr(site, "rx/rx.c") && !conns) {
		/* Failed opening it: counted, closed, no callbacks. */
		(*found)++;
		REQUIRE(!nm_rx_stats(rx, &st, sizeof(st)));
		CHECK_EQ(st.conns_opened, 1);
		CHECK_EQ(st.conns_closed, 1);
		CHECK_EQ(st.conns_err, 1);
		CHECK_EQ(st.conns_active, 0);
		CHECK_EQ(closes, 0);
		CHECK_EQ(recv(sv[1], &ch, 1, MSG_DONTWAIT), 0);	/* its end */
		/* and the receiver goes on */
		REQUIRE(!socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv2));
		CHECK_EQ(nm_rx_add_fd(rx, sv2[0], 0), 0);
		CHECK(nm_rx_poll(rx, 0) >= 0);
		CHECK_EQ(conns, 1);
		close(sv2[1]);
	}
	close(sv[1]);
	CHECK_EQ(nm_rx_destroy(rx), 0);
	CHECK_EQ(t_pool_done(pool), 0);
	return count;
}

int main(void)
{
	int found = 0;
	unsigned long count = one(0, &found);

	for (unsigned long n = 1; n <= count; n++)
		one(n, &found);
	CHECK(found >= 1);
	printf("%lu fallible calls, %d of them the connection's state\n", count, found);
	return t_done();
}

/* SPDX-License-Identifier: MIT */
/*
 * Receive-side promises about the peer and the limits, as rx.h states
 * them, both engines:
 *
 *  - a peer that resets its connection (SO_LINGER 0, then close) after
 *    bytes that were delivered: on_close gets -ECONNRESET, not an orderly
 *    end (0), and the connection counts as ended with an error;
 *  - max_conns: nm_rx_add_fd beyond it says -ENOSPC and leaves the fd the
 *    caller's (still open); a connection accepted beyond it is closed at
 *    once (the peer sees its end) and never reaches on_conn; once one
 *    ends, a new one is taken;
 *  - a full token table (tok_capacity 4): every buffer still arrives, the
 *    ones past the table's room with NM_RX_NO_TOKEN (put instead), counted
 *    in tok_full; live tokens are distinct; released tokens make room
 *    again;
 *  - ring_entries: not a power of 2, or past 32768, is EINVAL; a power of
 *    2 is what the uring engine uses.
 */
#include "test_rx_util.h"
#include <fcntl.h>
#include <poll.h>

struct lim {
	int opened, closed, close_err, datas;
	uint64_t bytes;
	/* tokens */
	uint32_t live[64];
	unsigned int nlive, no_token, with_token;
	int dup_token;
};

static int on_conn(struct nm_rx *rx, struct nm_rx_conn *c, void *user)
{
	((struct lim *)user)->opened++;
	return 0;
}

static void on_close(struct nm_rx *rx, struct nm_rx_conn *c, int err, void *user)
{
	struct lim *l = user;

	l->closed++;
	l->close_err = err;
}

static int on_data(struct nm_rx *rx, struct nm_rx_conn *c, const struct nm_rx_msg *m,
		   void *user)
{
	struct lim *l = user;

	l->datas++;
	l->bytes += m->bytes;
	for (unsigned int i = 0; i < m->nr; i++) {
		if (!m->tokens) {
			CHECK_EQ(nm_buf_put(&m->bufs[i]), 0);
		} else if (m->tokens[i] == NM_RX_NO_TOKEN) {
			l->no_token++;
			CHECK_EQ(nm_buf_put(&m->bufs[i]), 0);
		} else {
			/* Kept: the token is live until released. */
			for (unsigned int k = 0; k < l->nlive; k++)
				if (l->live[k] == m->tokens[i])
					l->dup_token++;
			REQUIRE(l->nlive < 64);
			l->live[l->nlive++] = m->tokens[i];
			l->with_token++;
		}
	}
	return 0;
}

static int peer_sees_close(struct nm_rx *rx, int fd)
{
	for (int i = 0; i < 2000; i++) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		char c;

		if (poll(&p, 1, 0) == 1)
			return recv(fd, &c, 1, MSG_DONTWAIT) <= 0;
		REQUIRE(nm_rx_poll(rx, 5) >= 0);
	}
	return 0;
}

static struct nm_rx *make(const char *engine, struct lim *l, struct nm_pool *pool,
			  unsigned int max_conns, unsigned int tok_capacity)
{
	NM_OPTS(nm_rx_opts, o, .engine = engine, .pool = pool, .on_data = on_data,
		.on_conn = on_conn, .on_close = on_close, .user = l,
		.max_conns = max_conns, .tok_capacity = tok_capacity,
		.flags = tok_capacity ? NM_RX_F_TOKENS : 0);
	struct nm_rx *rx = nm_rx_create(&o);

	REQUIRE(rx);
	return rx;
}

static void reset(const char *engine)
{
	struct nm_pool *pool = t_pool(16, 4);
	struct lim l = { 0 };
	struct nm_rx *rx = make(engine, &l, pool, 0, 0);
	struct linger lg = { .l_onoff = 1, .l_linger = 0 };
	struct nm_rx_stats st;
	char msg[1000];
	int sv[2];

	t_tcp_pair(sv);
	REQUIRE(!nm_rx_add_fd(rx, sv[0], 0));
	memset(msg, 'r', sizeof(msg));
	REQUIRE(!t_send_all(sv[1], msg, sizeof(msg)));
	CHECK_EQ(T_RUN_UNTIL(rx, l.bytes == sizeof(msg), t_small_ms()), 0);
	REQUIRE(!setsockopt(sv[1], SOL_SOCKET, SO_LINGER, &lg, sizeof(lg)));
	close(sv[1]);	/* a reset, not a FIN */
	CHECK_EQ(T_RUN_UNTIL(rx, l.closed, t_small_ms()), 0);
	CHECK_EQ(l.closed, 1);
	CHECK_EQ(l.close_err, -ECONNRESET);
	REQUIRE(!nm_rx_stats(rx, &st, sizeof(st)));
	CHECK_EQ(st.conns_err, 1);
	CHECK_EQ(nm_rx_destroy(rx), 0);
	CHECK_EQ(t_pool_done(pool), 0);
}

static void max_conns(const char *engine)
{
	struct nm_pool *pool = t_pool(16, 4);
	struct lim l = { 0 };
	struct nm_rx *rx = make(engine, &l, pool, 2, 0);
	struct nm_rx_stats st;
	int a[2], b[2], c[2], port, fd3, fd4;

	t_tcp_pair(a);
	t_tcp_pair(b);
	t_tcp_pair(c);
	CHECK_EQ(nm_rx_add_fd(rx, a[0], 0), 0);
	CHECK_EQ(nm_rx_add_fd(rx, b[0], -1), 0);
	CHECK_EQ(nm_rx_add_fd(rx, c[0], 0), -ENOSPC);
	CHECK(fcntl(c[0], F_GETFD) >= 0);	/* still the caller's */
	CHECK_EQ(T_RUN_UNTIL(rx, l.opened == 2, t_small_ms()), 0);

	/* Accepted beyond the limit: closed at once, never opened. */
	port = nm_rx_listen(rx, "127.0.0.1", 0);
	REQUIRE(port > 0);
	fd3 = t_connect(port);
	REQUIRE(fd3 >= 0);
	CHECK(peer_sees_close(rx, fd3));
	CHECK_EQ(l.opened, 2);

	/* One ends: there is room again. */
	close(a[1]);
	CHECK_EQ(T_RUN_UNTIL(rx, l.closed == 1, t_small_ms()), 0);
	CHECK_EQ(nm_rx_add_fd(rx, c[0], 0), 0);
	CHECK_EQ(T_RUN_UNTIL(rx, l.opened == 3, t_small_ms()), 0);
	fd4 = t_connect(port);
	REQUIRE(fd4 >= 0);
	CHECK(peer_sees_close(rx, fd4));
	REQUIRE(!nm_rx_stats(rx, &st, sizeof(st)));
	CHECK_EQ(st.conns_opened, 3);
	CHECK_EQ(st.conns_active, 2);
	CHECK_EQ(nm_rx_destroy(rx), 0);
	close(b[1]);
	close(c[1]);
	close(fd3);
	close(fd4);
	CHECK_EQ(t_pool_done(pool), 0);
}

static void tok_full(const char *engine)
{
	struct nm_pool *pool = t_pool(32, 0);	/* 4 KiB buffers */
	struct lim l = { 0 };
	struct nm_rx *rx = make(engine, &l, pool, 0, 4);
	struct nm_rx_stats st;
	char msg[4096];
	int sv[2], k;

	t_tcp_pair(sv);
	REQUIRE(!nm_rx_add_fd(rx, sv[0], 0));
	memset(msg, 't', sizeof(msg));
	/* One buffer's worth at a time, each delivered before the next. */
	for (k = 1; k <= 10; k++) {
		REQUIRE(!t_send_all(sv[1], msg, sizeof(msg)));
		CHECK_EQ(T_RUN_UNTIL(rx, l.bytes == (uint64_t)k * sizeof(msg), t_small_ms()), 0);
	}
	REQUIRE(!nm_rx_stats(rx, &st, sizeof(st)));
	printf("%s: %u buffers with a token, %u without\n", engine, l.with_token,
	       l.no_token);
	CHECK_EQ(l.with_token, 4);	/* the table's room, then no more */
	CHECK(l.no_token > 0);
	CHECK_EQ(st.tok_full, l.no_token);
	CHECK_EQ(l.dup_token, 0);
	CHECK_EQ(st.bytes, 10 * sizeof(msg));	/* nothing lost */

	/* Released tokens make room again. */
	CHECK_EQ(nm_rx_release_tokens(rx, l.live, l.nlive), (int)l.nlive);
	l.nlive = 0;
	REQUIRE(!t_send_all(sv[1], msg, sizeof(msg)));
	CHECK_EQ(T_RUN_UNTIL(rx, l.bytes == 11 * sizeof(msg), t_small_ms()), 0);
	CHECK(l.with_token > 4);
	CHECK_EQ(nm_rx_release_tokens(rx, l.live, l.nlive), (int)l.nlive);
	close(sv[1]);
	CHECK_EQ(nm_rx_destroy(rx), 0);
	CHECK_EQ(t_pool_done(pool), 0);
}

static int on_data_put(struct nm_rx *rx, struct nm_rx_conn *c, const struct nm_rx_msg *m,
		       void *user)
{
	for (unsigned int i = 0; i < m->nr; i++)
		nm_buf_put(&m->bufs[i]);
	return 0;
}

static void ring_sizes(void)
{
	static const unsigned int bad[] = { 3, 100, 1000, 32767, 65536, 1u << 31 };
	struct nm_pool *pool = t_pool(64, 4);
	struct nm_rx_info info;
	struct nm_rx *rx;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		for (int e = 0; e < 2; e++) {
			NM_OPTS(nm_rx_opts, o, .engine = e ? "socket" : "uring", .pool = pool,
				.on_data = on_data_put, .ring_entries = bad[i]);
			errno = 0;
			rx = nm_rx_create(&o);
			CHECK(rx == NULL);
			CHECK_EQ(errno, EINVAL);
			if (rx)
				nm_rx_destroy(rx);
		}
	}
	{
		NM_OPTS(nm_rx_opts, o, .engine = "uring", .pool = pool, .on_data = on_data_put,
			.ring_entries = 8);
		rx = nm_rx_create(&o);
		if (rx) {
			REQUIRE(!nm_rx_info(rx, &info, sizeof(info)));
			CHECK_EQ(info.ring_entries, 8);
			CHECK_EQ(nm_rx_destroy(rx), 0);
		} else {
			CHECK_EQ(errno, EOPNOTSUPP);
		}
	}
	CHECK_EQ(t_pool_done(pool), 0);
}

int main(void)
{
	static const char *const engines[] = { "uring", "socket" };

	ring_sizes();
	for (int e = 0; e < 2; e++) {
		struct nm_pool *p = t_pool(4, 4);
		NM_OPTS(nm_rx_opts, o, .engine = engines[e], .pool = p, .on_data = on_data);
		struct nm_rx *rx = nm_rx_create(&o);

		if (!rx && errno == EOPNOTSUPP) {
			printf("%s: not on this kernel\n", engines[e]);
			t_pool_done(p);
			continue;
		}
		REQUIRE(rx);
		nm_rx_destroy(rx);
		t_pool_done(p);
		reset(engines[e]);
		max_conns(engines[e]);
		tok_full(engines[e]);
	}
	return t_done();
}

/* SPDX-License-Identifier: MIT */
/*
 * What rx.h promises about the callbacks' errors, each checked as written,
 * with both engines, in plain and in split mode, with the bytes of several
 * messages (frames) already queued when the receiver reads them, so that
 * one read holds more than the message a callback refuses:
 *
 *  - on_data returning -errno closes that connection with that error:
 *    on_close gets it, on_data is not called again for the connection
 *    (not for the messages that arrived in the same read either), the peer
 *    sees its end, and a connection beside it goes on untouched;
 *  - on_conn returning -errno refuses the connection: no on_data for it,
 *    on_close follows with that error, the peer sees its end;
 *  - nm_rx_conn_close: -EINVAL for a positive error, 0 the first time,
 *    -EALREADY the second; on_close comes once, with the first error, and
 *    nothing more is delivered after it;
 *  - nm_rx_destroy called from a callback returns -EBUSY: from on_data in
 *    nm_rx_poll, from on_close in nm_rx_run, and from on_close while
 *    nm_rx_destroy itself ends the connections (-ECANCELED);
 *  - the counters agree (opened, closed, with an error, active).
 */
#include "test_rx_util.h"
#include <poll.h>

enum { ROLE_NORMAL, ROLE_FAIL_DATA, ROLE_REFUSE, ROLE_CLOSE_TWICE };

struct cst {
	int role;
	int datas, closes, close_err;
	uint64_t bytes;
};

struct ctx {
	struct cst conns[4];
	int next;               /* role assignment, in order of arrival */
	int destroy_in_data, destroy_in_close;
	int busy_data, busy_close;
	int close_first, close_again, close_inval;
};

static int on_conn(struct nm_rx *rx, struct nm_rx_conn *c, void *user)
{
	struct ctx *x = user;
	struct cst *s;

	REQUIRE(x->next < 4);
	s = &x->conns[x->next++];
	nm_rx_conn_set_user(c, s);
	return s->role == ROLE_REFUSE ? -EPERM : 0;
}

static void put_msg(const struct nm_rx_msg *m)
{
	for (unsigned int i = 0; i < m->nr; i++)
		CHECK_EQ(nm_buf_put(&m->bufs[i]), 0);
	if (m->hdr)
		CHECK_EQ(nm_buf_put(m->hdr), 0);
}

static int on_data(struct nm_rx *rx, struct nm_rx_conn *c, const struct nm_rx_msg *m,
		   void *user)
{
	struct ctx *x = user;
	struct cst *s = nm_rx_conn_user(c);

	REQUIRE(s);
	s->datas++;
	s->bytes += m->bytes;
	put_msg(m);
	if (x->destroy_in_data) {
		x->busy_data = nm_rx_destroy(rx);
		x->destroy_in_data = 0;
	}
	if (s->role == ROLE_FAIL_DATA)
		return -EBADMSG;
	if (s->role == ROLE_CLOSE_TWICE && s->datas == 1) {
		x->close_inval = nm_rx_conn_close(c, 5);
		x->close_first = nm_rx_conn_close(c, -EIO);
		x->close_again = nm_rx_conn_close(c, -ENOTSUP);
	}
	return 0;
}

static void on_close(struct nm_rx *rx, struct nm_rx_conn *c, int err, void *user)
{
	struct ctx *x = user;
	struct cst *s = nm_rx_conn_user(c);

	REQUIRE(s);
	s->closes++;
	s->close_err = err;
	if (x->destroy_in_close)
		x->busy_close = nm_rx_destroy(rx);
}

/* Three messages (frames in split mode) in one send: they arrive together. */
static void send_three(int fd, int split)
{
	uint8_t b[3 * 104];
	size_t n = 0;

	for (int k = 0; k < 3; k++) {
		if (split) {
			b[n++] = 0; b[n++] = 0; b[n++] = 0; b[n++] = 100;
		}
		memset(b + n, 'a' + k, 100);
		n += 100;
	}
	REQUIRE(!t_send_all(fd, b, n));
}

/* The peer's end: the receiver closed (EOF or a reset).  The receiver
 * keeps running meanwhile (uring closes a socket when its cancelled recv
 * completes); bounded by passes. */
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

static struct nm_rx *make(const char *engine, int split, struct ctx *x,
			  struct nm_pool **pool, struct nm_pool **hpool)
{
	*pool = t_pool(32, 4);
	*hpool = t_pool(16, 0);
	NM_OPTS(nm_rx_opts, o, .engine = engine, .pool = *pool, .on_data = on_data,
		.on_conn = on_conn, .on_close = on_close, .user = x,
		.flags = split ? NM_RX_F_SPLIT : 0, .hdr_pool = split ? *hpool : NULL);
	struct nm_rx *rx = nm_rx_create(&o);

	REQUIRE(rx);
	return rx;
}

static void data_errors(const char *engine, int split)
{
	struct ctx x = { 0 };
	struct nm_pool *pool, *hpool;
	struct nm_rx_stats st;
	struct nm_rx *rx;
	int a[2], b[2], r[2], t2[2];

	x.conns[0].role = ROLE_FAIL_DATA;
	x.conns[1].role = ROLE_NORMAL;
	x.conns[2].role = ROLE_REFUSE;
	x.conns[3].role = ROLE_CLOSE_TWICE;
	rx = make(engine, split, &x, &pool, &hpool);
	t_tcp_pair(a);
	t_tcp_pair(b);
	t_tcp_pair(r);
	t_tcp_pair(t2);
	/* Bytes queued before the receiver sees them: one read gets all. */
	send_three(a[1], split);
	send_three(b[1], split);
	send_three(r[1], split);
	send_three(t2[1], split);
	REQUIRE(!nm_rx_add_fd(rx, a[0], 0));
	CHECK_EQ(T_RUN_UNTIL(rx, x.next == 1, t_small_ms()), 0);
	REQUIRE(!nm_rx_add_fd(rx, b[0], 0));
	CHECK_EQ(T_RUN_UNTIL(rx, x.next == 2, t_small_ms()), 0);
	REQUIRE(!nm_rx_add_fd(rx, r[0], 0));
	CHECK_EQ(T_RUN_UNTIL(rx, x.next == 3, t_small_ms()), 0);
	REQUIRE(!nm_rx_add_fd(rx, t2[0], 0));
	/* Fatal if not: each wait below for a close that did not come would
	 * take its whole bound (a suite run of minutes, not a failure). */
	REQUIRE(T_RUN_UNTIL(rx, x.conns[0].closes && x.conns[1].bytes == 300 &&
			    x.conns[2].closes && x.conns[3].closes, t_small_ms()) == 0);

	/* on_data's error closed its connection after one message. */
	CHECK_EQ(x.conns[0].datas, 1);
	CHECK_EQ(x.conns[0].closes, 1);
	CHECK_EQ(x.conns[0].close_err, -EBADMSG);
	CHECK(peer_sees_close(rx, a[1]));
	/* The neighbour got everything and is still open. */
	CHECK_EQ(x.conns[1].bytes, 300);
	CHECK_EQ(x.conns[1].closes, 0);
	/* on_conn's refusal: nothing delivered, on_close with its error. */
	CHECK_EQ(x.conns[2].datas, 0);
	CHECK_EQ(x.conns[2].closes, 1);
	CHECK_EQ(x.conns[2].close_err, -EPERM);
	CHECK(peer_sees_close(rx, r[1]));
	/* nm_rx_conn_close twice: the first error wins, on_close once,
	 * nothing delivered after the close. */
	CHECK_EQ(x.close_inval, -EINVAL);
	CHECK_EQ(x.close_first, 0);
	CHECK_EQ(x.close_again, -EALREADY);
	CHECK_EQ(x.conns[3].datas, 1);
	CHECK_EQ(x.conns[3].closes, 1);
	CHECK_EQ(x.conns[3].close_err, -EIO);
	CHECK(peer_sees_close(rx, t2[1]));
	/* A clean end for the neighbour. */
	close(b[1]);
	CHECK_EQ(T_RUN_UNTIL(rx, x.conns[1].closes, t_small_ms()), 0);
	CHECK_EQ(x.conns[1].close_err, 0);
	if (split)
		CHECK_EQ(x.conns[1].datas, 3);
	REQUIRE(!nm_rx_stats(rx, &st, sizeof(st)));
	CHECK_EQ(st.conns_opened, 4);
	CHECK_EQ(st.conns_closed, 4);
	CHECK_EQ(st.conns_err, 3);
	CHECK_EQ(st.conns_active, 0);
	close(a[1]);
	close(r[1]);
	close(t2[1]);
	CHECK_EQ(nm_rx_destroy(rx), 0);
	CHECK_EQ(t_pool_done(pool), 0);
	CHECK_EQ(t_pool_done(hpool), 0);
}

static void destroy_busy(const char *engine, int split)
{
	struct ctx x = { 0 };
	struct nm_pool *pool, *hpool;
	struct nm_rx *rx;
	int a[2];

	rx = make(engine, split, &x, &pool, &hpool);

	/* From on_data, in nm_rx_poll. */
	t_tcp_pair(a);
	send_three(a[1], split);
	x.destroy_in_data = 1;
	REQUIRE(!nm_rx_add_fd(rx, a[0], 0));
	CHECK_EQ(T_RUN_UNTIL(rx, x.conns[0].datas > 0, t_small_ms()), 0);
	CHECK_EQ(x.busy_data, -EBUSY);

	/* From on_close, in nm_rx_run. */
	x.destroy_in_close = 1;
	close(a[1]);
	for (int i = 0; i < 1000 && !x.conns[0].closes; i++)
		CHECK_EQ(nm_rx_run(rx, 10), 0);
	CHECK_EQ(x.conns[0].closes, 1);
	CHECK_EQ(x.busy_close, -EBUSY);

	/* From on_close, while nm_rx_destroy ends the open connections. */
	t_tcp_pair(a);
	REQUIRE(!nm_rx_add_fd(rx, a[0], 0));
	CHECK_EQ(T_RUN_UNTIL(rx, x.next == 2, t_small_ms()), 0);
	x.busy_close = 0;
	CHECK_EQ(nm_rx_destroy(rx), 0);
	CHECK_EQ(x.conns[1].closes, 1);
	CHECK_EQ(x.conns[1].close_err, -ECANCELED);
	CHECK_EQ(x.busy_close, -EBUSY);
	close(a[1]);
	CHECK_EQ(t_pool_done(pool), 0);
	CHECK_EQ(t_pool_done(hpool), 0);
}

int main(void)
{
	static const char *const engines[] = { "uring", "socket" };

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
		for (int split = 0; split < 2; split++) {
			int before = nm_test_failures;

			data_errors(engines[e], split);
			destroy_busy(engines[e], split);
			printf("%s%s: %s\n", engines[e], split ? " split" : "",
			       nm_test_failures == before ? "ok" : "FAILED");
		}
	}
	return t_done();
}

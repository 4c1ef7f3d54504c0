/* SPDX-License-Identifier: MIT */
/*
 * Split mode with a framing callback of the application's (rx.h's
 * nm_rx_frame_fn), and the limits around it, both engines.  The framing:
 * 'F', a count n (1..4), then n bytes of big-endian payload length: a
 * header of 2 + n bytes the callback can only size once it saw byte 2.
 *
 *  - the callback is called with @avail growing as bytes arrive (one byte
 *    at a time here, each waited for), returns 0 until the header is
 *    whole, and gets the receiver's user pointer; frames come out with the
 *    header it sized (hdr_len, bytes) and their payload, in order;
 *  - a payload of exactly max_frame is delivered; max_frame + 1 ends that
 *    connection with -EMSGSIZE (stats frame_too_big), nothing of it seen;
 *  - the callback's -errno ends the connection with that error;
 *  - a header length beyond @avail, or beyond NM_RX_MAX_HDR: -EPROTO;
 *  - a header never whole within NM_RX_MAX_HDR bytes: -EMSGSIZE.
 */
#include "test_rx_util.h"

#define MAX_FRAME 100000u

struct fst {
	int frames, closed, close_err;
	uint32_t hdr_len[8];
	uint64_t plen[8];
	int bad;
};

static struct {
	void *user_seen;
	size_t last_avail;
	int calls;
} cb;

static ssize_t frame_fn(const void *hdr, size_t avail, size_t *payload_len, void *user)
{
	const uint8_t *h = hdr;
	size_t n, len = 0;

	cb.user_seen = user;
	cb.last_avail = avail;
	cb.calls++;
	if (avail < 1)
		return 0;
	switch (h[0]) {
	case 'F':
		break;
	case 'X':
		return (ssize_t)avail + 1;	/* longer than what it was shown */
	case 'Y':
		return 0;			/* never whole */
	case 'Z':
		*payload_len = 0;
		return NM_RX_MAX_HDR + 1;	/* longer than any header */
	default:
		return -EBADMSG;
	}
	if (avail < 2)
		return 0;
	n = h[1];
	if (n < 1 || n > 4)
		return -EBADMSG;
	if (avail < 2 + n)
		return 0;
	for (size_t i = 0; i < n; i++)
		len = len << 8 | h[2 + i];
	*payload_len = len;
	return (ssize_t)(2 + n);
}

static int on_conn(struct nm_rx *rx, struct nm_rx_conn *c, void *user)
{
	struct fst *s = calloc(1, sizeof(*s));

	REQUIRE(s);
	nm_rx_conn_set_user(c, s);
	return 0;
}

static struct fst *last;	/* the state of the last connection closed */

static void on_close(struct nm_rx *rx, struct nm_rx_conn *c, int err, void *user)
{
	struct fst *s = nm_rx_conn_user(c);

	s->closed = 1;
	s->close_err = err;
	free(last);
	last = s;
}

static int on_data(struct nm_rx *rx, struct nm_rx_conn *c, const struct nm_rx_msg *m,
		   void *user)
{
	struct fst *s = nm_rx_conn_user(c);
	const uint8_t *h = nm_buf_data(m->hdr);
	uint64_t off = 0;

	REQUIRE(h && s->frames < 8);
	CHECK(m->flags & NM_RX_MSG_FRAME);
	CHECK_EQ(h[0], 'F');
	CHECK_EQ(m->hdr_len, 2 + h[1]);
	s->hdr_len[s->frames] = m->hdr_len;
	s->plen[s->frames] = m->bytes;
	for (unsigned int i = 0; i < m->nr; i++) {
		const uint8_t *p = nm_buf_data(&m->bufs[i]);

		for (uint32_t k = 0; k < m->bufs[i].len; k++, off++)
			if (p[k] != pat((uint32_t)s->frames, off))
				s->bad++;
		CHECK_EQ(nm_buf_put(&m->bufs[i]), 0);
	}
	CHECK_EQ(nm_buf_put(m->hdr), 0);
	s->frames++;
	return 0;
}

/* A frame: header with @n length bytes, payload pat(@k, i). */
static size_t frame(uint8_t *b, unsigned int n, uint64_t len, uint32_t k)
{
	size_t o = 0;

	b[o++] = 'F';
	b[o++] = (uint8_t)n;
	for (unsigned int i = 0; i < n; i++)
		b[o++] = (uint8_t)(len >> (8 * (n - 1 - i)));
	for (uint64_t i = 0; i < len; i++)
		b[o++] = pat(k, i);
	return o;
}

static struct nm_rx *make(const char *engine, struct nm_pool *pool, struct nm_pool *hpool)
{
	NM_OPTS(nm_rx_opts, o, .engine = engine, .pool = pool, .hdr_pool = hpool,
		.flags = NM_RX_F_SPLIT, .frame = frame_fn, .max_frame = MAX_FRAME,
		.on_data = on_data, .on_conn = on_conn, .on_close = on_close,
		.user = (void *)&cb);

	return nm_rx_create(&o);
}

/* One connection that sends @p then closes: how it ended. */
static struct fst *one(struct nm_rx *rx, const void *p, size_t n)
{
	int sv[2];

	free(last);
	last = NULL;
	t_tcp_pair(sv);
	REQUIRE(!t_send_all(sv[1], p, n));
	close(sv[1]);
	REQUIRE(!nm_rx_add_fd(rx, sv[0], 0));
	CHECK_EQ(T_RUN_UNTIL(rx, last != NULL, t_small_ms()), 0);
	REQUIRE(last);
	return last;
}

static void run(const char *engine)
{
	static uint8_t buf[3 * (MAX_FRAME + 8)];
	struct nm_pool *pool = t_pool(64, 4), *hpool = t_pool(16, 4);
	struct nm_rx *rx = make(engine, pool, hpool);
	struct nm_rx_stats st;
	struct fst *s;
	size_t n;
	int sv[2];

	if (!rx && errno == EOPNOTSUPP) {
		printf("%s: not on this kernel\n", engine);
		goto out;
	}
	REQUIRE(rx);

	/* A header one byte at a time: avail grows, 0 until whole. */
	t_tcp_pair(sv);
	REQUIRE(!nm_rx_add_fd(rx, sv[0], 0));
	n = frame(buf, 3, 5, 0);
	for (size_t i = 0; i < 5; i++) {
		REQUIRE(!t_send_all(sv[1], buf + i, 1));
		CHECK_EQ(T_RUN_UNTIL(rx, cb.last_avail == i + 1, t_small_ms()), 0);
	}
	CHECK(cb.user_seen == (void *)&cb);
	REQUIRE(!t_send_all(sv[1], buf + 5, n - 5));
	/* Then frames of 0, 1 and exactly max_frame bytes, queued at once. */
	n = frame(buf, 1, 0, 1);
	n += frame(buf + n, 2, 1, 2);
	n += frame(buf + n, 4, MAX_FRAME, 3);
	REQUIRE(!t_send_all(sv[1], buf, n));
	close(sv[1]);
	free(last);
	last = NULL;
	CHECK_EQ(T_RUN_UNTIL(rx, last != NULL, t_small_ms()), 0);
	s = last;
	REQUIRE(s);
	CHECK_EQ(s->close_err, 0);
	CHECK_EQ(s->frames, 4);
	CHECK_EQ(s->bad, 0);
	CHECK_EQ(s->hdr_len[0], 5);
	CHECK_EQ(s->plen[0], 5);
	CHECK_EQ(s->hdr_len[1], 3);
	CHECK_EQ(s->plen[1], 0);
	CHECK_EQ(s->hdr_len[2], 4);
	CHECK_EQ(s->plen[2], 1);
	CHECK_EQ(s->hdr_len[3], 6);
	CHECK_EQ(s->plen[3], MAX_FRAME);

	/* One byte past max_frame, after a good frame. */
	n = frame(buf, 1, 10, 0);
	n += frame(buf + n, 4, MAX_FRAME + 1, 1);
	s = one(rx, buf, n);
	CHECK_EQ(s->close_err, -EMSGSIZE);
	CHECK_EQ(s->frames, 1);
	REQUIRE(!nm_rx_stats(rx, &st, sizeof(st)));
	CHECK_EQ(st.frame_too_big, 1);

	/* The callback's own error. */
	s = one(rx, "F\x09", 2);
	CHECK_EQ(s->close_err, -EBADMSG);
	CHECK_EQ(s->frames, 0);
	/* Lengths the callback cannot give. */
	memset(buf, 'X', 16);
	s = one(rx, buf, 16);
	CHECK_EQ(s->close_err, -EPROTO);
	memset(buf, 'Z', NM_RX_MAX_HDR + 8);
	s = one(rx, buf, NM_RX_MAX_HDR + 8);
	CHECK_EQ(s->close_err, -EPROTO);
	/* A header that is never whole. */
	memset(buf, 'Y', NM_RX_MAX_HDR + 8);
	s = one(rx, buf, NM_RX_MAX_HDR + 8);
	CHECK_EQ(s->close_err, -EMSGSIZE);
	CHECK_EQ(s->frames, 0);

	CHECK_EQ(nm_rx_destroy(rx), 0);
out:
	free(last);
	last = NULL;
	CHECK_EQ(t_pool_done(pool), 0);
	CHECK_EQ(t_pool_done(hpool), 0);
}

int main(void)
{
	run("uring");
	run("socket");
	return t_done();
}

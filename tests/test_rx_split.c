/* SPDX-License-Identifier: MIT */
/*
 * Header/data split with the built-in framing (4-byte big-endian length),
 * both engines: each frame arrives as one message, its header in a buffer
 * of the host header pool holding exactly the length bytes, its payload in
 * buffers of the payload pool (slices of what was received, no copy).
 * Frames of 1 B to 256 KiB, and empty ones, over 6 interleaved connections;
 * payloads concatenated follow each connection's pattern.
 */
#include "test_rx_util.h"

static struct nm_pool *pool, *hpool;
static _Atomic uint64_t frames, empty;

static int on_data(struct nm_rx *rx, struct nm_rx_conn *c, const struct nm_rx_msg *m,
		   void *user)
{
	const uint8_t *h;
	uint32_t len;

	CHECK(m->flags & NM_RX_MSG_FRAME);
	REQUIRE(m->hdr);
	CHECK_EQ(m->hdr_len, 4);
	CHECK(nm_buf_area(m->hdr) == nm_pool_area(hpool));
	h = nm_buf_data(m->hdr);
	len = (uint32_t)h[0] << 24 | h[1] << 16 | h[2] << 8 | h[3];
	CHECK_EQ(len, m->bytes);
	if (!m->bytes)
		atomic_fetch_add(&empty, 1);
	atomic_fetch_add(&frames, 1);
	CHECK_EQ(nm_buf_put(m->hdr), 0);
	for (unsigned int i = 0; i < m->nr; i++)
		CHECK(nm_buf_area(&m->bufs[i]) == nm_pool_area(pool));
	return t_on_data(rx, c, m, user);
}

static void *send_empty(void *arg)
{
	int port = *(int *)arg;
	int fd = t_connect(port);
	uint8_t f[] = { 0, 0, 0, 4, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0 };

	REQUIRE(fd >= 0);
	REQUIRE(!t_send_all(fd, f, sizeof(f)));	/* seed 1, two empty frames */
	close(fd);
	return NULL;
}

static void run(const char *engine)
{
	struct t_rx t = { .lock = PTHREAD_MUTEX_INITIALIZER };
	NM_OPTS(nm_rx_opts, o, .engine = engine, .on_data = on_data,
		.on_conn = t_on_conn, .on_close = t_on_close, .user = &t,
		.flags = NM_RX_F_SPLIT);
	struct t_sender s = { .nconn = 6, .seed0 = 9000, .framed = 1, .maxmsg = 256 << 10,
			      .per_conn = t_sanitized() ? (1 << 20) : (4 << 20) };
	struct nm_rx_stats st;
	struct nm_rx *rx;
	pthread_t th;

	pool = t_pool(256, 4);
	hpool = t_pool(16, 0);
	o.pool = pool;
	o.hdr_pool = hpool;
	atomic_store(&frames, 0);
	atomic_store(&empty, 0);
	rx = nm_rx_create(&o);
	REQUIRE(rx);
	s.port = nm_rx_listen(rx, "127.0.0.1", 0);
	REQUIRE(s.port > 0);
	t_sender_start(&s);
	REQUIRE(!pthread_create(&th, NULL, send_empty, &s.port));
	CHECK_EQ(T_RUN_UNTIL(rx, atomic_load(&t.closed) == s.nconn + 1 || atomic_load(&t.bad), t_recv_ms()), 0);
	t_sender_join(&s);
	pthread_join(th, NULL);
	CHECK_EQ(atomic_load(&t.bad), 0);
	CHECK_EQ(atomic_load(&t.bytes), s.per_conn * (uint64_t)s.nconn);
	CHECK_EQ(atomic_load(&t.close_errs), 0);
	CHECK_EQ(atomic_load(&empty), 2);
	REQUIRE(!nm_rx_stats(rx, &st, sizeof(st)));
	CHECK_EQ(st.frames, atomic_load(&frames));
	CHECK_EQ(st.hdr_bytes, 4 * st.frames);
	printf("%s split: %llu frames, %llu payload bytes, %llu bufs\n", engine,
	       (unsigned long long)st.frames, (unsigned long long)st.bytes,
	       (unsigned long long)st.bufs);
	CHECK_EQ(nm_rx_destroy(rx), 0);
	CHECK_EQ(t_pool_done(pool), 0);
	CHECK_EQ(t_pool_done(hpool), 0);
}

int main(void)
{
	run("socket");
	run("uring");
	return t_done();
}

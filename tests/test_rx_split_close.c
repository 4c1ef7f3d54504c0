/* SPDX-License-Identifier: MIT */
/*
 * Split mode, a peer that closes in the middle of a frame (after part of
 * its payload, and another after half a header): that connection ends
 * with -EPIPE and its partial frame is never delivered (its buffers go
 * back); whole frames before it were delivered; a well-behaved connection
 * alongside ends cleanly.  Then a frame whose length exceeds max_frame:
 * that connection ends with -EMSGSIZE, the others are unaffected.
 * Both engines.
 */
#include "test_rx_util.h"

static _Atomic int epipe, emsgsize, clean;
static _Atomic uint64_t frames;

static int on_data(struct nm_rx *rx, struct nm_rx_conn *c, const struct nm_rx_msg *m,
		   void *user)
{
	CHECK_EQ(nm_buf_put(m->hdr), 0);
	for (unsigned int i = 0; i < m->nr; i++) {
		const uint8_t *p = nm_buf_data(&m->bufs[i]);
		for (uint32_t k = 0; k < m->bufs[i].len; k++)
			if (p[k] != 0xab) {
				CHECK(!"payload byte");
				break;
			}
		CHECK_EQ(nm_buf_put(&m->bufs[i]), 0);
	}
	atomic_fetch_add(&frames, 1);
	return 0;
}

static void on_close(struct nm_rx *rx, struct nm_rx_conn *c, int err, void *user)
{
	if (err == -EPIPE)
		atomic_fetch_add(&epipe, 1);
	else if (err == -EMSGSIZE)
		atomic_fetch_add(&emsgsize, 1);
	else if (!err)
		atomic_fetch_add(&clean, 1);
	else
		fprintf(stderr, "unexpected close error %d\n", err);
}

/* One connection: a whole 1000-byte frame, then @tail bytes of another. */
static void send_conn(int port, const uint8_t *tail, size_t n)
{
	uint8_t f[1004];
	int fd = t_connect(port);

	REQUIRE(fd >= 0);
	f[0] = 0; f[1] = 0; f[2] = 0x03; f[3] = 0xe8;
	memset(f + 4, 0xab, 1000);
	REQUIRE(!t_send_all(fd, f, sizeof(f)));
	if (n)
		REQUIRE(!t_send_all(fd, tail, n));
	close(fd);
}

static void run(const char *engine)
{
	struct nm_pool *pool = t_pool(64, 4), *hpool = t_pool(8, 0);
	NM_OPTS(nm_rx_opts, o, .engine = engine, .on_data = on_data, .on_close = on_close,
		.flags = NM_RX_F_SPLIT, .pool = pool, .hdr_pool = hpool,
		.max_frame = 64 << 10);
	uint8_t mid[4 + 500], half[2] = { 0, 0 }, big[8] = { 0, 0x10, 0, 0, 1, 2, 3, 4 };
	struct nm_rx_stats st;
	struct nm_rx *rx = nm_rx_create(&o);
	int port;

	REQUIRE(rx);
	atomic_store(&epipe, 0);
	atomic_store(&emsgsize, 0);
	atomic_store(&clean, 0);
	atomic_store(&frames, 0);
	port = nm_rx_listen(rx, "127.0.0.1", 0);
	REQUIRE(port > 0);
	mid[0] = 0; mid[1] = 0; mid[2] = 0x10; mid[3] = 0;	/* 4096, 500 sent */
	memset(mid + 4, 0xab, 500);
	send_conn(port, mid, sizeof(mid));	/* mid-payload */
	send_conn(port, half, sizeof(half));	/* mid-header */
	send_conn(port, NULL, 0);		/* clean */
	CHECK_EQ(T_RUN_UNTIL(rx, atomic_load(&epipe) + atomic_load(&clean) == 3, t_small_ms()), 0);
	CHECK_EQ(atomic_load(&epipe), 2);
	CHECK_EQ(atomic_load(&clean), 1);
	CHECK_EQ(atomic_load(&frames), 3);
	/* 1 MiB announced, 64 KiB allowed; a clean one alongside. */
	send_conn(port, big, sizeof(big));
	send_conn(port, NULL, 0);
	CHECK_EQ(T_RUN_UNTIL(rx, atomic_load(&emsgsize) + atomic_load(&clean) == 3, t_small_ms()), 0);
	CHECK_EQ(atomic_load(&emsgsize), 1);
	CHECK_EQ(atomic_load(&clean), 2);
	CHECK_EQ(atomic_load(&frames), 5);
	REQUIRE(!nm_rx_stats(rx, &st, sizeof(st)));
	CHECK_EQ(st.frame_too_big, 1);
	CHECK_EQ(st.conns_err, 3);
	CHECK_EQ(st.conns_active, 0);
	printf("%s: %s / %s\n", engine, nm_strerror(-EPIPE), nm_strerror(-EMSGSIZE));
	CHECK_EQ(nm_rx_destroy(rx), 0);
	CHECK_EQ(nm_pool_inflight(pool), 0);
	CHECK_EQ(nm_pool_inflight(hpool), 0);
	CHECK_EQ(t_pool_done(pool), 0);
	CHECK_EQ(t_pool_done(hpool), 0);
}

int main(void)
{
	run("socket");
	run("uring");
	return t_done();
}

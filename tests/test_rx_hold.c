/* SPDX-License-Identifier: MIT */
/*
 * The uring engine's hold (src/rx/uring.c, ur_wait_shape): while 16
 * connections or more stream (a completion of 32 KiB or more each within
 * an epoch), a wait holds for up to 1 ms.
 *
 *   - 32 loopback connections, each with one buffer's worth (64 KiB: its
 *     seed and the pattern) sent before the receiver runs, then closed
 *     once all of it has arrived: every connection's data comes in one
 *     64 KiB completion, so the first wait after 16 of them (at the
 *     latest the one for the closes) is shaped to hold, where the kernel
 *     has min-wait (NM_RX_FEAT_MIN_WAIT): held_waits > 0; without
 *     min-wait, 0.  Every byte arrives, in order.
 *   - 4 connections streaming 8 MiB each: below the threshold, no wait
 *     holds (held_waits == 0), and every byte arrives.
 *
 * Not a timing test: which waits held is counted, not how long they took;
 * the first case does not depend on how fast anything runs.
 */
#include "test_rx_util.h"

#define BURST_CONNS 32
#define BURST_BYTES (64u << 10)	/* one receive buffer: the pool's chunk */

struct rxrun {
	struct nm_pool *pool;
	struct t_rx t;
	struct nm_rx *rx;
	unsigned int features;
};

static void rx_up(struct rxrun *r)
{
	r->pool = t_pool(512, 4);
	r->t = (struct t_rx){ .lock = PTHREAD_MUTEX_INITIALIZER };
	NM_OPTS(nm_rx_opts, o, .engine = "uring", .pool = r->pool, .on_data = t_on_data,
		.on_conn = t_on_conn, .on_close = t_on_close, .user = &r->t);
	struct nm_rx_info info;

	r->rx = nm_rx_create(&o);
	if (!r->rx && errno == EOPNOTSUPP)
		SKIP("the uring engine is refused here (io_uring unavailable)");
	REQUIRE(r->rx);
	REQUIRE(!nm_rx_info(r->rx, &info, sizeof(info)));
	REQUIRE(info.buf_size == BURST_BYTES);
	r->features = info.features;
}

/* Check the counts, tear down; return held_waits. */
static uint64_t rx_down(struct rxrun *r, int nconn, uint64_t per_conn)
{
	struct nm_rx_stats st;

	REQUIRE(!nm_rx_stats(r->rx, &st, sizeof(st)));
	CHECK_EQ(atomic_load(&r->t.bad), 0);
	CHECK_EQ(st.bytes, (uint64_t)nconn * per_conn);
	CHECK_EQ(st.conns_closed, (uint64_t)nconn);
	CHECK_EQ(atomic_load(&r->t.close_errs), 0);
	printf("%d connections x %llu bytes: %llu completions, %llu waits held (min-wait %s)\n",
	       nconn, (unsigned long long)per_conn, (unsigned long long)st.recv_calls,
	       (unsigned long long)st.held_waits,
	       r->features & NM_RX_FEAT_MIN_WAIT ? "yes" : "no");
	CHECK_EQ(nm_rx_destroy(r->rx), 0);
	CHECK_EQ(nm_pool_inflight(r->pool), 0);
	CHECK_EQ(t_pool_done(r->pool), 0);
	return st.held_waits;
}

static void burst(void)
{
	static uint8_t buf[BURST_BYTES];
	int fds[BURST_CONNS];
	struct rxrun r;
	int port;

	rx_up(&r);
	port = nm_rx_listen(r.rx, "127.0.0.1", 0);
	REQUIRE(port > 0);
	/* Loopback queues what send() takes at the receiving socket (it
	 * waits in the listener's backlog until accepted), so all of it is
	 * there before the receiver's first pass. */
	for (int i = 0; i < BURST_CONNS; i++) {
		uint32_t seed = 900 + (uint32_t)i;
		int fd = t_connect(port);

		REQUIRE(fd >= 0);
		fds[i] = fd;
		buf[0] = (uint8_t)seed; buf[1] = (uint8_t)(seed >> 8);
		buf[2] = (uint8_t)(seed >> 16); buf[3] = (uint8_t)(seed >> 24);
		for (uint32_t k = 0; k < BURST_BYTES - 4; k++)
			buf[4 + k] = pat(seed, k);
		REQUIRE(!t_send_all(fd, buf, sizeof(buf)));
	}
	CHECK_EQ(T_RUN_UNTIL(r.rx, atomic_load(&r.t.bytes) == BURST_CONNS * (BURST_BYTES - 4) ||
			     atomic_load(&r.t.bad), t_recv_ms()), 0);
	for (int i = 0; i < BURST_CONNS; i++)
		close(fds[i]);
	CHECK_EQ(T_RUN_UNTIL(r.rx, atomic_load(&r.t.closed) == BURST_CONNS ||
			     atomic_load(&r.t.bad), t_recv_ms()), 0);
	CHECK_EQ(atomic_load(&r.t.bytes), (uint64_t)BURST_CONNS * (BURST_BYTES - 4));
	uint64_t held = rx_down(&r, BURST_CONNS, BURST_BYTES);

	if (r.features & NM_RX_FEAT_MIN_WAIT)
		CHECK(held > 0);
	else
		CHECK_EQ(held, 0);	/* no min-wait: nothing to hold with */
}

static void few(void)
{
	uint64_t per = t_sanitized() ? (2u << 20) : (8u << 20);
	struct t_sender s = { .nconn = 4, .seed0 = 700, .per_conn = per, .maxmsg = 256u << 10 };
	struct rxrun r;

	rx_up(&r);
	t_send_and_receive(r.rx, &s, &r.t);
	CHECK_EQ(rx_down(&r, 4, per + 4), 0);
}

int main(void)
{
	burst();
	few();
	return t_done();
}

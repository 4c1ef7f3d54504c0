/* SPDX-License-Identifier: MIT */
/*
 * Connection spreading by the kernel: with NM_RX_LISTEN_REUSEPORT,
 * nm_rx_listen() makes one SO_REUSEPORT listener per queue on the same
 * port, each queue accepts its own connections and keeps them (none is
 * handed over).  Two queues, 16 connections, both queues driven by this
 * thread (nm_rx_queue_poll).  First only queue 1 is driven, until it has
 * a connection: with one listener on queue 0 handing connections over,
 * queue 1 alone gets none.  Then both: both queues receive (the kernel
 * hashes each connection's 4-tuple; all 16 on one queue is a 1-in-32768
 * chance), each connection stays on the queue that accepted it, every
 * byte arrives in order.  Unknown listen_flags are refused at create.
 * Both engines.
 */
#include "test_rx_util.h"

static _Atomic int per_q[2];

static int on_conn(struct nm_rx *rx, struct nm_rx_conn *c, void *user)
{
	int q = nm_rx_conn_queue(c);

	REQUIRE(q == 0 || q == 1);
	atomic_fetch_add(&per_q[q], 1);
	return t_on_conn(rx, c, user);
}

static void run(const char *engine)
{
	struct nm_pool *pools[2] = { t_pool(128, 4), t_pool(128, 4) };
	struct t_rx t = { .lock = PTHREAD_MUTEX_INITIALIZER };
	NM_OPTS(nm_rx_opts, o, .engine = engine, .pools = pools, .nr_queues = 2,
		.on_data = t_on_data, .on_conn = on_conn, .on_close = t_on_close,
		.user = &t, .listen_flags = NM_RX_LISTEN_REUSEPORT);
	struct t_sender s = { .nconn = 16, .seed0 = 21000, .maxmsg = 256 << 10,
			      .per_conn = t_sanitized() ? (64 << 10) : (1 << 20) };
	uint64_t end = t_now_ms() + (t_sanitized() ? 60000 : 20000);
	struct nm_rx_stats q0, q1;
	struct nm_rx *rx;

	o.listen_flags = 1u << 7;
	errno = 0;
	CHECK(nm_rx_create(&o) == NULL && errno == EINVAL);
	o.listen_flags = NM_RX_LISTEN_REUSEPORT;
	rx = nm_rx_create(&o);
	REQUIRE(rx);
	atomic_store(&per_q[0], 0);
	atomic_store(&per_q[1], 0);
	s.port = nm_rx_listen(rx, "127.0.0.1", 0);
	REQUIRE(s.port > 0);
	t_sender_start(&s);
	while (!atomic_load(&per_q[1]) && !atomic_load(&t.bad) && t_now_ms() < end)
		CHECK(nm_rx_queue_poll(rx, 1, 10) >= 0);
	CHECK(atomic_load(&per_q[1]) > 0);
	CHECK_EQ(atomic_load(&per_q[0]), 0);	/* queue 0 never ran */
	while (atomic_load(&t.closed) < s.nconn && !atomic_load(&t.bad) && t_now_ms() < end) {
		CHECK(nm_rx_queue_poll(rx, 0, 1) >= 0);
		CHECK(nm_rx_queue_poll(rx, 1, 1) >= 0);
	}
	t_sender_join(&s);
	CHECK_EQ(atomic_load(&t.bad), 0);
	CHECK_EQ(atomic_load(&t.bytes), s.per_conn * (uint64_t)s.nconn);
	CHECK_EQ(atomic_load(&t.close_errs), 0);
	CHECK(atomic_load(&per_q[0]) > 0 && atomic_load(&per_q[1]) > 0);
	CHECK_EQ(atomic_load(&per_q[0]) + atomic_load(&per_q[1]), s.nconn);
	/* Kept where accepted: each queue's counters are its own conns. */
	CHECK_EQ(nm_rx_queue_stats(rx, 0, &q0, sizeof(q0)), 0);
	CHECK_EQ(nm_rx_queue_stats(rx, 1, &q1, sizeof(q1)), 0);
	CHECK_EQ(q0.conns_opened, (uint64_t)atomic_load(&per_q[0]));
	CHECK_EQ(q1.conns_opened, (uint64_t)atomic_load(&per_q[1]));
	CHECK(q0.bytes > 0 && q1.bytes > 0);
	CHECK_EQ(nm_rx_destroy(rx), 0);
	CHECK_EQ(t_pool_done(pools[0]), 0);
	CHECK_EQ(t_pool_done(pools[1]), 0);
}

int main(void)
{
	run("uring");
	run("socket");
	return t_done();
}

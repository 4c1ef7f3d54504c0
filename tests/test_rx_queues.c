/* SPDX-License-Identifier: MIT */
/*
 * Several queue threads: two queues, a pool each, one listener on queue 0
 * handing accepted connections round-robin to both.  nm_rx_run() runs
 * queue 0 in the caller and queue 1 in a thread of its own; a stop from
 * another thread ends it.  Every byte arrives in order; both queues got
 * connections.  Both engines.
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

static void *stopper(void *arg)
{
	struct nm_rx *rx = arg;

	usleep(50000);
	nm_rx_stop(rx);
	return NULL;
}

static void run(const char *engine)
{
	struct nm_pool *pools[2] = { t_pool(128, 4), t_pool(128, 4) };
	struct t_rx t = { .lock = PTHREAD_MUTEX_INITIALIZER };
	NM_OPTS(nm_rx_opts, o, .engine = engine, .pools = pools, .nr_queues = 2,
		.on_data = t_on_data, .on_conn = on_conn, .on_close = t_on_close, .user = &t);
	struct t_sender s = { .nconn = 8, .seed0 = 13000, .maxmsg = 1 << 20,
			      .per_conn = t_sanitized() ? (256 << 10) : (2 << 20) };
	struct nm_rx *rx = nm_rx_create(&o);
	uint64_t end = t_now_ms() + t_recv_ms();
	pthread_t th;

	REQUIRE(rx);
	atomic_store(&per_q[0], 0);
	atomic_store(&per_q[1], 0);
	s.port = nm_rx_listen(rx, "127.0.0.1", 0);
	REQUIRE(s.port > 0);
	t_sender_start(&s);
	while (atomic_load(&t.closed) < s.nconn && !atomic_load(&t.bad) && t_now_ms() < end)
		CHECK_EQ(nm_rx_run(rx, 20), 0);
	t_sender_join(&s);
	CHECK_EQ(atomic_load(&t.bad), 0);
	CHECK_EQ(atomic_load(&t.bytes), s.per_conn * (uint64_t)s.nconn);
	CHECK_EQ(atomic_load(&t.close_errs), 0);
	CHECK_EQ(atomic_load(&per_q[0]), 4);
	CHECK_EQ(atomic_load(&per_q[1]), 4);
	/* A stop from another thread ends a run without a timeout. */
	REQUIRE(!pthread_create(&th, NULL, stopper, rx));
	CHECK_EQ(nm_rx_run(rx, -1), 0);
	pthread_join(th, NULL);
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

/* SPDX-License-Identifier: MIT */
/*
 * A slow consumer holds every buffer it is given.  The pool (16 chunks of
 * 64 KiB) runs dry; the engine reports it (uring: -ENOBUFS ends the
 * multishot recv; socket: the connection is parked), receives nothing more
 * and loses nothing.  When the consumer lets go, receiving resumes (uring
 * re-arms) and every byte arrives in order.  Both engines.
 */
#include "test_rx_util.h"

static void run(const char *engine)
{
	struct nm_pool *pool = t_pool(16, 4);
	struct t_rx t = { .lock = PTHREAD_MUTEX_INITIALIZER, .hold = 1 };
	NM_OPTS(nm_rx_opts, o, .engine = engine, .pool = pool, .on_data = t_on_data,
		.on_conn = t_on_conn, .on_close = t_on_close, .user = &t,
		.ring_entries = 32);
	struct t_sender s = { .nconn = 2, .seed0 = 3000, .maxmsg = 1 << 20,
			      .per_conn = 4 << 20 };
	struct nm_rx_stats st;
	struct nm_rx *rx = nm_rx_create(&o);
	uint64_t stuck;

	REQUIRE(rx);
	s.port = nm_rx_listen(rx, "127.0.0.1", 0);
	REQUIRE(s.port > 0);
	t_sender_start(&s);
	/* Hold everything until the pool is dry. */
	CHECK_EQ(T_RUN_UNTIL(rx, (nm_rx_stats(rx, &st, sizeof(st)), st.enobufs > 0 && st.pool_empty > 0), t_recv_ms()), 0);
	stuck = atomic_load(&t.bytes);
	/* Nothing moves while the consumer holds on. */
	T_RUN_UNTIL(rx, 0, 200);
	CHECK_EQ(atomic_load(&t.bytes), stuck);
	CHECK(stuck < s.per_conn * 2);
	CHECK_EQ(nm_pool_inflight(pool), 16);
	printf("%s: dry at %llu bytes, %u buffers held, enobufs %llu\n", engine,
	       (unsigned long long)stuck, t.nheld, (unsigned long long)st.enobufs);
	/* Let go, and from now on put at once. */
	t_release_held(&t);
	t.hold = 0;
	CHECK_EQ(T_RUN_UNTIL(rx, atomic_load(&t.closed) == s.nconn || atomic_load(&t.bad), t_recv_ms()), 0);
	t_sender_join(&s);
	CHECK_EQ(atomic_load(&t.bad), 0);
	CHECK_EQ(atomic_load(&t.bytes), s.per_conn * 2);
	CHECK_EQ(atomic_load(&t.close_errs), 0);
	REQUIRE(!nm_rx_stats(rx, &st, sizeof(st)));
	if (!strcmp(engine, "uring"))
		CHECK(st.rearm > 0);
	CHECK_EQ(nm_rx_destroy(rx), 0);
	CHECK_EQ(t_pool_done(pool), 0);
	free(t.held);
}

int main(void)
{
	run("uring");
	run("socket");
	return t_done();
}

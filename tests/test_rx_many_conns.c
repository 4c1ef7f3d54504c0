/* SPDX-License-Identifier: MIT */
/*
 * 1000 connections open at once on one receiver, both engines: all are
 * connected before any sends, each then sends its seed and 1000 pattern
 * bytes and closes.  Every connection is accepted, read and closed cleanly.
 */
#include "test_rx_util.h"

#define N 1000

struct many {
	int port;
	int err;
};

static void *client(void *arg)
{
	struct many *m = arg;
	static int fds[N];
	uint8_t buf[1004];

	for (int i = 0; i < N; i++) {
		fds[i] = t_connect(m->port);
		if (fds[i] < 0) {
			m->err = errno ? errno : 1;
			return NULL;
		}
	}
	for (int i = 0; i < N; i++) {
		uint32_t seed = 5000 + (uint32_t)i;
		buf[0] = (uint8_t)seed; buf[1] = (uint8_t)(seed >> 8);
		buf[2] = (uint8_t)(seed >> 16); buf[3] = (uint8_t)(seed >> 24);
		for (int k = 0; k < 1000; k++)
			buf[4 + k] = pat(seed, (uint64_t)k);
		if (t_send_all(fds[i], buf, sizeof(buf)))
			m->err = 1;
	}
	for (int i = 0; i < N; i++)
		close(fds[i]);
	return NULL;
}

static void run(const char *engine)
{
	struct nm_pool *pool = t_pool(256, 4);
	struct t_rx t = { .lock = PTHREAD_MUTEX_INITIALIZER };
	NM_OPTS(nm_rx_opts, o, .engine = engine, .pool = pool, .on_data = t_on_data,
		.on_conn = t_on_conn, .on_close = t_on_close, .user = &t);
	struct many m = { 0 };
	struct nm_rx_stats st;
	struct nm_rx *rx = nm_rx_create(&o);
	pthread_t th;

	REQUIRE(rx);
	m.port = nm_rx_listen(rx, "127.0.0.1", 0);
	REQUIRE(m.port > 0);
	REQUIRE(!pthread_create(&th, NULL, client, &m));
	CHECK_EQ(T_RUN_UNTIL(rx, atomic_load(&t.closed) == N || m.err, t_recv_ms()), 0);
	pthread_join(th, NULL);
	CHECK_EQ(m.err, 0);
	CHECK_EQ(atomic_load(&t.bad), 0);
	CHECK_EQ(atomic_load(&t.bytes), (uint64_t)N * 1000);
	CHECK_EQ(atomic_load(&t.close_errs), 0);
	REQUIRE(!nm_rx_stats(rx, &st, sizeof(st)));
	CHECK_EQ(st.conns_opened, N);
	CHECK_EQ(st.conns_active, 0);
	printf("%s: %d connections, %llu msgs, enobufs %llu\n", engine, N,
	       (unsigned long long)st.msgs, (unsigned long long)st.enobufs);
	CHECK_EQ(nm_rx_destroy(rx), 0);
	CHECK_EQ(t_pool_done(pool), 0);
}

int main(void)
{
	t_raise_nofile(4 * N + 64);
	run("uring");
	run("socket");
	return t_done();
}

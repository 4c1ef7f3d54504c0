/* SPDX-License-Identifier: MIT */
/*
 * Receive integrity, both engines: 16 loopback connections, each a stream
 * of messages of random sizes (1 B to 1 MiB) with a per-connection pattern,
 * sent interleaved from 4 threads.  Every byte must arrive, in order, in
 * pool buffers; the pool must have every chunk back at the end.
 */
#include "test_rx_util.h"

#define NCONN 16
#define NSEND 4

struct sender {
	int port;
	int idx;
	uint64_t per_conn;
};

/* Set once the receive is over: a sender still blocked in send() on a
 * full socket then gives up, so the join cannot hang. */
static _Atomic int give_up;

static int send_or_give_up(int fd, const void *p, size_t n)
{
	const char *c = p;

	while (n) {
		ssize_t r = send(fd, c, n, MSG_NOSIGNAL);

		if (r < 0) {
			if (errno == EINTR ||
			    ((errno == EAGAIN || errno == EWOULDBLOCK) && !atomic_load(&give_up)))
				continue;
			return -1;
		}
		c += r;
		n -= (size_t)r;
	}
	return 0;
}

static void *send_thread(void *arg)
{
	struct sender *s = arg;
	int fds[NCONN / NSEND];
	uint64_t off[NCONN / NSEND] = { 0 }, rs = 0x9e3779b97f4a7c15ull ^ (uint64_t)s->idx;
	static _Thread_local uint8_t buf[1 << 20];
	int left = NCONN / NSEND;

	struct timeval tmo = { .tv_usec = 100000 };

	for (int i = 0; i < NCONN / NSEND; i++) {
		uint32_t seed = (uint32_t)(s->idx * 100 + i + 1);
		uint8_t s4[4] = { seed, seed >> 8, seed >> 16, seed >> 24 };

		fds[i] = t_connect(s->port);
		REQUIRE(fds[i] >= 0);
		/* A receive that failed stops us within this (see below). */
		setsockopt(fds[i], SOL_SOCKET, SO_SNDTIMEO, &tmo, sizeof(tmo));
		REQUIRE(!send_or_give_up(fds[i], s4, 4));
	}
	/* Round-robin one message per connection, so streams interleave. */
	while (left) {
		for (int i = 0; i < NCONN / NSEND; i++) {
			uint32_t seed = (uint32_t)(s->idx * 100 + i + 1);
			uint64_t n;

			if (fds[i] < 0)
				continue;
			n = t_msg_size(&rs);
			if (n > s->per_conn - off[i])
				n = s->per_conn - off[i];
			for (uint64_t k = 0; k < n; k++)
				buf[k] = pat(seed, off[i] + k);
			if (send_or_give_up(fds[i], buf, n)) {
				/* The receiver failed and stopped reading. */
				for (int k = 0; k < NCONN / NSEND; k++)
					if (fds[k] >= 0)
						close(fds[k]);
				return NULL;
			}
			off[i] += n;
			if (off[i] == s->per_conn) {
				close(fds[i]);
				fds[i] = -1;
				left--;
			}
		}
	}
	return NULL;
}

static void run(const char *engine)
{
	struct nm_pool *pool = t_pool(512, 4);
	struct t_rx t = { .lock = PTHREAD_MUTEX_INITIALIZER };
	NM_OPTS(nm_rx_opts, o, .engine = engine, .pool = pool, .on_data = t_on_data,
		.on_conn = t_on_conn, .on_close = t_on_close, .user = &t);
	struct sender snd[NSEND];
	pthread_t th[NSEND];
	uint64_t per = t_sanitized() ? (1u << 20) : (4u << 20);
	struct nm_rx_stats st;
	struct nm_rx_info info;
	struct nm_rx *rx;
	uint64_t t0;
	int port;

	rx = nm_rx_create(&o);
	if (!rx && errno == EOPNOTSUPP)
		SKIP("engine %s refused here", engine);
	REQUIRE(rx);
	REQUIRE(!nm_rx_info(rx, &info, sizeof(info)));
	port = nm_rx_listen(rx, "127.0.0.1", 0);
	REQUIRE(port > 0);
	atomic_store(&give_up, 0);
	for (int i = 0; i < NSEND; i++) {
		snd[i] = (struct sender){ port, i, per };
		REQUIRE(!pthread_create(&th[i], NULL, send_thread, &snd[i]));
	}
	t0 = t_now_ms();
	CHECK_EQ(T_RUN_UNTIL(rx, atomic_load(&t.closed) == NCONN || atomic_load(&t.bad), t_recv_ms()), 0);
	atomic_store(&give_up, 1);	/* a sender still blocked: the receive failed */
	for (int i = 0; i < NSEND; i++)
		pthread_join(th[i], NULL);
	CHECK_EQ(atomic_load(&t.bad), 0);
	CHECK_EQ(atomic_load(&t.bytes), (uint64_t)NCONN * per);
	CHECK_EQ(atomic_load(&t.close_errs), 0);
	REQUIRE(!nm_rx_stats(rx, &st, sizeof(st)));
	printf("%s (features %#x, buf %u): %llu bytes in %llu msgs, %llu bufs, %llu ms; "
	       "refill %llu in %llu batches, enobufs %llu, rearm %llu, bundles %llu, inc %llu\n",
	       engine, info.features, info.buf_size, (unsigned long long)st.bytes,
	       (unsigned long long)st.msgs, (unsigned long long)st.bufs,
	       (unsigned long long)(t_now_ms() - t0), (unsigned long long)st.refill,
	       (unsigned long long)st.refill_batches, (unsigned long long)st.enobufs,
	       (unsigned long long)st.rearm, (unsigned long long)st.bundles,
	       (unsigned long long)st.inc_partial);
	CHECK_EQ(st.bytes, (uint64_t)NCONN * (per + 4));
	CHECK_EQ(st.conns_opened, NCONN);
	CHECK_EQ(st.conns_closed, NCONN);
	CHECK_EQ(st.conns_active, 0);
	CHECK_EQ(nm_rx_destroy(rx), 0);
	CHECK_EQ(nm_pool_inflight(pool), 0);
	CHECK_EQ(t_pool_done(pool), 0);
}

int main(int argc, char **argv)
{
	run(argc > 1 ? argv[1] : "socket");
	if (argc <= 1)
		run("uring");
	return t_done();
}

/* SPDX-License-Identifier: MIT */
/*
 * Queues the application drives: two queues, each driven by a thread of
 * the test's own that waits on nm_rx_queue_fd() in an epoll set of its own
 * and calls nm_rx_queue_poll(.., 0) only when that fd is readable.  If the
 * fd did not become readable when the queue had work, nothing would be
 * received and the run would reach its bound.  Every byte arrives in
 * order; each queue got its half of the connections; the per-queue stats
 * add up to the receiver's.  From a callback, nm_rx_run, nm_rx_destroy and
 * a pass of the same queue are refused (-EBUSY); bad arguments are
 * -EINVAL.  Both engines.
 */
#include "test_rx_util.h"
#include <sys/epoll.h>

static _Atomic int per_q[2], busy_checked;

static int on_conn(struct nm_rx *rx, struct nm_rx_conn *c, void *user)
{
	int q = nm_rx_conn_queue(c);

	REQUIRE(q == 0 || q == 1);
	atomic_fetch_add(&per_q[q], 1);
	/* The queue is in a pass on this thread: the rest is refused. */
	CHECK_EQ(nm_rx_queue_poll(rx, (unsigned int)q, 0), -EBUSY);
	CHECK_EQ(nm_rx_run(rx, 0), -EBUSY);
	CHECK_EQ(nm_rx_destroy(rx), -EBUSY);
	atomic_fetch_add(&busy_checked, 1);
	return t_on_conn(rx, c, user);
}

struct driver {
	struct nm_rx *rx;
	unsigned int queue;
	struct t_rx *t;
	int want, err;
};

/* The application's loop for one queue. */
static void *drive(void *arg)
{
	struct driver *d = arg;
	struct epoll_event ev = { .events = EPOLLIN }, got;
	int ep = epoll_create1(EPOLL_CLOEXEC), fd;
	uint64_t end = t_now_ms() + (t_sanitized() ? 60000 : 20000);

	fd = nm_rx_queue_fd(d->rx, d->queue);
	REQUIRE(ep >= 0 && fd >= 0);
	CHECK_EQ(nm_rx_queue_fd(d->rx, d->queue), fd);	/* the same one */
	REQUIRE(!epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev));
	while (atomic_load(&d->t->closed) < d->want && !atomic_load(&d->t->bad)) {
		int n = epoll_wait(ep, &got, 1, 100);

		if (t_now_ms() > end) {
			fprintf(stderr, "queue %u: no end by the bound\n", d->queue);
			d->err = -ETIME;
			break;
		}
		if (n <= 0)
			continue;
		n = nm_rx_queue_poll(d->rx, d->queue, 0);
		if (n < 0) {
			d->err = n;
			break;
		}
	}
	close(ep);
	return NULL;
}

static void run(const char *engine)
{
	struct nm_pool *pools[2] = { t_pool(128, 4), t_pool(128, 4) };
	struct t_rx t = { .lock = PTHREAD_MUTEX_INITIALIZER };
	NM_OPTS(nm_rx_opts, o, .engine = engine, .pools = pools, .nr_queues = 2,
		.on_data = t_on_data, .on_conn = on_conn, .on_close = t_on_close, .user = &t);
	struct t_sender s = { .nconn = 8, .seed0 = 17000, .maxmsg = 1 << 20,
			      .per_conn = t_sanitized() ? (256 << 10) : (2 << 20) };
	struct nm_rx *rx = nm_rx_create(&o);
	struct driver d[2];
	struct nm_rx_stats all, q0, q1, bad;
	pthread_t th[2];

	REQUIRE(rx);
	atomic_store(&per_q[0], 0);
	atomic_store(&per_q[1], 0);
	atomic_store(&busy_checked, 0);
	CHECK_EQ(nm_rx_queue_fd(rx, 2), -EINVAL);
	CHECK_EQ(nm_rx_queue_fd(NULL, 0), -EINVAL);
	CHECK_EQ(nm_rx_queue_poll(rx, 2, 0), -EINVAL);
	CHECK_EQ(nm_rx_queue_poll(NULL, 0, 0), -EINVAL);
	CHECK_EQ(nm_rx_queue_stats(rx, 2, &bad, sizeof(bad)), -EINVAL);
	CHECK_EQ(nm_rx_queue_stats(rx, 0, NULL, sizeof(bad)), -EINVAL);
	CHECK_EQ(nm_rx_queue_stats(rx, 0, &bad, 8), -EINVAL);
	CHECK_EQ(nm_rx_poll(rx, 0), -EINVAL);	/* more than one queue */
	s.port = nm_rx_listen(rx, "127.0.0.1", 0);
	REQUIRE(s.port > 0);
	for (unsigned int i = 0; i < 2; i++) {
		d[i] = (struct driver){ .rx = rx, .queue = i, .t = &t, .want = s.nconn };
		REQUIRE(!pthread_create(&th[i], NULL, drive, &d[i]));
	}
	t_sender_start(&s);
	for (unsigned int i = 0; i < 2; i++) {
		pthread_join(th[i], NULL);
		CHECK_EQ(d[i].err, 0);
	}
	t_sender_join(&s);
	CHECK_EQ(atomic_load(&t.bad), 0);
	CHECK_EQ(atomic_load(&t.bytes), s.per_conn * (uint64_t)s.nconn);
	CHECK_EQ(atomic_load(&t.close_errs), 0);
	CHECK_EQ(atomic_load(&per_q[0]), 4);
	CHECK_EQ(atomic_load(&per_q[1]), 4);
	CHECK_EQ(atomic_load(&busy_checked), 8);
	CHECK_EQ(nm_rx_stats(rx, &all, sizeof(all)), 0);
	CHECK_EQ(nm_rx_queue_stats(rx, 0, &q0, sizeof(q0)), 0);
	CHECK_EQ(nm_rx_queue_stats(rx, 1, &q1, sizeof(q1)), 0);
	CHECK_EQ(q0.conns_opened, 4);
	CHECK_EQ(q1.conns_opened, 4);
	CHECK(q0.bytes > 0 && q1.bytes > 0);
	CHECK_EQ(q0.bytes + q1.bytes, all.bytes);
	CHECK_EQ(q0.msgs + q1.msgs, all.msgs);
	CHECK_EQ(all.bytes, (s.per_conn + 4) * (uint64_t)s.nconn); /* + seeds */
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

/* SPDX-License-Identifier: MIT */
/*
 * A refused nm_rx_run() on one queue never makes another queue's pass
 * fail.  Queue 1 is driven by a thread of the test's own; when a
 * connection reaches it, its on_conn callback (in a pass of queue 1)
 * calls nm_rx_run() HAMMER times, each refused with -EBUSY.  Meanwhile
 * the main thread drives queue 0 with nm_rx_queue_poll(.., 0), which
 * must succeed every time: nothing holds queue 0 and no run ever wins.
 * The callback starts only once the main thread has said it is polling,
 * and goes on until queue 0 has had OVERLAP passes meanwhile; the main
 * thread keeps polling until the callback is done.  Before the run's claim had its deciding state, a pass
 * that saw a refused run's flag for those few instructions was refused
 * too (mutation rx-claim-deciding-refuses).  Both engines.
 */
#include "test_rx_util.h"

#define HAMMER 200000
#define OVERLAP 1000

enum { H_IDLE, H_READY, H_GO, H_DONE };

static _Atomic int hstate;
static _Atomic int q1_refused_other;	/* nm_rx_run results other than -EBUSY */
static _Atomic uint64_t polls_during;	/* queue 0's passes while the callback runs */
static uint64_t bound_ms;

static int on_conn(struct nm_rx *rx, struct nm_rx_conn *c, void *user)
{
	int expected = H_IDLE;

	if (nm_rx_conn_queue(c) == 1 &&
	    atomic_compare_exchange_strong(&hstate, &expected, H_READY)) {
		/* wait for the main thread to be polling queue 0 */
		while (atomic_load(&hstate) != H_GO)
			sched_yield();
		/* HAMMER calls, and on until queue 0 has had OVERLAP passes
		 * meanwhile (the main thread may have been off its CPU) */
		for (unsigned int i = 0; i < HAMMER || atomic_load(&polls_during) < OVERLAP; i++) {
			if (nm_rx_run(rx, 0) != -EBUSY)
				atomic_fetch_add(&q1_refused_other, 1);
			if (!(i & 4095) && t_now_ms() > bound_ms)
				break;
		}
		atomic_store(&hstate, H_DONE);
	}
	return t_on_conn(rx, c, user);
}

struct driver {
	struct nm_rx *rx;
	_Atomic int stop;
	int err;
};

static void *drive_q1(void *arg)
{
	struct driver *d = arg;

	while (!atomic_load(&d->stop)) {
		int n = nm_rx_queue_poll(d->rx, 1, 20);

		if (n < 0) {
			d->err = n;
			break;
		}
	}
	return NULL;
}

static void run(const char *engine)
{
	struct nm_pool *pools[2] = { t_pool(64, 4), t_pool(64, 4) };
	struct t_rx t = { .lock = PTHREAD_MUTEX_INITIALIZER };
	NM_OPTS(nm_rx_opts, o, .engine = engine, .pools = pools, .nr_queues = 2,
		.on_data = t_on_data, .on_conn = on_conn, .on_close = t_on_close, .user = &t);
	struct nm_rx *rx = nm_rx_create(&o);
	struct driver d = { .rx = rx };
	uint64_t polls = 0, refused = 0, other_err = 0;
	uint64_t end = t_now_ms() + (t_sanitized() ? 120000 : 30000);
	int port, fds[2], r;
	pthread_t th;

	REQUIRE(rx);
	atomic_store(&hstate, H_IDLE);
	atomic_store(&q1_refused_other, 0);
	atomic_store(&polls_during, 0);
	bound_ms = end;
	port = nm_rx_listen(rx, "127.0.0.1", 0);
	REQUIRE(port > 0);
	REQUIRE(!pthread_create(&th, NULL, drive_q1, &d));
	/* Connections go to the queues in turn: of two, one reaches queue 1. */
	fds[0] = t_connect(port);
	fds[1] = t_connect(port);
	REQUIRE(fds[0] >= 0 && fds[1] >= 0);
	while (atomic_load(&hstate) != H_DONE) {
		int h = atomic_load(&hstate);

		if (t_now_ms() > end) {
			fprintf(stderr, "%s: the callback on queue 1 did not finish by the bound\n",
				engine);
			break;
		}
		r = nm_rx_queue_poll(rx, 0, 0);
		polls++;
		if (h == H_GO)
			atomic_fetch_add(&polls_during, 1);
		if (r == -EBUSY)
			refused++;
		else if (r < 0)
			other_err++;
		if (h == H_READY)
			atomic_store(&hstate, H_GO);
	}
	printf("%s: %llu passes of queue 0 (%llu while queue 1's callback called nm_rx_run), "
	       "%llu refused\n", engine, (unsigned long long)polls,
	       (unsigned long long)atomic_load(&polls_during), (unsigned long long)refused);
	CHECK_EQ(atomic_load(&hstate), H_DONE);
	CHECK_EQ(refused, 0);
	CHECK_EQ(other_err, 0);
	CHECK(atomic_load(&polls_during) >= OVERLAP);
	CHECK_EQ(atomic_load(&q1_refused_other), 0);
	/* The closes reach both queues (queue 1's thread still drives it:
	 * with uring its ring is that thread's). */
	close(fds[0]);
	close(fds[1]);
	while (atomic_load(&t.closed) < 2 && t_now_ms() < end)
		CHECK((r = nm_rx_queue_poll(rx, 0, 10)) >= 0);
	atomic_store(&d.stop, 1);
	pthread_join(th, NULL);
	CHECK_EQ(d.err, 0);
	CHECK_EQ(atomic_load(&t.closed), 2);
	CHECK_EQ(atomic_load(&t.bad), 0);
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

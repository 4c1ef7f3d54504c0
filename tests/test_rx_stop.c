/* SPDX-License-Identifier: MIT */
/*
 * nm_rx_stop() is never lost: a stop made while no run is in progress
 * (before the first run, between runs, from another thread) makes the next
 * nm_rx_run() return at once, even without a timeout, and is then used up:
 * the run after it runs its full time.  One and two queues, both engines.
 *
 * No upper bound on time is asserted: a stop that is lost leaves a run
 * without a timeout running forever, which the runner's timeout reports.
 * A run with a timeout lasting at least that long is nm_rx_run()'s
 * promise (a slow machine only makes it longer), so that stays checked.
 */
#include "test_rx_util.h"

static int on_data(struct nm_rx *rx, struct nm_rx_conn *c, const struct nm_rx_msg *m,
		   void *user)
{
	for (unsigned int i = 0; i < m->nr; i++)
		nm_buf_put(&m->bufs[i]);
	return 0;
}

static void *stopper(void *arg)
{
	nm_rx_stop(arg);
	return NULL;
}

static void run(const char *engine, unsigned int nq)
{
	struct nm_pool *pools[2] = { t_pool(16, 4), t_pool(16, 4) };
	NM_OPTS(nm_rx_opts, o, .engine = engine, .pools = pools, .nr_queues = nq,
		.on_data = on_data);
	struct nm_rx *rx = nm_rx_create(&o);
	uint64_t t0;
	pthread_t th;

	REQUIRE(rx);
	/* Before the first run: no queue thread exists yet. */
	CHECK_EQ(nm_rx_stop(rx), 0);
	CHECK_EQ(nm_rx_run(rx, -1), 0);	/* returns: the stop was kept */

	/* Used up: this run lasts its timeout. */
	t0 = t_now_ms();
	CHECK_EQ(nm_rx_run(rx, 100), 0);
	CHECK(t_now_ms() - t0 >= 90);

	/* Between runs, from another thread. */
	REQUIRE(!pthread_create(&th, NULL, stopper, rx));
	pthread_join(th, NULL);
	CHECK_EQ(nm_rx_run(rx, -1), 0);	/* returns: the stop was kept */

	/* Several stops still stop one run only. */
	nm_rx_stop(rx);
	nm_rx_stop(rx);
	CHECK_EQ(nm_rx_run(rx, -1), 0);
	t0 = t_now_ms();
	CHECK_EQ(nm_rx_run(rx, 50), 0);
	CHECK(t_now_ms() - t0 >= 40);

	CHECK_EQ(nm_rx_destroy(rx), 0);
	CHECK_EQ(t_pool_done(pools[0]), 0);
	CHECK_EQ(t_pool_done(pools[1]), 0);
}

int main(void)
{
	run("uring", 1);
	run("uring", 2);
	run("socket", 1);
	run("socket", 2);
	return t_done();
}

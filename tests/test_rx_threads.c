/* SPDX-License-Identifier: MIT */
/*
 * nm_rx_run's threads: opts.on_thread is called once on each thread it
 * starts (queues 1..), on that thread, before its first pass, and that
 * thread is already pinned to opts.cpus[queue]; opts.cpus[0] pins the
 * calling thread; a cpus entry below -1 or past CPU_SETSIZE is refused at
 * create (EINVAL), and a CPU the process may not run on makes nm_rx_run
 * fail with -EINVAL.  Both engines.
 */
#include "test_rx_util.h"
#include <sched.h>

static _Atomic int hook_calls, hook_queue = -1, hook_pinned, hook_other_thread;
static pthread_t main_thr;
static int want_cpu;

static void on_thread(struct nm_rx *rx, unsigned int queue, void *user)
{
	cpu_set_t set;

	(void)rx;
	(void)user;
	atomic_fetch_add(&hook_calls, 1);
	atomic_store(&hook_queue, (int)queue);
	atomic_store(&hook_other_thread, !pthread_equal(pthread_self(), main_thr));
	if (!pthread_getaffinity_np(pthread_self(), sizeof(set), &set))
		atomic_store(&hook_pinned, CPU_COUNT(&set) == 1 && CPU_ISSET(want_cpu, &set));
}

static void run(const char *engine)
{
	struct nm_pool *pools[2] = { t_pool(64, 4), t_pool(64, 4) };
	struct t_rx t = { .lock = PTHREAD_MUTEX_INITIALIZER };
	int cpus[2] = { want_cpu, want_cpu };
	NM_OPTS(nm_rx_opts, o, .engine = engine, .pools = pools, .nr_queues = 2,
		.on_data = t_on_data, .on_conn = t_on_conn, .on_close = t_on_close,
		.user = &t, .cpus = cpus, .on_thread = on_thread);
	struct nm_rx *rx;
	cpu_set_t set, saved;

	REQUIRE(!pthread_getaffinity_np(pthread_self(), sizeof(saved), &saved));
	atomic_store(&hook_calls, 0);
	atomic_store(&hook_pinned, 0);
	rx = nm_rx_create(&o);
	REQUIRE(rx);
	CHECK_EQ(atomic_load(&hook_calls), 0);	/* no thread before a run */
	CHECK_EQ(nm_rx_run(rx, 10), 0);
	CHECK_EQ(nm_rx_run(rx, 10), 0);
	CHECK_EQ(atomic_load(&hook_calls), 1);	/* once per thread, not per run */
	CHECK_EQ(atomic_load(&hook_queue), 1);
	CHECK_EQ(atomic_load(&hook_other_thread), 1);
	CHECK_EQ(atomic_load(&hook_pinned), 1);
	REQUIRE(!pthread_getaffinity_np(pthread_self(), sizeof(set), &set));
	CHECK(CPU_COUNT(&set) == 1 && CPU_ISSET(want_cpu, &set));
	CHECK_EQ(nm_rx_destroy(rx), 0);
	pthread_setaffinity_np(pthread_self(), sizeof(saved), &saved);

	/* Out of range: refused at create. */
	cpus[1] = -2;
	errno = 0;
	CHECK(nm_rx_create(&o) == NULL && errno == EINVAL);
	cpus[1] = CPU_SETSIZE;
	errno = 0;
	CHECK(nm_rx_create(&o) == NULL && errno == EINVAL);
	/* In range but not ours: the run fails. */
	cpus[0] = -1;
	cpus[1] = CPU_SETSIZE - 1;
	if (!CPU_ISSET(CPU_SETSIZE - 1, &saved)) {
		rx = nm_rx_create(&o);
		REQUIRE(rx);
		CHECK_EQ(nm_rx_run(rx, 10), -EINVAL);
		CHECK_EQ(nm_rx_destroy(rx), 0);
	}
	CHECK_EQ(t_pool_done(pools[0]), 0);
	CHECK_EQ(t_pool_done(pools[1]), 0);
}

int main(void)
{
	cpu_set_t set;

	main_thr = pthread_self();
	REQUIRE(!sched_getaffinity(0, sizeof(set), &set));
	for (want_cpu = CPU_SETSIZE - 1; want_cpu > 0 && !CPU_ISSET(want_cpu, &set); want_cpu--)
		;
	run("uring");
	run("socket");
	return t_done();
}

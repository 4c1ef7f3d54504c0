/* SPDX-License-Identifier: MIT */
/*
 * Revocation racing with live traffic, many rounds: the owner thread
 * allocates whole buffers and fragments, stamps them and hands them to a
 * returner thread that checks the stamp and puts them; a third thread
 * revokes the area at a random moment.  Proves: no crash; once the revoke
 * has returned (the revoker then raises a flag the owner reads), every
 * allocation fails with -ENODEV, and after the first -ENODEV none
 * succeeds; a buffer whose data is still readable holds what was written;
 * every put succeeds; at the end of each round the pool accounts for every
 * chunk (hold == release, nothing in flight) and the area is DEAD with
 * nothing outstanding.
 */
#include "harness.h"
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <time.h>
#include <unistd.h>

#define NR    256
#define QSIZE 128
#define MIN_ROUNDS 5

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

struct round {
	struct nm_area *area;
	struct nm_pool *pool;
	unsigned int delay_us;
	_Atomic int revoked;	/* set after nm_area_revoke returned */
	int revoke_ret;
	struct nm_buf q[QSIZE];
	_Atomic unsigned int head, tail;
	_Atomic int done;
	unsigned long puts, put_err, stamp_err;
};

static void *revoker(void *arg)
{
	struct round *r = arg;

	usleep(r->delay_us);
	r->revoke_ret = nm_area_revoke(r->area, 0);
	atomic_store_explicit(&r->revoked, 1, memory_order_release);
	return NULL;
}

static void *returner(void *arg)
{
	struct round *r = arg;

	for (;;) {
		unsigned int t = atomic_load_explicit(&r->tail, memory_order_relaxed);

		if (t == atomic_load_explicit(&r->head, memory_order_acquire)) {
			if (atomic_load_explicit(&r->done, memory_order_acquire) &&
			    t == atomic_load_explicit(&r->head, memory_order_acquire))
				return NULL;
			t_nap();
			continue;
		}
		struct nm_buf b = r->q[t % QSIZE];
		uint32_t *d = nm_buf_data(&b);
		if (d && *d != (uint32_t)nm_buf_chunk_index(&b) + b.off)
			r->stamp_err++;
		if (nm_buf_put(&b))
			r->put_err++;
		r->puts++;
		atomic_store_explicit(&r->tail, t + 1, memory_order_release);
	}
}

static void one_round(unsigned int seed, unsigned long *allocs)
{
	struct round r = { .delay_us = seed % 3000 };
	struct nm_area_info info;
	struct nm_pool_stats st;
	unsigned long n = 0, enodev_after_flag = 0;
	int seen_enodev = 0;
	pthread_t rv, rt;
	double end;

	r.area = t_host_area(NR, 0);
	r.pool = nm_pool_create(r.area, NULL);
	REQUIRE(r.pool);
	REQUIRE(pthread_create(&rt, NULL, returner, &r) == 0);
	REQUIRE(pthread_create(&rv, NULL, revoker, &r) == 0);

	/* a bound only so that a revoke never seen fails rather than hangs */
	end = now() + 60;
	while (now() < end) {
		int flag = atomic_load_explicit(&r.revoked, memory_order_acquire);
		unsigned int h = atomic_load_explicit(&r.head, memory_order_relaxed);
		struct nm_buf b;
		int ret;

		if (h - atomic_load_explicit(&r.tail, memory_order_acquire) >= QSIZE) {
			t_nap();
			continue;
		}
		if (n % 3 == 2)
			ret = nm_pool_alloc_frag(r.pool, &b, 256 + n % 1024, 0);
		else
			ret = nm_pool_alloc(r.pool, &b);
		n++;
		if (ret == -ENODEV) {
			seen_enodev = 1;
			if (flag && ++enodev_after_flag > 16)
				break;
			if (!flag)
				t_nap();	/* the revoker is still in revoke */
			continue;
		}
		if (ret == -ENOMEM) {
			t_nap();	/* the returner has them all */
			continue;
		}
		REQUIRE(ret == 0);
		if (flag || seen_enodev) {
			fprintf(stderr, "buffer handed out after revoke (flag %d)\n", flag);
			nm_test_failures++;
		}
		uint32_t *d = nm_buf_data(&b);
		if (d)
			*d = (uint32_t)nm_buf_chunk_index(&b) + b.off;
		r.q[h % QSIZE] = b;
		atomic_store_explicit(&r.head, h + 1, memory_order_release);
	}
	REQUIRE(now() < end);
	atomic_store_explicit(&r.done, 1, memory_order_release);
	pthread_join(rt, NULL);
	pthread_join(rv, NULL);
	*allocs += n;

	CHECK(r.revoke_ret >= 0);
	CHECK_EQ(r.put_err, 0);
	CHECK_EQ(r.stamp_err, 0);
	CHECK_EQ(nm_pool_alloc(r.pool, &(struct nm_buf){ 0 }), -ENODEV);
	REQUIRE(nm_pool_get_stats(r.pool, &st, sizeof(st)) == 0);
	CHECK_EQ(st.inflight, 0);
	CHECK_EQ(st.hold, st.release);
	CHECK_EQ(st.err_double_put + st.err_foreign + st.err_not_buf + st.err_range, 0);
	REQUIRE(nm_area_info(r.area, &info, sizeof(info)) == 0);
	CHECK_EQ(info.state, NM_AREA_DEAD);
	CHECK_EQ(info.nr_outstanding, 0);
	CHECK_EQ(nm_pool_destroy(r.pool), 0);
	CHECK_EQ(nm_area_destroy(r.area), 0);
}

int main(void)
{
	double end = now() + (t_sanitized() ? 2.0 : 3.0);
	unsigned long allocs = 0;
	unsigned int rounds = 0;

	/* At least MIN_ROUNDS however slow the machine, more while time is
	 * left. */
	while ((rounds < MIN_ROUNDS || now() < end) && rounds < 5000 &&
	       !nm_test_failures)
		one_round(rounds++ * 2654435761u >> 8, &allocs);
	printf("%u rounds, %lu allocation attempts\n", rounds, allocs);
	return t_done();
}

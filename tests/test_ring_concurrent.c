/* SPDX-License-Identifier: MIT */
/*
 * The pool's return ring (src/core/ring.h) under concurrency: three
 * producers enqueue tagged items in bulks of varied size while the single
 * consumer dequeues.  Every item arrives exactly once and each producer's
 * items arrive in the order it enqueued them (publication is in
 * reservation order); a full ring refuses the excess (short count) rather
 * than overwriting, and room freed by the consumer is always seen again
 * (producers keep the consumer position they last read).  Then the ring
 * is closed while producers are still enqueueing: each enqueue either got
 * in before the close (and is drained) or sees -ESHUTDOWN; nothing
 * published is lost.
 */
#include "harness.h"
#include "core/ring.h"
#include <pthread.h>
#include <time.h>

#define PRODUCERS 3
#define RING      256
/* Tries on a full (empty) ring before a thread sleeps a little: enough
 * to keep producers and consumer racing on the ring while items flow,
 * few enough that a thread waiting for one that is not running does not
 * burn the CPU it needs (a sched_yield() instead hands a busy machine's
 * other programs a whole slice). */
#define SPINS     64

static struct nm_ring ring;
static unsigned long per_producer;
static _Atomic unsigned long accepted[PRODUCERS];
static _Atomic int stop;

/* Items are fake descriptor pointers: producer in the top bits, sequence
 * below; never dereferenced. */
static struct nm_iov *tag(unsigned int p, unsigned long seq)
{
	return (struct nm_iov *)(uintptr_t)(((uintptr_t)(p + 1) << 56) | (seq + 1));
}

static void *producer(void *arg)
{
	unsigned int id = (unsigned int)(uintptr_t)arg;
	struct nm_iov *v[17];
	unsigned long seq = 0;
	unsigned int idle = 0;

	while (seq < per_producer && !atomic_load(&stop)) {
		unsigned int n = 1 + (unsigned int)(seq % 17);
		int r;

		if (n > per_producer - seq)
			n = (unsigned int)(per_producer - seq);
		for (unsigned int i = 0; i < n; i++)
			v[i] = tag(id, seq + i);
		r = nm_ring_enqueue(&ring, v, n);
		if (r == -ESHUTDOWN)
			break;
		REQUIRE(r >= 0 && (unsigned int)r <= n);
		seq += (unsigned int)r;	/* the rest is retried */
		idle = r ? 0 : idle + 1;
		if (idle >= SPINS)
			t_nap();	/* still full: let the consumer drain it */
	}
	atomic_store(&accepted[id], seq);
	return NULL;
}

static unsigned long drain(unsigned long *next, int check_order)
{
	struct nm_iov *v[64];
	unsigned long got = 0;
	uint32_t n;

	while ((n = nm_ring_dequeue(&ring, v, 64))) {
		for (uint32_t i = 0; i < n; i++) {
			uintptr_t x = (uintptr_t)v[i];
			unsigned int p = (unsigned int)(x >> 56) - 1;
			unsigned long seq = (x & ((1ul << 56) - 1)) - 1;

			REQUIRE(p < PRODUCERS);
			if (check_order && seq != next[p]) {
				fprintf(stderr, "producer %u: got %lu, want %lu\n",
					p, seq, next[p]);
				nm_test_failures++;
			}
			next[p] = seq + 1;
		}
		got += n;
	}
	return got;
}

static void run(int close_midway)
{
	unsigned long next[PRODUCERS] = { 0 }, got = 0, want = 0;
	pthread_t th[PRODUCERS];
	struct timespec t0, t;
	unsigned long n;
	unsigned int idle = 0;

	REQUIRE(nm_ring_init(&ring, RING) == 0);
	atomic_store(&stop, 0);
	for (unsigned int i = 0; i < PRODUCERS; i++)
		REQUIRE(pthread_create(&th[i], NULL, producer, (void *)(uintptr_t)i) == 0);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		unsigned long total = PRODUCERS * per_producer;

		got += n = drain(next, 1);
		if (close_midway && got >= total / 2) {
			nm_ring_close(&ring);
			break;
		}
		if (got == total)
			break;
		clock_gettime(CLOCK_MONOTONIC, &t);
		if (n)
			t0 = t;
		/* A bound on a stall only, so that lost items fail rather
		 * than hang: a minute with nothing new to drain. */
		if (t.tv_sec - t0.tv_sec > 60) {
			atomic_store(&stop, 1);
			fprintf(stderr, "nothing for 60 s at %lu of %lu\n", got, total);
			nm_test_failures++;
			break;
		}
		idle = n ? 0 : idle + 1;
		if (idle >= SPINS)
			t_nap();	/* still empty: let the producers fill it */
	}
	for (unsigned int i = 0; i < PRODUCERS; i++)
		pthread_join(th[i], NULL);
	got += drain(next, 1);	/* what was published before the close */
	for (unsigned int i = 0; i < PRODUCERS; i++) {
		want += atomic_load(&accepted[i]);
		CHECK_EQ(next[i], atomic_load(&accepted[i]));
	}
	CHECK_EQ(got, want);
	if (close_midway) {
		struct nm_iov *one = tag(0, 0);
		CHECK_EQ(nm_ring_enqueue(&ring, &one, 1), -ESHUTDOWN);
		printf("closed after %lu items\n", got);
	} else {
		CHECK_EQ(got, PRODUCERS * per_producer);
	}
	CHECK_EQ(nm_ring_count(&ring), 0);
	nm_ring_fini(&ring);
}

int main(void)
{
	struct nm_iov *v[RING + 8];

	per_producer = t_sanitized() ? 20000 : 100000;

	/* Full ring: a short count, nothing overwritten. */
	REQUIRE(nm_ring_init(&ring, 8) == 0);
	for (unsigned int i = 0; i < 12; i++)
		v[i] = tag(0, i);
	CHECK_EQ(nm_ring_enqueue(&ring, v, 12), 8);
	CHECK_EQ(nm_ring_enqueue(&ring, v, 1), 0);
	CHECK_EQ(nm_ring_count(&ring), 8);
	CHECK_EQ(nm_ring_dequeue(&ring, v, RING), 8);
	for (unsigned int i = 0; i < 8; i++)
		CHECK(v[i] == tag(0, i));
	/* Producers judge room from the consumer position they last saw;
	 * once that is stale they must look again, never refuse room the
	 * consumer has freed (nor grant room it has not), across wraps. */
	for (unsigned int round = 0; round < 1000; round++) {
		unsigned int k = 1 + round % 8;

		for (unsigned int i = 0; i < k; i++)
			v[i] = tag(0, round * 8 + i);
		if (nm_ring_enqueue(&ring, v, k) != (int)k) {
			CHECK_EQ(nm_ring_enqueue(&ring, v, k), (int)k);
			break;
		}
		CHECK_EQ(nm_ring_enqueue(&ring, v, 8), (int)(8 - k));
		CHECK_EQ(nm_ring_dequeue(&ring, v, RING), 8);
		CHECK(v[0] == tag(0, round * 8));
	}
	nm_ring_fini(&ring);

	run(0);
	printf("%lu items from each of %d producers, in order\n",
	       per_producer, PRODUCERS);
	run(1);
	return t_done();
}

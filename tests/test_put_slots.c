/* SPDX-License-Identifier: MIT */
/*
 * Puts from threads other than the pool's owner gather in the pool's put
 * slots and go to the return ring a batch at a time.  Parked chunks are
 * the pool's, never lost: the owner takes them when the ring and the area
 * have nothing left (it never starves on them), a full slot goes on to the
 * ring (so the owner gets them back from there, not from the area),
 * revocation and destroy hand them back to the area (also when destroy
 * races with the puts), and stats count them as recycled, not in flight.
 */
#include "harness.h"
#include <pthread.h>

struct job {
	struct nm_pool *p;
	struct nm_buf *b;
	unsigned int n, bulk;
	int r;
};

static void *putter(void *arg)
{
	struct job *j = arg;

	j->r = 0;
	for (unsigned int i = 0; i < j->n; i += j->bulk) {
		unsigned int k = j->n - i < j->bulk ? j->n - i : j->bulk;

		if (k == 1) {
			if (nm_pool_put(j->p, &j->b[i]) == 0)
				j->r++;
		} else {
			int r = nm_pool_put_bulk(j->p, &j->b[i], k);
			if (r > 0)
				j->r += r;
		}
	}
	return NULL;
}

/* Put @n buffers back from a thread of its own, @bulk at a time. */
static void put_from_thread(struct nm_pool *p, struct nm_buf *b, unsigned int n,
			    unsigned int bulk)
{
	struct job j = { p, b, n, bulk, -1 };
	pthread_t t;

	REQUIRE(pthread_create(&t, NULL, putter, &j) == 0);
	pthread_join(t, NULL);
	CHECK_EQ(j.r, (int)n);
}

static uint32_t outstanding(struct nm_area *a)
{
	struct nm_area_info ai;

	REQUIRE(nm_area_info(a, &ai, sizeof(ai)) == 0);
	return ai.nr_outstanding;
}

int main(void)
{
	struct nm_buf b[512];
	struct nm_pool_stats st;
	struct nm_area *a;
	struct nm_pool *p;

	/* 1. The owner takes parked chunks once ring and area are empty. */
	a = t_host_area(64, 0);
	p = nm_pool_create(a, NULL);
	REQUIRE(p);
	CHECK_EQ(nm_pool_alloc_bulk(p, b, 64), 64);
	put_from_thread(p, b, 40, 1);		/* one at a time: all parked */
	CHECK_EQ(nm_pool_inflight(p), 24);
	REQUIRE(nm_pool_get_stats(p, &st, sizeof(st)) == 0);
	CHECK_EQ(st.recycle_ring, 40);		/* parked counts as put back */
	CHECK_EQ(st.inflight, 24);
	CHECK_EQ(nm_pool_alloc_bulk(p, b, 40), 40);
	CHECK_EQ(nm_pool_inflight(p), 64);
	CHECK_EQ(nm_pool_alloc(p, &b[40]), -ENOMEM);

	/* 2. Revocation hands parked chunks back to the area. */
	put_from_thread(p, b, 40, 32);
	CHECK_EQ(nm_pool_inflight(p), 24);
	CHECK_EQ(nm_pool_put_bulk(p, b + 40, 24), 24);	/* the owner's: cached */
	CHECK_EQ(outstanding(a), 64);
	CHECK_EQ(nm_area_revoke(a, 0), 64);	/* all still taken by the pool */
	CHECK_EQ(nm_pool_alloc(p, &b[0]), -ENODEV);
	CHECK_EQ(outstanding(a), 0);		/* cache, ring and slots drained */
	CHECK_EQ(nm_pool_destroy(p), 0);
	CHECK_EQ(nm_area_destroy(a), 0);

	/* 3. Destroy hands parked chunks back too. */
	a = t_host_area(256, 0);
	p = nm_pool_create(a, NULL);
	REQUIRE(p);
	CHECK_EQ(nm_pool_alloc_bulk(p, b, 100), 100);
	put_from_thread(p, b, 100, 32);
	CHECK_EQ(outstanding(a), 128);		/* two refills of 64 taken */
	CHECK_EQ(nm_pool_destroy(p), 0);
	CHECK_EQ(outstanding(a), 0);
	CHECK_EQ(nm_area_destroy(a), 0);

	/* 4. A slot that fills goes on to the ring: the owner's next
	 * allocations come from there, and the area is not touched. */
	a = t_host_area(512, 0);
	p = nm_pool_create(a, NULL);
	REQUIRE(p);
	CHECK_EQ(nm_pool_alloc_bulk(p, b, 256), 256);
	put_from_thread(p, b, 256, 32);
	CHECK_EQ(nm_pool_alloc_bulk(p, b, 256), 256);
	REQUIRE(nm_pool_get_stats(p, &st, sizeof(st)) == 0);
	CHECK_EQ(st.alloc_area, 256);
	CHECK_EQ(st.recycle_ring, 256);
	CHECK_EQ(st.recycle_ring_full, 0);
	CHECK_EQ(nm_pool_put_bulk(p, b, 256), 256);
	CHECK_EQ(nm_pool_destroy(p), 0);
	CHECK_EQ(outstanding(a), 0);
	CHECK_EQ(nm_area_destroy(a), 0);

	/* 5. Destroy racing with another thread's puts: whatever the
	 * interleaving, every chunk gets back to the area (none is parked
	 * after the drain), and the pool goes when the last one does. */
	a = t_host_area(64, 0);
	for (unsigned int round = 0; round < (t_sanitized() ? 300u : 3000u); round++) {
		struct job j = { NULL, b, 64, 1 + round % 4, -1 };
		pthread_t t;

		p = nm_pool_create(a, NULL);
		REQUIRE(p);
		j.p = p;
		REQUIRE(nm_pool_alloc_bulk(p, b, 64) == 64);
		REQUIRE(pthread_create(&t, NULL, putter, &j) == 0);
		for (volatile unsigned int spin = 0; spin < (round * 37) % 2000; spin++)
			;
		nm_pool_destroy(p);
		pthread_join(t, NULL);
		CHECK_EQ(j.r, 64);
		if (outstanding(a) != 0) {
			CHECK_EQ(outstanding(a), 0);
			break;
		}
	}
	CHECK_EQ(nm_area_destroy(a), 0);
	return t_done();
}

/* SPDX-License-Identifier: MIT */
/*
 * A provider whose sync for the device fails: a pool with
 * NM_POOL_F_SYNC_FOR_DEVICE never hands out a chunk the provider could not
 * sync.  Such a chunk goes back to the area (and is synced again when it
 * is next taken), counts in err_sync, and is not lost; when no chunk at
 * all could be synced, nm_pool_alloc and nm_pool_alloc_bulk return the
 * provider's error, and once the provider recovers every chunk can be had
 * again.  Chunks come from the area, from the owner's puts (synced as they
 * go into the cache) and from another thread's puts (synced at refill).
 */
#include "harness.h"
#include <netmem/provider.h>
#include <pthread.h>
#include <stdatomic.h>

#define NR 32

enum { FAIL_NONE, FAIL_QUARTER, FAIL_ALL };

static _Atomic int mode = FAIL_NONE;
static _Atomic int synced[NR];	/* synced for the device since taken */
static unsigned int shift;

static int sf_init(struct nm_area_mem *m, const struct nm_area_opts *o)
{
	(void)o;
	shift = 12 + m->order;
	return t_anon_init(m);
}

static int sf_sync(struct nm_area_mem *m, uint64_t off, uint64_t len,
		   enum nm_sync_dir dir)
{
	unsigned int c = (unsigned int)(off >> shift);

	(void)m;
	(void)len;
	if (dir != NM_SYNC_FOR_DEVICE || c >= NR)
		return 0;
	if (atomic_load(&mode) == FAIL_ALL ||
	    (atomic_load(&mode) == FAIL_QUARTER && c % 4 == 0))
		return -EIO;
	atomic_store(&synced[c], 1);
	return 0;
}

static const struct nm_provider_ops sf_ops = {
	.name = "sync-fail-test",
	.area_init = sf_init,
	.area_fini = t_anon_fini,
	.alloc_bulk = nm_genpool_alloc_bulk,
	.release = nm_genpool_release,
	.sync = sf_sync,
};

static struct nm_pool *pool;
static struct nm_buf held[NR];

static void *put_all(void *arg)
{
	int n = *(int *)arg;

	CHECK_EQ(nm_pool_put_bulk(pool, held, (unsigned int)n), n);
	return NULL;
}

/* Take until the pool says no; every chunk must have been synced since
 * it last came back.  Return how many, and the refusal in *err. */
static int take_all(int *err)
{
	int n = 0, r;

	while (n < NR && !(r = nm_pool_alloc(pool, &held[n]))) {
		int c = nm_buf_chunk_index(&held[n]);

		REQUIRE(c >= 0 && c < NR);
		if (!atomic_exchange(&synced[c], 0)) {
			fprintf(stderr, "chunk %d handed out without a sync\n", c);
			nm_test_failures++;
		}
		n++;
	}
	*err = n < NR ? r : 0;
	return n;
}

static uint64_t err_sync(void)
{
	struct nm_pool_stats st;

	REQUIRE(nm_pool_get_stats(pool, &st, sizeof(st)) == 0);
	return st.err_sync;
}

int main(void)
{
	NM_OPTS(nm_area_opts, ao, .size = NR * 4096);
	NM_OPTS(nm_pool_opts, po, .flags = NM_POOL_F_SYNC_FOR_DEVICE);
	struct nm_area_info ai;
	struct nm_buf b[4];
	pthread_t th;
	int n, err;
	uint64_t e0;

	REQUIRE(nm_provider_register(&sf_ops) == 0);
	struct nm_area *a = nm_area_create("sync-fail-test", &ao);
	REQUIRE(a);
	pool = nm_pool_create(a, &po);
	REQUIRE(pool);

	/* A quarter of the chunks cannot be synced: the rest are handed
	 * out, then the provider's error. */
	atomic_store(&mode, FAIL_QUARTER);
	n = take_all(&err);
	CHECK_EQ(n, NR - NR / 4);
	CHECK_EQ(err, -EIO);
	for (int i = 0; i < n; i++)
		CHECK(nm_buf_chunk_index(&held[i]) % 4 != 0);
	CHECK(err_sync() >= NR / 4);
	REQUIRE(nm_area_info(a, &ai, sizeof(ai)) == 0);
	CHECK_EQ(ai.nr_outstanding, (uint32_t)n);	/* the rest went back */

	/* Nothing can be synced: owner puts give the chunks back to the
	 * area rather than caching them unsynced. */
	atomic_store(&mode, FAIL_ALL);
	e0 = err_sync();
	for (int i = 0; i < 4; i++)
		CHECK_EQ(nm_pool_put(pool, &held[i]), 0);
	CHECK_EQ(err_sync() - e0, 4);
	CHECK_EQ(nm_pool_alloc(pool, &b[0]), -EIO);
	CHECK_EQ(nm_pool_alloc_bulk(pool, b, 4), -EIO);
	CHECK_EQ(nm_pool_alloc_frag(pool, &b[0], 100, 0), -EIO);

	/* Another thread's puts wait in its put slot; a refill tries each
	 * source once (the area, whose 12 chunks fail again, then the slot)
	 * and gives back what it cannot sync. */
	n -= 4;
	memmove(held, held + 4, (size_t)n * sizeof(held[0]));
	REQUIRE(pthread_create(&th, NULL, put_all, &n) == 0);
	pthread_join(th, NULL);
	e0 = err_sync();
	CHECK_EQ(nm_pool_alloc(pool, &b[0]), -EIO);
	CHECK_EQ(err_sync() - e0, NR);
	REQUIRE(nm_area_info(a, &ai, sizeof(ai)) == 0);
	CHECK_EQ(ai.nr_outstanding, 0);
	CHECK_EQ(nm_pool_inflight(pool), 0);

	/* The provider recovers: every chunk can be had again, synced. */
	atomic_store(&mode, FAIL_NONE);
	n = take_all(&err);
	CHECK_EQ(n, NR);
	for (int i = 0; i < n; i++)
		CHECK_EQ(nm_pool_put(pool, &held[i]), 0);
	CHECK_EQ(nm_pool_destroy(pool), 0);
	REQUIRE(nm_area_info(a, &ai, sizeof(ai)) == 0);
	CHECK_EQ(ai.nr_outstanding, 0);
	CHECK_EQ(ai.nr_free, NR);
	CHECK_EQ(nm_area_destroy(a), 0);
	return t_done();
}

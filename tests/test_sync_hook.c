/* SPDX-License-Identifier: MIT */
/*
 * NM_POOL_F_SYNC_FOR_DEVICE: with a test-registered provider that records
 * its sync calls, every chunk handed out by such a pool has been synced
 * for the device (its whole chunk) since it last came back, whether it
 * came from the area, from the alloc cache (owner put) or from the return
 * ring (put by another thread).  Without the flag the pool never calls
 * sync on refill.  nm_buf_sync passes the buffer's own window and
 * direction through.
 */
#include "harness.h"
#include <netmem/provider.h>
#include <pthread.h>
#include <stdatomic.h>

#define NR 32

static _Atomic int synced[NR];	/* chunk synced for device since taken */
static _Atomic long dev_syncs, cpu_syncs, bad_syncs;
static uint64_t last_off, last_len;
static unsigned int shift;

static int sy_init(struct nm_area_mem *m, const struct nm_area_opts *o)
{
	(void)o;
	shift = 12 + m->order;
	return t_anon_init(m);
}

static int sy_sync(struct nm_area_mem *m, uint64_t off, uint64_t len,
		   enum nm_sync_dir dir)
{
	if (dir == NM_SYNC_FOR_DEVICE && len == m->chunk_size &&
	    !(off & (m->chunk_size - 1)) && (off >> shift) < NR) {
		atomic_store(&synced[off >> shift], 1);
		atomic_fetch_add(&dev_syncs, 1);
	} else if (dir == NM_SYNC_FOR_CPU) {
		atomic_fetch_add(&cpu_syncs, 1);
	} else {
		atomic_fetch_add(&bad_syncs, 1);
	}
	last_off = off;
	last_len = len;
	return 0;
}

static const struct nm_provider_ops sync_ops = {
	.name = "sync-test",
	.area_init = sy_init,
	.area_fini = t_anon_fini,
	.alloc_bulk = nm_genpool_alloc_bulk,
	.release = nm_genpool_release,
	.sync = sy_sync,
};

static struct nm_pool *pool;
static struct nm_buf others[8];

static void *put_others(void *arg)
{
	(void)arg;
	CHECK_EQ(nm_pool_put_bulk(pool, others, 8), 8);
	return NULL;
}

/* Take a buffer: it must have been synced since it came back. */
static void take(struct nm_buf *b)
{
	int c;

	REQUIRE(nm_pool_alloc(pool, b) == 0);
	c = nm_buf_chunk_index(b);
	REQUIRE(c >= 0 && c < NR);
	if (!atomic_exchange(&synced[c], 0)) {
		fprintf(stderr, "chunk %d handed out without sync\n", c);
		nm_test_failures++;
	}
}

int main(void)
{
	NM_OPTS(nm_area_opts, ao, .size = NR * 4096);
	NM_OPTS(nm_pool_opts, po, .flags = NM_POOL_F_SYNC_FOR_DEVICE);
	struct nm_area *a;
	struct nm_buf b, f;
	pthread_t th;
	long before;

	REQUIRE(nm_provider_register(&sync_ops) == 0);
	a = nm_area_create("sync-test", &ao);
	REQUIRE(a);
	pool = nm_pool_create(a, &po);
	REQUIRE(pool);

	/* From the area. */
	take(&b);
	CHECK(atomic_load(&dev_syncs) >= 1);
	/* From the cache, after an owner put. */
	CHECK_EQ(nm_pool_put(pool, &b), 0);
	take(&b);
	CHECK_EQ(nm_pool_put(pool, &b), 0);
	/* From the ring, after puts by another thread: drain the cache
	 * first so the ring is where the next ones come from. */
	for (int i = 0; i < 8; i++)
		take(&others[i]);
	REQUIRE(pthread_create(&th, NULL, put_others, NULL) == 0);
	pthread_join(th, NULL);
	for (int round = 0; round < 4; round++) {
		struct nm_buf all[NR];
		int n = 0;

		while (n < NR && nm_pool_alloc(pool, &all[n]) == 0) {
			int c = nm_buf_chunk_index(&all[n]);
			if (!atomic_exchange(&synced[c], 0)) {
				fprintf(stderr, "round %d: chunk %d not synced\n", round, c);
				nm_test_failures++;
			}
			n++;
		}
		CHECK_EQ(n, NR);
		for (int i = 0; i < n; i++)
			CHECK_EQ(nm_pool_put(pool, &all[i]), 0);
	}

	/* nm_buf_sync: the buffer's window, the direction given. */
	REQUIRE(nm_pool_alloc_frag(pool, &f, 100, 0) == 0);
	atomic_exchange(&synced[nm_buf_chunk_index(&f)], 0);
	before = atomic_load(&cpu_syncs);
	CHECK_EQ(nm_buf_sync(&f, NM_SYNC_FOR_CPU), 0);
	CHECK_EQ(atomic_load(&cpu_syncs), before + 1);
	CHECK_EQ(last_off, ((uint64_t)nm_buf_chunk_index(&f) << 12) + f.off);
	CHECK_EQ(last_len, 100);
	CHECK_EQ(nm_pool_put(pool, &f), 0);
	CHECK_EQ(atomic_load(&bad_syncs), 0);
	CHECK_EQ(nm_pool_destroy(pool), 0);

	/* Without the flag: no sync on refill or recycle. */
	pool = nm_pool_create(a, NULL);
	REQUIRE(pool);
	before = atomic_load(&dev_syncs);
	for (int i = 0; i < 100; i++) {
		REQUIRE(nm_pool_alloc(pool, &b) == 0);
		CHECK_EQ(nm_pool_put(pool, &b), 0);
	}
	CHECK_EQ(atomic_load(&dev_syncs), before);
	CHECK_EQ(nm_pool_destroy(pool), 0);
	CHECK_EQ(nm_area_destroy(a), 0);
	return t_done();
}

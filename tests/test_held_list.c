/* SPDX-License-Identifier: MIT */
/*
 * nm_pool_held lists exactly the chunks held outside the pool, each with
 * its number of references: whole buffers (1), a chunk with an extra
 * nm_buf_get (2), fragments (one per fragment out, also while the chunk is
 * still being carved); not the chunks in the cache or the ring.  The total
 * is returned even when @max is smaller, and nm_pool_inflight and
 * stats.inflight agree with it, also after another thread's puts.
 */
#include "harness.h"
#include <pthread.h>

#define NR 64

static struct nm_pool *pool;
static struct nm_buf away[4];

static void *put_away(void *arg)
{
	(void)arg;
	CHECK_EQ(nm_pool_put_bulk(pool, away, 4), 4);
	return NULL;
}

/* Compare the held list with the expected refs per chunk (0 = not held). */
static void expect(const uint32_t *want)
{
	struct nm_held h[NR];
	struct nm_pool_stats st;
	long n = nm_pool_held(pool, h, NR), count = 0;
	uint32_t seen[NR] = { 0 };

	REQUIRE(n >= 0 && n <= NR);
	for (long i = 0; i < n; i++) {
		REQUIRE(h[i].chunk < NR);
		CHECK(!seen[h[i].chunk]);
		seen[h[i].chunk] = h[i].refs;
	}
	for (int c = 0; c < NR; c++) {
		if (seen[c] != want[c]) {
			fprintf(stderr, "chunk %d: listed with %u refs, want %u\n",
				c, seen[c], want[c]);
			nm_test_failures++;
		}
		count += want[c] != 0;
	}
	CHECK_EQ(n, count);
	CHECK_EQ(nm_pool_inflight(pool), count);
	REQUIRE(nm_pool_get_stats(pool, &st, sizeof(st)) == 0);
	CHECK_EQ(st.inflight, count);
	if (count > 1) {
		struct nm_held one;
		CHECK_EQ(nm_pool_held(pool, &one, 1), count);
	}
}

int main(void)
{
	struct nm_area *a = t_host_area(NR, 0);
	uint32_t want[NR] = { 0 };
	struct nm_buf w[6], f[5], junk = { .iov = (struct nm_iov *)&want[3], .len = 1 };
	pthread_t th;

	pool = nm_pool_create(a, NULL);
	REQUIRE(pool);
	expect(want);

	for (int i = 0; i < 6; i++) {
		REQUIRE(nm_pool_alloc(pool, &w[i]) == 0);
		want[nm_buf_chunk_index(&w[i])] = 1;
	}
	expect(want);
	CHECK_EQ(nm_buf_get(&w[2]), 0);
	want[nm_buf_chunk_index(&w[2])] = 2;
	expect(want);

	/* Fragments: four in a chunk being carved. */
	for (int i = 0; i < 4; i++) {
		REQUIRE(nm_pool_alloc_frag(pool, &f[i], 1000, 0) == 0);
		want[nm_buf_chunk_index(&f[0])] = (uint32_t)i + 1;
		expect(want);
	}
	/* A fifth does not fit: a new chunk; the first keeps four. */
	REQUIRE(nm_pool_alloc_frag(pool, &f[4], 1000, 0) == 0);
	want[nm_buf_chunk_index(&f[4])] = 1;
	expect(want);

	/* Puts: the owner's go to the cache, not held any more. */
	CHECK_EQ(nm_pool_put(pool, &w[0]), 0);
	want[nm_buf_chunk_index(&w[0])] = 0;
	CHECK_EQ(nm_pool_put(pool, &w[2]), 0);
	want[nm_buf_chunk_index(&w[2])] = 1;
	CHECK_EQ(nm_pool_put(pool, &f[1]), 0);
	want[nm_buf_chunk_index(&f[0])] = 3;
	CHECK_EQ(nm_pool_put(pool, &f[4]), 0);
	want[nm_buf_chunk_index(&f[4])] = 0;	/* carving, nothing out */
	expect(want);
	CHECK_EQ(nm_pool_put(pool, &junk), -EFAULT);
	expect(want);

	/* Another thread's puts (through the ring). */
	away[0] = w[1];
	away[1] = w[2];
	away[2] = f[0];
	away[3] = f[2];
	want[nm_buf_chunk_index(&w[1])] = 0;
	want[nm_buf_chunk_index(&w[2])] = 0;
	want[nm_buf_chunk_index(&f[0])] = 1;
	REQUIRE(pthread_create(&th, NULL, put_away, NULL) == 0);
	pthread_join(th, NULL);
	expect(want);

	CHECK_EQ(nm_pool_put(pool, &f[3]), 0);
	want[nm_buf_chunk_index(&f[0])] = 0;
	for (int i = 3; i < 6; i++) {
		CHECK_EQ(nm_pool_put(pool, &w[i]), 0);
		want[nm_buf_chunk_index(&w[i])] = 0;
	}
	expect(want);
	CHECK_EQ(nm_pool_destroy(pool), 0);
	CHECK_EQ(nm_area_destroy(a), 0);
	return t_done();
}

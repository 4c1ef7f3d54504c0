/* SPDX-License-Identifier: MIT */
/*
 * A fragment put twice: refused with -EALREADY whenever its chunk has no
 * other holder, also while the chunk is still being carved (the pool
 * then holds the chunk's carving bias, and the count alone says nothing),
 * by every put call (nm_pool_put, nm_buf_put, nm_pool_put_bulk, another
 * thread's put); nm_buf_get of a fragment nobody holds is refused too; a
 * get/put sequence needs exactly gets + 1 puts.  After a refused double
 * put the chunk's count is right: with more fragments carved from it and
 * one of them still held, the chunk is never handed out again (every
 * other chunk of the area is taken to prove it), and at the end the area
 * has every chunk back.  And no good put is taken for a double put: with
 * the owner carving two fragments per chunk (so carving moves on all the
 * time) and another thread putting each fragment as soon as it is
 * carved, every put succeeds and every chunk comes back.
 */
#include "harness.h"
#include <pthread.h>
#include <stdatomic.h>

#define NR 8

static struct nm_pool *pool;
static struct nm_buf remote_buf;
static int remote_ret;

static void *remote_put(void *arg)
{
	(void)arg;
	remote_ret = nm_pool_put(pool, &remote_buf);
	return NULL;
}

static int put_from_thread(const struct nm_buf *b)
{
	pthread_t th;

	remote_buf = *b;
	REQUIRE(pthread_create(&th, NULL, remote_put, NULL) == 0);
	REQUIRE(pthread_join(th, NULL) == 0);
	return remote_ret;
}

static uint64_t double_puts(void)
{
	struct nm_pool_stats st;

	REQUIRE(nm_pool_get_stats(pool, &st, sizeof(st)) == 0);
	return st.err_double_put;
}

/* Fragments from the owner to a putter thread, one slot at a time
 * (single producer, single consumer). */
#define QN 256
static struct nm_buf qb[QN];
static _Atomic unsigned int qhead, qtail;
static _Atomic int qdone;
static long q_ok, q_bad;

static void *q_putter(void *arg)
{
	(void)arg;
	for (;;) {
		unsigned int t = atomic_load_explicit(&qtail, memory_order_relaxed);

		if (t == atomic_load_explicit(&qhead, memory_order_acquire)) {
			if (atomic_load_explicit(&qdone, memory_order_acquire) &&
			    t == atomic_load_explicit(&qhead, memory_order_acquire))
				return NULL;
			t_nap();
			continue;
		}
		if (nm_pool_put(pool, &qb[t % QN]) == 0)
			q_ok++;
		else
			q_bad++;
		atomic_store_explicit(&qtail, t + 1, memory_order_release);
	}
}

static void carve_and_hand_over(long n)
{
	pthread_t th;

	REQUIRE(pthread_create(&th, NULL, q_putter, NULL) == 0);
	for (long i = 0; i < n; i++) {
		unsigned int h = atomic_load_explicit(&qhead, memory_order_relaxed);
		struct nm_buf b;
		int r;

		while (h - atomic_load_explicit(&qtail, memory_order_acquire) >= QN)
			t_nap();
		while ((r = nm_pool_alloc_frag(pool, &b, 2048, 0)) == -ENOMEM)
			t_nap();	/* the putter has them all */
		REQUIRE(r == 0);
		qb[h % QN] = b;
		atomic_store_explicit(&qhead, h + 1, memory_order_release);
	}
	atomic_store_explicit(&qdone, 1, memory_order_release);
	REQUIRE(pthread_join(th, NULL) == 0);
	CHECK_EQ(q_ok, n);
	CHECK_EQ(q_bad, 0);
}

/* References nm_pool_held reports on @b's chunk (0: not held). */
static uint32_t refs_of(const struct nm_buf *b)
{
	struct nm_held h[NR];
	long n = nm_pool_held(pool, h, NR);

	for (long i = 0; i < n && i < NR; i++)
		if ((int)h[i].chunk == nm_buf_chunk_index(b))
			return h[i].refs;
	return 0;
}

/* Take every chunk the pool can still hand out: none may be @held's. */
static void none_is(const struct nm_buf *held)
{
	struct nm_buf all[NR];
	int n = nm_pool_alloc_bulk(pool, all, NR);

	CHECK(n >= 0);
	for (int i = 0; i < n; i++)
		if (all[i].iov == held->iov) {
			fprintf(stderr, "chunk %d handed out while a fragment of it is held\n",
				nm_buf_chunk_index(held));
			nm_test_failures++;
		}
	CHECK_EQ(nm_pool_put_bulk(pool, all, (unsigned int)(n > 0 ? n : 0)), n);
}

int main(void)
{
	struct nm_area *a = t_host_area(NR, 0);
	struct nm_area_info ai;
	struct nm_buf f, g, h, w;
	uint64_t dp = 0;

	pool = nm_pool_create(a, NULL);
	REQUIRE(pool);

	/* 1. The case: one fragment of a chunk being carved, put,
	 * put again: nothing else holds the chunk. */
	REQUIRE(nm_pool_alloc_frag(pool, &f, 100, 0) == 0);
	CHECK_EQ(nm_pool_put(pool, &f), 0);
	CHECK_EQ(refs_of(&f), 0);
	CHECK_EQ(nm_pool_put(pool, &f), -EALREADY);
	CHECK_EQ(nm_buf_put(&f), -EALREADY);
	CHECK_EQ(nm_pool_put_bulk(pool, &f, 1), 0);
	CHECK_EQ(put_from_thread(&f), -EALREADY);
	CHECK_EQ(nm_buf_get(&f), -EALREADY);
	dp += 4;
	CHECK_EQ(double_puts(), dp);
	CHECK_EQ(refs_of(&f), 0);

	/* 2. ...then the count is still right: two more fragments of the
	 * same chunk, one put, and the chunk stays held by the other. */
	REQUIRE(nm_pool_alloc_frag(pool, &g, 100, 0) == 0);
	REQUIRE(nm_pool_alloc_frag(pool, &h, 100, 0) == 0);
	CHECK(g.iov == f.iov && h.iov == f.iov);
	CHECK_EQ(nm_pool_put(pool, &g), 0);
	CHECK_EQ(refs_of(&h), 1);
	/* carving moves on to a new chunk (the old one is finished) */
	REQUIRE(nm_pool_alloc_frag(pool, &w, 4096, 0) == 0);
	CHECK(w.iov != h.iov);
	CHECK_EQ(refs_of(&h), 1);
	none_is(&h);
	CHECK_EQ(nm_pool_put(pool, &h), 0);
	CHECK_EQ(nm_pool_put(pool, &h), -EALREADY);
	dp++;
	CHECK_EQ(nm_pool_put(pool, &w), 0);
	CHECK_EQ(nm_pool_put(pool, &w), -EALREADY);
	dp++;
	CHECK_EQ(double_puts(), dp);

	/* 3. A get/put sequence on a fragment of a chunk being carved:
	 * gets + 1 puts, and the next is refused, from either thread. */
	REQUIRE(nm_pool_alloc_frag(pool, &f, 200, 0) == 0);
	CHECK_EQ(nm_buf_get(&f), 0);
	CHECK_EQ(nm_buf_get(&f), 0);
	CHECK_EQ(refs_of(&f), 3);
	CHECK_EQ(nm_pool_put(pool, &f), 0);
	CHECK_EQ(put_from_thread(&f), 0);
	CHECK_EQ(nm_buf_put(&f), 0);
	CHECK_EQ(refs_of(&f), 0);
	CHECK_EQ(put_from_thread(&f), -EALREADY);
	CHECK_EQ(nm_pool_put(pool, &f), -EALREADY);
	CHECK_EQ(nm_buf_get(&f), -EALREADY);	/* (not counted: no pool) */
	dp += 2;
	CHECK_EQ(double_puts(), dp);

	/* 4. The same with the chunk's carving finished before the extra
	 * put (the bias is gone; the count alone decides). */
	REQUIRE(nm_pool_alloc_frag(pool, &f, 300, 0) == 0);
	CHECK_EQ(nm_buf_get(&f), 0);
	REQUIRE(nm_pool_alloc_frag(pool, &w, 4096, 0) == 0);	/* finishes f's chunk */
	CHECK(w.iov != f.iov);
	CHECK_EQ(refs_of(&f), 2);
	CHECK_EQ(nm_pool_put(pool, &f), 0);
	none_is(&f);
	CHECK_EQ(nm_pool_put(pool, &f), 0);
	CHECK_EQ(nm_pool_put(pool, &f), -EALREADY);
	CHECK_EQ(put_from_thread(&f), -EALREADY);
	dp += 2;
	CHECK_EQ(nm_pool_put(pool, &w), 0);
	CHECK_EQ(double_puts(), dp);

	/* 5. Fragments put from another thread while the owner carves: the
	 * last one's double put is refused, the chunk comes back whole. */
	REQUIRE(nm_pool_alloc_frag(pool, &f, 1000, 0) == 0);
	REQUIRE(nm_pool_alloc_frag(pool, &g, 1000, 0) == 0);
	CHECK(f.iov == g.iov);
	CHECK_EQ(put_from_thread(&f), 0);
	CHECK_EQ(put_from_thread(&g), 0);
	CHECK_EQ(put_from_thread(&g), -EALREADY);
	CHECK_EQ(put_from_thread(&f), -EALREADY);
	dp += 2;
	REQUIRE(nm_pool_alloc_frag(pool, &h, 1000, 0) == 0);
	CHECK(h.iov == f.iov);	/* still carving it */
	CHECK_EQ(refs_of(&h), 1);
	CHECK_EQ(nm_pool_put(pool, &h), 0);
	CHECK_EQ(double_puts(), dp);

	/* 6. Another thread puts fragments while the owner carves on. */
	carve_and_hand_over(t_sanitized() ? 200000 : 2000000);
	CHECK_EQ(double_puts(), dp);

	/* Everything is back: the pool holds nothing, the area has all. */
	CHECK_EQ(nm_pool_inflight(pool), 0);
	CHECK_EQ(nm_pool_destroy(pool), 0);
	REQUIRE(nm_area_info(a, &ai, sizeof(ai)) == 0);
	CHECK_EQ(ai.nr_outstanding, 0);
	CHECK_EQ(ai.nr_free, NR);
	CHECK_EQ(nm_area_destroy(a), 0);
	return t_done();
}

/* SPDX-License-Identifier: MIT */
/*
 * Fragments: buffers carved from one chunk share its reference count.
 * Proves, on one thread, that fragments of a chunk do not overlap, that
 * nm_pool_held reports the chunk with exactly the number of fragments out
 * (also while it is still being carved, and with an extra nm_buf_get
 * reference), that the chunk stays held until its last fragment is put and
 * comes back (the same chunk, from the cache) right after; then, with a
 * second thread putting the fragments while the owner carves on, that
 * every chunk comes back once all fragments are put and the area is whole.
 */
#include "harness.h"
#include <pthread.h>
#include <stdatomic.h>
#include <time.h>

#define NR       64
#define FRAG     512
#define PER      (4096 / FRAG)
#define QSIZE    1024
#define MINE     5
#define MIN_SENT 20000

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static uint32_t refs_of(struct nm_pool *p, const struct nm_buf *b)
{
	struct nm_held h[NR];
	long n = nm_pool_held(p, h, NR);

	for (long i = 0; i < n && i < NR; i++)
		if ((int)h[i].chunk == nm_buf_chunk_index(b))
			return h[i].refs;
	return 0;
}

/* Single-producer single-consumer queue of buffers to the putter. */
static struct nm_buf q[QSIZE];
static _Atomic unsigned int q_head, q_tail;
static _Atomic int q_done;
static struct nm_pool *pool;
static _Atomic unsigned long put_ok, put_bad;

static void *putter(void *arg)
{
	(void)arg;
	for (;;) {
		unsigned int t = atomic_load_explicit(&q_tail, memory_order_relaxed);
		unsigned int h = atomic_load_explicit(&q_head, memory_order_acquire);

		if (t == h) {
			if (atomic_load_explicit(&q_done, memory_order_acquire) &&
			    t == atomic_load_explicit(&q_head, memory_order_acquire))
				break;
			t_nap();
			continue;
		}
		struct nm_buf b = q[t % QSIZE];
		unsigned char *d = nm_buf_data(&b);
		/* the owner stamped the fragment with its offset */
		if (!d || d[0] != (unsigned char)(b.off / FRAG) ||
		    d[b.len - 1] != (unsigned char)(b.off / FRAG))
			atomic_fetch_add(&put_bad, 1);
		memset(d, 0xee, b.len);
		if (nm_pool_put(pool, &b) == 0)
			atomic_fetch_add_explicit(&put_ok, 1, memory_order_relaxed);
		else
			atomic_fetch_add(&put_bad, 1);
		atomic_store_explicit(&q_tail, t + 1, memory_order_release);
	}
	return NULL;
}

static void one_thread(struct nm_pool *p)
{
	struct nm_buf f[PER + 1], w;
	unsigned char *base;

	for (int i = 0; i <= PER; i++) {
		REQUIRE(nm_pool_alloc_frag(p, &f[i], FRAG, FRAG) == 0);
		if (i < PER)
			CHECK_EQ(refs_of(p, &f[0]), (uint32_t)i + 1);
	}
	base = nm_buf_data(&f[0]);
	for (int i = 0; i < PER; i++) {
		CHECK(f[i].iov == f[0].iov);
		CHECK_EQ(f[i].off, (uint32_t)i * FRAG);
		CHECK_EQ(f[i].len, FRAG);
		CHECK((unsigned char *)nm_buf_data(&f[i]) == base + i * FRAG);
		memset(nm_buf_data(&f[i]), i + 1, FRAG);
	}
	for (int i = 0; i < PER; i++)
		CHECK(base[i * FRAG] == i + 1 && base[i * FRAG + FRAG - 1] == i + 1);
	/* The ninth did not fit: a new chunk, being carved. */
	CHECK(f[PER].iov != f[0].iov);
	CHECK_EQ(f[PER].off, 0);
	CHECK_EQ(nm_pool_inflight(p), 2);
	CHECK_EQ(refs_of(p, &f[0]), PER);
	CHECK_EQ(refs_of(p, &f[PER]), 1);

	/* An extra reference on one fragment counts like a fragment. */
	CHECK_EQ(nm_buf_get(&f[3]), 0);
	CHECK_EQ(refs_of(p, &f[0]), PER + 1);
	CHECK_EQ(nm_pool_put(p, &f[3]), 0);

	/* All but one put: still held, one reference. */
	for (int i = 0; i < PER - 1; i++) {
		CHECK_EQ(nm_pool_put(p, &f[i]), 0);
		CHECK_EQ(refs_of(p, &f[0]), (uint32_t)(PER - 1 - i));
		CHECK_EQ(nm_pool_inflight(p), 2);
	}
	CHECK_EQ(nm_pool_put(p, &f[PER - 1]), 0);
	CHECK_EQ(refs_of(p, &f[0]), 0);
	CHECK_EQ(nm_pool_inflight(p), 1);
	/* One fragment more than it has: a double put. */
	CHECK_EQ(nm_pool_put(p, &f[0]), -EALREADY);

	/* The chunk is back: the next whole chunk is that one. */
	REQUIRE(nm_pool_alloc(p, &w) == 0);
	CHECK(w.iov == f[0].iov);
	CHECK_EQ(w.len, 4096);
	CHECK_EQ(nm_pool_put(p, &w), 0);

	/* The chunk being carved: not held once its fragment is back. */
	CHECK_EQ(nm_pool_put(p, &f[PER]), 0);
	CHECK_EQ(nm_pool_inflight(p), 0);
}

/*
 * The last reference dropped on one thread after another thread put its
 * fragment: the chunk's reuse must happen after the other thread's last
 * access to its fragment, with nothing but the reference count between
 * them (the owner learns of the other put only through nm_pool_held).
 */
static struct nm_buf other_frag;

static void *put_other(void *arg)
{
	(void)arg;
	memset(nm_buf_data(&other_frag), 0x33, other_frag.len);
	CHECK_EQ(nm_pool_put(pool, &other_frag), 0);
	return NULL;
}

static void last_put_elsewhere(struct nm_pool *p)
{
	struct nm_buf pre, f0, f2, w;
	pthread_t th;
	double end;

	/* A whole-chunk fragment first, so that f0 starts a fresh chunk. */
	REQUIRE(nm_pool_alloc_frag(p, &pre, 4096, 0) == 0);
	REQUIRE(nm_pool_alloc_frag(p, &f0, 2048, 0) == 0);
	REQUIRE(nm_pool_alloc_frag(p, &other_frag, 2048, 0) == 0);
	REQUIRE(nm_pool_alloc_frag(p, &f2, 2048, 0) == 0);
	REQUIRE(f0.iov == other_frag.iov && f2.iov != f0.iov);
	REQUIRE(pthread_create(&th, NULL, put_other, NULL) == 0);
	/* a bound only so that a lost put fails rather than hangs */
	end = now() + 60;
	while (refs_of(p, &f0) != 1 && now() < end)
		t_nap();
	CHECK_EQ(refs_of(p, &f0), 1);
	CHECK_EQ(nm_pool_put(p, &f0), 0);
	REQUIRE(nm_pool_alloc(p, &w) == 0);
	CHECK(w.iov == f0.iov);
	memset(nm_buf_data(&w), 0x44, w.len);
	pthread_join(th, NULL);
	CHECK_EQ(nm_pool_put(p, &w), 0);
	CHECK_EQ(nm_pool_put(p, &f2), 0);
	CHECK_EQ(nm_pool_put(p, &pre), 0);
	CHECK_EQ(nm_pool_inflight(p), 0);
}

int main(void)
{
	struct nm_area *a = t_host_area(NR, 0);
	struct nm_area_info info;
	struct nm_pool_stats st;
	struct nm_buf all[NR + 1];
	struct nm_buf mine[MINE];
	unsigned int mine_n = 0;
	unsigned long sent = 0;
	pthread_t th;
	double end;
	int n;

	pool = nm_pool_create(a, NULL);
	REQUIRE(pool);
	one_thread(pool);
	last_put_elsewhere(pool);

	/* Fragments of varied sizes, put by another thread. */
	REQUIRE(pthread_create(&th, NULL, putter, NULL) == 0);
	/* At least MIN_SENT however slow the machine (a count, not a time:
	 * every chunk goes round many times), more while time is left. */
	end = now() + (t_sanitized() ? 1.0 : 2.0);
	while ((sent < MIN_SENT || now() < end) && sent < 2000000) {
		unsigned int h = atomic_load_explicit(&q_head, memory_order_relaxed);
		struct nm_buf b;
		int r;

		if (h - atomic_load_explicit(&q_tail, memory_order_acquire) >= QSIZE) {
			t_nap();
			continue;
		}
		r = nm_pool_alloc_frag(pool, &b, FRAG * (1 + sent % 3), FRAG);
		if (r == -ENOMEM) {
			t_nap();	/* the putter has them all */
			continue;
		}
		REQUIRE(r == 0);
		CHECK(b.off % FRAG == 0 && b.off + b.len <= 4096);
		memset(nm_buf_data(&b), (int)(b.off / FRAG), b.len);
		if (sent % 4 == 0) {
			/* Keep one in four a while and put it here: the
			 * chunk's last reference then drops on either side. */
			if (mine_n == MINE) {
				CHECK_EQ(nm_pool_put(pool, &mine[0]), 0);
				memmove(mine, mine + 1, (MINE - 1) * sizeof(*mine));
				mine_n--;
			}
			mine[mine_n++] = b;
			sent++;
			continue;
		}
		q[h % QSIZE] = b;
		atomic_store_explicit(&q_head, h + 1, memory_order_release);
		sent++;
	}
	atomic_store_explicit(&q_done, 1, memory_order_release);
	pthread_join(th, NULL);
	for (unsigned int i = 0; i < mine_n; i++)
		CHECK_EQ(nm_pool_put(pool, &mine[i]), 0);
	put_ok += (sent + 3) / 4;
	printf("%lu fragments put from another thread\n", sent);
	CHECK_EQ(atomic_load(&put_ok), sent);
	CHECK_EQ(atomic_load(&put_bad), 0);
	CHECK_EQ(nm_pool_inflight(pool), 0);

	/* Every chunk came back: all can be taken at once but the one still
	 * being carved, if any (the pool's own, no fragment out: the last
	 * carve may have found the pool empty), and after destroy the area
	 * has every chunk free. */
	n = nm_pool_alloc_bulk(pool, all, NR + 1);
	CHECK(n == NR || n == NR - 1);
	CHECK_EQ(nm_pool_put_bulk(pool, all, (unsigned int)n), n);
	REQUIRE(nm_pool_get_stats(pool, &st, sizeof(st)) == 0);
	CHECK_EQ(st.alloc_area, NR);
	CHECK_EQ(st.err_double_put, 1);
	CHECK_EQ(st.err_foreign + st.err_not_buf + st.err_range + st.err_inval, 0);
	CHECK_EQ(nm_pool_destroy(pool), 0);
	REQUIRE(nm_area_info(a, &info, sizeof(info)) == 0);
	CHECK_EQ(info.nr_outstanding, 0);
	CHECK_EQ(info.nr_free, NR);
	CHECK_EQ(nm_area_destroy(a), 0);
	return t_done();
}

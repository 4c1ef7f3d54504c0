/* SPDX-License-Identifier: MIT */
/*
 * The pool against a model, over a long random sequence of calls: whole
 * allocations one at a time and in bulk, fragments of random size and
 * alignment, puts by the owner (one, bulk, nm_buf_put) and by another
 * thread (one, bulk), extra references, and every kind of bad input
 * (double put, also of a fragment of the chunk still being carved,
 * foreign pool, not a buffer, a misaligned descriptor, a window outside
 * the chunk, NULLs, bad fragment sizes).
 *
 * The model knows which handles the program holds.  From that it predicts
 * each call's return exactly, the pool's error counters, and what
 * nm_pool_held() lists; it checks that no chunk is handed to two holders
 * (whole buffers never share a chunk, fragments never overlap, and a tag
 * written into each buffer is still there when it is put); that -ENOMEM
 * comes only when every chunk the pool took is held, and the area is
 * empty or the pool at its max_chunks cap (pool 1 has one; the owner must
 * then take back what the other thread parked); and that after
 * everything is put back and the pools are destroyed, the area has every
 * chunk again.  The run is six stretches over fresh areas; they end in
 * turn with everything put back, with the area revoked while buffers are
 * held, and with it revoked as memory already gone.
 *
 * NM_MODEL_SEED=N replays one sequence; NM_MODEL_OPS=N sets its length.
 */
#include "harness.h"
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define NCH      256		/* chunks in the area (order 0: 4 KiB) */
#define MAXH     4096		/* handles the program may hold */
#define NSTALE   64		/* handles put recently, for double puts */
#define MAXBULK  40

struct handle {
	struct nm_buf b;
	int pool;		/* 0 or 1 */
	uint64_t tag;		/* written into the buffer when taken */
};

static struct nm_pool *pools[2];
static struct handle held[MAXH];
static int nheld;
static struct handle stale[NSTALE];
static int nstale, stale_next;
static int refs[2][NCH];	/* model: references held per chunk */
static int frag_cur[2] = { -1, -1 };	/* chunk each pool carves from */
static uint64_t next_tag = 1, rng;
static uint32_t chunk_size;
static long n_enomem, n_double, n_remote, n_bulk_bad, n_at_cap;
/* double puts of a fragment of the chunk a pool is still carving */
static long n_double_carving;
/* Pool 1 may take at most this many chunks of the area (nm_pool_opts
 * max_chunks); pool 0 has no cap. */
static const uint64_t max_chunks[2] = { UINT64_MAX, 100 };

/* What the pool's error counters should read. */
struct errs { uint64_t double_put, foreign, not_buf, range, inval; };
static struct errs want[2];

static uint64_t rnd(void)
{
	rng ^= rng >> 12;
	rng ^= rng << 25;
	rng ^= rng >> 27;
	return rng * 0x2545f4914f6cdd1dull;
}

static unsigned int below(unsigned int n)
{
	return (unsigned int)(rnd() % n);
}

/* ------------------------------------------------------------------ */
/* Another thread that puts what it is told to, one call at a time.     */
/* ------------------------------------------------------------------ */

/* The hand-over sleeps on a condition variable, not a sched_yield() spin:
 * with other programs runnable on both CPUs each yield gave them a whole
 * slice, and a million operations took longer than the runner's 300 s. */
static struct {
	pthread_mutex_t lock;
	pthread_cond_t cv;
	int state;		/* 0 idle, 1 request, 2 done, 3 quit */
	struct nm_pool *pool;
	const struct nm_buf *bufs;
	unsigned int n;
	int bulk;
	int ret;
} mbox = { .lock = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER };

static void mbox_set(int state)
{
	pthread_mutex_lock(&mbox.lock);
	mbox.state = state;
	pthread_cond_broadcast(&mbox.cv);
	pthread_mutex_unlock(&mbox.lock);
}

static void *putter(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&mbox.lock);
	for (;;) {
		while (mbox.state != 1 && mbox.state != 3)
			pthread_cond_wait(&mbox.cv, &mbox.lock);
		if (mbox.state == 3)
			break;
		if (mbox.bulk)
			mbox.ret = nm_pool_put_bulk(mbox.pool, mbox.bufs, mbox.n);
		else
			mbox.ret = nm_pool_put(mbox.pool, mbox.bufs);
		mbox.state = 2;
		pthread_cond_broadcast(&mbox.cv);
	}
	pthread_mutex_unlock(&mbox.lock);
	return NULL;
}

static int remote_put(struct nm_pool *p, const struct nm_buf *b, unsigned int n, int bulk)
{
	int ret;

	n_remote++;
	pthread_mutex_lock(&mbox.lock);
	mbox.pool = p;
	mbox.bufs = b;
	mbox.n = n;
	mbox.bulk = bulk;
	mbox.state = 1;
	pthread_cond_broadcast(&mbox.cv);
	while (mbox.state != 2)
		pthread_cond_wait(&mbox.cv, &mbox.lock);
	mbox.state = 0;
	ret = mbox.ret;
	pthread_mutex_unlock(&mbox.lock);
	return ret;
}

/* A page nobody may touch: "not a buffer" points here, so a check that
 * reads through a pointer before it knows it is a descriptor faults. */
static char *not_buf;

/* ------------------------------------------------------------------ */
/* The model                                                            */
/* ------------------------------------------------------------------ */

static int chunk_of(const struct nm_buf *b)
{
	int c = nm_buf_chunk_index(b);

	REQUIRE(c >= 0 && c < NCH);
	return c;
}

/* The tag goes into the first bytes of the window and, when it is long
 * enough, the last eight. */
static void tag_write(const struct handle *h)
{
	char *d = nm_buf_data(&h->b);
	size_t n = h->b.len < 8 ? h->b.len : 8;

	REQUIRE(d);
	memcpy(d, &h->tag, n);
	if (h->b.len >= 16)
		memcpy(d + h->b.len - 8, &h->tag, 8);
}

static void tag_check(const struct handle *h)
{
	const char *d = nm_buf_data(&h->b);
	size_t n = h->b.len < 8 ? h->b.len : 8;

	REQUIRE(d);
	if (memcmp(d, &h->tag, n) ||
	    (h->b.len >= 16 && memcmp(d + h->b.len - 8, &h->tag, 8))) {
		fprintf(stderr, "chunk %d off %u len %u: tag %llu overwritten\n",
			chunk_of(&h->b), h->b.off, h->b.len,
			(unsigned long long)h->tag);
		nm_test_failures++;
	}
}

/* A buffer the pool handed out: check it against everything held. */
static void took(int pool, const struct nm_buf *b, int whole)
{
	int c = chunk_of(b);
	struct handle *h;

	CHECK(b->len > 0 && (uint64_t)b->off + b->len <= chunk_size);
	if (whole) {
		CHECK_EQ(b->off, 0);
		CHECK_EQ(b->len, chunk_size);
	}
	for (int i = 0; i < nheld; i++) {
		const struct nm_buf *o = &held[i].b;

		if (o->iov != b->iov)
			continue;
		/* Only fragments of one chunk share it, never overlapping. */
		if (whole || (o->off < b->off + b->len && b->off < o->off + o->len)) {
			fprintf(stderr, "chunk %d handed out twice: [%u,+%u) and [%u,+%u)\n",
				c, o->off, o->len, b->off, b->len);
			nm_test_failures++;
			break;
		}
	}
	CHECK_EQ(refs[pool ^ 1][c], 0);
	REQUIRE(nheld < MAXH);
	h = &held[nheld++];
	h->b = *b;
	h->pool = pool;
	h->tag = next_tag++;
	tag_write(h);
	refs[pool][c]++;
}

/* Forget held[i] after a successful put; keep it as a stale handle. */
static void gone(int i)
{
	int c = chunk_of(&held[i].b);

	tag_check(&held[i]);
	refs[held[i].pool][c]--;
	REQUIRE(refs[held[i].pool][c] >= 0);
	/* It may still be in held[] as another reference (nm_buf_get);
	 * only a chunk left with none is stale for certain. */
	stale[stale_next] = held[i];
	stale_next = (stale_next + 1) % NSTALE;
	if (nstale < NSTALE)
		nstale++;
	held[i] = held[--nheld];
}

/* Chunks the pool took that a holder has, plus the one it carves from
 * when nobody holds a fragment of it: with none left in the area, that
 * is everything the pool has, and -ENOMEM is right. */
static void check_exhausted(int pool)
{
	struct nm_pool_stats st;
	struct nm_area_info ai;
	uint64_t mine = 0;

	n_enomem++;

	REQUIRE(nm_pool_get_stats(pools[pool], &st, sizeof(st)) == 0);
	REQUIRE(nm_area_info(nm_pool_area(pools[pool]), &ai, sizeof(ai)) == 0);
	for (int c = 0; c < NCH; c++)
		mine += refs[pool][c] > 0;
	if (frag_cur[pool] >= 0 && !refs[pool][frag_cur[pool]])
		mine++;
	/* out of memory: the area is empty, or the pool is at its cap */
	CHECK(ai.nr_free == 0 || st.hold - st.release >= max_chunks[pool]);
	CHECK_EQ(st.hold - st.release, mine);
	if (max_chunks[pool] && st.hold - st.release >= max_chunks[pool])
		n_at_cap++;
}

/* A handle of @pool (or any, -1) whose put there must fail with
 * -EALREADY: a chunk nobody holds, wherever it is (the cache, the ring,
 * a put slot, the area, or the chunk a pool is carving, with every
 * fragment of it put: half the picks look for that one first).  Not
 * tried, because no count can tell them from a good put: a stale copy
 * of a chunk that was handed out again, and a window put once more
 * while another holder of its chunk remains. */
static const struct handle *pick_stale(int pool)
{
	if (!nstale)
		return NULL;
	if (below(2)) {
		for (int k = 0; k < nstale; k++) {
			const struct handle *h = &stale[k];
			int c = chunk_of(&h->b);

			if ((pool < 0 || h->pool == pool) && c == frag_cur[h->pool] &&
			    !refs[0][c] && !refs[1][c]) {
				n_double_carving++;
				return h;
			}
		}
	}
	for (int tries = 0; tries < 8; tries++) {
		const struct handle *h = &stale[below((unsigned int)nstale)];
		int c = chunk_of(&h->b);

		if ((pool < 0 || h->pool == pool) && !refs[0][c] && !refs[1][c]) {
			n_double_carving += c == frag_cur[h->pool];
			return h;
		}
	}
	return NULL;
}

/* The error counters read what the model says; @revoked: allocations
 * refused after a revocation (three per pool, or none). */
static void check_counters_rev(uint64_t revoked)
{
	for (int i = 0; i < 2; i++) {
		struct nm_pool_stats st;

		REQUIRE(nm_pool_get_stats(pools[i], &st, sizeof(st)) == 0);
		CHECK_EQ(st.err_double_put, want[i].double_put);
		CHECK_EQ(st.err_foreign, want[i].foreign);
		CHECK_EQ(st.err_not_buf, want[i].not_buf);
		CHECK_EQ(st.err_range, want[i].range);
		CHECK_EQ(st.err_inval, want[i].inval);
		CHECK_EQ(st.err_revoked, revoked);
	}
}

static void check_counters(void)
{
	check_counters_rev(0);
}

/* nm_pool_held() lists exactly the chunks the model says are held. */
static void check_held(void)
{
	static struct nm_held list[NCH];

	for (int i = 0; i < 2; i++) {
		long n = nm_pool_held(pools[i], list, NCH);
		long want_n = 0;
		struct nm_pool_stats st;

		REQUIRE(nm_pool_get_stats(pools[i], &st, sizeof(st)) == 0);
		CHECK(st.hold - st.release <= max_chunks[i]);

		for (int c = 0; c < NCH; c++)
			want_n += refs[i][c] > 0;
		CHECK_EQ(n, want_n);
		CHECK_EQ(nm_pool_inflight(pools[i]), want_n);
		for (long k = 0; k < n && k < NCH; k++)
			CHECK_EQ(list[k].refs, refs[i][list[k].chunk]);
	}
}

/* ------------------------------------------------------------------ */
/* Operations                                                           */
/* ------------------------------------------------------------------ */

static void op_alloc(int pool)
{
	struct nm_buf b;
	int r = nm_pool_alloc(pools[pool], &b);

	if (r == -ENOMEM) {
		check_exhausted(pool);
		return;
	}
	CHECK_EQ(r, 0);
	if (!r)
		took(pool, &b, 1);
}

static void op_alloc_bulk(int pool)
{
	struct nm_buf b[MAXBULK];
	unsigned int n = 1 + below(MAXBULK);
	int r = nm_pool_alloc_bulk(pools[pool], b, n);

	CHECK(r >= 0 && r <= (int)n);
	for (int i = 0; i < r; i++)
		took(pool, &b[i], 1);
	if (r >= 0 && r < (int)n)
		check_exhausted(pool);
}

static void op_alloc_frag(int pool)
{
	static const uint32_t aligns[] = { 0, 1, 2, 8, 64, 256, 1024, 4096 };
	uint32_t align = aligns[below(8)], size;
	struct nm_buf b;
	int r;

	switch (below(8)) {
	case 0:  size = 1 + below(chunk_size); break;
	case 1:  size = chunk_size; break;
	default: size = 1 + below(1500); break;
	}
	r = nm_pool_alloc_frag(pools[pool], &b, size, align);
	if (r == -ENOMEM) {
		/* the chunk it carved from (if any) was finished first */
		frag_cur[pool] = -1;
		check_exhausted(pool);
		return;
	}
	CHECK_EQ(r, 0);
	if (r)
		return;
	CHECK_EQ(b.len, size);
	if (align)
		CHECK_EQ(b.off % align, 0);
	else
		CHECK_EQ(b.off % 64, 0);
	frag_cur[pool] = chunk_of(&b);
	took(pool, &b, 0);
}

static void op_bad_frag(int pool)
{
	struct nm_buf b;

	switch (below(3)) {
	case 0: CHECK_EQ(nm_pool_alloc_frag(pools[pool], &b, 0, 0), -EINVAL); break;
	case 1: CHECK_EQ(nm_pool_alloc_frag(pools[pool], &b, chunk_size + 1, 0), -EINVAL); break;
	default: CHECK_EQ(nm_pool_alloc_frag(pools[pool], &b, 100, 48), -EINVAL); break;
	}
	want[pool].inval++;
}

/* Put held[i] back the way the dice say. */
static void op_put_one(void)
{
	int i, r;

	if (!nheld)
		return;
	i = (int)below((unsigned int)nheld);
	switch (below(3)) {
	case 0:  r = nm_pool_put(pools[held[i].pool], &held[i].b); break;
	case 1:  r = nm_buf_put(&held[i].b); break;
	default: r = remote_put(pools[held[i].pool], &held[i].b, 1, 0); break;
	}
	CHECK_EQ(r, 0);
	if (!r)
		gone(i);
}

/* A bulk of held buffers of one pool with bad ones mixed in. */
static void op_put_bulk(void)
{
	struct nm_buf b[MAXBULK];
	int idx[MAXBULK], good = 0, n = 0, pool = (int)below(2), r;
	unsigned int want_n = 1 + below(MAXBULK);

	for (int i = 0; i < nheld && n < (int)want_n; i++) {
		/* (two references to one chunk in one bulk are fine) */
		if (held[i].pool != pool || below(3) == 0)
			continue;
		idx[n] = i;
		b[n++] = held[i].b;
		good++;
		if (n < (int)want_n && below(6) == 0) {
			/* a bad one after it */
			switch (below(4)) {
			case 0: {
				const struct handle *s = pick_stale(pool);

				if (!s)
					continue;
				b[n] = s->b;
				want[pool].double_put++;
				break;
			}
			case 1: {
				/* any held buffer of the pool, most likely
				 * one the bulk does not put, so its chunk
				 * still has its ref */
				int j = (int)below((unsigned int)nheld);

				if (held[j].pool != pool)
					continue;
				b[n] = held[j].b;
				b[n].off = chunk_size - 1;
				b[n].len = 2;
				want[pool].range++;
				break;
			}
			case 2:
				b[n].iov = (struct nm_iov *)not_buf;
				b[n].off = 0;
				b[n].len = 1;
				want[pool].not_buf++;
				break;
			default: {
				/* a buffer of the other pool */
				int j = -1;

				for (int k = 0; k < nheld && j < 0; k++)
					if (held[k].pool != pool)
						j = k;
				if (j < 0)
					continue;
				b[n] = held[j].b;
				want[pool].foreign++;
				break;
			}
			}
			idx[n++] = -1;
			n_bulk_bad++;
		}
	}
	if (!n)
		return;
	if (below(3) == 0)
		r = remote_put(pools[pool], b, (unsigned int)n, 1);
	else
		r = nm_pool_put_bulk(pools[pool], b, (unsigned int)n);
	CHECK_EQ(r, good);
	/* Forget the good ones, highest index first so gone()'s swap with
	 * the last entry does not move one still to be forgotten. */
	for (;;) {
		int top = -1, at = -1;

		for (int k = 0; k < n; k++)
			if (idx[k] > top) {
				top = idx[k];
				at = k;
			}
		if (top < 0)
			break;
		gone(top);
		idx[at] = -1;
	}
}

static void op_bad_put(void)
{
	struct nm_buf b;
	int pool = (int)below(2), r;

	switch (below(7)) {
	case 0: {	/* double put */
		const struct handle *s = pick_stale(-1);

		if (!s)
			return;
		pool = s->pool;
		switch (below(3)) {
		case 0:  r = nm_pool_put(pools[pool], &s->b); break;
		case 1:  r = nm_buf_put(&s->b); break;
		default: r = remote_put(pools[pool], &s->b, 1, 0); break;
		}
		CHECK_EQ(r, -EALREADY);
		want[pool].double_put++;
		n_double++;
		/* and a reference cannot be taken on it */
		CHECK_EQ(nm_buf_get(&s->b), -EALREADY);
		return;
	}
	case 1: {	/* the other pool's buffer */
		int i;

		if (!nheld)
			return;
		i = (int)below((unsigned int)nheld);
		b = held[i].b;
		pool = held[i].pool ^ 1;
		r = below(2) ? nm_pool_put(pools[pool], &b)
			     : remote_put(pools[pool], &b, 1, 0);
		CHECK_EQ(r, -EXDEV);
		want[pool].foreign++;
		return;
	}
	case 2:		/* not a buffer */
		b.iov = (struct nm_iov *)not_buf;
		b.off = 0;
		b.len = 1;
		CHECK_EQ(nm_pool_put(pools[pool], &b), -EFAULT);
		want[pool].not_buf++;
		CHECK_EQ(nm_buf_put(&b), -EFAULT);	/* no pool to count it */
		CHECK_EQ(nm_buf_get(&b), -EFAULT);
		return;
	case 3:		/* a pointer into a descriptor, not at its start */
		if (!nheld)
			return;
		b = held[below((unsigned int)nheld)].b;
		b.iov = (struct nm_iov *)((char *)b.iov + 8);
		CHECK_EQ(nm_pool_put(pools[pool], &b), -EFAULT);
		want[pool].not_buf++;
		return;
	case 4: {	/* a window outside the chunk */
		int i;

		if (!nheld)
			return;
		i = (int)below((unsigned int)nheld);
		b = held[i].b;
		if (below(2)) {
			b.off = chunk_size;
			b.len = 1;
		} else {
			b.off = 1;
			b.len = chunk_size;
		}
		pool = held[i].pool;
		CHECK_EQ(nm_pool_put(pools[pool], &b), -ERANGE);
		want[pool].range++;
		return;
	}
	case 5:		/* NULLs */
		CHECK_EQ(nm_pool_put(pools[pool], NULL), -EINVAL);
		CHECK_EQ(nm_pool_put_bulk(pools[pool], NULL, 1), -EINVAL);
		CHECK_EQ(nm_pool_alloc(pools[pool], NULL), -EINVAL);
		CHECK_EQ(nm_pool_alloc_bulk(pools[pool], NULL, 1), -EINVAL);
		want[pool].inval += 4;
		CHECK_EQ(nm_pool_put(NULL, &b), -EINVAL);
		CHECK_EQ(nm_buf_put(NULL), -EINVAL);
		CHECK_EQ(nm_pool_put_bulk(pools[pool], NULL, 0), 0);
		return;
	default:
		op_bad_frag(pool);
		return;
	}
}

/* The other thread puts back everything one pool's holders have, in
 * bulks: enough to fill its put slot and send it on to the ring. */
static void op_put_remote_all(void)
{
	struct nm_buf b[MAXBULK];
	int pool = (int)below(2);

	for (;;) {
		int n = 0, r;

		for (int i = nheld - 1; i >= 0 && n < MAXBULK; i--)
			if (held[i].pool == pool)
				b[n++] = held[i].b;
		if (!n)
			return;
		r = remote_put(pools[pool], b, (unsigned int)n, 1);
		CHECK_EQ(r, n);
		if (r != n)
			return;
		/* the same ones, found the same way: highest index first */
		for (int i = nheld - 1, k = 0; i >= 0 && k < n; i--)
			if (held[i].pool == pool) {
				gone(i);
				k++;
			}
	}
}

/* Another reference on a held buffer: one more put is then due. */
static void op_get(void)
{
	int i;

	if (!nheld || nheld >= MAXH)
		return;
	i = (int)below((unsigned int)nheld);
	CHECK_EQ(nm_buf_get(&held[i].b), 0);
	held[nheld] = held[i];
	held[nheld].tag = held[i].tag;
	refs[held[i].pool][chunk_of(&held[i].b)]++;
	nheld++;
}

/* One stretch of random calls. */
static void run_ops(long ops)
{
	for (long k = 0; k < ops && !nm_test_failures; k++) {
		unsigned int d = below(100);
		/* Hold more while few are held, put more while many are; one
		 * stretch in four holds on until the area runs dry. */
		int greedy = (k / 4096) % 4 == 3;
		int fill = nheld < NCH / 2 || greedy;

		if (greedy && d >= 50 && d < 85 && below(4))
			d = below(50);
		if (nheld > MAXH - MAXBULK - 2 && d < 50)
			d = 50 + below(50);	/* room for what allocs add */

		if (d < (fill ? 20u : 8u))
			op_alloc((int)below(2));
		else if (d < (fill ? 32u : 14u))
			op_alloc_bulk((int)below(2));
		else if (d < (fill ? 50u : 30u))
			op_alloc_frag((int)below(2));
		else if (d < 70)
			op_put_one();
		else if (d < 85)
			op_put_bulk();
		else if (d < 95)
			op_bad_put();
		else if (d < 99 || below(4))
			op_get();
		else
			op_put_remote_all();
		if (k % 64 == 0) {
			check_counters();
			check_held();
		}
	}
}

static struct nm_area *setup(void)
{
	struct nm_area *a = t_host_area(NCH, 0);

	for (int i = 0; i < 2; i++) {
		NM_OPTS(nm_pool_opts, po, .max_chunks = max_chunks[i] == UINT64_MAX ?
						       0 : (unsigned int)max_chunks[i]);

		pools[i] = nm_pool_create(a, &po);
		REQUIRE(pools[i]);
		frag_cur[i] = -1;
	}
	memset(want, 0, sizeof(want));
	memset(refs, 0, sizeof(refs));
	nheld = nstale = stale_next = 0;
	chunk_size = nm_pool_chunk_size(pools[0]);
	return a;
}

/* Chunks the program holds, over both pools. */
static long held_chunks(void)
{
	long n = 0;

	for (int c = 0; c < NCH; c++)
		n += refs[0][c] > 0 || refs[1][c] > 0;
	return n;
}

/* The end of a stretch, normal: everything back, the pools go, and the
 * area has every chunk again. */
static void teardown(struct nm_area *a)
{
	struct nm_area_info ai;

	while (nheld) {
		int r = nm_pool_put(pools[held[0].pool], &held[0].b);

		CHECK_EQ(r, 0);
		if (r)
			break;
		gone(0);
	}
	check_counters();
	check_held();
	for (int i = 0; i < 2; i++)
		CHECK_EQ(nm_pool_destroy(pools[i]), 0);
	REQUIRE(nm_area_info(a, &ai, sizeof(ai)) == 0);
	CHECK_EQ(ai.nr_outstanding, 0);
	CHECK_EQ(ai.nr_free, NCH);
	CHECK_EQ(nm_area_destroy(a), 0);
}

/* The end of a stretch by revocation, with whatever is held still out
 * (@gone: the memory is already gone).  Nothing is handed out afterwards,
 * held buffers read as revoked but can still be put, from either thread,
 * and the area is released when the last one is. */
static void end_by_revoke(struct nm_area *a, int gone_flag)
{
	unsigned int flags = gone_flag ? NM_REVOKE_GONE : 0;
	struct nm_area_info ai;
	struct nm_buf b;
	long chunks = held_chunks();
	int r = nm_area_revoke(a, flags);

	/* The pools' caches and carving chunks are still counted. */
	CHECK(r >= chunks);
	CHECK_EQ(nm_area_revoke(a, 0), -EALREADY);
	for (int i = 0; i < 2; i++) {
		struct nm_pool_stats st;

		CHECK_EQ(nm_pool_alloc_frag(pools[i], &b, 64, 0), -ENODEV);
		CHECK_EQ(nm_pool_alloc(pools[i], &b), -ENODEV);
		CHECK_EQ(nm_pool_alloc_bulk(pools[i], &b, 1), -ENODEV);
		REQUIRE(nm_pool_get_stats(pools[i], &st, sizeof(st)) == 0);
		CHECK_EQ(st.err_revoked, 3);
	}
	/* Each pool has let go of everything it had: only held chunks are
	 * out now. */
	REQUIRE(nm_area_info(a, &ai, sizeof(ai)) == 0);
	CHECK_EQ(ai.nr_outstanding, chunks);
	CHECK_EQ(ai.state, chunks ? (gone_flag ? NM_AREA_DEAD : NM_AREA_REVOKING)
				  : NM_AREA_DEAD);
	CHECK(ai.cpu_base == NULL);
	for (int i = 0; i < nheld; i++) {
		uint64_t io;

		CHECK(nm_buf_data(&held[i].b) == NULL);
		CHECK_EQ(nm_buf_get(&held[i].b), -ENODEV);
		CHECK_EQ(nm_buf_io_addr(&held[i].b, &io), -ENODEV);
		CHECK_EQ(nm_buf_sync(&held[i].b, NM_SYNC_FOR_CPU), -ENODEV);
	}
	/* Put back in random order, a third from the other thread; a
	 * double put is still refused. */
	while (nheld) {
		int i = (int)below((unsigned int)nheld), c = chunk_of(&held[i].b);
		struct handle h = held[i];

		r = below(3) ? nm_pool_put(pools[h.pool], &h.b)
			     : remote_put(pools[h.pool], &h.b, 1, 0);
		CHECK_EQ(r, 0);
		if (r)
			break;
		refs[h.pool][c]--;
		held[i] = held[--nheld];
		if (!refs[0][c] && !refs[1][c]) {
			CHECK_EQ(nm_pool_put(pools[h.pool], &h.b), -EALREADY);
			want[h.pool].double_put++;
		}
	}
	check_counters_rev(3);
	check_held();
	REQUIRE(nm_area_info(a, &ai, sizeof(ai)) == 0);
	CHECK_EQ(ai.nr_outstanding, 0);
	CHECK_EQ(ai.state, NM_AREA_DEAD);
	for (int i = 0; i < 2; i++)
		CHECK_EQ(nm_pool_destroy(pools[i]), 0);
	CHECK_EQ(nm_area_destroy(a), 0);
}

int main(void)
{
	const char *e = getenv("NM_MODEL_SEED");
	const char *o = getenv("NM_MODEL_OPS");
	long ops = o ? atol(o) : 1000000;
	uint64_t seed = e ? strtoull(e, NULL, 0)
			  : ((uint64_t)time(NULL) << 20 ^ (uint64_t)getpid()) * 0x9e3779b97f4a7c15ull;
	pthread_t th;

	if (!seed)
		seed = 1;
	rng = seed;
	printf("seed %llu (NM_MODEL_SEED=%llu replays it), %ld operations\n",
	       (unsigned long long)seed, (unsigned long long)seed, ops);
	fflush(stdout);
	not_buf = mmap(NULL, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	REQUIRE(not_buf != MAP_FAILED);
	REQUIRE(pthread_create(&th, NULL, putter, NULL) == 0);

	/* Six stretches over fresh areas, ended in turn by a teardown, a
	 * revocation and a revocation of memory already gone. */
	for (int st = 0; st < 6 && !nm_test_failures; st++) {
		struct nm_area *a = setup();

		run_ops(ops / 6);
		if (nm_test_failures)
			break;
		printf("stretch %d: %d handles held at its end, %s\n", st, nheld,
		       st % 3 == 0 ? "all put back" : st % 3 == 1 ? "area revoked"
							: "area revoked, memory gone");
		switch (st % 3) {
		case 0: teardown(a); break;
		case 1: end_by_revoke(a, 0); break;
		default: end_by_revoke(a, 1); break;
		}
	}
	mbox_set(3);
	pthread_join(th, NULL);
	printf("%ld out-of-memory returns (%ld at pool 1's cap), %ld double puts "
	       "(%ld on a chunk being carved), %ld bad buffers in bulks, "
	       "%ld calls from the other thread\n",
	       n_enomem, n_at_cap, n_double, n_double_carving, n_bulk_bad, n_remote);
	/* A run that never got there proves nothing about those paths. */
	if (ops >= 100000) {
		CHECK(n_enomem > 0);
		CHECK(n_at_cap > 0);
		CHECK(n_double > 0);
		CHECK(n_double_carving > 0);
		CHECK(n_bulk_bad > 0);
		CHECK(n_remote > 0);
	}
	if (nm_test_failures)
		fprintf(stderr, "replay: NM_MODEL_SEED=%llu\n", (unsigned long long)seed);
	return t_done();
}

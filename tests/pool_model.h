/* SPDX-License-Identifier: MIT */
/*
 * pool_model.h - the pool against a model: the one copy that
 * tests/test_pool_model.c drives with a random number generator and
 * fuzz/fuzz_pool.c with the fuzzer's bytes.
 *
 * The model knows which handles the program holds (whole buffers,
 * fragments, extra references, buffers parked in a token table).  From
 * that it predicts each call's return exactly, the pools' error counters,
 * what nm_pool_held() lists and nm_pool_destroy() reports; it checks that
 * no chunk is handed to two holders (whole buffers never share a chunk,
 * fragments never overlap, and a tag written into each buffer is still
 * there when it is put); that -ENOMEM comes only when every chunk the
 * pool took is held and the area is empty or the pool at its max_chunks
 * cap; and that after an ending (everything put back, the area revoked
 * with buffers held, revoked as memory already gone, or the pools
 * destroyed first) the area has every chunk again.
 *
 * One program includes it once, after defining:
 *   PM_MAXCH PM_MAXH PM_NSTALE PM_MAXBULK PM_MAXTOK
 *                     chunks in an area, handles held, handles put
 *                     recently (for double puts), a bulk, tokens: at most
 *   pm_below(n)       a number below n (n >= 1): the driver's choice
 *   PM_FAIL(...)      a mismatch, printf-style (count it, or abort)
 *   CHECK, CHECK_EQ, REQUIRE   as tests/harness.h has them
 * and defining, after it, pm_remote_put(): a put from a thread that does
 * not own the pool (a real one, or the pool shown another owner).
 *
 * A driver makes an area and two pools (pool 1 may have max_chunks, 0 is
 * none), calls pm_reset(), then the pm_op_*() it likes and one pm_end_*().
 */
#ifndef NM_TEST_POOL_MODEL_H
#define NM_TEST_POOL_MODEL_H
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <netmem/netmem.h>

struct pm_handle {
	struct nm_buf b;
	int pool;		/* 0 or 1 */
	uint64_t tag;		/* written into the buffer when taken */
};

/* What a pool's error counters should read. */
struct pm_errs { uint64_t double_put, foreign, not_buf, range, inval; };

static struct nm_area *area;
static struct nm_pool *pools[2];
static uint64_t max_chunks[2];	/* 0: no cap */
static int destroyed[2];
static uint32_t chunk_size, nch;
static struct pm_handle held[PM_MAXH];
static int nheld;
static struct pm_handle stale[PM_NSTALE];
static int nstale, stale_next;
static int refs[2][PM_MAXCH];	/* references held per chunk */
static int frag_cur[2] = { -1, -1 };	/* chunk each pool carves from */
static uint64_t next_tag = 1;
static struct pm_errs want[2];
/* A page nobody may touch: "not a buffer" points here, so a check that
 * reads through a pointer before it knows it is a descriptor faults. */
static char *not_buf;

/* tokens: handles that left held[] for the table */
static struct nm_token_table *tok;
static unsigned int tok_cap;
static struct { uint32_t tok; struct pm_handle h; } toks[PM_MAXTOK];
static int ntoks;
static uint64_t tok_rejected;

/* Checks the driver may turn off (fuzz_util.h's known bugs). */
static int pm_skip_null_bulk, pm_skip_data_range, pm_skip_frag_double;

/* What a run got to: a run that never got there proves nothing about
 * those paths. */
static long n_enomem, n_at_cap, n_double, n_double_carving, n_bulk_bad, n_remote;

static int pm_remote_put(int pool, const struct nm_buf *b, unsigned int n, int bulk);

static int remote_put(int pool, const struct nm_buf *b, unsigned int n, int bulk)
{
	n_remote++;
	return pm_remote_put(pool, b, n, bulk);
}

/* A fresh model over @a with pools[] made (their max_chunks in
 * max_chunks[]) and token table @t (NULL: none) of capacity @cap. */
static void pm_reset(struct nm_area *a, struct nm_token_table *t, unsigned int cap)
{
	area = a;
	chunk_size = nm_pool_chunk_size(pools[0]);
	nch = 0;
	{
		struct nm_area_info ai;

		REQUIRE(nm_area_info(a, &ai, sizeof(ai)) == 0);
		nch = ai.nr_chunks;
	}
	REQUIRE(nch <= PM_MAXCH);
	tok = t;
	tok_cap = cap;
	memset(want, 0, sizeof(want));
	memset(refs, 0, sizeof(refs));
	nheld = nstale = stale_next = ntoks = 0;
	tok_rejected = 0;
	next_tag = 1;
	for (int i = 0; i < 2; i++) {
		frag_cur[i] = -1;
		destroyed[i] = 0;
	}
}

static int chunk_of(const struct nm_buf *b)
{
	int c = nm_buf_chunk_index(b);

	REQUIRE(c >= 0 && (uint32_t)c < nch);
	return c;
}

/* The tag goes into the first bytes of the window and, when it is long
 * enough, the last eight. */
static void tag_write(const struct pm_handle *h)
{
	char *d = nm_buf_data(&h->b);
	size_t n = h->b.len < 8 ? h->b.len : 8;

	REQUIRE(d);
	memcpy(d, &h->tag, n);
	if (h->b.len >= 16)
		memcpy(d + h->b.len - 8, &h->tag, 8);
}

static void tag_check(const struct pm_handle *h)
{
	const char *d = nm_buf_data(&h->b);
	size_t n = h->b.len < 8 ? h->b.len : 8;

	REQUIRE(d);
	if (memcmp(d, &h->tag, n) ||
	    (h->b.len >= 16 && memcmp(d + h->b.len - 8, &h->tag, 8)))
		PM_FAIL("chunk %d off %u len %u: tag %llu overwritten: two holders",
			chunk_of(&h->b), h->b.off, h->b.len, (unsigned long long)h->tag);
}

static int overlaps(const struct nm_buf *o, const struct nm_buf *b, int whole)
{
	return o->iov == b->iov &&
	       (whole || (o->off < b->off + b->len && b->off < o->off + o->len));
}

/* A buffer the pool handed out: check it against everything held. */
static void took(int pool, const struct nm_buf *b, int whole)
{
	int c = chunk_of(b);
	struct pm_handle *h;

	CHECK(b->len > 0 && (uint64_t)b->off + b->len <= chunk_size);
	if (whole) {
		CHECK_EQ(b->off, 0);
		CHECK_EQ(b->len, chunk_size);
	}
	/* Only fragments of one chunk share it, never overlapping. */
	for (int i = 0; i < nheld; i++)
		if (overlaps(&held[i].b, b, whole)) {
			PM_FAIL("chunk %d handed out twice: [%u,+%u) and [%u,+%u)",
				c, held[i].b.off, held[i].b.len, b->off, b->len);
			break;
		}
	for (int i = 0; i < ntoks; i++)
		if (overlaps(&toks[i].h.b, b, whole)) {
			PM_FAIL("chunk %d handed out while a token holds it", c);
			break;
		}
	CHECK_EQ(refs[pool ^ 1][c], 0);
	REQUIRE(nheld < PM_MAXH);
	h = &held[nheld++];
	h->b = *b;
	h->pool = pool;
	h->tag = next_tag++;
	tag_write(h);
	refs[pool][c]++;
}

/* A handle's reference was given back (put, token released): it is kept
 * as a stale handle.  It may still be in held[] as another reference
 * (nm_buf_get); pick_stale() takes only a chunk left with none. */
static void dropped(const struct pm_handle *h)
{
	int c = chunk_of(&h->b);

	tag_check(h);
	refs[h->pool][c]--;
	REQUIRE(refs[h->pool][c] >= 0);
	stale[stale_next] = *h;
	stale_next = (stale_next + 1) % PM_NSTALE;
	if (nstale < PM_NSTALE)
		nstale++;
}

/* Forget held[i] after a successful put. */
static void gone(int i)
{
	dropped(&held[i]);
	held[i] = held[--nheld];
}

/* Chunks the pool took that a holder has, plus the one it carves from
 * when nobody holds a fragment of it: with none left in the area (or the
 * pool at its cap), that is everything the pool has, and -ENOMEM is
 * right. */
static void check_exhausted(int pool)
{
	struct nm_pool_stats st;
	struct nm_area_info ai;
	uint64_t mine = 0;
	int at_cap;

	n_enomem++;
	REQUIRE(nm_pool_get_stats(pools[pool], &st, sizeof(st)) == 0);
	REQUIRE(nm_area_info(area, &ai, sizeof(ai)) == 0);
	for (uint32_t c = 0; c < nch; c++)
		mine += refs[pool][c] > 0;
	if (frag_cur[pool] >= 0 && !refs[pool][frag_cur[pool]])
		mine++;
	at_cap = max_chunks[pool] && st.hold - st.release >= max_chunks[pool];
	CHECK(ai.nr_free == 0 || at_cap);
	CHECK_EQ(st.hold - st.release, mine);
	n_at_cap += at_cap;
}

/* A handle of @pool (or any, -1) whose put there must fail with
 * -EALREADY: a chunk nobody holds, wherever it is (the cache, the ring,
 * a put slot, the area, or the chunk a pool is carving, with every
 * fragment of it put: half the picks look for that one first).  Not
 * tried, because no count can tell them from a good put: a stale copy
 * of a chunk that was handed out again, and a window put once more
 * while another holder of its chunk remains. */
static const struct pm_handle *pick_stale(int pool)
{
	if (!nstale)
		return NULL;
	if (!pm_skip_frag_double && pm_below(2)) {
		for (int k = 0; k < nstale; k++) {
			const struct pm_handle *h = &stale[k];
			int c = chunk_of(&h->b);

			if ((pool < 0 || h->pool == pool) && c == frag_cur[h->pool] &&
			    !refs[0][c] && !refs[1][c]) {
				n_double_carving++;
				return h;
			}
		}
	}
	for (int tries = 0; tries < 8; tries++) {
		const struct pm_handle *h = &stale[pm_below((unsigned int)nstale)];
		int c = chunk_of(&h->b);
		int carving = c == frag_cur[0] || c == frag_cur[1];

		if ((pool < 0 || h->pool == pool) && !refs[0][c] && !refs[1][c] &&
		    !(carving && pm_skip_frag_double)) {
			n_double_carving += c == frag_cur[h->pool];
			return h;
		}
	}
	return NULL;
}

/* The error counters read what the model says; @revoked: allocations
 * refused after a revocation (three per pool, or none). */
static void check_counters(uint64_t revoked)
{
	for (int i = 0; i < 2; i++) {
		struct nm_pool_stats st;

		if (destroyed[i])
			continue;
		REQUIRE(nm_pool_get_stats(pools[i], &st, sizeof(st)) == 0);
		CHECK_EQ(st.err_double_put, want[i].double_put);
		CHECK_EQ(st.err_foreign, want[i].foreign);
		CHECK_EQ(st.err_not_buf, want[i].not_buf);
		CHECK_EQ(st.err_range, want[i].range);
		CHECK_EQ(st.err_inval, want[i].inval);
		CHECK_EQ(st.err_revoked, revoked);
	}
}

/* nm_pool_held() lists exactly the chunks the model says are held. */
static void check_held(void)
{
	struct nm_held list[PM_MAXCH];

	for (int i = 0; i < 2; i++) {
		long n, want_n = 0;
		struct nm_pool_stats st;

		if (destroyed[i])
			continue;
		n = nm_pool_held(pools[i], list, PM_MAXCH);
		REQUIRE(nm_pool_get_stats(pools[i], &st, sizeof(st)) == 0);
		if (max_chunks[i])
			CHECK(st.hold - st.release <= max_chunks[i]);
		for (uint32_t c = 0; c < nch; c++)
			want_n += refs[i][c] > 0;
		CHECK_EQ(n, want_n);
		CHECK_EQ(nm_pool_inflight(pools[i]), want_n);
		for (long k = 0; k < n && k < PM_MAXCH; k++)
			CHECK_EQ(list[k].refs, refs[i][list[k].chunk]);
	}
}

static void pm_check(void)
{
	check_counters(0);
	check_held();
}

/* ------------------------------------------------------------------ */
/* Operations                                                           */
/* ------------------------------------------------------------------ */

static int live_pool(void)
{
	int p = (int)pm_below(2);

	return destroyed[p] ? p ^ 1 : p;
}

/* Whether the model can track @n more handles: a driver may hold many
 * (every fragment and extra reference is one), and an alloc with no room
 * to record what it took is not made. */
static int pm_room(unsigned int n)
{
	return nheld + (int)n <= PM_MAXH;
}

static void pm_op_alloc(void)
{
	int pool = live_pool();
	struct nm_buf b;
	int r;

	if (!pm_room(1))
		return;
	r = nm_pool_alloc(pools[pool], &b);

	if (r == -ENOMEM) {
		check_exhausted(pool);
		return;
	}
	CHECK_EQ(r, 0);
	if (!r)
		took(pool, &b, 1);
}

static void pm_op_alloc_bulk(void)
{
	int pool = live_pool();
	struct nm_buf b[PM_MAXBULK];
	unsigned int n = 1 + pm_below(PM_MAXBULK);
	int r;

	if (!pm_room(n))
		return;
	r = nm_pool_alloc_bulk(pools[pool], b, n);

	CHECK(r >= 0 && r <= (int)n);
	for (int i = 0; i < r; i++)
		took(pool, &b[i], 1);
	if (r >= 0 && r < (int)n)
		check_exhausted(pool);
}

static void pm_op_alloc_frag(void)
{
	static const uint32_t aligns[] = { 0, 1, 2, 8, 64, 256, 1024, 4096 };
	int pool = live_pool();
	uint32_t align = aligns[pm_below(8)], size;
	struct nm_buf b;
	int r;

	switch (pm_below(4)) {
	case 0:  size = 1 + pm_below(chunk_size); break;
	case 1:  size = chunk_size; break;
	default: size = 1 + pm_below(1500); break;
	}
	if (align > chunk_size)
		align = chunk_size;
	if (!pm_room(1))
		return;
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
	CHECK_EQ(b.off % (align ? align : 64), 0);
	frag_cur[pool] = chunk_of(&b);
	took(pool, &b, 0);
}

static void pm_op_bad_frag(void)
{
	int pool = live_pool();
	struct nm_buf b;

	switch (pm_below(4)) {
	case 0:
		CHECK_EQ(nm_pool_alloc_frag(pools[pool], &b, 0, 0), -EINVAL);
		break;
	case 1:
		CHECK_EQ(nm_pool_alloc_frag(pools[pool], &b, chunk_size + 1 + pm_below(3), 0),
			 -EINVAL);
		break;
	case 2:
		CHECK_EQ(nm_pool_alloc_frag(pools[pool], &b, 100, 3 + 2 * pm_below(100)),
			 -EINVAL);
		break;
	default:
		CHECK_EQ(nm_pool_alloc_frag(pools[pool], &b, 1, chunk_size << 1), -EINVAL);
		break;
	}
	want[pool].inval++;
}

/* Put a held buffer back the way the dice say. */
static void pm_op_put_one(void)
{
	int i, r;

	if (!nheld)
		return;
	i = (int)pm_below((unsigned int)nheld);
	switch (pm_below(3)) {
	case 0:  r = nm_pool_put(pools[held[i].pool], &held[i].b); break;
	case 1:  r = nm_buf_put(&held[i].b); break;
	default: r = remote_put(held[i].pool, &held[i].b, 1, 0); break;
	}
	CHECK_EQ(r, 0);
	if (!r)
		gone(i);
}

/* A bad buffer of @pool for a bulk, after the good one at b[n-1]; the
 * counter it moves is counted.  0 when there is none to make. */
static int bad_for_bulk(int pool, struct nm_buf *b)
{
	switch (pm_below(4)) {
	case 0: {	/* a double put */
		const struct pm_handle *s = pick_stale(pool);

		if (!s)
			return 0;
		*b = s->b;
		want[pool].double_put++;
		return 1;
	}
	case 1: {
		/* any held buffer of the pool, most likely one the bulk
		 * does not put, so its chunk still has its ref */
		int j = (int)pm_below((unsigned int)nheld);

		if (held[j].pool != pool)
			return 0;
		*b = held[j].b;
		b->off = chunk_size - 1;
		b->len = 2;
		want[pool].range++;
		return 1;
	}
	case 2:
		b->iov = (struct nm_iov *)not_buf;
		b->off = 0;
		b->len = 1;
		want[pool].not_buf++;
		return 1;
	default:	/* a buffer of the other pool */
		for (int k = 0; k < nheld; k++)
			if (held[k].pool != pool) {
				*b = held[k].b;
				want[pool].foreign++;
				return 1;
			}
		return 0;
	}
}

/* A bulk of held buffers of one pool with bad ones mixed in. */
static void pm_op_put_bulk(void)
{
	struct nm_buf b[PM_MAXBULK];
	int idx[PM_MAXBULK], good = 0, n = 0, pool = live_pool(), r;
	unsigned int want_n = 1 + pm_below(PM_MAXBULK);
	unsigned int mask = pm_below(1u << 16);	/* which held ones go */

	for (int i = 0; i < nheld && n < (int)want_n; i++) {
		/* (two references to one chunk in one bulk are fine) */
		if (held[i].pool != pool || !((mask >> (i % 16)) & 1))
			continue;
		idx[n] = i;
		b[n++] = held[i].b;
		good++;
		if (n < (int)want_n && pm_below(5) == 0 && bad_for_bulk(pool, &b[n])) {
			idx[n++] = -1;
			n_bulk_bad++;
		}
	}
	if (!n)
		return;
	if (pm_below(3) == 0)
		r = remote_put(pool, b, (unsigned int)n, 1);
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

static void pm_op_bad_put(void)
{
	struct nm_buf b;
	int pool = live_pool(), r;

	switch (pm_below(7)) {
	case 0: {	/* double put */
		const struct pm_handle *s = pick_stale(-1);

		if (!s || destroyed[s->pool])
			return;
		pool = s->pool;
		switch (pm_below(3)) {
		case 0:  r = nm_pool_put(pools[pool], &s->b); break;
		case 1:  r = nm_buf_put(&s->b); break;
		default: r = remote_put(pool, &s->b, 1, 0); break;
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
		i = (int)pm_below((unsigned int)nheld);
		b = held[i].b;
		pool = held[i].pool ^ 1;
		if (destroyed[pool])
			return;
		r = pm_below(2) ? nm_pool_put(pools[pool], &b) : remote_put(pool, &b, 1, 0);
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
		CHECK(nm_buf_data(&b) == NULL);
		CHECK(nm_buf_area(&b) == NULL);
		return;
	case 3:		/* a pointer into a descriptor, not at its start */
		if (!nheld)
			return;
		b = held[pm_below((unsigned int)nheld)].b;
		b.iov = (struct nm_iov *)((char *)b.iov + 1 + pm_below(31));
		CHECK_EQ(nm_pool_put(pools[pool], &b), -EFAULT);
		want[pool].not_buf++;
		CHECK_EQ(nm_buf_put(&b), -EFAULT);
		CHECK(nm_buf_data(&b) == NULL);
		return;
	case 4: {	/* a window outside the chunk */
		static const char zeros[4u << 12];
		int i;

		if (!nheld)
			return;
		i = (int)pm_below((unsigned int)nheld);
		b = held[i].b;
		switch (pm_below(3)) {
		case 0: b.off = chunk_size; b.len = 1; break;
		case 1: b.off = 1; b.len = chunk_size; break;
		default: b.off = chunk_size + 1 + pm_below(1u << 16); b.len = 0; break;
		}
		pool = held[i].pool;
		CHECK_EQ(nm_pool_put(pools[pool], &b), -ERANGE);
		want[pool].range++;
		CHECK_EQ(nm_buf_sync(&b, NM_SYNC_FOR_CPU), -ERANGE);
		REQUIRE(b.len <= sizeof(zeros));
		CHECK_EQ(nm_buf_place(&b, zeros, b.len, NULL, NULL), -ERANGE);
		/* netmem.h: NULL for an invalid buffer (issue 9 item 3) */
		if (!pm_skip_data_range)
			CHECK(nm_buf_data(&b) == NULL);
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
		CHECK_EQ(nm_buf_get(NULL), -EINVAL);
		CHECK(nm_buf_data(NULL) == NULL);
		if (!pm_skip_null_bulk)	/* NULL + 0 in owner_put_bulk: UB */
			CHECK_EQ(nm_pool_put_bulk(pools[pool], NULL, 0), 0);
		return;
	default:
		pm_op_bad_frag();
		return;
	}
}

/* Another reference on a held buffer: one more put is then due. */
static void pm_op_get(void)
{
	int i;

	if (!nheld || nheld >= PM_MAXH)
		return;
	i = (int)pm_below((unsigned int)nheld);
	CHECK_EQ(nm_buf_get(&held[i].b), 0);
	held[nheld] = held[i];
	refs[held[i].pool][chunk_of(&held[i].b)]++;
	nheld++;
}

/* What a holder may do with its buffer besides putting it. */
static void pm_op_use(void)
{
	struct pm_handle *h;
	struct nm_area_info ai;
	uint64_t io;
	char *d;
	uint8_t src[64];
	uint32_t k;

	if (!nheld)
		return;
	h = &held[pm_below((unsigned int)nheld)];
	REQUIRE(nm_area_info(area, &ai, sizeof(ai)) == 0);
	d = nm_buf_data(&h->b);
	CHECK(d == (char *)ai.cpu_base + ((size_t)chunk_of(&h->b) << (ai.order + 12)) + h->b.off);
	CHECK(nm_buf_area(&h->b) == area);
	CHECK_EQ(nm_buf_io_addr(&h->b, &io), 0);
	CHECK_EQ(io, ai.io_base + ((uint64_t)chunk_of(&h->b) << (ai.order + 12)) + h->b.off);
	CHECK_EQ(nm_buf_sync(&h->b, NM_SYNC_FOR_DEVICE), 0);
	CHECK_EQ(nm_buf_sync(&h->b, NM_SYNC_FOR_CPU), 0);
	CHECK_EQ(nm_buf_sync(&h->b, (enum nm_sync_dir)2), -EINVAL);
	/* place the tag again, over what is there */
	k = h->b.len < 8 ? h->b.len : 8;
	memcpy(src, &h->tag, 8);
	CHECK_EQ(nm_buf_place(&h->b, src, k, NULL, NULL), 0);
	CHECK_EQ(nm_buf_place(&h->b, src, (size_t)h->b.len + 1, NULL, NULL), -ERANGE);
	tag_check(h);
}

/* The other thread puts back everything one pool's holders have, in
 * bulks: enough to fill its put slot and send it on to the ring. */
static void pm_op_put_remote_all(void)
{
	struct nm_buf b[PM_MAXBULK];
	int pool = live_pool();

	for (;;) {
		int n = 0, r;

		for (int i = nheld - 1; i >= 0 && n < PM_MAXBULK; i--)
			if (held[i].pool == pool)
				b[n++] = held[i].b;
		if (!n)
			return;
		r = remote_put(pool, b, (unsigned int)n, 1);
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

/* Tokens: a held handle goes into the table, or tokens come back, good
 * ones and made-up ones mixed, repeated. */
static void token_add(void)
{
	int i, r;
	uint32_t t;

	if (!nheld)
		return;
	i = (int)pm_below((unsigned int)nheld);
	r = nm_token_add(tok, &held[i].b, &t);
	if (ntoks == (int)tok_cap) {
		CHECK_EQ(r, -ENOSPC);
		return;
	}
	CHECK_EQ(r, 0);
	if (r)
		return;
	CHECK(t != UINT32_MAX);
	for (int k = 0; k < ntoks; k++)
		CHECK(toks[k].tok != t);
	toks[ntoks].tok = t;
	toks[ntoks++].h = held[i];
	held[i] = held[--nheld];
	CHECK_EQ(nm_token_count(tok), ntoks);
}

static void token_release(void)
{
	uint32_t arr[2 * PM_MAXTOK];
	unsigned int n = pm_below(2 * PM_MAXTOK), good = 0;
	int live[PM_MAXTOK] = { 0 };
	int r;

	for (unsigned int k = 0; k < n; k++) {
		unsigned int pick = pm_below(256);

		if (pick < 160 && ntoks) {
			int j = (int)(pick % (unsigned int)ntoks);

			arr[k] = toks[j].tok;
			if (!live[j]) {
				live[j] = 1;
				good++;
			}
		} else if (pick < 200 && ntoks) {
			/* a live token with its generation changed */
			arr[k] = toks[pick % (unsigned int)ntoks].tok ^ (1u << (31 - pm_below(8)));
		} else {
			arr[k] = pm_below(256) | pm_below(256) << 8 |
				 (uint32_t)pm_below(256) << 16 | (uint32_t)pm_below(256) << 24;
		}
	}
	/* made-up ones that happen to be live count as good */
	for (unsigned int k = 0; k < n; k++)
		for (int j = 0; j < ntoks; j++)
			if (arr[k] == toks[j].tok && !live[j]) {
				live[j] = 1;
				good++;
			}
	r = nm_token_release(tok, arr, n);
	CHECK_EQ(r, good);
	tok_rejected += n - good;
	CHECK_EQ(nm_token_rejected(tok), tok_rejected);
	for (int j = ntoks - 1; j >= 0; j--)
		if (live[j]) {
			struct nm_buf lb;

			dropped(&toks[j].h);
			CHECK_EQ(nm_token_lookup(tok, toks[j].tok, &lb), -EINVAL);
			toks[j] = toks[--ntoks];
		}
	CHECK_EQ(nm_token_count(tok), ntoks);
}

static void pm_op_token(void)
{
	if (!tok)
		return;
	switch (pm_below(4)) {
	case 0:
		token_add();
		return;
	case 1:
		token_release();
		return;
	case 2: {	/* look up */
		struct nm_buf lb;
		int j;

		if (!ntoks)
			return;
		j = (int)pm_below((unsigned int)ntoks);
		CHECK_EQ(nm_token_lookup(tok, toks[j].tok, &lb), 0);
		CHECK(lb.iov == toks[j].h.b.iov && lb.off == toks[j].h.b.off &&
		      lb.len == toks[j].h.b.len);
		CHECK_EQ(nm_token_lookup(tok, toks[j].tok, NULL), -EINVAL);
		return;
	}
	default:	/* all */
		CHECK_EQ(nm_token_release_all(tok), ntoks);
		while (ntoks)
			dropped(&toks[--ntoks].h);
		CHECK_EQ(nm_token_count(tok), 0);
		return;
	}
}

/* Chunks the program holds: of @pool, or of either (-1). */
static long held_chunks_of(int pool)
{
	long n = 0;

	for (uint32_t c = 0; c < nch; c++)
		n += pool < 0 ? refs[0][c] > 0 || refs[1][c] > 0 : refs[pool][c] > 0;
	return n;
}

/* One pool is destroyed in the middle: it reports what it has out, and
 * its holders go on putting into it.  The ending is then
 * pm_end_destroy_first(). */
static void pm_op_destroy_one(void)
{
	int pool = (int)pm_below(2);

	if (destroyed[pool] || destroyed[pool ^ 1])
		return;
	CHECK_EQ(nm_pool_destroy(pools[pool]), held_chunks_of(pool));
	destroyed[pool] = 1;
	frag_cur[pool] = -1;	/* it carves no more */
}

/* ------------------------------------------------------------------ */
/* Endings: each gives every chunk back, destroys the token table, the  */
/* pools and the area.                                                  */
/* ------------------------------------------------------------------ */

static void tokens_back(void)
{
	if (!tok)
		return;
	CHECK_EQ(nm_token_release_all(tok), ntoks);
	while (ntoks)
		dropped(&toks[--ntoks].h);
	nm_token_table_destroy(tok);
	tok = NULL;
}

/* Everything put back, the pools go, and the area has every chunk. */
static void pm_end_normal(void)
{
	struct nm_area_info ai;

	tokens_back();
	while (nheld) {
		int r = nm_pool_put(pools[held[0].pool], &held[0].b);

		CHECK_EQ(r, 0);
		if (r)
			break;
		gone(0);
	}
	pm_check();
	for (int i = 0; i < 2; i++)
		if (!destroyed[i])
			CHECK_EQ(nm_pool_destroy(pools[i]), 0);
	REQUIRE(nm_area_info(area, &ai, sizeof(ai)) == 0);
	CHECK_EQ(ai.nr_outstanding, 0);
	CHECK_EQ(ai.nr_free, nch);
	CHECK_EQ(nm_area_destroy(area), 0);
}

/* Revoked with whatever is held still out (@gone_flag: the memory is
 * already gone; no pool destroyed before).  Nothing is handed out
 * afterwards, held buffers read as revoked but can still be put, from
 * either thread, a double put is still refused, and the area is released
 * when the last one is put. */
static void pm_end_revoke(int gone_flag)
{
	struct nm_area_info ai;
	struct nm_buf b;
	long chunks;
	int r;

	tokens_back();
	chunks = held_chunks_of(-1);
	r = nm_area_revoke(area, gone_flag ? NM_REVOKE_GONE : 0);
	/* The pools' caches and carving chunks are still counted. */
	CHECK(r >= chunks);
	CHECK_EQ(nm_area_revoke(area, 0), -EALREADY);
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
	REQUIRE(nm_area_info(area, &ai, sizeof(ai)) == 0);
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
		CHECK_EQ(nm_buf_place(&held[i].b, "x", 1, NULL, NULL), -ENODEV);
	}
	/* Put back in random order, a third from the other thread. */
	while (nheld) {
		int i = (int)pm_below((unsigned int)nheld), c = chunk_of(&held[i].b);
		struct pm_handle h = held[i];

		r = pm_below(3) ? nm_pool_put(pools[h.pool], &h.b)
				: remote_put(h.pool, &h.b, 1, 0);
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
	check_counters(3);
	check_held();
	REQUIRE(nm_area_info(area, &ai, sizeof(ai)) == 0);
	CHECK_EQ(ai.nr_outstanding, 0);
	CHECK_EQ(ai.state, NM_AREA_DEAD);
	for (int i = 0; i < 2; i++)
		CHECK_EQ(nm_pool_destroy(pools[i]), 0);
	CHECK_EQ(nm_area_destroy(area), 0);
}

/* The pools are destroyed first, with buffers held: each reports what is
 * still out, the holders put them back (a third from the other thread),
 * and the area is whole again. */
static void pm_end_destroy_first(void)
{
	struct nm_area_info ai;

	tokens_back();
	for (int i = 0; i < 2; i++)
		if (!destroyed[i]) {
			CHECK_EQ(nm_pool_destroy(pools[i]), held_chunks_of(i));
			destroyed[i] = 1;
		}
	while (nheld) {
		int i = (int)pm_below((unsigned int)nheld), c = chunk_of(&held[i].b);
		struct pm_handle h = held[i];
		int r = pm_below(3) ? nm_pool_put(pools[h.pool], &h.b)
				    : remote_put(h.pool, &h.b, 1, 0);

		CHECK_EQ(r, 0);
		if (r)
			break;
		refs[h.pool][c]--;
		held[i] = held[--nheld];
	}
	REQUIRE(nm_area_info(area, &ai, sizeof(ai)) == 0);
	CHECK_EQ(ai.nr_outstanding, 0);
	CHECK_EQ(ai.nr_free, nch);
	CHECK_EQ(nm_area_destroy(area), 0);
}

#endif

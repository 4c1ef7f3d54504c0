/* SPDX-License-Identifier: MIT */
/*
 * fuzz_pool - the pool, its area, fragments, references, tokens and
 * revocation against a model, in sequences of calls the fuzzer's bytes
 * choose (libFuzzer).  The model is tests/test_pool_model.c's, driven by
 * the input instead of a random number generator: it knows which handles
 * the program holds and predicts every call's return exactly, the error
 * counters, what nm_pool_held() lists and nm_pool_destroy() reports; it
 * checks that no chunk is handed to two holders (windows never overlap,
 * and a tag written into each buffer is still there when it is put), that
 * -ENOMEM comes only when the pool really has nothing, and that after the
 * input's ending (everything put back, the area revoked with buffers held,
 * revoked as memory gone, or the pools destroyed first) the area has every
 * chunk again and nothing leaks.  Any mismatch aborts with what differed.
 *
 * An input: 6 bytes of setup (chunk order, chunk count, pool 1's cap and
 * ring size, the token table's capacity, the ending), then one operation
 * per byte, each taking its arguments from the bytes after it.
 */
#include "fuzz_util.h"
#include "core/core.h"
#include <errno.h>
#include <sys/mman.h>

#define MAXCH    64		/* chunks in the area at most */
#define MAXH     512		/* handles the program may hold */
#define NSTALE   16		/* handles put recently, for double puts */
#define MAXBULK  24
#define MAXTOK   16

static struct fz_in input;
static int skip_null_bulk, skip_data_range, skip_frag_double;

static unsigned int byte(void)
{
	return fz_byte(&input);
}

static unsigned int below(unsigned int n)
{
	return fz_below(&input, n);
}

/* ------------------------------------------------------------------ */
/* The model                                                            */
/* ------------------------------------------------------------------ */

struct handle {
	struct nm_buf b;
	int pool;
	uint64_t tag;
};

struct errs { uint64_t double_put, foreign, not_buf, range, inval; };

static struct nm_area *area;
static struct nm_pool *pools[2];
static int destroyed[2];
static struct handle held[MAXH];
static int nheld;
static struct handle stale[NSTALE];
static int nstale, stale_next;
static int refs[2][MAXCH];
static int frag_cur[2];
static uint64_t next_tag;
static uint32_t chunk_size, nch;
static uint64_t max_chunks[2];
static struct errs want[2];
static char *not_buf;

/* tokens: a table whose handles left held[] for it */
static struct nm_token_table *tok;
static unsigned int tok_cap;
static struct { uint32_t tok; struct handle h; } toks[MAXTOK];
static int ntoks;
static uint64_t tok_rejected;

/* A put from a thread that does not own the pool takes another path (the
 * put slots).  White-box, to stay fast and repeatable: the pool is made to
 * see another owner for the call.  (A destroyed pool has none, and may be
 * freed by the put: left alone.  The threads themselves are what TSan's
 * tests are for.) */
static char other_thread;

static int remote_put(int pool, const struct nm_buf *b, unsigned int n, int bulk)
{
	struct nm_pool *p = pools[pool];
	const void *owner;
	int r;

	if (destroyed[pool])
		return bulk ? nm_pool_put_bulk(p, b, n) : nm_pool_put(p, b);
	owner = atomic_load(&p->owner);
	atomic_store(&p->owner, (const void *)&other_thread);
	r = bulk ? nm_pool_put_bulk(p, b, n) : nm_pool_put(p, b);
	atomic_store(&p->owner, owner);
	return r;
}

static int chunk_of(const struct nm_buf *b)
{
	int c = nm_buf_chunk_index(b);

	if (c < 0 || (uint32_t)c >= nch)
		FAIL("chunk index %d of %u", c, nch);
	return c;
}

static void tag_write(const struct handle *h)
{
	char *d = nm_buf_data(&h->b);
	size_t n = h->b.len < 8 ? h->b.len : 8;

	CHECK(d);
	memcpy(d, &h->tag, n);
	if (h->b.len >= 16)
		memcpy(d + h->b.len - 8, &h->tag, 8);
}

static void tag_check(const struct handle *h)
{
	const char *d = nm_buf_data(&h->b);
	size_t n = h->b.len < 8 ? h->b.len : 8;

	CHECK(d);
	if (memcmp(d, &h->tag, n) ||
	    (h->b.len >= 16 && memcmp(d + h->b.len - 8, &h->tag, 8)))
		FAIL("chunk %d off %u len %u: tag %llu overwritten: two holders",
		     chunk_of(&h->b), h->b.off, h->b.len, (unsigned long long)h->tag);
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

		if (o->iov == b->iov &&
		    (whole || (o->off < b->off + b->len && b->off < o->off + o->len)))
			FAIL("chunk %d handed out twice: [%u,+%u) and [%u,+%u)",
			     c, o->off, o->len, b->off, b->len);
	}
	for (int i = 0; i < ntoks; i++) {
		const struct nm_buf *o = &toks[i].h.b;

		if (o->iov == b->iov &&
		    (whole || (o->off < b->off + b->len && b->off < o->off + o->len)))
			FAIL("chunk %d handed out while a token holds it", c);
	}
	CHECK_EQ(refs[pool ^ 1][c], 0);
	CHECK(nheld < MAXH);
	h = &held[nheld++];
	h->b = *b;
	h->pool = pool;
	h->tag = next_tag++;
	tag_write(h);
	refs[pool][c]++;
}

/* A handle's reference was given back (put, token released). */
static void dropped(const struct handle *h)
{
	int c = chunk_of(&h->b);

	tag_check(h);
	refs[h->pool][c]--;
	CHECK(refs[h->pool][c] >= 0);
	stale[stale_next] = *h;
	stale_next = (stale_next + 1) % NSTALE;
	if (nstale < NSTALE)
		nstale++;
}

static void gone(int i)
{
	dropped(&held[i]);
	held[i] = held[--nheld];
}

/* -ENOMEM: every chunk the pool took is held (or is the chunk it carves
 * from), and the area is empty or the pool at its cap. */
static void check_exhausted(int pool)
{
	struct nm_pool_stats st;
	struct nm_area_info ai;
	uint64_t mine = 0;

	CHECK_EQ(nm_pool_get_stats(pools[pool], &st, sizeof(st)), 0);
	CHECK_EQ(nm_area_info(area, &ai, sizeof(ai)), 0);
	for (uint32_t c = 0; c < nch; c++)
		mine += refs[pool][c] > 0;
	if (frag_cur[pool] >= 0 && !refs[pool][frag_cur[pool]])
		mine++;
	CHECK(ai.nr_free == 0 || (max_chunks[pool] && st.hold - st.release >= max_chunks[pool]));
	CHECK_EQ(st.hold - st.release, mine);
}

/* A put of this handle must be refused as a double put: nobody holds its
 * chunk.  (A stale copy of a chunk that was handed out again is a live
 * buffer to the pool: undetectable.)  A fragment of the chunk its pool
 * still carves from, with no other fragment of it held, counts: the pool
 * knows how many it handed out (issue 9 item 2; NM_FUZZ_SKIP=frag-double-put
 * leaves those out). */
static const struct handle *pick_stale(int pool)
{
	const struct handle *h;
	int c;

	if (!nstale)
		return NULL;
	h = &stale[below((unsigned int)nstale)];
	c = chunk_of(&h->b);
	if ((pool >= 0 && h->pool != pool) || refs[0][c] || refs[1][c])
		return NULL;
	if (skip_frag_double && (c == frag_cur[0] || c == frag_cur[1]))
		return NULL;
	return h;
}

static void check_counters(uint64_t revoked)
{
	for (int i = 0; i < 2; i++) {
		struct nm_pool_stats st;

		if (destroyed[i])
			continue;
		CHECK_EQ(nm_pool_get_stats(pools[i], &st, sizeof(st)), 0);
		CHECK_EQ(st.err_double_put, want[i].double_put);
		CHECK_EQ(st.err_foreign, want[i].foreign);
		CHECK_EQ(st.err_not_buf, want[i].not_buf);
		CHECK_EQ(st.err_range, want[i].range);
		CHECK_EQ(st.err_inval, want[i].inval);
		CHECK_EQ(st.err_revoked, revoked);
	}
}

static void check_held(void)
{
	struct nm_held list[MAXCH];

	for (int i = 0; i < 2; i++) {
		long n, want_n = 0;
		struct nm_pool_stats st;

		if (destroyed[i])
			continue;
		n = nm_pool_held(pools[i], list, MAXCH);
		CHECK_EQ(nm_pool_get_stats(pools[i], &st, sizeof(st)), 0);
		if (max_chunks[i])
			CHECK(st.hold - st.release <= max_chunks[i]);
		for (uint32_t c = 0; c < nch; c++)
			want_n += refs[i][c] > 0;
		CHECK_EQ(n, want_n);
		CHECK_EQ(nm_pool_inflight(pools[i]), want_n);
		for (long k = 0; k < n && k < MAXCH; k++)
			CHECK_EQ(list[k].refs, refs[i][list[k].chunk]);
	}
}

/* ------------------------------------------------------------------ */
/* Operations                                                           */
/* ------------------------------------------------------------------ */

static int live_pool(void)
{
	int p = (int)below(2);

	return destroyed[p] ? p ^ 1 : p;
}

static void op_alloc(void)
{
	int pool = live_pool();
	struct nm_buf b;
	int r = nm_pool_alloc(pools[pool], &b);

	if (r == -ENOMEM) {
		check_exhausted(pool);
		return;
	}
	CHECK_EQ(r, 0);
	took(pool, &b, 1);
}

static void op_alloc_bulk(void)
{
	int pool = live_pool();
	struct nm_buf b[MAXBULK];
	unsigned int n = 1 + below(MAXBULK);
	int r = nm_pool_alloc_bulk(pools[pool], b, n);

	CHECK(r >= 0 && r <= (int)n);
	for (int i = 0; i < r; i++)
		took(pool, &b[i], 1);
	if (r < (int)n)
		check_exhausted(pool);
}

static void op_alloc_frag(void)
{
	static const uint32_t aligns[] = { 0, 1, 2, 8, 64, 256, 1024, 4096 };
	int pool = live_pool();
	uint32_t align = aligns[below(8)], size;
	struct nm_buf b;
	int r;

	switch (below(4)) {
	case 0:  size = 1 + below(chunk_size); break;
	case 1:  size = chunk_size; break;
	default: size = 1 + below(1500); break;
	}
	if (align > chunk_size)
		align = chunk_size;
	r = nm_pool_alloc_frag(pools[pool], &b, size, align);
	if (r == -ENOMEM) {
		/* the chunk it carved from (if any) was finished first */
		if (frag_cur[pool] >= 0 && !refs[pool][frag_cur[pool]])
			frag_cur[pool] = -1;
		check_exhausted(pool);
		return;
	}
	CHECK_EQ(r, 0);
	CHECK_EQ(b.len, size);
	CHECK_EQ(b.off % (align ? align : 64), 0);
	frag_cur[pool] = chunk_of(&b);
	took(pool, &b, 0);
}

static void op_bad_frag(void)
{
	int pool = live_pool();
	struct nm_buf b;

	switch (below(4)) {
	case 0: CHECK_EQ(nm_pool_alloc_frag(pools[pool], &b, 0, 0), -EINVAL); break;
	case 1: CHECK_EQ(nm_pool_alloc_frag(pools[pool], &b, chunk_size + 1 + below(3), 0), -EINVAL); break;
	case 2: CHECK_EQ(nm_pool_alloc_frag(pools[pool], &b, 100, 3 + 2 * below(100)), -EINVAL); break;
	default: CHECK_EQ(nm_pool_alloc_frag(pools[pool], &b, 1, chunk_size << 1), -EINVAL); break;
	}
	want[pool].inval++;
}

static void op_put_one(void)
{
	int i, r;

	if (!nheld)
		return;
	i = (int)below((unsigned int)nheld);
	switch (below(3)) {
	case 0:  r = nm_pool_put(pools[held[i].pool], &held[i].b); break;
	case 1:  r = nm_buf_put(&held[i].b); break;
	default: r = remote_put(held[i].pool, &held[i].b, 1, 0); break;
	}
	CHECK_EQ(r, 0);
	gone(i);
}

/* A bulk of held buffers of one pool with bad ones mixed in. */
static void op_put_bulk(void)
{
	struct nm_buf b[MAXBULK];
	int idx[MAXBULK], good = 0, n = 0, pool = live_pool(), r;
	unsigned int want_n = 1 + below(MAXBULK);
	unsigned int mask = byte() | byte() << 8;

	for (int i = 0; i < nheld && n < (int)want_n; i++) {
		if (held[i].pool != pool || !((mask >> (i % 16)) & 1))
			continue;
		idx[n] = i;
		b[n++] = held[i].b;
		good++;
		if (n < (int)want_n && below(5) == 0) {
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
		}
	}
	if (!n)
		return;
	if (below(3) == 0)
		r = remote_put(pool, b, (unsigned int)n, 1);
	else
		r = nm_pool_put_bulk(pools[pool], b, (unsigned int)n);
	CHECK_EQ(r, good);
	/* forget the good ones, highest index first (gone() swaps) */
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
	int pool = live_pool(), r;

	switch (below(7)) {
	case 0: {	/* double put */
		const struct handle *s = pick_stale(-1);

		if (!s || destroyed[s->pool])
			return;
		pool = s->pool;
		switch (below(3)) {
		case 0:  r = nm_pool_put(pools[pool], &s->b); break;
		case 1:  r = nm_buf_put(&s->b); break;
		default: r = remote_put(pool, &s->b, 1, 0); break;
		}
		CHECK_EQ(r, -EALREADY);
		want[pool].double_put++;
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
		if (destroyed[pool])
			return;
		r = below(2) ? nm_pool_put(pools[pool], &b)
			     : remote_put(pool, &b, 1, 0);
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
		CHECK_EQ(nm_buf_put(&b), -EFAULT);
		CHECK_EQ(nm_buf_get(&b), -EFAULT);
		CHECK(nm_buf_data(&b) == NULL);
		CHECK(nm_buf_area(&b) == NULL);
		return;
	case 3:		/* a pointer into a descriptor, not at its start */
		if (!nheld)
			return;
		b = held[below((unsigned int)nheld)].b;
		b.iov = (struct nm_iov *)((char *)b.iov + 1 + below(31));
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
		i = (int)below((unsigned int)nheld);
		b = held[i].b;
		switch (below(3)) {
		case 0: b.off = chunk_size; b.len = 1; break;
		case 1: b.off = 1; b.len = chunk_size; break;
		default: b.off = chunk_size + 1 + below(1u << 16); b.len = 0; break;
		}
		pool = held[i].pool;
		CHECK_EQ(nm_pool_put(pools[pool], &b), -ERANGE);
		want[pool].range++;
		CHECK_EQ(nm_buf_sync(&b, NM_SYNC_FOR_CPU), -ERANGE);
		CHECK_EQ(nm_buf_place(&b, zeros, b.len, NULL, NULL), -ERANGE);
		/* netmem.h: NULL for an invalid buffer (issue 9 item 3) */
		if (!skip_data_range)
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
		if (!skip_null_bulk)	/* NULL + 0 in owner_put_bulk: UB */
			CHECK_EQ(nm_pool_put_bulk(pools[pool], NULL, 0), 0);
		return;
	default:
		op_bad_frag();
		return;
	}
}

static void op_get(void)
{
	int i;

	if (!nheld || nheld >= MAXH)
		return;
	i = (int)below((unsigned int)nheld);
	CHECK_EQ(nm_buf_get(&held[i].b), 0);
	held[nheld] = held[i];
	refs[held[i].pool][chunk_of(&held[i].b)]++;
	nheld++;
}

/* What a holder may do with its buffer besides putting it. */
static void op_use(void)
{
	struct handle *h;
	struct nm_area_info ai;
	uint64_t io;
	char *d;
	uint8_t src[64];
	uint32_t k;

	if (!nheld)
		return;
	h = &held[below((unsigned int)nheld)];
	CHECK_EQ(nm_area_info(area, &ai, sizeof(ai)), 0);
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

/* The other thread puts back everything one pool's holders have. */
static void op_put_remote_all(void)
{
	struct nm_buf b[MAXBULK];
	int pool = live_pool();

	for (;;) {
		int n = 0, r;

		for (int i = nheld - 1; i >= 0 && n < MAXBULK; i--)
			if (held[i].pool == pool)
				b[n++] = held[i].b;
		if (!n)
			return;
		r = remote_put(pool, b, (unsigned int)n, 1);
		CHECK_EQ(r, n);
		for (int i = nheld - 1, k = 0; i >= 0 && k < n; i--)
			if (held[i].pool == pool) {
				gone(i);
				k++;
			}
	}
}

/* Tokens: a held handle goes into the table, or tokens come back, good
 * ones and made-up ones mixed, repeated. */
static void op_token(void)
{
	switch (below(4)) {
	case 0: {	/* add */
		int i, r;
		uint32_t t;

		if (!nheld)
			return;
		i = (int)below((unsigned int)nheld);
		r = nm_token_add(tok, &held[i].b, &t);
		if (ntoks == (int)tok_cap) {
			CHECK_EQ(r, -ENOSPC);
			return;
		}
		CHECK_EQ(r, 0);
		CHECK(t != UINT32_MAX);
		for (int k = 0; k < ntoks; k++)
			CHECK(toks[k].tok != t);
		toks[ntoks].tok = t;
		toks[ntoks++].h = held[i];
		held[i] = held[--nheld];
		CHECK_EQ(nm_token_count(tok), ntoks);
		return;
	}
	case 1: {	/* release an array */
		uint32_t arr[2 * MAXTOK];
		unsigned int n = below(2 * MAXTOK), good = 0;
		int live[MAXTOK] = { 0 };
		int r;

		for (unsigned int k = 0; k < n; k++) {
			unsigned int pick = byte();

			if (pick < 160 && ntoks) {
				int j = (int)(pick % (unsigned int)ntoks);

				arr[k] = toks[j].tok;
				if (!live[j]) {
					live[j] = 1;
					good++;
				}
			} else if (pick < 200 && ntoks) {
				/* a live token with its generation changed */
				arr[k] = toks[pick % (unsigned int)ntoks].tok ^ (1u << (31 - below(8)));
			} else {
				arr[k] = byte() | byte() << 8 | (uint32_t)byte() << 16 | (uint32_t)byte() << 24;
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
		return;
	}
	case 2: {	/* look up */
		struct nm_buf lb;

		if (!ntoks)
			return;
		int j = (int)below((unsigned int)ntoks);
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

/* ------------------------------------------------------------------ */
/* Endings                                                              */
/* ------------------------------------------------------------------ */

static long held_chunks(int pool)
{
	long n = 0;

	for (uint32_t c = 0; c < nch; c++)
		n += pool < 0 ? refs[0][c] > 0 || refs[1][c] > 0 : refs[pool][c] > 0;
	return n;
}

static void tokens_back(void)
{
	CHECK_EQ(nm_token_release_all(tok), ntoks);
	while (ntoks)
		dropped(&toks[--ntoks].h);
	nm_token_table_destroy(tok);
	tok = NULL;
}

/* Put back whatever is held, in input order, some from the other thread. */
static void put_all(void)
{
	while (nheld) {
		int i = (int)below((unsigned int)nheld), c = chunk_of(&held[i].b);
		struct handle h = held[i];
		int r = below(3) ? nm_pool_put(pools[h.pool], &h.b)
				 : remote_put(h.pool, &h.b, 1, 0);

		CHECK_EQ(r, 0);
		refs[h.pool][c]--;
		held[i] = held[--nheld];
	}
}

static void end_normal(void)
{
	struct nm_area_info ai;

	tokens_back();
	while (nheld) {
		CHECK_EQ(nm_pool_put(pools[held[0].pool], &held[0].b), 0);
		gone(0);
	}
	check_counters(0);
	check_held();
	for (int i = 0; i < 2; i++)
		if (!destroyed[i])
			CHECK_EQ(nm_pool_destroy(pools[i]), 0);
	CHECK_EQ(nm_area_info(area, &ai, sizeof(ai)), 0);
	CHECK_EQ(ai.nr_outstanding, 0);
	CHECK_EQ(ai.nr_free, nch);
	CHECK_EQ(nm_area_destroy(area), 0);
}

/* Revoked with buffers held: nothing more is handed out, held buffers
 * read as revoked but are put as usual, the area goes when the last is. */
static void end_revoke(int gone_flag)
{
	struct nm_area_info ai;
	struct nm_buf b;
	long chunks;
	int r;

	tokens_back();
	chunks = held_chunks(-1);
	r = nm_area_revoke(area, gone_flag ? NM_REVOKE_GONE : 0);
	CHECK(r >= chunks);
	CHECK_EQ(nm_area_revoke(area, 0), -EALREADY);
	for (int i = 0; i < 2; i++) {
		CHECK_EQ(nm_pool_alloc_frag(pools[i], &b, 64, 0), -ENODEV);
		CHECK_EQ(nm_pool_alloc(pools[i], &b), -ENODEV);
		CHECK_EQ(nm_pool_alloc_bulk(pools[i], &b, 1), -ENODEV);
	}
	CHECK_EQ(nm_area_info(area, &ai, sizeof(ai)), 0);
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
	while (nheld) {
		int i = (int)below((unsigned int)nheld), c = chunk_of(&held[i].b);
		struct handle h = held[i];

		r = below(3) ? nm_pool_put(pools[h.pool], &h.b)
			     : remote_put(h.pool, &h.b, 1, 0);
		CHECK_EQ(r, 0);
		refs[h.pool][c]--;
		held[i] = held[--nheld];
		if (!refs[0][c] && !refs[1][c]) {
			CHECK_EQ(nm_pool_put(pools[h.pool], &h.b), -EALREADY);
			want[h.pool].double_put++;
		}
	}
	check_counters(3);
	check_held();
	CHECK_EQ(nm_area_info(area, &ai, sizeof(ai)), 0);
	CHECK_EQ(ai.nr_outstanding, 0);
	CHECK_EQ(ai.state, NM_AREA_DEAD);
	for (int i = 0; i < 2; i++)
		CHECK_EQ(nm_pool_destroy(pools[i]), 0);
	CHECK_EQ(nm_area_destroy(area), 0);
}

/* The pools are destroyed first, with buffers held: each reports what is
 * still out, the holders put them back, and the area is whole again. */
static void end_destroy_first(void)
{
	struct nm_area_info ai;

	tokens_back();
	for (int i = 0; i < 2; i++)
		if (!destroyed[i]) {
			CHECK_EQ(nm_pool_destroy(pools[i]), held_chunks(i));
			destroyed[i] = 1;
		}
	put_all();
	CHECK_EQ(nm_area_info(area, &ai, sizeof(ai)), 0);
	CHECK_EQ(ai.nr_outstanding, 0);
	CHECK_EQ(ai.nr_free, nch);
	CHECK_EQ(nm_area_destroy(area), 0);
}

/* One pool is destroyed in the middle: it reports what it has out, and
 * its holders go on putting into it. */
static void op_destroy_one(void)
{
	int pool = (int)below(2);

	if (destroyed[pool] || destroyed[pool ^ 1])
		return;
	CHECK_EQ(nm_pool_destroy(pools[pool]), held_chunks(pool));
	destroyed[pool] = 1;
	frag_cur[pool] = -1;	/* it carves no more */
}

/* ------------------------------------------------------------------ */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	unsigned int order, ring, ending;

	if (!not_buf) {
		skip_null_bulk = fz_skip("null-bulk");
		skip_data_range = fz_skip("buf-data-range");
		skip_frag_double = fz_skip("frag-double-put");
		not_buf = mmap(NULL, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		CHECK(not_buf != MAP_FAILED);
	}
	if (size < 6)
		return 0;
	input.p = data;
	input.left = size;
	order = byte() % 3;
	nch = 1 + byte() % MAXCH;
	max_chunks[0] = 0;
	max_chunks[1] = byte() % 8;
	ring = byte() % 10;	/* 0: default; else 2^(ring-1) entries */
	tok_cap = 1 + byte() % MAXTOK;
	ending = byte() % 4;

	NM_OPTS(nm_area_opts, ao, .size = (size_t)nch << (12 + order), .order = order);
	area = nm_area_create("host", &ao);
	CHECK(area);
	for (int i = 0; i < 2; i++) {
		NM_OPTS(nm_pool_opts, po, .max_chunks = (unsigned int)max_chunks[i],
			.ring_size = i && ring ? 1u << (ring - 1) : 0,
			.flags = i ? NM_POOL_F_SYNC_FOR_DEVICE : 0);

		pools[i] = nm_pool_create(area, &po);
		CHECK(pools[i]);
		frag_cur[i] = -1;
		destroyed[i] = 0;
	}
	/* a ring size that is not a power of 2 is refused */
	{
		NM_OPTS(nm_pool_opts, bad, .ring_size = 3 + 2 * (ring & 7));
		CHECK(nm_pool_create(area, &bad) == NULL && errno == EINVAL);
	}
	tok = nm_token_table_create(tok_cap);
	CHECK(tok);
	memset(want, 0, sizeof(want));
	memset(refs, 0, sizeof(refs));
	nheld = nstale = stale_next = ntoks = 0;
	tok_rejected = 0;
	next_tag = 1;
	chunk_size = nm_pool_chunk_size(pools[0]);
	CHECK_EQ(chunk_size, 4096u << order);

	for (unsigned int k = 0; input.left; k++) {
		switch (byte() % 16) {
		case 0: case 1: op_alloc(); break;
		case 2:         op_alloc_bulk(); break;
		case 3: case 4: op_alloc_frag(); break;
		case 5: case 6: op_put_one(); break;
		case 7:         op_put_bulk(); break;
		case 8: case 9: op_bad_put(); break;
		case 10:        op_get(); break;
		case 11:        op_use(); break;
		case 12:        op_put_remote_all(); break;
		case 13: case 14: op_token(); break;
		default:
			if (below(8) == 0)
				op_destroy_one();
			else
				op_bad_frag();
			break;
		}
		if (k % 16 == 15) {
			check_counters(0);
			check_held();
		}
	}
	check_counters(0);
	check_held();
	if (destroyed[0] || destroyed[1])
		ending = 3;
	switch (ending) {
	case 0: end_normal(); break;
	case 1: end_revoke(0); break;
	case 2: end_revoke(1); break;
	default: end_destroy_first(); break;
	}
	return 0;
}

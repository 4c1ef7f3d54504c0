/* SPDX-License-Identifier: MIT */
/*
 * fuzz_token - a token table fed whatever the input says (libFuzzer): a
 * capacity, buffers stored, and arrays of token numbers to release that mix
 * live tokens, released ones, repeats, live ones with a bit flipped and
 * numbers made up from the input.  A model knows which tokens are live and
 * which buffer each stands for; it predicts every return (how many were
 * valid, -ENOSPC when full, -EINVAL for bad arguments), the rejected
 * count, what a lookup finds, and, through the pool's in-flight count,
 * that a released token put its buffer back exactly once and a rejected
 * one touched nothing.  Tokens are unique among the live ones and never
 * NM_RX_NO_TOKEN (UINT32_MAX).  Any mismatch aborts.
 */
#include "fuzz_util.h"
#include <netmem/netmem.h>
#include <errno.h>
#include <sys/mman.h>

#define MAXLIVE 256
#define MAXARR  64
#define NSTALE  32

static struct fz_in input;
static struct nm_area *area;
static struct nm_pool *pool;
static char *not_buf;
static int skip_garbage_add;

static struct { uint32_t tok; struct nm_buf b; } live[MAXLIVE];
static int nlive;
static uint32_t stale[NSTALE];
static int nstale;
static uint64_t rejected;

static unsigned int byte(void)
{
	return fz_byte(&input);
}

static unsigned int below(unsigned int n)
{
	return fz_below(&input, n);
}

static uint32_t word(void)
{
	return byte() | byte() << 8 | (uint32_t)byte() << 16 | (uint32_t)byte() << 24;
}

/* Only live tokens hold buffers here: the pool's in-flight count is the
 * number of distinct chunks among them (fragments share a chunk).  The
 * model counts holders per chunk as tokens come and go, so the check is
 * O(1) a call (it was O(live^2), which held a run to ~230 exec/s). */
static struct { const struct nm_iov *iov; int n; } chunk[MAXLIVE];
static int nchunk;

static void chunk_hold(const struct nm_iov *iov, int d)
{
	int i;

	for (i = 0; i < nchunk && chunk[i].iov != iov; i++)
		;
	if (i == nchunk) {
		CHECK(d > 0 && nchunk < MAXLIVE);
		chunk[nchunk].iov = iov;
		chunk[nchunk++].n = 0;
	}
	chunk[i].n += d;
	CHECK(chunk[i].n >= 0);
	if (!chunk[i].n)
		chunk[i] = chunk[--nchunk];
}

static void check_pool(void)
{
	CHECK_EQ(nm_pool_inflight(pool), nchunk);
}

static int get_buf(struct nm_buf *b)
{
	int r = below(2) ? nm_pool_alloc(pool, b)
			 : nm_pool_alloc_frag(pool, b, 1 + below(4096), 0);

	if (r == -ENOMEM)
		return r;
	CHECK_EQ(r, 0);
	return 0;
}

static void op_add(struct nm_token_table *t, unsigned int cap)
{
	struct nm_buf b;
	uint32_t tok;
	int r;

	if (nlive == MAXLIVE || get_buf(&b))
		return;
	r = nm_token_add(t, &b, &tok);
	if ((unsigned int)nlive == cap) {
		CHECK_EQ(r, -ENOSPC);
		CHECK_EQ(nm_buf_put(&b), 0);
		return;
	}
	CHECK_EQ(r, 0);
	CHECK(tok != UINT32_MAX);
	for (int i = 0; i < nlive; i++)
		CHECK(live[i].tok != tok);
	live[nlive].tok = tok;
	live[nlive++].b = b;
	chunk_hold(b.iov, 1);
	CHECK_EQ(nm_token_count(t), nlive);
	check_pool();
}

static void op_bad_add(struct nm_token_table *t)
{
	struct nm_buf b = { (struct nm_iov *)not_buf, 0, 1 };
	uint32_t tok;

	switch (below(4)) {
	case 0: CHECK_EQ(nm_token_add(t, NULL, &tok), -EINVAL); break;
	case 1: CHECK_EQ(nm_token_add(NULL, &b, &tok), -EINVAL); break;
	case 2:
		if (nlive)
			CHECK_EQ(nm_token_add(t, &live[0].b, NULL), -EINVAL);
		break;
	default:
		/* Not a buffer: refused when added, so a release can never
		 * count it (issue 9 item 5; NM_FUZZ_SKIP=token-add-garbage) */
		if (skip_garbage_add)
			break;
		if (below(2))
			b.iov = NULL;
		CHECK(nm_token_add(t, &b, &tok) < 0);
		CHECK_EQ(nm_token_count(t), nlive);
		break;
	}
}

static void op_release(struct nm_token_table *t)
{
	uint32_t arr[MAXARR];
	unsigned int n = below(MAXARR + 1), good = 0;
	char hit[MAXLIVE] = { 0 };
	int r;

	for (unsigned int k = 0; k < n; k++) {
		unsigned int pick = byte();

		if (pick < 128 && nlive)
			arr[k] = live[pick % (unsigned int)nlive].tok;
		else if (pick < 160 && nstale)
			arr[k] = stale[pick % (unsigned int)nstale];
		else if (pick < 192 && nlive)
			arr[k] = live[pick % (unsigned int)nlive].tok ^ (1u << below(32));
		else if (pick < 200)
			arr[k] = UINT32_MAX;
		else
			arr[k] = word();
	}
	/* The model: each live token counts once, wherever it came from. */
	for (unsigned int k = 0; k < n; k++)
		for (int i = 0; i < nlive; i++)
			if (arr[k] == live[i].tok && !hit[i]) {
				hit[i] = 1;
				good++;
			}
	r = nm_token_release(t, n ? arr : NULL, n);
	CHECK_EQ(r, good);
	rejected += n - good;
	CHECK_EQ(nm_token_rejected(t), rejected);
	for (int i = nlive - 1; i >= 0; i--) {
		struct nm_buf b;

		if (!hit[i])
			continue;
		CHECK_EQ(nm_token_lookup(t, live[i].tok, &b), -EINVAL);
		stale[nstale < NSTALE ? nstale++ : (int)below(NSTALE)] = live[i].tok;
		chunk_hold(live[i].b.iov, -1);
		live[i] = live[--nlive];
	}
	CHECK_EQ(nm_token_count(t), nlive);
	check_pool();
}

static void op_lookup(struct nm_token_table *t)
{
	struct nm_buf b;
	uint32_t tok;
	int want = -EINVAL;

	if (nlive && below(2)) {
		int i = (int)below((unsigned int)nlive);

		CHECK_EQ(nm_token_lookup(t, live[i].tok, &b), 0);
		CHECK(b.iov == live[i].b.iov && b.off == live[i].b.off &&
		      b.len == live[i].b.len);
		CHECK_EQ(nm_token_lookup(t, live[i].tok, NULL), -EINVAL);
		CHECK_EQ(nm_token_lookup(NULL, live[i].tok, &b), -EINVAL);
		return;
	}
	tok = below(2) && nstale ? stale[below((unsigned int)nstale)] : word();
	for (int i = 0; i < nlive; i++)
		if (live[i].tok == tok)
			want = 0;
	CHECK_EQ(nm_token_lookup(t, tok, &b), want);
}

static void op_release_all(struct nm_token_table *t)
{
	CHECK_EQ(nm_token_release_all(t), nlive);
	while (nlive && nstale < NSTALE)
		stale[nstale++] = live[--nlive].tok;
	nlive = nchunk = 0;
	CHECK_EQ(nm_token_count(t), 0);
	CHECK_EQ(nm_pool_inflight(pool), 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct nm_token_table *t;
	unsigned int cap;

	if (!area) {
		NM_OPTS(nm_area_opts, ao, .size = 256 << 12, .order = 0);

		skip_garbage_add = fz_skip("token-add-garbage");
		not_buf = mmap(NULL, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		CHECK(not_buf != MAP_FAILED);
		area = nm_area_create("host", &ao);
		CHECK(area);
		pool = nm_pool_create(area, NULL);
		CHECK(pool);
	}
	if (size < 2)
		return 0;
	input.p = data;
	input.left = size;
	nlive = nstale = nchunk = 0;
	rejected = 0;

	/* Capacities: small ones fill up; those at a power of 2 put the last
	 * slot's token next to UINT32_MAX. */
	switch (byte() % 4) {
	case 0:  cap = 1 + below(8); break;
	case 1:  cap = 1u << below(9); break;
	case 2:  cap = 1 + below(MAXLIVE); break;
	default:
		CHECK(nm_token_table_create(0) == NULL && errno == EINVAL);
		CHECK(nm_token_table_create((1u << 24) + 1 + below(1000)) == NULL && errno == EINVAL);
		cap = 1 + below(4);
		break;
	}
	t = nm_token_table_create(cap);
	CHECK(t);
	CHECK_EQ(nm_token_count(t), 0);
	CHECK_EQ(nm_token_release(t, NULL, 1), -EINVAL);
	CHECK_EQ(nm_token_release(NULL, NULL, 0), -EINVAL);
	CHECK_EQ(nm_token_release(t, NULL, 0), 0);

	while (input.left) {
		switch (byte() % 8) {
		case 0: case 1: case 2: op_add(t, cap); break;
		case 3: case 4: op_release(t); break;
		case 5: op_lookup(t); break;
		case 6: op_bad_add(t); break;
		default:
			if (below(4) == 0)
				op_release_all(t);
			else
				op_add(t, cap);
			break;
		}
	}
	/* Everything goes back, and the pool has nothing out. */
	CHECK_EQ(nm_token_release_all(t), nlive);
	CHECK_EQ(nm_token_release_all(t), 0);
	nm_token_table_destroy(t);
	CHECK_EQ(nm_pool_inflight(pool), 0);
	return 0;
}

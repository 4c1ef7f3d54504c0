/* SPDX-License-Identifier: MIT */
/*
 * token.c - tokens for held buffers, returned in batches by number, as
 * devmem TCP's SO_DEVMEM_DONTNEED returns frags.  A token is a slot index
 * plus a generation in the bits above it; a freed slot is reused in FIFO
 * order, so a stale token would need (2^gen_bits) reuses of one slot to
 * alias a live one.  Unknown, stale and repeated tokens are rejected with
 * -EINVAL and counted; they never touch a buffer.  Only a buffer someone
 * holds gets a token (checked at add), so a release puts what was held;
 * destroying the table puts what its live tokens still hold.
 */
#include "core.h"
#include <errno.h>
#include <stdlib.h>

struct tok_slot {
	struct nm_buf buf;
	uint32_t gen;
	uint32_t live;
};

struct nm_token_table {
	uint32_t cap, idx_bits, idx_mask;
	uint32_t count;
	uint32_t fhead, ftail;   /* FIFO of free slot indexes */
	uint32_t *freeq;
	uint64_t rejected;
	struct tok_slot *slots;
};

NM_API struct nm_token_table *nm_token_table_create(unsigned int capacity)
{
	struct nm_token_table *t;
	uint32_t bits = 1;

	if (capacity == 0 || capacity > (1u << 24)) {
		errno = EINVAL;
		return NULL;
	}
	while ((1u << bits) < capacity)
		bits++;
	t = nm_calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	t->cap = capacity;
	t->idx_bits = bits;
	t->idx_mask = (1u << bits) - 1;
	t->slots = nm_calloc(capacity, sizeof(*t->slots));
	t->freeq = nm_calloc(capacity, sizeof(*t->freeq));
	if (!t->slots || !t->freeq) {
		free(t->slots);
		free(t->freeq);
		free(t);
		errno = ENOMEM;
		return NULL;
	}
	for (uint32_t i = 0; i < capacity; i++) {
		t->freeq[i] = i;
		t->slots[i].gen = 1;
	}
	t->ftail = capacity;
	return t;
}

NM_API void nm_token_table_destroy(struct nm_token_table *t)
{
	if (!t)
		return;
	/* A live token's buffer has no other way back to its pool. */
	nm_token_release_all(t);
	free(t->slots);
	free(t->freeq);
	free(t);
}

static uint32_t gen_mask(const struct nm_token_table *t)
{
	return t->idx_bits >= 32 ? 0 : (uint32_t)((1ull << (32 - t->idx_bits)) - 1);
}

NM_API int nm_token_add(struct nm_token_table *t, const struct nm_buf *buf,
			uint32_t *token)
{
	struct tok_slot *s;
	uint32_t i;

	int r;

	if (!t || !buf || !token || !buf->iov)
		return -EINVAL;
	/* A token for a buffer nobody holds would put it once too often. */
	r = nm_buf_check(buf);
	if (r)
		return r;
	if (t->fhead == t->ftail)
		return -ENOSPC;
	i = t->freeq[t->fhead++ % t->cap];
	s = &t->slots[i];
	s->buf = *buf;
	s->live = 1;
	*token = (s->gen << t->idx_bits) | i;
	t->count++;
	return 0;
}

static struct tok_slot *tok_find(const struct nm_token_table *t, uint32_t token)
{
	uint32_t i = token & t->idx_mask;
	struct tok_slot *s;

	if (i >= t->cap)
		return NULL;
	s = &t->slots[i];
	if (!s->live || s->gen != ((token >> t->idx_bits) & gen_mask(t)))
		return NULL;
	return s;
}

NM_API int nm_token_lookup(const struct nm_token_table *t, uint32_t token,
			   struct nm_buf *buf)
{
	struct tok_slot *s;

	if (!t || !buf)
		return -EINVAL;
	s = tok_find(t, token);
	if (!s)
		return -EINVAL;
	*buf = s->buf;
	return 0;
}

/* Put a live slot's buffer and free the slot under a new generation:
 * 1 .. gen_mask - 1, so a token is never 0 in its generation bits (which
 * no valid token has) nor all ones (UINT32_MAX, the receiver's "no
 * token", would otherwise be the token of the last slot of a table of a
 * power-of-two size).  Return the put's result: a buffer put behind the
 * table's back (its token is spent either way) is not a release. */
static int tok_free(struct nm_token_table *t, struct tok_slot *s, uint32_t i)
{
	int r = nm_buf_put(&s->buf);

	s->live = 0;
	if (++s->gen >= gen_mask(t))
		s->gen = 1;
	t->freeq[t->ftail++ % t->cap] = i;
	t->count--;
	if (r)
		t->rejected++;
	return r;
}

NM_API int nm_token_release(struct nm_token_table *t, const uint32_t *tokens,
			    unsigned int n)
{
	int ok = 0;

	if (!t || (!tokens && n))
		return -EINVAL;
	for (unsigned int k = 0; k < n; k++) {
		struct tok_slot *s = tok_find(t, tokens[k]);

		if (!s) {
			t->rejected++;
			continue;
		}
		if (!tok_free(t, s, tokens[k] & t->idx_mask))
			ok++;
	}
	return ok;
}

NM_API int nm_token_release_all(struct nm_token_table *t)
{
	int ok = 0;

	if (!t)
		return -EINVAL;
	for (uint32_t i = 0; i < t->cap && t->count; i++) {
		if (!t->slots[i].live)
			continue;
		if (!tok_free(t, &t->slots[i], i))
			ok++;
	}
	return ok;
}

NM_API unsigned int nm_token_count(const struct nm_token_table *t)
{
	return t ? t->count : 0;
}

NM_API uint64_t nm_token_rejected(const struct nm_token_table *t)
{
	return t ? t->rejected : 0;
}

/* SPDX-License-Identifier: MIT */
/*
 * genpool.c - the area's chunk allocator, in the spirit of the kernel's
 * gen_pool as devmem TCP uses it: a bitmap over the area's chunks, one lock,
 * bulk allocation and release.  It is the slow path behind every pool: a
 * pool comes here only when its cache and return ring are both empty, and
 * then asks for a whole refill at once, so one lock round-trip is amortised
 * over NM_CACHE_REFILL chunks.
 */
#include "core.h"
#include <stdlib.h>
#include <errno.h>

struct nm_genpool {
	pthread_mutex_t lock;
	uint32_t nr;          /* chunks */
	uint32_t nwords;
	uint32_t cursor;      /* next-fit: word to start scanning from */
	uint32_t avail;
	uint64_t *free_bits;  /* 1 = free */
};

struct nm_genpool *nm_genpool_create(uint32_t nr)
{
	struct nm_genpool *gp = nm_calloc(1, sizeof(*gp));
	if (!gp)
		return NULL;
	gp->nr = nr;
	gp->nwords = (nr + 63) / 64;
	gp->free_bits = nm_calloc(gp->nwords ? gp->nwords : 1, sizeof(uint64_t));
	if (!gp->free_bits) {
		free(gp);
		return NULL;
	}
	for (uint32_t w = 0; w < gp->nwords; w++) {
		uint32_t left = nr - w * 64;
		gp->free_bits[w] = left >= 64 ? ~0ull : ((1ull << left) - 1);
	}
	gp->avail = nr;
	pthread_mutex_init(&gp->lock, NULL);
	return gp;
}

void nm_genpool_destroy(struct nm_genpool *gp)
{
	if (!gp)
		return;
	pthread_mutex_destroy(&gp->lock);
	free(gp->free_bits);
	free(gp);
}

int nm_genpool_alloc_bulk(struct nm_area_mem *mem, uint32_t *idx, unsigned int n)
{
	struct nm_genpool *gp = mem ? mem->gp : NULL;
	unsigned int got = 0;

	if (!gp || !idx)
		return -EINVAL;
	pthread_mutex_lock(&gp->lock);
	for (uint32_t scanned = 0; got < n && gp->avail && scanned < gp->nwords;
	     scanned++) {
		uint32_t w = gp->cursor;
		uint64_t bits = gp->free_bits[w];
		while (bits && got < n) {
			unsigned int b = (unsigned int)__builtin_ctzll(bits);
			bits &= bits - 1;
			idx[got++] = w * 64 + b;
		}
		gp->free_bits[w] = bits;
		if (!bits)
			gp->cursor = (w + 1 == gp->nwords) ? 0 : w + 1;
	}
	gp->avail -= got;
	pthread_mutex_unlock(&gp->lock);
	return (int)got;
}

void nm_genpool_release(struct nm_area_mem *mem, const uint32_t *idx, unsigned int n)
{
	struct nm_genpool *gp = mem ? mem->gp : NULL;

	if (!gp || !idx)
		return;
	pthread_mutex_lock(&gp->lock);
	for (unsigned int i = 0; i < n; i++) {
		uint32_t c = idx[i];
		uint64_t bit = 1ull << (c % 64);
		/* A chunk released twice would corrupt the count; the pool
		 * layer rejects double puts before they get here. */
		if (c >= gp->nr || (gp->free_bits[c / 64] & bit))
			continue;
		gp->free_bits[c / 64] |= bit;
		gp->avail++;
	}
	pthread_mutex_unlock(&gp->lock);
}

uint32_t nm_genpool_avail(const struct nm_genpool *gp)
{
	uint32_t v;
	if (!gp)
		return 0;
	pthread_mutex_lock((pthread_mutex_t *)&gp->lock);
	v = gp->avail;
	pthread_mutex_unlock((pthread_mutex_t *)&gp->lock);
	return v;
}

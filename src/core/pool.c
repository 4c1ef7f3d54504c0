/* SPDX-License-Identifier: MIT */
/*
 * pool.c - the page_pool-style front end: one pool per receive queue.
 *
 * Allocation (owner thread only): the alloc cache (an array, no atomics),
 * then a bulk refill from the return ring, then a bulk take from the
 * area's allocator, then what waits in the put slots.  Returns: the owner
 * thread puts straight into the cache; any other thread parks the chunk
 * in its put slot, which goes on to the multi-producer return ring 128 at
 * a time; when the ring is full the chunk goes back to the area.
 * Fragments share the chunk's reference count, with the kernel's bias
 * trick so carving needs no atomic.
 *
 * Lifetime: pool->refs counts 1 for the creator plus every chunk taken from
 * the area and not yet given back.  nm_pool_destroy() drops the creator's
 * 1 after draining cache, ring and put slots; the last chunk to go back
 * frees the pool.
 * Nothing touches a pool after dropping its reference, so a put racing with
 * destroy is safe.
 * The calls on one buffer that find its pool themselves (nm_buf_*) are
 * buf.c's.
 */
#include "core.h"
#include "ring.h"
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

_Thread_local char nm_tls_self __attribute__((tls_model("initial-exec")));

static void pool_free(struct nm_pool *p)
{
	struct nm_area *a = p->area;

	nm_ring_fini(&p->ring);
	free(p->slots);
	free(p);
	nm_area_unref(a);
}

static void pool_unref(struct nm_pool *p, long n)
{
	if (atomic_fetch_sub_explicit(&p->refs, n, memory_order_acq_rel) == n)
		pool_free(p);
}

/* Give chunks (held by no one) back to the area.  Drops the pool's
 * references last: p may be freed when this returns. */
static void pool_release(struct nm_pool *p, struct nm_iov *const *v, unsigned int n)
{
	uint32_t idx[NM_CACHE_SIZE];
	unsigned int done = 0;

	while (done < n) {
		unsigned int k = n - done < NM_CACHE_SIZE ? n - done : NM_CACHE_SIZE;
		for (unsigned int i = 0; i < k; i++) {
			struct nm_iov *iov = v[done + i];
			atomic_store_explicit(&iov->pool, NULL, memory_order_relaxed);
			/* ref and tag 0: in the area */
			atomic_store_explicit(&iov->held_word, 0, memory_order_relaxed);
			idx[i] = (uint32_t)(iov - p->iovs);
		}
		nm_area_give(p->area, idx, k);
		done += k;
	}
	atomic_fetch_add_explicit(&p->release_cnt, n, memory_order_relaxed);
	NM_STAT_ADD_SHARED(p, released, n);
	pool_unref(p, (long)n);
}

/* Sync @n chunks for the device before they are handed out (pools with
 * NM_POOL_F_SYNC_FOR_DEVICE).  A chunk the provider could not sync is not
 * handed out: it goes back to the area (the next take syncs it again) and
 * counts in err_sync.  Compacts @v and returns how many are left; the
 * provider's first error goes to *err. */
static unsigned int sync_for_device(struct nm_pool *p, struct nm_iov **v, unsigned int n,
				    int *err)
{
	struct nm_area *a = p->area;
	struct nm_iov *bad[NM_CACHE_SIZE];
	unsigned int kept = 0, nbad = 0;

	if (!a->ops->sync)
		return n;
	for (unsigned int i = 0; i < n; i++) {
		int r = NM_FAULT(-EIO, a->ops->sync(&a->mem, (uint64_t)(v[i] - p->iovs) << a->shift,
				     p->chunk_size, NM_SYNC_FOR_DEVICE));

		if (nm_likely(!r)) {
			v[kept++] = v[i];
			continue;
		}
		if (!*err)
			*err = r < 0 ? r : -EIO;
		bad[nbad++] = v[i];
	}
	if (nbad) {
		NM_STAT_ADD_SHARED(p, err_sync, nbad);
		pool_release(p, bad, nbad);
	}
	return kept;
}

/* The put slot of the calling thread: its thread identity hashed. */
_Static_assert(NM_PUT_SLOTS == 16, "slot hash takes 4 bits");
static inline struct nm_put_slot *put_slot(struct nm_pool *p)
{
	uint64_t h = (uint64_t)(uintptr_t)nm_self() * 0x9e3779b97f4a7c15ull;

	return &p->slots[h >> 60];
}

static inline void slot_lock(struct nm_put_slot *s)
{
	while (atomic_exchange_explicit(&s->lock, 1, memory_order_acquire))
		while (atomic_load_explicit(&s->lock, memory_order_relaxed))
			nm_cpu_relax();
}

static inline void slot_unlock(struct nm_put_slot *s)
{
	atomic_store_explicit(&s->lock, 0, memory_order_release);
}

/* Owner: take up to @max parked chunks from the put slots. */
static uint32_t pool_steal(struct nm_pool *p, struct nm_iov **out, uint32_t max)
{
	uint32_t got = 0;

	for (unsigned int i = 0; i < NM_PUT_SLOTS && got < max; i++) {
		struct nm_put_slot *s = &p->slots[i];
		uint32_t c, k;

		if (!atomic_load_explicit(&s->count, memory_order_relaxed))
			continue;
		slot_lock(s);
		c = atomic_load_explicit(&s->count, memory_order_relaxed);
		k = c < max - got ? c : max - got;
		memcpy(out + got, s->v + c - k, k * sizeof(*out));
		atomic_store_explicit(&s->count, c - k, memory_order_relaxed);
		slot_unlock(s);
		got += k;
	}
	return got;
}

/* Give every parked chunk back to the area (flush, revoke, destroy).  The
 * caller holds a pool reference besides the chunks', and has made the
 * pool destroyed or the area not live first.  Every slot is locked, even
 * one that looks empty: a putter that checked those flags before they
 * changed may be about to park under its lock, and only taking the lock
 * orders us after it (or it after us, and then it sees the flags). */
static void pool_drain_slots(struct nm_pool *p)
{
	struct nm_iov *tmp[NM_PUT_SLOT_FLUSH + NM_CACHE_REFILL];

	for (unsigned int i = 0; i < NM_PUT_SLOTS; i++) {
		struct nm_put_slot *s = &p->slots[i];
		uint32_t c;

		slot_lock(s);
		c = atomic_load_explicit(&s->count, memory_order_relaxed);
		memcpy(tmp, s->v, c * sizeof(*tmp));
		atomic_store_explicit(&s->count, 0, memory_order_relaxed);
		slot_unlock(s);
		if (c)
			pool_release(p, tmp, c);
	}
}

/* Chunks to the return ring now; what does not fit (ring full, or closed
 * by destroy) goes back to the area.  p may be freed when this returns. */
static unsigned int pool_put_ring(struct nm_pool *p, struct nm_iov *const *v, unsigned int n)
{
	int r;

	if (nm_unlikely(!nm_area_live(p->area))) {
		pool_release(p, v, n);
		return 0;
	}
	r = nm_ring_enqueue(&p->ring, v, n);
	if (r < 0)
		r = 0;
	if ((unsigned int)r < n) {
		if (!atomic_load_explicit(&p->destroyed, memory_order_relaxed))
			NM_STAT_ADD_SHARED(p, recycle_ring_full, n - (unsigned int)r);
		pool_release(p, v + r, n - (unsigned int)r);
	}
	return (unsigned int)r;
}

/* Another thread's chunks (n <= NM_CACHE_REFILL): parked in its put slot,
 * and the slot goes to the ring once it holds NM_PUT_SLOT_FLUSH.  p may be
 * freed when this returns. */
static void pool_put_remote(struct nm_pool *p, struct nm_iov *const *v, unsigned int n)
{
	struct nm_iov *flush[NM_PUT_SLOT_FLUSH + NM_CACHE_REFILL];
	struct nm_put_slot *s = put_slot(p);
	unsigned int nflush = 0;
	uint32_t c;

	if (nm_unlikely(n > NM_CACHE_REFILL) ||
	    atomic_exchange_explicit(&s->lock, 1, memory_order_acquire)) {
		pool_put_ring(p, v, n);	/* another thread has the slot */
		return;
	}
	/* Under the lock: a drain by destroy or revoke that ran before we
	 * took it is seen here, so nothing is parked after it. */
	if (nm_unlikely(atomic_load_explicit(&p->destroyed, memory_order_relaxed) ||
			!nm_area_live(p->area))) {
		slot_unlock(s);
		pool_put_ring(p, v, n);
		return;
	}
	c = atomic_load_explicit(&s->count, memory_order_relaxed);
	memcpy(s->v + c, v, n * sizeof(*v));	/* c < FLUSH: room for n */
	c += n;
	if (c >= NM_PUT_SLOT_FLUSH) {
		/* the slot's chunks go on to the ring outside the lock:
		 * what does not fit is released, which may free the pool */
		memcpy(flush, s->v, c * sizeof(*flush));
		nflush = c;
		c = 0;
	}
	atomic_store_explicit(&s->count, c, memory_order_relaxed);
	slot_unlock(s);
	if (nflush)
		pool_put_ring(p, flush, nflush);
}

static void frag_finish(struct nm_pool *p);

/* Owner: return everything the pool keeps (cache, ring, and the chunk
 * being carved once its fragments are back) to the area. */
static void pool_flush(struct nm_pool *p)
{
	struct nm_iov *tmp[NM_CACHE_SIZE];
	uint32_t n;

	if (p->frag_iov)
		frag_finish(p);
	if (p->cache_count) {
		uint32_t c = p->cache_count;
		p->cache_count = 0;
		pool_release(p, p->cache, c);
	}
	while ((n = nm_ring_dequeue(&p->ring, tmp, NM_CACHE_SIZE)))
		pool_release(p, tmp, n);
	pool_drain_slots(p);
}

/* Owner, its cache full: the newer half goes to the return ring in one
 * bulk enqueue (one CAS on the ring's head, one store of its tail, a
 * pointer copy per chunk), the older half stays where it is: nothing
 * moves (before 8137a18 the older half went and the newer was moved
 * down), as the kernel's page_pool sends the put that finds its cache
 * full to its ring.  What the ring cannot take goes back
 * to the area.  The
 * spilled chunks' puts stay counted in recycle_cached (counters only
 * grow: a scraper reads them as rates); cache_spilled says how many of
 * them the ring took, and nm_pool_get_stats leaves those out of
 * recycle_ring, which they would otherwise count a second time.  The
 * caller holds a chunk of the pool that it is about to cache (its
 * reference keeps p alive through a release). */
static __attribute__((noinline)) void cache_spill(struct nm_pool *p)
{
	uint32_t cc = p->cache_count;

	unsigned int took;

	p->cache_count = cc - NM_CACHE_SPILL;
	took = pool_put_ring(p, p->cache + cc - NM_CACHE_SPILL, NM_CACHE_SPILL);
	NM_STAT_ADD_OWNER(p, cache_spilled, took);
}

/* Put a chunk whose last reference was dropped back into circulation. */
static __attribute__((noinline)) void
pool_recycle_slow(struct nm_pool *p, struct nm_iov *iov)
{
	bool owner = atomic_load_explicit(&p->owner, memory_order_relaxed) == nm_self();

	if (nm_unlikely(!nm_area_live(p->area))) {
		pool_release(p, &iov, 1);
		return;
	}
	if (owner) {
		int err = 0;

		if (p->cache_count == NM_CACHE_SIZE)
			cache_spill(p);

		if (nm_unlikely(p->flags & NM_POOL_F_SYNC_FOR_DEVICE) &&
		    !sync_for_device(p, &iov, 1, &err))
			return;		/* back in the area */
		p->cache[p->cache_count++] = iov;
		NM_STAT_ADD_OWNER(p, recycle_cached, 1);
		return;
	}
	pool_put_remote(p, &iov, 1);
}

/* The owner thread putting into a cache with room: inline, no frame. */
static inline __attribute__((always_inline)) void
pool_recycle(struct nm_pool *p, struct nm_iov *iov)
{
	/* Owner first: other threads must not read the owner-only count. */
	if (nm_likely(atomic_load_explicit(&p->owner, memory_order_relaxed) == nm_self() &&
		      p->cache_count < NM_CACHE_SIZE &&
		      !(p->flags & NM_POOL_F_SYNC_FOR_DEVICE) &&
		      nm_area_live(p->area))) {
		p->cache[p->cache_count++] = iov;
		NM_STAT_ADD_OWNER(p, recycle_cached, 1);
		return;
	}
	pool_recycle_slow(p, iov);
}

static void pool_recycle_bulk(struct nm_pool *p, struct nm_iov **v, unsigned int n)
{
	if (!n)
		return;
	if (nm_unlikely(!nm_area_live(p->area)) ||
	    atomic_load_explicit(&p->owner, memory_order_relaxed) == nm_self()) {
		for (unsigned int i = 0; i < n; i++)
			pool_recycle(p, v[i]);
		return;
	}
	pool_put_remote(p, v, n);
}

NM_API struct nm_pool *nm_pool_create(struct nm_area *area,
				      const struct nm_pool_opts *uopts)
{
	struct nm_pool_opts o;
	struct nm_pool *p;
	uint32_t ring_size;
	int err;

	if (!area) {
		errno = EINVAL;
		return NULL;
	}
	err = nm_opts_copy(&o, sizeof(o), uopts);
	if (err) {
		errno = -err;
		return NULL;
	}
	if (o.flags & ~NM_POOL_F_ALL) {
		errno = EINVAL;
		return NULL;
	}
	if (o.ring_size) {
		if (o.ring_size & (o.ring_size - 1) || o.ring_size > (1u << 24)) {
			errno = EINVAL;
			return NULL;
		}
		ring_size = o.ring_size;
	} else {
		ring_size = 64;
		while (ring_size < area->nr_chunks && ring_size < (1u << 20))
			ring_size <<= 1;
	}
	if (!nm_area_live(area)) {
		errno = ENODEV;
		return NULL;
	}
	p = nm_aligned_alloc(NM_CACHELINE, (sizeof(*p) + NM_CACHELINE - 1) &
					  ~(size_t)(NM_CACHELINE - 1));
	if (!p)
		return NULL;
	memset(p, 0, sizeof(*p));
	p->slots = nm_aligned_alloc(NM_CACHELINE, NM_PUT_SLOTS * sizeof(*p->slots));
	if (!p->slots || nm_ring_init(&p->ring, ring_size)) {
		free(p->slots);
		free(p);
		errno = ENOMEM;
		return NULL;
	}
	for (unsigned int i = 0; i < NM_PUT_SLOTS; i++) {
		atomic_init(&p->slots[i].lock, 0);
		atomic_init(&p->slots[i].count, 0);
	}
	p->area = area;
	p->iovs = area->iovs;
	p->nr_chunks = area->nr_chunks;
	p->chunk_size = area->mem.chunk_size;
	p->flags = o.flags;
	p->max_chunks = o.max_chunks;
	/* The next of the area's tags, never 0 (a chunk in the area): two
	 * live pools of one area share one only after 2^32 pools were made
	 * on it in between. */
	do
		p->tag = atomic_fetch_add_explicit(&area->pool_tags, 1, memory_order_relaxed) + 1;
	while (!p->tag);
	snprintf(p->name, sizeof(p->name), "%s", o.name ? o.name : "pool");
	atomic_init(&p->refs, 1);
	nm_area_ref(area);
	return p;
}

NM_API int nm_pool_set_owner(struct nm_pool *p)
{
	if (!p)
		return -EINVAL;
	atomic_store(&p->owner, nm_self());
	return 0;
}

/* The cache now holds @n fresh chunks: sync them for the device if the
 * pool asks for it.  Return how many are cached, or the provider's error
 * when none could be synced. */
static int refilled(struct nm_pool *p, uint32_t n)
{
	int err = 0;

	if (p->flags & NM_POOL_F_SYNC_FOR_DEVICE) {
		n = sync_for_device(p, p->cache, n, &err);
		if (!n) {
			p->cache_count = 0;
			return err;
		}
	}
	p->cache_count = n;
	return (int)n;
}

/* The empty cache was just filled with @n chunks other threads put (from
 * the ring or the put slots): count them, sync them.  Return as
 * refilled(). */
static int refilled_recycled(struct nm_pool *p, uint32_t n)
{
	NM_STAT_ADD_OWNER(p, alloc_refill, 1);
	NM_STAT_ADD_OWNER(p, recycle_ring, n);
	return refilled(p, n);
}

/* Refill the empty cache.  Return the number now cached or -errno. */
static int pool_refill(struct nm_pool *p)
{
	uint32_t idx[NM_CACHE_REFILL];
	uint32_t n, want = NM_CACHE_REFILL;
	int got, r, err = 0;

	if (!nm_area_live(p->area)) {
		pool_flush(p);
		NM_STAT_ADD_SHARED(p, err_revoked, 1);
		return -ENODEV;
	}
	if (atomic_load_explicit(&p->owner, memory_order_relaxed) != nm_self())
		atomic_store_explicit(&p->owner, nm_self(), memory_order_relaxed);

	/* Each source once, in turn; one whose chunks could not be synced
	 * for the device (they went back to the area) is passed over. */
	n = nm_ring_dequeue(&p->ring, p->cache, NM_CACHE_REFILL);
	if (n) {
		r = refilled_recycled(p, n);
		if (r > 0)
			return r;
		err = r;
	}
	if (p->max_chunks) {
		uint64_t held = atomic_load_explicit(&p->hold, memory_order_relaxed) -
				atomic_load_explicit(&p->release_cnt, memory_order_relaxed);
		if (held >= p->max_chunks)
			want = 0;
		else if (p->max_chunks - held < want)
			want = (uint32_t)(p->max_chunks - held);
	}
	got = want ? nm_area_take(p->area, idx, want) : 0;
	if (got == -ENODEV) {
		pool_flush(p);
		NM_STAT_ADD_SHARED(p, err_revoked, 1);
		return -ENODEV;
	}
	if (got > 0) {
		/* The pool holds a reference per chunk taken: taken before
		 * the chunks can be seen by anyone else. */
		atomic_fetch_add_explicit(&p->refs, got, memory_order_relaxed);
		for (int i = 0; i < got; i++) {
			struct nm_iov *iov = &p->iovs[idx[i]];
			atomic_store_explicit(&iov->pool, p, memory_order_relaxed);
			atomic_store_explicit(&iov->tag, p->tag, memory_order_relaxed);
			p->cache[i] = iov;
		}
		atomic_store_explicit(&p->hold,
				      atomic_load_explicit(&p->hold, memory_order_relaxed) + got,
				      memory_order_relaxed);
		NM_STAT_ADD_OWNER(p, alloc_area, (uint64_t)got);
		r = refilled(p, (uint32_t)got);
		if (r > 0)
			return r;
		err = r;
	}
	/* Last: what other threads put and have not sent on yet. */
	n = pool_steal(p, p->cache, NM_CACHE_REFILL);
	if (n) {
		r = refilled_recycled(p, n);
		if (r > 0)
			return r;
		err = r;
	}
	if (err)
		return err;
	NM_STAT_ADD_OWNER(p, alloc_empty, 1);
	return -ENOMEM;
}

/* Hand out the cache's top chunk; @cc is the cache count (> 0), passed in
 * so the hit path keeps it in a register. */
static inline void take_one(struct nm_pool *p, struct nm_buf *buf, uint32_t cc)
{
	struct nm_iov *iov = p->cache[--cc];

	p->cache_count = cc;
	/* The chunk was in the pool's hands only: a plain store suffices.
	 * The whole word (its tag is already p's): a put right after loads
	 * the word, and a load wider than the store before it would wait
	 * for that store to drain (no store forwarding). */
	atomic_store_explicit(&iov->held_word, nm_iov_held_word(1, p->tag),
			      memory_order_relaxed);
	buf->iov = iov;
	buf->off = 0;
	buf->len = p->chunk_size;
}

/* Everything but a hit in the cache: argument errors, refill, revoked. */
static __attribute__((noinline)) int pool_alloc_slow(struct nm_pool *p, struct nm_buf *buf)
{
	int r;

	if (nm_unlikely(!p || !buf)) {
		if (p)
			NM_STAT_ADD_SHARED(p, err_inval, 1);
		return -EINVAL;
	}
	NM_STAT_ADD_OWNER(p, alloc_slow, 1);
	r = pool_refill(p);
	if (r < 0)
		return r;
	take_one(p, buf, p->cache_count);
	return 0;
}

NM_API int nm_pool_alloc(struct nm_pool *p, struct nm_buf *buf)
{
	/* The hit needs no frame: anything else is a tail call. */
	if (nm_likely(p && buf)) {
		uint32_t cc = p->cache_count;

		if (nm_likely(cc && nm_area_live(p->area))) {
			take_one(p, buf, cc);
			NM_STAT_ADD_OWNER(p, alloc_fast, 1);
			return 0;
		}
	}
	return pool_alloc_slow(p, buf);
}

/* nm_pool_alloc_bulk and the engines' nm_pool_alloc_iovs: up to @n
 * whole chunks into @bufs (as nm_bufs) or @iovs (descriptor pointers
 * only), whichever is not NULL. */
static inline __attribute__((always_inline)) int
pool_alloc_many(struct nm_pool *p, struct nm_buf *bufs, struct nm_iov **iovs, unsigned int n)
{
	unsigned int done = 0;

	while (done < n) {
		unsigned int k;

		if (!p->cache_count || !nm_area_live(p->area)) {
			int r;
			NM_STAT_ADD_OWNER(p, alloc_slow, 1);
			r = pool_refill(p);
			if (r < 0) {
				/* none taken: say why, unless it is only
				 * that memory ran short */
				if (r != -ENOMEM && !done)
					return r;
				break;
			}
		}
		/* Take k from the top of the cache with the count in a
		 * register: a memory-resident count would chain every object
		 * on a store-to-load forward. */
		uint32_t cc = p->cache_count;
		struct nm_iov *const *c = p->cache + cc;
		/* one reference, the pool's tag: the word, as in take_one */
		const uint64_t held = nm_iov_held_word(1, p->tag);

		k = n - done < cc ? n - done : cc;
		if (iovs) {
			/* an engine's ring fill: the top k in cache order,
			 * a few at a time (fewer loop tests) */
			struct nm_iov **out = iovs + done;
			struct nm_iov *const *top = c - k;

#pragma GCC unroll 4
			for (unsigned int i = 0; i < k; i++) {
				struct nm_iov *iov = top[i];

				atomic_store_explicit(&iov->held_word, held, memory_order_relaxed);
				out[i] = iov;
			}
		} else {
			struct nm_buf *out = bufs + done;
			/* off = 0 and len = chunk_size as one 8-byte store */
			const struct { uint32_t off, len; } win = { 0, p->chunk_size };

			_Static_assert(offsetof(struct nm_buf, len) ==
				       offsetof(struct nm_buf, off) + sizeof(uint32_t),
				       "off and len are adjacent");
#pragma GCC unroll 2
			for (unsigned int i = 0; i < k; i++) {
				struct nm_iov *iov = *--c;

				atomic_store_explicit(&iov->held_word, held, memory_order_relaxed);
				out[i].iov = iov;
				memcpy(&out[i].off, &win, sizeof(win));
			}
		}
		p->cache_count = cc - k;
		NM_STAT_ADD_OWNER(p, alloc_fast, k);
		done += k;
	}
	return (int)done;
}

NM_API int nm_pool_alloc_bulk(struct nm_pool *p, struct nm_buf *bufs, unsigned int n)
{
	if (nm_unlikely(!p || (!bufs && n))) {
		if (p)
			NM_STAT_ADD_SHARED(p, err_inval, 1);
		return -EINVAL;
	}
	return pool_alloc_many(p, bufs, NULL, n);
}

int nm_pool_alloc_iovs(struct nm_pool *p, struct nm_iov **iovs, unsigned int n)
{
	return pool_alloc_many(p, NULL, iovs, n);
}

/* Finish carving the current chunk: drop the bias, less the fragments
 * handed out.  If they all came back already, the chunk is ours again. */
static void frag_finish(struct nm_pool *p)
{
	struct nm_iov *iov = p->frag_iov;
	uint32_t drain = NM_FRAG_BIAS -
			 atomic_load_explicit(&p->frag_cnt, memory_order_relaxed);

	p->frag_iov = NULL;
	if (atomic_fetch_sub_explicit(&iov->ref, drain, memory_order_acq_rel) == drain)
		pool_recycle(p, iov);
}

NM_API int nm_pool_alloc_frag(struct nm_pool *p, struct nm_buf *buf,
			      uint32_t size, uint32_t align)
{
	struct nm_buf whole;
	int r;

	if (nm_unlikely(!p || !buf))
		goto inval;
	if (!align)
		align = 64;
	if (nm_unlikely(!size || size > p->chunk_size || (align & (align - 1)) ||
			align > p->chunk_size))
		goto inval;
	if (p->frag_iov) {
		uint32_t off = (p->frag_off + align - 1) & ~(align - 1);
		if (nm_likely(off <= p->chunk_size && size <= p->chunk_size - off &&
			      nm_area_live(p->area))) {
			p->frag_off = off + size;
			/* release: see nm_frag_unheld */
			atomic_store_explicit(&p->frag_cnt,
				atomic_load_explicit(&p->frag_cnt, memory_order_relaxed) + 1,
				memory_order_release);
			buf->iov = p->frag_iov;
			buf->off = off;
			buf->len = size;
			NM_STAT_ADD_OWNER(p, alloc_frag, 1);
			return 0;
		}
		frag_finish(p);
	}
	r = nm_pool_alloc(p, &whole);
	if (r)
		return r;
	atomic_store_explicit(&whole.iov->ref, NM_FRAG_BIAS, memory_order_relaxed);
	p->frag_iov = whole.iov;
	p->frag_off = size;
	atomic_store_explicit(&p->frag_cnt, 1, memory_order_release);
	buf->iov = whole.iov;
	buf->off = 0;
	buf->len = size;
	NM_STAT_ADD_OWNER(p, alloc_frag, 1);
	return 0;
inval:
	if (p)
		NM_STAT_ADD_SHARED(p, err_inval, 1);
	return -EINVAL;
}

/* Check a buffer against a pool; return 0 or the -errno it earns (and
 * count it).  Touches nothing but the descriptor it was handed. */
static __attribute__((noinline, cold)) int
pool_check_slow(struct nm_pool *p, const struct nm_buf *buf)
{
	const struct nm_iov *iov = buf->iov;
	uintptr_t d = (uintptr_t)iov - (uintptr_t)p->iovs;

	if (nm_unlikely(d >= (uintptr_t)p->nr_chunks * sizeof(struct nm_iov) ||
			d % sizeof(struct nm_iov))) {
		int aligned = 0;
		if (nm_area_lookup_iov(iov, &aligned) && aligned) {
			NM_STAT_ADD_SHARED(p, err_foreign, 1);
			return -EXDEV;
		}
		NM_STAT_ADD_SHARED(p, err_not_buf, 1);
		return -EFAULT;
	}
	struct nm_pool *owner = atomic_load_explicit(&((struct nm_iov *)iov)->pool,
						     memory_order_relaxed);
	if (nm_unlikely(owner != p)) {
		if (!owner) {
			NM_STAT_ADD_SHARED(p, err_double_put, 1);
			return -EALREADY;
		}
		NM_STAT_ADD_SHARED(p, err_foreign, 1);
		return -EXDEV;
	}
	if (nm_unlikely((uint64_t)buf->off + buf->len > p->chunk_size)) {
		NM_STAT_ADD_SHARED(p, err_range, 1);
		return -ERANGE;
	}
	return 0;
}

/* Index of the descriptor at byte distance @d from the array's start, or
 * a number >= nr_chunks when @d is not a multiple of the descriptor size:
 * a rotate moves any low bits to the top, so one compare checks range and
 * alignment together. */
_Static_assert(sizeof(struct nm_iov) == 32, "descriptor index shift");
static inline uintptr_t iov_slot(uintptr_t d)
{
	return (d >> 5) | (d << (sizeof(d) * 8 - 5));
}

/* The common case inline: a descriptor of this pool, window inside the
 * chunk.  Anything else is classified (and counted) out of line. */
static inline __attribute__((always_inline)) int
pool_check(struct nm_pool *p, const struct nm_buf *buf)
{
	const struct nm_iov *iov = buf->iov;
	uintptr_t d = (uintptr_t)iov - (uintptr_t)p->iovs;

	if (nm_likely(iov_slot(d) < p->nr_chunks &&
		      atomic_load_explicit(&((struct nm_iov *)iov)->pool,
					   memory_order_relaxed) == p &&
		      (uint64_t)buf->off + buf->len <= p->chunk_size))
		return 0;
	return pool_check_slow(p, buf);
}

/* Drop one reference on a chunk of @p.  Return 1 if it was the last, 0 if
 * others remain, -EALREADY if none was held.  A chunk being carved is
 * never released here (its bias stays until frag_finish), but a put
 * with no fragment of it left out is a double put like any other. */
static inline int iov_unref(struct nm_pool *p, struct nm_iov *iov)
{
	/* acquire: when this sees the count another thread's put left (1),
	 * that thread's accesses to the chunk come before our recycling it
	 * (its CAS below is the release).  A plain load on x86. */
	uint32_t r = atomic_load_explicit(&iov->ref, memory_order_acquire);

	if (nm_likely(r == 1)) {
		/* Sole holder: nobody else can change it (page_pool does the
		 * same in page_pool_unref_netmem). */
		atomic_store_explicit(&iov->ref, 0, memory_order_relaxed);
		return 1;
	}
	/* CAS, not fetch_sub: a count never passes through -1, where a
	 * racing put would take it for a chunk being carved. */
	for (;;) {
		if (nm_unlikely(r == 0))
			return -EALREADY;
		if (nm_unlikely(nm_frag_biased(r))) {
			int u = nm_frag_unheld(p, iov, &r);

			if (u > 0)
				return -EALREADY;
			if (u < 0)
				continue;
		}
		if (atomic_compare_exchange_weak_explicit(&iov->ref, &r, r - 1,
							  memory_order_acq_rel,
							  memory_order_acquire))
			return r == 1;	/* a biased count is never 1 */
	}
}

/* The general put: checks and classifies, drops a reference, recycles. */
static __attribute__((noinline)) int pool_put_slow(struct nm_pool *p, const struct nm_buf *buf)
{
	int r;

	if (nm_unlikely(!p || !buf)) {
		if (p)
			NM_STAT_ADD_SHARED(p, err_inval, 1);
		return -EINVAL;
	}
	r = pool_check(p, buf);
	if (nm_unlikely(r))
		return r;
	r = iov_unref(p, buf->iov);
	if (nm_unlikely(r < 0)) {
		NM_STAT_ADD_SHARED(p, err_double_put, 1);
		return r;
	}
	if (r)
		pool_recycle(p, buf->iov);
	return 0;
}

/* The owner putting a whole chunk it holds alone into a cache with room:
 * every check made before anything changes, no frame.  Any other case is
 * a tail call to the general path, which starts over.  p and buf are not
 * NULL. */
static inline __attribute__((always_inline)) int
pool_put_one(struct nm_pool *p, const struct nm_buf *buf)
{
	struct nm_iov *iov = buf->iov;
	uintptr_t d = (uintptr_t)iov - (uintptr_t)p->iovs;

	if (nm_likely(iov_slot(d) < p->nr_chunks &&
		      /* held once, by this pool: one word; acquire: as in
		       * iov_unref */
		      atomic_load_explicit(&iov->held_word, memory_order_acquire) ==
		      nm_iov_held_word(1, p->tag) &&
		      (uint64_t)buf->off + buf->len <= p->chunk_size &&
		      /* owner first: others must not read cache_count */
		      atomic_load_explicit(&p->owner, memory_order_relaxed) == nm_self() &&
		      p->cache_count < NM_CACHE_SIZE &&
		      !(p->flags & NM_POOL_F_SYNC_FOR_DEVICE) &&
		      nm_area_live(p->area))) {
		uint32_t cc = p->cache_count;

		atomic_store_explicit(&iov->ref, 0, memory_order_relaxed);
		p->cache[cc] = iov;
		p->cache_count = cc + 1;
		NM_STAT_ADD_OWNER(p, recycle_cached, 1);
		return 0;
	}
	return pool_put_slow(p, buf);
}

NM_API int nm_pool_put(struct nm_pool *p, const struct nm_buf *buf)
{
	if (nm_likely(p && buf))
		return pool_put_one(p, buf);
	return pool_put_slow(p, buf);
}

/* Whether the owner may take @b (whose descriptor is @iov) straight into
 * its cache: a descriptor of the pool's array (@nbase: its start, negated;
 * @nr: its length), held once and by this pool (@held: its held_word for
 * one reference and the pool's tag), the window inside the chunk (@chunk
 * bytes). */
static inline __attribute__((always_inline)) bool
owner_put_ok(uintptr_t nbase, uintptr_t nr, uint64_t chunk, uint64_t whole, uint64_t held,
	     const struct nm_buf *b, struct nm_iov *iov)
{
	uint64_t win;

	/* off and len as one word: the whole chunk's window is one compare */
	memcpy(&win, &b->off, sizeof(win));
	/* iov + nbase (the array's start, negated): one lea, not a copy and
	 * a subtraction */
	return nm_likely(iov_slot((uintptr_t)iov + nbase) < nr &&
			 /* count and tag in one load; acquire: as in iov_unref */
			 atomic_load_explicit(&iov->held_word, memory_order_acquire) == held &&
			 (win == whole || (uint64_t)b->off + b->len <= chunk));
}

/* The owner putting whole chunks it holds alone into a cache with room
 * for all @n: every check, the cache push, nothing else.  Two buffers a
 * turn (half the loop tests), each checked after the one before it was
 * taken: a buffer given twice in one call finds its count already 0.
 * About 20 instructions a buffer on x86-64 (gcc 12 -O2), and no call in
 * the function that inlines it, whose frame is then a few pushes.
 * Return how many leading buffers it took; the caller puts the rest
 * (errors, fragments) on the general path.
 * p's flags and area were checked by the caller. */
static inline __attribute__((always_inline)) unsigned int
owner_put_run(struct nm_pool *p, const struct nm_buf *bufs, unsigned int n, uint32_t cc)
{
	uintptr_t nbase = -(uintptr_t)p->iovs;
	const uintptr_t nr = p->nr_chunks;
	const uint64_t chunk = p->chunk_size;
	/* off 0, len chunk_size, as the two 32-bit fields read as one word */
	const struct { uint32_t off, len; } w = { 0, p->chunk_size };
	const uint64_t held = nm_iov_held_word(1, p->tag);
	uint64_t whole;
	struct nm_iov **slot = p->cache + cc;
	const struct nm_buf *b = bufs, *const pairs = bufs + (n & ~1u);
	struct nm_iov *iov;

	memcpy(&whole, &w, sizeof(whole));
	/* opaque to the compiler, which would otherwise turn iov + nbase
	 * back into a copy and a subtraction */
	__asm__("" : "+r"(nbase));

	for (; b < pairs; b += 2, slot += 2) {
		iov = b[0].iov;
		if (!owner_put_ok(nbase, nr, chunk, whole, held, b, iov))
			goto out;
		atomic_store_explicit(&iov->ref, 0, memory_order_relaxed);
		slot[0] = iov;
		iov = b[1].iov;
		if (!owner_put_ok(nbase, nr, chunk, whole, held, b + 1, iov)) {
			b++;
			goto out;
		}
		atomic_store_explicit(&iov->ref, 0, memory_order_relaxed);
		slot[1] = iov;
	}
	if (n & 1) {
		iov = b->iov;
		if (owner_put_ok(nbase, nr, chunk, whole, held, b, iov)) {
			atomic_store_explicit(&iov->ref, 0, memory_order_relaxed);
			*slot = iov;
			b++;
		}
	}
out:
	n = (unsigned int)(b - bufs);
	p->cache_count = cc + n;
	NM_STAT_ADD_OWNER(p, recycle_cached, n);
	return n;
}

/* The owner's bulk put when the cache has no room for all of it: a full
 * cache spills its newer half to the return ring in one bulk enqueue
 * (cache_spill) and the pass goes on, so however many buffers the program
 * held, a put costs its checks, a store and a 1/NM_CACHE_SPILL share of
 * one ring operation.  Apart from the common case, so that the calls here
 * cost that case no frame.  Return how many leading buffers it took. */
static __attribute__((noinline)) unsigned int
owner_put_spilling(struct nm_pool *p, const struct nm_buf *bufs, unsigned int n)
{
	unsigned int i = 0;

	for (;;) {
		uint32_t cc = p->cache_count;
		unsigned int room = NM_CACHE_SIZE - cc;
		unsigned int m = n - i < room ? n - i : room;
		unsigned int k = owner_put_run(p, bufs + i, m, cc);

		i += k;
		if (k < m || i == n)
			return i;
		/* The cache is full and buffers remain.  The cache's other
		 * half keeps p alive through the spill. */
		cache_spill(p);
	}
}

#define NM_PUT_PREFETCH 32

/* Fetch a descriptor's line for writing (the put writes ref): a plain
 * prefetch would bring it shared, and the store would then need a second
 * trip to own it.  prefetchw is a no-op where the CPU lacks it. */
static inline void prefetch_w(const void *p)
{
#if defined(__x86_64__)
	__asm__ volatile("prefetchw %0" : : "m"(*(const char *)p));
#else
	__builtin_prefetch(p, 1);
#endif
}

/* The general bulk put, from bufs[ok] on: another thread's buffers, or
 * what the owner's pass stopped at (an error, a fragment, a revoked area,
 * sync-for-device).  Apart, so that the owner's pass keeps a small
 * frame. */
static __attribute__((noinline)) int
pool_put_bulk_general(struct nm_pool *p, const struct nm_buf *bufs, unsigned int n,
		      unsigned int ok)
{
	struct nm_iov *batch[NM_CACHE_REFILL];
	unsigned int nb = 0;

	/* Another thread's buffers: their descriptors were last written by
	 * the allocating thread, so each check below misses the cache.
	 * Start the loads a stretch ahead so the misses overlap. */
	for (unsigned int i = ok; i < n && i < ok + NM_PUT_PREFETCH; i++)
		prefetch_w(bufs[i].iov);
	for (unsigned int i = ok; i < n; i++) {
		int r;

		if (i + NM_PUT_PREFETCH < n)
			prefetch_w(bufs[i + NM_PUT_PREFETCH].iov);
		r = pool_check(p, &bufs[i]);
		if (nm_unlikely(r))
			continue;
		r = iov_unref(p, bufs[i].iov);
		if (nm_unlikely(r < 0)) {
			NM_STAT_ADD_SHARED(p, err_double_put, 1);
			continue;
		}
		ok++;
		if (!r)
			continue;
		batch[nb++] = bufs[i].iov;
		if (nb == NM_CACHE_REFILL) {
			pool_recycle_bulk(p, batch, nb);
			nb = 0;
		}
	}
	pool_recycle_bulk(p, batch, nb);
	return (int)ok;
}

/* Two buffers or more (p and bufs checked): the owner's pass, then the
 * general path for what it left.  The owner's pass into a cache with room
 * is a leaf; everything else is a tail call. */
static __attribute__((noinline)) int
pool_put_bulk_many(struct nm_pool *p, const struct nm_buf *bufs, unsigned int n)
{
	unsigned int ok = 0;

	if (atomic_load_explicit(&p->owner, memory_order_relaxed) == nm_self() &&
	    nm_likely(!(p->flags & NM_POOL_F_SYNC_FOR_DEVICE) && nm_area_live(p->area))) {
		uint32_t cc = p->cache_count;

		if (nm_unlikely(n > NM_CACHE_SIZE - cc) && n > NM_CACHE_SPILL) {
			ok = owner_put_spilling(p, bufs, n);
		} else {
			if (nm_unlikely(n > NM_CACHE_SIZE - cc)) {
				/* n <= NM_CACHE_SPILL < cc: one spill makes room
				 * for all of them (a held program's steady state:
				 * one bulk of 32 in NM_CACHE_SPILL / 32).  p stays
				 * alive through it: the pool is not destroyed (it
				 * has an owner). */
				cache_spill(p);
				cc = p->cache_count;
			}
			ok = owner_put_run(p, bufs, n, cc);
		}
		if (nm_likely(ok == n))
			return (int)ok;
		/* stopped at a buffer that needs the general path */
	}
	return pool_put_bulk_general(p, bufs, n, ok);
}

NM_API int nm_pool_put_bulk(struct nm_pool *p, const struct nm_buf *bufs,
			    unsigned int n)
{
	if (nm_unlikely(!p || (!bufs && n))) {
		if (p)
			NM_STAT_ADD_SHARED(p, err_inval, 1);
		return -EINVAL;
	}
	/* One buffer (a packet engine's message): the single put's path,
	 * which refuses and counts exactly as the bulk path would. */
	if (n == 1)
		return pool_put_one(p, bufs) == 0;
	if (nm_unlikely(!n))
		return 0;	/* bufs may be NULL: no pointer arithmetic on it */
	return pool_put_bulk_many(p, bufs, n);
}

/* An engine taking back whole chunks it handed out and the application
 * only looked at (NM_RX_F_LEND): no checks, since the engine made the
 * descriptors itself.  A chunk the application took a reference on
 * (nm_buf_get) loses one and stays out; the rest go to the cache, a full
 * cache spilling to the ring as a bulk put's does.  Owner thread. */
static __attribute__((noinline)) void
recycle_iovs_slow(struct nm_pool *p, struct nm_iov *const *iovs, unsigned int n)
{
	/* A chunk still held by the application, or a pool the fast path
	 * does not serve (another thread, sync for device, revoked).  One
	 * with no reference left was put by the application although only
	 * lent to it: a double put, counted like one. */
	for (unsigned int i = 0; i < n; i++) {
		int r = iov_unref(p, iovs[i]);

		if (r > 0)
			pool_recycle(p, iovs[i]);
		else if (r < 0)
			NM_STAT_ADD_SHARED(p, err_double_put, 1);
	}
}

void nm_pool_recycle_iovs(struct nm_pool *p, struct nm_iov *const *iovs, unsigned int n)
{
	unsigned int i = 0;

	if (nm_likely(atomic_load_explicit(&p->owner, memory_order_relaxed) == nm_self() &&
		      !(p->flags & NM_POOL_F_SYNC_FOR_DEVICE) && nm_area_live(p->area))) {
		uint32_t cc = p->cache_count;

		for (; i < n; i++) {
			struct nm_iov *iov = iovs[i];

			/* acquire: as in iov_unref */
			if (nm_unlikely(atomic_load_explicit(&iov->ref,
							     memory_order_acquire) != 1))
				break;
			if (nm_unlikely(cc == NM_CACHE_SIZE)) {
				p->cache_count = cc;
				cache_spill(p);
				cc = p->cache_count;
			}
			atomic_store_explicit(&iov->ref, 0, memory_order_relaxed);
			p->cache[cc++] = iov;
		}
		p->cache_count = cc;
		NM_STAT_ADD_OWNER(p, recycle_cached, i);
	}
	if (nm_unlikely(i < n))
		recycle_iovs_slow(p, iovs + i, n - i);
}

unsigned int nm_pool_reuse_iovs(struct nm_pool *p, struct nm_iov **iovs, unsigned int n,
				unsigned int max)
{
	unsigned int i = 0, k = 0;

	if (max && nm_likely(atomic_load_explicit(&p->owner, memory_order_relaxed) == nm_self() &&
			     !(p->flags & NM_POOL_F_SYNC_FOR_DEVICE) && nm_area_live(p->area))) {
		/* The common case first: room for all, and the application
		 * kept none, so every count is the engine's 1 and nothing
		 * moves: a load and a compare a chunk.  At the first that is
		 * not, the loop below takes over from there. */
		if (max >= n) {
			/* acquire: as in iov_unref */
			while (i < n && nm_likely(atomic_load_explicit(&iovs[i]->ref,
								       memory_order_acquire) == 1))
				i++;
			k = i;
		}
		for (; i < n && k < max; i++) {
			struct nm_iov *iov = iovs[i];

			/* acquire: as in iov_unref; 1: only the engine's */
			if (nm_likely(atomic_load_explicit(&iov->ref, memory_order_acquire) == 1))
				iovs[k++] = iov;	/* k <= i: in place */
			else
				recycle_iovs_slow(p, &iovs[i], 1);
		}
		/* as if recycled into the cache and allocated from it again */
		NM_STAT_ADD_OWNER(p, recycle_cached, k);
		NM_STAT_ADD_OWNER(p, alloc_fast, k);
	}
	if (i < n)
		nm_pool_recycle_iovs(p, iovs + i, n - i);
	return k;
}

NM_API int nm_pool_destroy(struct nm_pool *p)
{
	long left;

	if (!p)
		return -EINVAL;
	if (atomic_exchange(&p->destroyed, 1))
		return -EALREADY;
	atomic_store(&p->owner, NULL);
	if (p->frag_iov)
		frag_finish(p);
	nm_ring_close(&p->ring);
	pool_flush(p);
	left = atomic_load(&p->refs) - 1;
	pool_unref(p, 1);
	return left < 0 ? 0 : (int)left;
}

/* References held on a chunk of p outside it, or 0. */
static uint32_t held_refs(const struct nm_pool *p, const struct nm_iov *iov)
{
	uint32_t r = atomic_load_explicit(&((struct nm_iov *)iov)->ref,
					  memory_order_relaxed);
	if (atomic_load_explicit(&((struct nm_iov *)iov)->pool,
				 memory_order_relaxed) != p || !r)
		return 0;
	if (r >= NM_FRAG_BIAS / 2) {
		/* Being carved: ref is the bias less the fragments put back,
		 * so the fragments still out are ref + carved - bias.  None
		 * out means the chunk is the pool's own, not held. */
		r += atomic_load_explicit(&((struct nm_pool *)p)->frag_cnt,
					  memory_order_relaxed);
		return r > NM_FRAG_BIAS ? r - NM_FRAG_BIAS : 0;
	}
	return r;
}

NM_API long nm_pool_held(const struct nm_pool *p, struct nm_held *out, size_t max)
{
	long n = 0;

	if (!p || (!out && max))
		return -EINVAL;
	for (uint32_t i = 0; i < p->nr_chunks; i++) {
		uint32_t r = held_refs(p, &p->iovs[i]);
		if (!r)
			continue;
		if ((size_t)n < max) {
			out[n].chunk = i;
			out[n].refs = r;
		}
		n++;
	}
	return n;
}

NM_API long nm_pool_inflight(const struct nm_pool *p)
{
	return nm_pool_held(p, NULL, 0);
}

/* The size of struct nm_pool_stats's first version (nm_out_copy). */
#define NM_POOL_STATS_SZ0 160
_Static_assert(sizeof(struct nm_pool_stats) >= NM_POOL_STATS_SZ0, "stats only grow");

NM_API int nm_pool_get_stats(const struct nm_pool *p, struct nm_pool_stats *ust, size_t size)
{
	struct nm_pool_stats full, *st = &full;

	if (!p || !ust || size < NM_POOL_STATS_SZ0)
		return -EINVAL;
	memset(st, 0, sizeof(*st));
#define O(f) atomic_load_explicit(&p->ost.f, memory_order_relaxed)
#define S(f) atomic_load_explicit(&p->sst.f, memory_order_relaxed)
	st->alloc_fast = O(alloc_fast);
	st->alloc_slow = O(alloc_slow);
	st->alloc_empty = O(alloc_empty);
	st->alloc_refill = O(alloc_refill);
	st->alloc_area = O(alloc_area);
	st->alloc_frag = O(alloc_frag);
	st->recycle_cached = O(recycle_cached);
	st->recycle_ring = O(recycle_ring) + nm_ring_count(&p->ring);
	for (unsigned int i = 0; i < NM_PUT_SLOTS; i++)
		st->recycle_ring += atomic_load_explicit(&p->slots[i].count,
							 memory_order_relaxed);
	/* spilled from the cache: already counted in recycle_cached */
	st->recycle_ring -= st->recycle_ring < O(cache_spilled) ? st->recycle_ring
								: O(cache_spilled);
	st->recycle_ring_full = S(recycle_ring_full);
	st->recycle_released = S(released);
	st->err_double_put = S(err_double_put);
	st->err_foreign = S(err_foreign);
	st->err_not_buf = S(err_not_buf);
	st->err_range = S(err_range);
	st->err_inval = S(err_inval);
	st->err_revoked = S(err_revoked);
	st->err_sync = S(err_sync);
#undef O
#undef S
	st->hold = atomic_load_explicit(&p->hold, memory_order_relaxed);
	st->release = atomic_load_explicit(&p->release_cnt, memory_order_relaxed);
	st->inflight = (uint64_t)nm_pool_inflight(p);
	return nm_out_copy(ust, size, st, sizeof(*st), NM_POOL_STATS_SZ0);
}

NM_API struct nm_area *nm_pool_area(const struct nm_pool *p)
{
	return p ? p->area : NULL;
}

NM_API uint32_t nm_pool_chunk_size(const struct nm_pool *p)
{
	return p ? p->chunk_size : 0;
}

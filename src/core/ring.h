/* SPDX-License-Identifier: MIT */
/*
 * ring.h - the pool's return ring: bounded, multi-producer, single-consumer,
 * of descriptor pointers.  Producers (any thread putting buffers back)
 * reserve slots with one CAS on prod_head, fill them, then publish in
 * reservation order through prod_tail, as DPDK's rte_ring does; a bulk put
 * costs one CAS however many buffers it carries.  The consumer is the
 * pool's owner thread.  Closing sets a bit in prod_head, so a producer that
 * races with pool destruction either gets in before the close (and its
 * items are drained) or sees the bit and releases its chunks itself.
 */
#ifndef NM_RING_H
#define NM_RING_H
#include "core.h"
#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>

static inline void nm_cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#endif
}

static inline int nm_ring_init(struct nm_ring *r, uint32_t size)
{
	r->slots = nm_calloc(size, sizeof(*r->slots));
	if (!r->slots)
		return -ENOMEM;
	r->size = size;
	r->mask = size - 1;
	atomic_init(&r->prod_head, 0);
	atomic_init(&r->prod_tail, 0);
	atomic_init(&r->cons_seen, 0);
	atomic_init(&r->cons_tail, 0);
	return 0;
}

static inline void nm_ring_fini(struct nm_ring *r)
{
	free(r->slots);
	r->slots = NULL;
}

/* A batch's slots are at most two runs of the array (the second where the
 * ring wraps): two memcpy, not a masked store per entry. */
static inline void nm_ring_copy_in(struct nm_ring *r, uint32_t pos,
				   struct nm_iov *const *v, uint32_t n)
{
	uint32_t i = pos & r->mask, first = r->size - i < n ? r->size - i : n;

	memcpy(r->slots + i, v, first * sizeof(*v));
	if (n > first)
		memcpy(r->slots, v + first, (n - first) * sizeof(*v));
}

static inline void nm_ring_copy_out(const struct nm_ring *r, uint32_t pos,
				    struct nm_iov **v, uint32_t n)
{
	uint32_t i = pos & r->mask, first = r->size - i < n ? r->size - i : n;

	memcpy(v, r->slots + i, first * sizeof(*v));
	if (n > first)
		memcpy(v + first, r->slots, (n - first) * sizeof(*v));
}

/* Enqueue up to @want; return how many went in, or -ESHUTDOWN if closed. */
static inline int nm_ring_enqueue(struct nm_ring *r, struct nm_iov *const *v,
				  uint32_t want)
{
	uint64_t old, new;
	uint32_t head, cons, room, n;
	unsigned int spins = 0;

	old = atomic_load_explicit(&r->prod_head, memory_order_relaxed);
	/* acquire, here and below: the consumer has finished reading the
	 * slots it released before we overwrite them (cons_seen passes a
	 * producer's acquire of cons_tail on through its release) */
	cons = atomic_load_explicit(&r->cons_seen, memory_order_acquire);
	do {
		uint32_t used;

		if (old & NM_RING_CLOSED)
			return -ESHUTDOWN;
		head = (uint32_t)old;
		/* cons may be older than cons_tail (never newer): it can only
		 * make the ring look fuller than it is; then look again */
		used = head - cons;
		if (used > r->size || r->size - used < want) {
			cons = atomic_load_explicit(&r->cons_tail, memory_order_acquire);
			atomic_store_explicit(&r->cons_seen, cons, memory_order_release);
			used = head - cons;
		}
		room = r->size - used;
		n = want > room ? room : want;
		if (!n)
			return 0;
		new = (old & ~0xffffffffull) | (uint32_t)(head + n);
	} while (!atomic_compare_exchange_weak_explicit(&r->prod_head, &old, new,
							memory_order_relaxed,
							memory_order_relaxed));
	nm_ring_copy_in(r, head, v, n);
	/* Publish in reservation order: wait for earlier producers.  acquire:
	 * our release below must carry their slot writes too, or a consumer
	 * that acquires our prod_tail is not ordered after them (a plain
	 * store is not part of their release sequence). */
	while (atomic_load_explicit(&r->prod_tail, memory_order_acquire) != head) {
		if (++spins > 1024) {
			sched_yield();
			spins = 0;
		}
		nm_cpu_relax();
	}
	/* release: slot writes are visible before the consumer sees them */
	atomic_store_explicit(&r->prod_tail, head + n, memory_order_release);
	return (int)n;
}

/* Single consumer: dequeue up to n. */
static inline uint32_t nm_ring_dequeue(struct nm_ring *r, struct nm_iov **v,
				       uint32_t n)
{
	uint32_t cons = atomic_load_explicit(&r->cons_tail, memory_order_relaxed);
	/* acquire: pairs with the producer's release of prod_tail */
	uint32_t tail = atomic_load_explicit(&r->prod_tail, memory_order_acquire);
	uint32_t avail = tail - cons;

	if (n > avail)
		n = avail;
	nm_ring_copy_out(r, cons, v, n);
	/* release: our slot reads are done before producers reuse them */
	atomic_store_explicit(&r->cons_tail, cons + n, memory_order_release);
	return n;
}

static inline uint32_t nm_ring_count(const struct nm_ring *r)
{
	uint32_t tail = atomic_load_explicit(&((struct nm_ring *)r)->prod_tail,
					     memory_order_acquire);
	uint32_t cons = atomic_load_explicit(&((struct nm_ring *)r)->cons_tail,
					     memory_order_acquire);
	return tail - cons;
}

/* Close to producers and wait until every reserved slot is published. */
static inline void nm_ring_close(struct nm_ring *r)
{
	uint64_t old = atomic_fetch_or(&r->prod_head, NM_RING_CLOSED);
	uint32_t head = (uint32_t)old;

	while (atomic_load_explicit(&r->prod_tail, memory_order_acquire) != head)
		sched_yield();
}
#endif

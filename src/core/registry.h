/* SPDX-License-Identifier: MIT */
/*
 * registry.h - the reader's side of the registry of descriptor arrays
 * (area.c keeps the writers), inline, so that a call on one buffer
 * (buf.c) finds its area without a call: a per-packet nm_buf_data costs
 * the slot's reads, not a frame.
 *
 * The registry lets a pointer be told to be (or not to be) a descriptor
 * without dereferencing it.  Readers take no lock: they only compare
 * against the bounds stored in the slot itself, and a per-slot sequence
 * count (a seqlock; writers hold area.c's lock) makes them see lo, hi and
 * area of one registration, never a mix of a slot being emptied or
 * refilled.  No fences: the writer stores the fields with release (each
 * orders the odd count before it) and readers load them with acquire
 * (each orders the recheck of the count after it), which costs nothing
 * on x86 and lets TSan check the protocol.
 */
#ifndef NM_REGISTRY_H
#define NM_REGISTRY_H
#include "core.h"
#include <sched.h>

#define NM_MAX_AREAS 1024

struct nm_area_slot {
	_Atomic uint32_t seq;            /* odd while being written */
	_Atomic uintptr_t lo, hi;
	_Atomic(struct nm_area *) area;
};
extern struct nm_area_slot nm_area_slots[NM_MAX_AREAS];
extern _Atomic int nm_area_slots_hw;
/* The slot this thread found last: buffers mostly come in runs of one
 * area, so the scan is mostly one slot.  Only a hint: it is checked like
 * any other slot. */
extern _Thread_local int nm_area_last_slot __attribute__((tls_model("initial-exec")));

/* Read one slot consistently; 1 and its area in *out, the array's start
 * in *base, if @p falls in it. */
static inline __attribute__((always_inline)) int
nm_area_slot_match(struct nm_area_slot *s, uintptr_t p, struct nm_area **out,
		   uintptr_t *base)
{
	struct nm_area *a;
	uintptr_t lo, hi;
	uint32_t q;

	for (;;) {
		/* acquire: the fields read below are at least those
		 * published with this count */
		q = atomic_load_explicit(&s->seq, memory_order_acquire);
		if (nm_unlikely(q & 1)) {
			sched_yield();
			continue;
		}
		/* acquire: a field from a write in progress brings its odd
		 * count with it, and the recheck below cannot move above */
		lo = atomic_load_explicit(&s->lo, memory_order_acquire);
		hi = atomic_load_explicit(&s->hi, memory_order_acquire);
		a = atomic_load_explicit(&s->area, memory_order_acquire);
		if (nm_likely(atomic_load_explicit(&s->seq,
				memory_order_relaxed) == q))
			break;
	}
	if (p < lo || p >= hi)
		return 0;
	*out = a;
	*base = lo;
	return 1;
}

/* The area whose descriptor array holds @ptr, or NULL; *aligned (if not
 * NULL) says whether @ptr is a descriptor's start.  Inline: one read of
 * the slot this thread found last, which is all it takes when buffers
 * come in runs of one area; anything else is area.c's. */
static inline __attribute__((always_inline)) struct nm_area *
nm_area_find_iov(const void *ptr, int *aligned)
{
	uintptr_t p = (uintptr_t)ptr;
	int i = nm_area_last_slot;

	if (nm_likely(i < atomic_load_explicit(&nm_area_slots_hw, memory_order_acquire))) {
		struct nm_area_slot *s = &nm_area_slots[i];
		/* acquire, as in nm_area_slot_match */
		uint32_t q = atomic_load_explicit(&s->seq, memory_order_acquire);
		uintptr_t lo = atomic_load_explicit(&s->lo, memory_order_acquire);
		uintptr_t hi = atomic_load_explicit(&s->hi, memory_order_acquire);
		struct nm_area *a = atomic_load_explicit(&s->area, memory_order_acquire);

		if (nm_likely(!(q & 1) &&
			      atomic_load_explicit(&s->seq, memory_order_relaxed) == q &&
			      p - lo < hi - lo)) {
			if (aligned)
				*aligned = (p - lo) % sizeof(struct nm_iov) == 0;
			return a;
		}
	}
	/* area.c's whole lookup: a slot being written waited for, every
	 * slot scanned */
	return nm_area_lookup_iov(ptr, aligned);
}

#endif

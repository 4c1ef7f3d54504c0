/* SPDX-License-Identifier: MIT */
/*
 * area.c - areas: one registered region from one provider, its descriptor
 * array, its chunk allocator, and its life: live, revoking, dead.
 *
 * Revocation is a normal event (DESIGN rule 4).  The protocol between a
 * pool taking chunks and a revoker is Dekker-style on two seq_cst
 * variables: the taker raises `outstanding` before it reads `state`; the
 * revoker writes `state` before it reads `outstanding`.  Either the taker
 * sees the revoke and backs off, or the revoker sees the chunks and leaves
 * the memory in place until they come back; the memory is never freed
 * under a chunk that was handed out.
 */
#include "core.h"
#include "registry.h"
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/sysinfo.h>

/* The registry of descriptor arrays: registry.h has its readers.  Writers
 * hold slots_lock. */
struct nm_area_slot nm_area_slots[NM_MAX_AREAS];
_Atomic int nm_area_slots_hw;
_Thread_local int nm_area_last_slot __attribute__((tls_model("initial-exec")));
static pthread_mutex_t slots_lock = PTHREAD_MUTEX_INITIALIZER;

/* Writers, under slots_lock: open and close a slot's write section. */
static void slot_write_begin(struct nm_area_slot *s)
{
	uint32_t q = atomic_load_explicit(&s->seq, memory_order_relaxed);

	/* the field stores that follow are releases: whoever sees one of
	 * them sees this odd count too */
	atomic_store_explicit(&s->seq, q + 1, memory_order_relaxed);
}

static void slot_write_end(struct nm_area_slot *s)
{
	uint32_t q = atomic_load_explicit(&s->seq, memory_order_relaxed);

	/* release: the fields are visible before the even count */
	atomic_store_explicit(&s->seq, q + 1, memory_order_release);
}

static void slot_set(struct nm_area_slot *s, uintptr_t lo, uintptr_t hi,
		     struct nm_area *a)
{
	slot_write_begin(s);
	atomic_store_explicit(&s->lo, lo, memory_order_release);
	atomic_store_explicit(&s->hi, hi, memory_order_release);
	atomic_store_explicit(&s->area, a, memory_order_release);
	slot_write_end(s);
}

static int registry_add(struct nm_area *a)
{
	int i, hw;

	pthread_mutex_lock(&slots_lock);
	hw = atomic_load(&nm_area_slots_hw);
	for (i = 0; i < NM_MAX_AREAS; i++)
		if (!atomic_load_explicit(&nm_area_slots[i].area, memory_order_relaxed))
			break;
	if (i == NM_MAX_AREAS) {
		pthread_mutex_unlock(&slots_lock);
		return -ENOSPC;
	}
	/* Claimed with an empty range: nothing matches it until
	 * registry_publish(). */
	slot_set(&nm_area_slots[i], 0, 0, a);
	if (i >= hw)
		atomic_store(&nm_area_slots_hw, i + 1);
	pthread_mutex_unlock(&slots_lock);
	a->registry_slot = i;
	return 0;
}

/* The descriptor array is ready: lookups may find it from now on. */
static void registry_publish(struct nm_area *a)
{
	pthread_mutex_lock(&slots_lock);
	slot_set(&nm_area_slots[a->registry_slot], (uintptr_t)a->iovs,
		 (uintptr_t)(a->iovs + a->nr_chunks), a);
	pthread_mutex_unlock(&slots_lock);
}

static void registry_del(struct nm_area *a)
{
	int hw;

	pthread_mutex_lock(&slots_lock);
	slot_set(&nm_area_slots[a->registry_slot], 0, 0, NULL);
	/* Lower the high-water mark past empty top slots, so lookups do not
	 * keep scanning a burst of areas long gone.  Every occupied slot
	 * stays below it; a reader that loaded the older mark only scans a
	 * few empty slots more. */
	hw = atomic_load_explicit(&nm_area_slots_hw, memory_order_relaxed);
	while (hw > 0 && !atomic_load_explicit(&nm_area_slots[hw - 1].area,
					       memory_order_relaxed))
		hw--;
	atomic_store_explicit(&nm_area_slots_hw, hw, memory_order_release);
	pthread_mutex_unlock(&slots_lock);
}

struct nm_area *nm_area_lookup_iov(const void *ptr, int *aligned)
{
	uintptr_t p = (uintptr_t)ptr, lo = 0;
	int hw = atomic_load_explicit(&nm_area_slots_hw, memory_order_acquire);
	struct nm_area *a = NULL;
	int i = nm_area_last_slot;

	if (!(i < hw && nm_area_slot_match(&nm_area_slots[i], p, &a, &lo))) {
		for (i = 0; i < hw; i++)
			if (nm_area_slot_match(&nm_area_slots[i], p, &a, &lo))
				break;
		if (i == hw)
			return NULL;
		nm_area_last_slot = i;
	}
	if (aligned)
		*aligned = (p - lo) % sizeof(struct nm_iov) == 0;
	return a;
}

static void area_free(struct nm_area *a)
{
	registry_del(a);
	nm_genpool_destroy(a->mem.gp);
	free(a->iovs);
	free(a);
}

/* Run the provider's area_fini exactly once. */
static void area_do_fini(struct nm_area *a)
{
	if (atomic_exchange(&a->fini_done, 1))
		return;
	a->ops->area_fini(&a->mem);
	atomic_store(&a->state, NM_AREA_DEAD);
}

/* No chunk is out any more: release the memory, unless a poll is running
 * in the provider right now (possibly the very poll whose completion put
 * the last chunk back): then the last poller to leave runs area_fini.
 * finied is set before polling is read, and a poller raises polling
 * before it reads finied, so one of the two always sees the other. */
static void area_finish(struct nm_area *a)
{
	if (atomic_exchange(&a->finied, 1))
		return;
	if (atomic_load(&a->polling) == 0)
		area_do_fini(a);
}

int nm_area_poll_enter(struct nm_area *a)
{
	atomic_fetch_add(&a->polling, 1);
	return !atomic_load(&a->finied);
}

void nm_area_poll_exit(struct nm_area *a)
{
	if (atomic_fetch_sub(&a->polling, 1) == 1 && atomic_load(&a->finied))
		area_do_fini(a);
}

static void area_put_outstanding(struct nm_area *a, unsigned int n)
{
	if (atomic_fetch_sub(&a->outstanding, n) == n &&
	    atomic_load(&a->state) != NM_AREA_LIVE)
		area_finish(a);
}

void nm_area_ref(struct nm_area *a)
{
	atomic_fetch_add_explicit(&a->refs, 1, memory_order_relaxed);
}

void nm_area_unref(struct nm_area *a)
{
	if (atomic_fetch_sub_explicit(&a->refs, 1, memory_order_acq_rel) != 1)
		return;
	/* Last reference: no pool, hence no chunk, is left, and no one may
	 * poll an area they no longer hold. */
	area_finish(a);
	area_do_fini(a);
	area_free(a);
}

int nm_area_take(struct nm_area *a, uint32_t *idx, unsigned int n)
{
	int got;

	atomic_fetch_add(&a->outstanding, n);
	if (atomic_load(&a->state) != NM_AREA_LIVE) {
		area_put_outstanding(a, n);
		return -ENODEV;
	}
	got = NM_FAULT(0, a->ops->alloc_bulk(&a->mem, idx, n));
	if (got < 0)
		got = 0;
	if ((unsigned int)got > n)
		got = (int)n;
	if ((unsigned int)got < n)
		area_put_outstanding(a, n - (unsigned int)got);
	return got;
}

void nm_area_give(struct nm_area *a, const uint32_t *idx, unsigned int n)
{
	if (!n)
		return;
	/* A revoked area never hands chunks out again: no need to put them
	 * back in its allocator, only to account for them. */
	if (atomic_load(&a->state) == NM_AREA_LIVE)
		a->ops->release(&a->mem, idx, n);
	area_put_outstanding(a, n);
}

static uint64_t total_memory(void)
{
	struct sysinfo si;
	if (sysinfo(&si))
		return UINT64_MAX;
	return (uint64_t)si.totalram * si.mem_unit;
}

/* Copy and check the options into @o, find the provider.  Return 0 or
 * an errno. */
static int area_opts_take(const char *provider, const struct nm_area_opts *uopts,
			  struct nm_area_opts *o, const struct nm_provider_ops **ops)
{
	uint64_t chunk;
	int err;

	if (!provider || !uopts)
		return EINVAL;
	err = nm_opts_copy(o, sizeof(*o), uopts);
	if (err)
		return -err;
	if (o->order > NM_MAX_ORDER || (o->flags & ~NM_AREA_F_ALL) || o->numa_node)
		return EINVAL;
	*ops = nm_provider_find(provider);
	if (!*ops)
		return errno; /* ENOENT */
	chunk = 1ull << (NM_PAGE_SHIFT + o->order);
	if (o->size > UINT64_MAX - chunk)
		return ENOMEM;
	if (!((*ops)->flags & NM_PROV_F_DEVICE) && o->size > total_memory())
		return ENOMEM;
	return 0;
}

/* The descriptor array and the chunk allocator of @nr chunks.  Return 0
 * or ENOMEM. */
static int area_descs(struct nm_area *a, uint64_t nr)
{
	a->iovs = nm_aligned_alloc(NM_CACHELINE,
				((nr * sizeof(struct nm_iov)) + NM_CACHELINE - 1) &
				~(uint64_t)(NM_CACHELINE - 1));
	a->mem.gp = nm_genpool_create((uint32_t)nr);
	if (!a->iovs || !a->mem.gp)
		return ENOMEM;
	memset(a->iovs, 0, nr * sizeof(struct nm_iov));
	for (uint32_t i = 0; i < nr; i++)
		a->iovs[i].area = a;	/* ref, tag, pool 0: in the area */
	return 0;
}

NM_API struct nm_area *nm_area_create(const char *provider,
				      const struct nm_area_opts *uopts)
{
	struct nm_area_opts o;
	const struct nm_provider_ops *ops = NULL;
	struct nm_area *a;
	uint64_t chunk, nr;
	int err;

	err = area_opts_take(provider, uopts, &o, &ops);
	if (err) {
		errno = err;
		return NULL;
	}
	chunk = 1ull << (NM_PAGE_SHIFT + o.order);
	a = nm_calloc(1, sizeof(*a));
	if (!a)
		return NULL;
	a->ops = ops;
	a->shift = NM_PAGE_SHIFT + o.order;
	a->mem.order = o.order;
	a->mem.chunk_size = (uint32_t)chunk;
	a->mem.size = (o.size + chunk - 1) & ~(chunk - 1);
	a->mem.flags = o.flags;
	a->mem.opts = &o;
	a->mem.fd = -1;
	snprintf(a->name, sizeof(a->name), "%s", o.name ? o.name : ops->name);
	/* A registry slot first: running out of them must not cost the
	 * provider's work (a mapping, a pinned GPU range) for nothing. */
	err = registry_add(a);
	if (err) {
		free(a);
		errno = -err;
		return NULL;
	}

	err = NM_FAULT(-ENOMEM, ops->area_init(&a->mem, &o));
	a->mem.opts = NULL;
	if (err) {
		registry_del(a);
		free(a);
		errno = err < 0 ? -err : EINVAL;
		return NULL;
	}
	nr = a->mem.size >> a->shift;
	if (nr == 0 || nr > UINT32_MAX / 2) {
		err = nr ? ENOMEM : EINVAL;
		goto fail_fini;
	}
	a->nr_chunks = (uint32_t)nr;
	a->mem.nr_chunks = (uint32_t)nr;
	a->mem.size = nr << a->shift;
	err = area_descs(a, nr);
	if (err)
		goto fail_mem;
	atomic_init(&a->refs, 1);
	atomic_init(&a->state, NM_AREA_LIVE);
	registry_publish(a);
	return a;

fail_mem:
	nm_genpool_destroy(a->mem.gp);
	free(a->iovs);
fail_fini:
	ops->area_fini(&a->mem);
	registry_del(a);
	free(a);
	errno = err;
	return NULL;
}

NM_API int nm_area_revoke(struct nm_area *a, unsigned int flags)
{
	int expected = NM_AREA_LIVE;
	unsigned int out;

	if (!a || (flags & ~NM_REVOKE_GONE))
		return -EINVAL;
	if (!atomic_compare_exchange_strong(&a->state, &expected, NM_AREA_REVOKING))
		return -EALREADY;
	if (a->ops->revoke)
		a->ops->revoke(&a->mem, flags);
	if (flags & NM_REVOKE_GONE) {
		/* The memory is gone: a stray read through an old pointer must
		 * fault, not read whatever reuses these addresses.  Keep the
		 * range reserved, inaccessible, until area_fini unmaps it. */
		void *base = a->mem.cpu_base;
		if (base && mmap(base, a->mem.size, PROT_NONE,
				 MAP_FIXED | MAP_PRIVATE | MAP_ANONYMOUS |
				 MAP_NORESERVE, -1, 0) == MAP_FAILED) {
			/* Could not replace it (e.g. a hugetlb range of odd
			 * size): at least make it inaccessible in place. */
			if (mprotect(base, a->mem.size, PROT_NONE))
				munmap(base, a->mem.size);
		}
		atomic_store(&a->state, NM_AREA_DEAD);
	}
	out = atomic_load(&a->outstanding);
	if (out == 0)
		area_finish(a);
	return (int)out;
}

NM_API int nm_area_destroy(struct nm_area *a)
{
	if (!a)
		return -EINVAL;
	if (atomic_load(&a->state) == NM_AREA_LIVE)
		nm_area_revoke(a, 0);
	nm_area_unref(a);
	return 0;
}

/* The size of struct nm_area_info's first version: the least a caller
 * may pass (see nm_out_copy). */
#define NM_AREA_INFO_SZ0 168
_Static_assert(sizeof(struct nm_area_info) >= NM_AREA_INFO_SZ0, "info only grows");

NM_API int nm_area_info(const struct nm_area *a, struct nm_area_info *uinfo, size_t size)
{
	struct nm_area_info full, *info = &full;

	if (!a || !uinfo || size < NM_AREA_INFO_SZ0)
		return -EINVAL;
	memset(info, 0, sizeof(*info));
	info->provider = a->ops->name;
	info->name = a->name;
	info->state = (enum nm_area_state)atomic_load(&a->state);
	info->cpu_base = info->state == NM_AREA_LIVE ? a->mem.cpu_base : NULL;
	info->io_base = a->mem.io_base;
	/* After a GONE revoke the number is kept, retired, until area_fini:
	 * not the area's memory any more. */
	info->dmabuf_fd = info->state == NM_AREA_DEAD ? -1 : a->mem.fd;
	info->size = a->mem.size;
	info->order = a->mem.order;
	info->chunk_size = a->mem.chunk_size;
	info->nr_chunks = a->nr_chunks;
	info->nr_free = info->state == NM_AREA_LIVE ? nm_genpool_avail(a->mem.gp) : 0;
	info->nr_outstanding = atomic_load(&a->outstanding);
	snprintf(info->detail, sizeof(info->detail), "%s", a->mem.detail);
	return nm_out_copy(uinfo, size, info, sizeof(*info), NM_AREA_INFO_SZ0);
}

NM_API int nm_area_poll(struct nm_area *a)
{
	int r = 0;

	if (!a)
		return -EINVAL;
	if (!a->ops->poll)
		return 0;
	/* Keep area_fini out while the provider polls: its completions may
	 * put the area's last chunk back. */
	if (nm_area_poll_enter(a))
		r = a->ops->poll(&a->mem);
	nm_area_poll_exit(a);
	return r;
}

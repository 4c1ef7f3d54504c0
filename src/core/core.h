/* SPDX-License-Identifier: MIT */
/*
 * core.h - internal structures of the core: descriptors, areas, pools, the
 * return ring.  Not installed.  Engines and providers inside the tree may
 * include it; applications use include/netmem/.
 */
#ifndef NM_CORE_H
#define NM_CORE_H

#define NM_BUILDING_LIBRARY 1
#include <netmem/netmem.h>
#include <netmem/provider.h>
#include <stdatomic.h>
#include <pthread.h>
#include "../util/fault.h"

#define NM_CACHELINE 64
#define nm_likely(x)   __builtin_expect(!!(x), 1)
#define nm_unlikely(x) __builtin_expect(!!(x), 0)

/*
 * The descriptor of one chunk: 32 bytes, two per cache line, in the area's
 * array.  The chunk's address is derived (base + index << shift), never
 * stored, so the same descriptor serves memory with no CPU mapping; the
 * index is the descriptor's place in the array (nm_iov_index).
 *
 * ref and tag share one 8-byte word: the owner's put checks "held once,
 * by this pool" with one load and one compare of it (nm_iov_held_word).
 * tag is the pool's (nm_pool.tag) while a pool has the chunk from the
 * area, 0 in the area; it is written with pool, by the pool's owner
 * taking the chunk and by whoever gives it back to the area, when no one
 * else may hold it.
 */
struct nm_iov {
	union {
		struct {
			_Atomic uint32_t ref;    /* references held outside the pool */
			_Atomic uint32_t tag;    /* its pool's tag, 0 in the area */
		};
		_Atomic uint64_t held_word;      /* the two, read at once */
	};
	struct nm_area *area;            /* owner area (immutable) */
	_Atomic(struct nm_pool *) pool;  /* pool that took it from the area */
	uint64_t user;                   /* free for engines (token, gen) */
};
_Static_assert(sizeof(struct nm_iov) == 32, "descriptor budget is 32 bytes");

/* The value of held_word for @ref references and pool tag @tag. */
static inline uint64_t nm_iov_held_word(uint32_t ref, uint32_t tag)
{
	union {
		struct { uint32_t ref, tag; };
		uint64_t word;
	} u = { .ref = ref, .tag = tag };

	_Static_assert(sizeof(u) == sizeof(uint64_t), "two 32-bit halves");
	return u.word;
}

/* Fragments: a chunk being carved holds this bias until it is finished, so
 * handing out a fragment needs no atomic (kernel page_pool's trick). */
#define NM_FRAG_BIAS (1u << 30)

struct nm_area {
	_Atomic int state;               /* enum nm_area_state */
	uint32_t shift;                  /* log2(chunk_size) */
	uint32_t nr_chunks;
	struct nm_iov *iovs;             /* descriptor array, apart from memory */
	struct nm_area_mem mem;          /* provider's view */
	const struct nm_provider_ops *ops;
	_Atomic uint32_t outstanding;    /* chunks taken by pools */
	_Atomic int refs;                /* creator + pools */
	_Atomic int finied;              /* no chunk out: area_fini is due */
	_Atomic int fini_done;           /* provider area_fini has run */
	_Atomic int polling;             /* nm_area_poll() calls in progress */
	_Atomic uint32_t pool_tags;      /* the last tag given to a pool of it */
	int registry_slot;
	char name[32];
};

/* Multi-producer single-consumer ring of descriptor pointers.  Producers
 * reserve with a CAS on prod_head, publish in order through prod_tail
 * (as DPDK's rte_ring does); bit 32 of prod_head closes the ring.
 * Four lines, each written from one side only: what never changes; the
 * producers' reservation (with the consumer position they last saw, so a
 * producer reads the consumer's line only when the ring looks full); the
 * published tail, which the consumer reads; the consumer's position.  The
 * consumer's reads then never take the line a producer's CAS needs. */
#define NM_RING_CLOSED (1ull << 32)
struct nm_ring {
	_Alignas(NM_CACHELINE) uint32_t size, mask;
	struct nm_iov **slots;
	_Alignas(NM_CACHELINE) _Atomic uint64_t prod_head;
	_Atomic uint32_t cons_seen;      /* a cons_tail a producer read */
	_Alignas(NM_CACHELINE) _Atomic uint32_t prod_tail;
	_Alignas(NM_CACHELINE) _Atomic uint32_t cons_tail;
};

#define NM_CACHE_SIZE   256   /* DPDK's usual mempool cache (the kernel's
                               * page_pool has 128): a program holding
                               * many buffers pays a ring operation per
                               * 128 of them, not per 64 (docs/pool.md) */
#define NM_CACHE_REFILL 128   /* and half of it per refill */
#define NM_CACHE_SPILL  128   /* a full cache sends its newer half to the
                               * return ring in one bulk enqueue */

/*
 * Put slots: where other threads' puts gather before they go to the return
 * ring, so the ring (and the lines it shares with the owner) is touched
 * once per NM_PUT_SLOT_FLUSH chunks rather than once per put, as DPDK's
 * per-lcore caches do.  A putting thread hashes to one slot and takes its
 * lock with one exchange (a line that stays in its cache); if another
 * thread holds it, the put goes straight to the ring.  Chunks parked here
 * are the pool's, not held: the owner takes them when the ring and the
 * area have none left (so parking never starves it), and flush, revoke
 * and destroy drain them.
 */
#define NM_PUT_SLOTS      16
#define NM_PUT_SLOT_FLUSH 128
struct nm_put_slot {
	_Alignas(NM_CACHELINE) _Atomic int lock;
	_Atomic uint32_t count;          /* written under lock; read racily */
	struct nm_iov *v[NM_PUT_SLOT_FLUSH + NM_CACHE_REFILL];
};

/* Counters bumped only by the owner thread: relaxed loads/stores, no RMW. */
struct nm_owner_stats {
	_Atomic uint64_t alloc_fast, alloc_slow, alloc_empty, alloc_refill,
		alloc_area, alloc_frag, recycle_cached, recycle_ring,
		cache_spilled;	/* internal: cached puts the full cache moved to the ring */
};
/* Counters any thread may bump, on error or slow paths only. */
struct nm_shared_stats {
	_Atomic uint64_t recycle_ring_full, released, err_double_put,
		err_foreign, err_not_buf, err_range, err_inval, err_revoked,
		err_sync;
};

struct nm_pool {
	/* Read-mostly line: every putting thread reads it, so nothing the
	 * owner writes per operation may live here (false sharing made the
	 * cross-thread put pull the owner's line back and forth). */
	_Alignas(NM_CACHELINE) struct nm_area *area;
	struct nm_iov *iovs;
	uint32_t nr_chunks;
	uint32_t chunk_size;
	unsigned int flags;
	unsigned int max_chunks;
	_Atomic(const void *) owner;     /* written when the owner changes */
	struct nm_put_slot *slots;       /* NM_PUT_SLOTS of them */
	uint32_t tag;                    /* in its chunks' nm_iov.tag: not 0, and
					  * no other live pool of the area has it */

	/* Owner-thread hot line: the alloc cache and what goes with it. */
	_Alignas(NM_CACHELINE) uint32_t cache_count;
	struct nm_iov *frag_iov;         /* chunk being carved */
	uint32_t frag_off;
	_Atomic uint32_t frag_cnt;       /* fragments carved from it (owner
					  * writes; nm_pool_held reads) */
	_Atomic uint64_t hold;           /* chunks taken from the area (owner) */
	struct nm_owner_stats ost;
	struct nm_iov *cache[NM_CACHE_SIZE];

	struct nm_ring ring;

	_Alignas(NM_CACHELINE) struct nm_shared_stats sst;
	_Atomic uint64_t release_cnt;    /* chunks given back to the area */
	_Atomic long refs;               /* 1 (until destroy) + chunks held */
	_Atomic int destroyed;
	char name[32];
};

/* Thread identity for "am I the pool's owner": one address per thread
 * (pool.c defines it; inline so that an engine's check is one load). */
extern _Thread_local char nm_tls_self __attribute__((tls_model("initial-exec")));
static inline const void *nm_self(void)
{
	return &nm_tls_self;
}

/* buf.c: 0 if @buf is a buffer someone holds, with its window in its
 * chunk; else -EINVAL (NULL), -EFAULT, -ERANGE or -EALREADY. */
int nm_buf_check(const struct nm_buf *buf);

/* pool.c: what nm_pool_alloc_bulk does, for an engine filling a ring
 * that wants descriptors, not nm_bufs: up to @n whole chunks (p and iovs
 * not NULL, on the pool's owning thread).  Return how many, or -errno
 * when none could be taken for another reason than an empty pool. */
int nm_pool_alloc_iovs(struct nm_pool *p, struct nm_iov **iovs, unsigned int n);

/* pool.c: an engine taking back whole chunks it handed out and the
 * application only looked at (NM_RX_F_LEND): no checks; a chunk with a
 * reference the application took loses that one.  Owner thread, p and
 * iovs not NULL, each a chunk of p the engine holds. */
void nm_pool_recycle_iovs(struct nm_pool *p, struct nm_iov *const *iovs, unsigned int n);

/* pool.c: the same take-back for an engine that can hand a frame to the
 * device again at once (AF_XDP's fill ring): up to @max of @iovs still
 * the engine's alone (no reference taken by the application) stay the
 * engine's, reference kept, moved to the front of @iovs, with no trip
 * through the cache (counted as one: recycle_cached, alloc_fast); the rest
 * go as nm_pool_recycle_iovs sends them.  None stay when the pool must see
 * each chunk (sync for device, revoked area, not the owner thread).
 * Return how many stayed. */
unsigned int nm_pool_reuse_iovs(struct nm_pool *p, struct nm_iov **iovs, unsigned int n,
				unsigned int max);

/* area.c */
int nm_area_take(struct nm_area *a, uint32_t *idx, unsigned int n);
void nm_area_give(struct nm_area *a, const uint32_t *idx, unsigned int n);
void nm_area_ref(struct nm_area *a);
void nm_area_unref(struct nm_area *a);
struct nm_area *nm_area_lookup_iov(const void *ptr, int *aligned);
int nm_area_poll_enter(struct nm_area *a);
void nm_area_poll_exit(struct nm_area *a);

/* genpool.c */
struct nm_genpool *nm_genpool_create(uint32_t nr);
void nm_genpool_destroy(struct nm_genpool *gp);

/* providers/builtin.c: the built-in providers, which provider.c registers
 * on first use. */
extern const struct nm_provider_ops *const nm_builtin_providers[];
extern const unsigned int nm_nr_builtin_providers;

/* Whether the area's chunks may still be handed out. */
static inline int nm_area_live(const struct nm_area *a)
{
	return atomic_load_explicit(&a->state, memory_order_relaxed) == NM_AREA_LIVE;
}

/* The chunk's index in its area: where its descriptor sits. */
static inline uint32_t nm_iov_index(const struct nm_iov *iov)
{
	return (uint32_t)(iov - iov->area->iovs);
}

static inline void *nm_iov_cpu(const struct nm_iov *iov)
{
	const struct nm_area *a = iov->area;
	if (!a->mem.cpu_base)
		return NULL;
	return (char *)a->mem.cpu_base + ((size_t)(iov - a->iovs) << a->shift);
}

/* The CPU address of @b's window, for code that holds @b and knows it is
 * a buffer (an engine's own): what nm_buf_data() answers, without its
 * lookup.  NULL where the memory has no CPU mapping or the area is
 * revoked. */
static inline void *nm_buf_cpu(const struct nm_buf *b)
{
	char *base = nm_area_live(b->iov->area) ? nm_iov_cpu(b->iov) : NULL;

	return base ? base + b->off : NULL;
}

/* Fragments' reference counts: pool.c carves and puts, buf.c gets and
 * checks.  Whether a chunk whose count reads @r is the one its pool @p
 * is carving: only that one holds the bias (2^29 gets would be needed to
 * fake it). */
static inline int nm_frag_biased(uint32_t r)
{
	return r >= NM_FRAG_BIAS / 2;
}

/* Whether the chunk @iov that @p is carving, whose count read *@r, has
 * no holder left: every fragment carved from it (and every extra
 * reference) put.  *@r is the bias less the puts plus the gets, so the
 * holders are r + carved - bias.  *@r must come from an acquire load (or
 * a failed CAS's): a put that it counts came after its fragment's carve,
 * so the carve count read after it covers that fragment.
 * The carve count may already be the next chunk's (carving moved on
 * after *@r was read): then the count has changed, since frag_finish
 * dropped the bias before frag_cnt's release store, which our acquire
 * load saw.  So "no holder" stands only if the count still reads *@r;
 * otherwise *@r gets the new count and the caller starts over (-1).  A
 * "holder left" needs no second look: the caller's CAS from *@r fails
 * if the count moved.  Return 1 (no holder), 0 (a holder), -1 (again). */
static inline int nm_frag_unheld(struct nm_pool *p, struct nm_iov *iov, uint32_t *r)
{
	uint32_t carved = atomic_load_explicit(&p->frag_cnt, memory_order_acquire);
	uint32_t now;

	if ((uint64_t)*r + carved > NM_FRAG_BIAS)
		return 0;
	now = atomic_load_explicit(&iov->ref, memory_order_acquire);
	if (now == *r)
		return 1;
	*r = now;
	return -1;
}

/* lib.c: options and output structs (the ABI rules). */
/* Check opts struct: known size, zero tail.  Return 0 or -errno. */
int nm_opts_check(const void *opts, size_t user_sz, size_t known_sz);
/* Check @src (an opts struct whose first member is its size_t sz, or
 * NULL for defaults) and copy it into @dst of @known_sz bytes, zeroing
 * what the caller did not set and setting dst's sz.  Return 0 or -errno. */
int nm_opts_copy(void *dst, size_t known_sz, const void *src);
int nm_out_copy(void *dst, size_t dst_sz, const void *src, size_t src_sz, size_t min_sz);

#define NM_STAT_ADD_OWNER(p, f, n) \
	atomic_store_explicit(&(p)->ost.f, \
		atomic_load_explicit(&(p)->ost.f, memory_order_relaxed) + (n), \
		memory_order_relaxed)
#define NM_STAT_ADD_SHARED(p, f, n) \
	atomic_fetch_add_explicit(&(p)->sst.f, (n), memory_order_relaxed)

#endif /* NM_CORE_H */

/* SPDX-License-Identifier: MIT */
/*
 * netmem.h - the user-facing API of libnetmem.
 *
 * libnetmem receives network data into pooled buffers whose memory comes
 * from pluggable memory providers (host pages, hugepages, memfd, dmabuf,
 * GPU memory).  The objects, bottom up:
 *
 *   nm_area  one registered region from one provider, carved into chunks of
 *            2^order pages.  It may have no CPU mapping (device memory).
 *   nm_iov   the descriptor of one chunk.  Descriptors live in an array of
 *            their own, never inside the memory they describe.
 *   nm_pool  a page_pool-style front end over one area, one per receive
 *            queue: a single-consumer alloc cache, a multi-producer return
 *            ring, fragments, stats and in-flight accounting.
 *   nm_buf   what the application holds: a descriptor plus offset and length
 *            within its chunk.
 *
 * Threading: a pool is allocated from by one thread at a time (its queue's
 * thread); buffers may be put back from any thread.  Areas may be revoked
 * from any thread at any time.
 *
 * Errors: int-returning functions return 0 (or a count) on success and a
 * negative errno on failure.  Constructors return NULL and set errno.
 * Fast-path functions (alloc, put, data) never touch errno.  Every error a
 * caller can cause is counted in the pool's stats and leaves state intact.
 */
#ifndef NETMEM_NETMEM_H
#define NETMEM_NETMEM_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(NM_BUILDING_LIBRARY)
#define NM_API __attribute__((visibility("default")))
#else
#define NM_API
#endif

/* The one place the version is set: CMake reads it from here.  "Added in
 * 0.N" in these headers names the minor version that brought a call or
 * field. */
#define NETMEM_VERSION_MAJOR 0
#define NETMEM_VERSION_MINOR 5
#define NETMEM_VERSION_PATCH 0

/** nm_version - the library's version as "MAJOR.MINOR.PATCH".
 * Return: a static string; never fails. */
NM_API const char *nm_version(void);

struct nm_area;
struct nm_pool;
struct nm_iov;
struct nm_provider_ops;

/* Chunk sizes: 4 KiB << order.  Order 9 is 2 MiB; up to order 18 (1 GiB). */
#define NM_PAGE_SHIFT     12
#define NM_MAX_ORDER      18

/*
 * Option structs follow libbpf's convention: the first member is the size
 * of the struct as the caller knows it.  Fields the caller's version does not
 * have read as zero; non-zero bytes past the library's version are rejected
 * with -E2BIG/E2BIG, so the struct can grow without breaking old callers.
 * Declare them with NM_OPTS(type, name, .field = value, ...).
 */
#define NM_OPTS(TYPE, NAME, ...) \
	struct TYPE NAME = { .sz = sizeof(struct TYPE), __VA_ARGS__ }

/*
 * Output structs (info, stats) likewise grow only at their end.  Every
 * call that fills one takes the size of the caller's struct, sizeof(*out):
 * the library writes at most that many bytes, and zeros where the caller's
 * struct is longer than its own, so a program built against an older or
 * newer header gets what both know.  A size below the struct's first
 * version (a pointer's size, say) is -EINVAL.
 */

/* ------------------------------------------------------------------ */
/* Areas                                                                */
/* ------------------------------------------------------------------ */

/* nm_area_opts.flags */
#define NM_AREA_F_NO_CPU_MAP   (1u << 0) /* do not map for the CPU even if possible */
#define NM_AREA_F_POPULATE     (1u << 1) /* fault the memory in at creation */
#define NM_AREA_F_HUGE_STRICT  (1u << 2) /* hugepage: fail rather than fall back to THP */
#define NM_AREA_F_ALLOW_ANY_FD (1u << 3) /* dmabuf: accept an fd that is not a dmabuf
					  * (tmpfs/memfd); for testing the import
					  * path where no exporter exists */
#define NM_AREA_F_IMPORT_FD    (1u << 4) /* memfd: import opts.fd instead of creating */
#define NM_AREA_F_ALL          0x1fu

struct nm_area_opts {
	size_t sz;            /* sizeof(struct nm_area_opts) */
	size_t size;          /* bytes; rounded up to whole chunks. 0: from fd */
	unsigned int order;   /* chunk size = 4 KiB << order, 0..NM_MAX_ORDER */
	unsigned int flags;   /* NM_AREA_F_* */
	int fd;               /* fd to import: always for dmabuf, for memfd with
			       * NM_AREA_F_IMPORT_FD; ignored otherwise.  The
			       * area keeps its own dup */
	int numa_node;        /* reserved, must be 0 */
	const char *name;     /* for stats and debugging; may be NULL */
	void *provider_arg;   /* provider-specific, see the provider's doc */
};

enum nm_area_state {
	NM_AREA_LIVE = 0,     /* chunks may be allocated */
	NM_AREA_REVOKING = 1, /* revoked; memory kept until the last chunk returns */
	NM_AREA_DEAD = 2,     /* memory released (or gone); descriptors remain
			       * until the last chunk returns */
};

/* What an area is: filled by nm_area_info(). */
struct nm_area_info {
	const char *provider;     /* provider name */
	const char *name;         /* area name */
	void *cpu_base;           /* NULL when the memory is unreadable */
	uint64_t io_base;         /* IO/DMA address of chunk 0 */
	int dmabuf_fd;            /* the area's dmabuf (or memfd) fd, or -1 */
	size_t size;              /* bytes */
	unsigned int order;       /* chunk order */
	uint32_t chunk_size;      /* bytes per chunk */
	uint32_t nr_chunks;
	uint32_t nr_free;         /* chunks in the area's allocator */
	uint32_t nr_outstanding;  /* chunks taken by pools, not yet returned */
	enum nm_area_state state;
	char detail[96];          /* provider's description: e.g. which pages it
				   * got ("hugetlb 2M", "THP: hugetlb pool empty") */
};

/**
 * nm_area_create - create an area of @opts->size bytes from a provider.
 * @provider: a registered provider's name ("host", "hugepage", "memfd",
 *            "dmabuf", "cuda", or one the application registered).
 * @opts: options; may not be NULL.
 *
 * Return: the area, or NULL with errno set: EINVAL (NULL/unknown-size opts,
 * order out of range, zero size where one is needed, unknown flag bits),
 * E2BIG (non-zero bytes past the known opts), ENOENT (no such provider),
 * ENOMEM (size larger than memory or limits), ENOSPC (1024 areas live in
 * the process: destroyed and revoked areas count until their last buffer
 * is put), EOPNOTSUPP (the provider cannot do it here, e.g. no CUDA
 * driver), or the provider's errno.
 */
NM_API struct nm_area *nm_area_create(const char *provider,
				      const struct nm_area_opts *opts);

/**
 * nm_area_revoke - the memory's owner takes it back (device unplug, dmabuf
 * revoked, shutdown).  Safe from any thread while buffers are in flight.
 * @flags: 0, or NM_REVOKE_GONE when the memory is already gone: it is then
 * released at once and the CPU mapping (if any) is replaced by an
 * inaccessible one, so a stray read faults instead of reading recycled data.
 *
 * Afterwards no buffer of the area is handed out; pools over it fail
 * allocation with -ENODEV; a held buffer's data pointer is NULL and
 * operations on it return -ENODEV, but it can still be put (and must be).
 * The memory is released when the last chunk comes back.
 *
 * Return: the number of chunks still outstanding (>= 0), -EINVAL for a NULL
 * area or unknown flags, -EALREADY if already revoked.
 */
#define NM_REVOKE_GONE (1u << 0)
NM_API int nm_area_revoke(struct nm_area *area, unsigned int flags);

/**
 * nm_area_destroy - drop the creator's reference.  Revokes the area if it
 * is live; the area is freed when its last pool and chunk are gone.
 * Return: 0, or -EINVAL for NULL.
 */
NM_API int nm_area_destroy(struct nm_area *area);

/** nm_area_info - describe an area into @info, of @size bytes
 * (sizeof(*info)).  Return: 0, -EINVAL (NULL, @size too small). */
NM_API int nm_area_info(const struct nm_area *area, struct nm_area_info *info,
			size_t size);

/* ------------------------------------------------------------------ */
/* Pools                                                                */
/* ------------------------------------------------------------------ */

#define NM_POOL_F_SYNC_FOR_DEVICE (1u << 0) /* call the provider's sync on refill
					     * and on the owner's put into the
					     * cache; see nm_pool_alloc */
#define NM_POOL_F_ALL             0x1u

struct nm_pool_opts {
	size_t sz;              /* sizeof(struct nm_pool_opts) */
	unsigned int flags;     /* NM_POOL_F_* */
	unsigned int ring_size; /* return ring entries, power of 2; 0: enough
				 * for every chunk of the area (max 1M) */
	unsigned int max_chunks;/* most chunks this pool may take from the
				 * area; 0: no limit */
	const char *name;
};

/**
 * nm_pool_create - create a pool drawing chunks from @area.
 * @opts: may be NULL for defaults.
 * Return: the pool, or NULL with errno: EINVAL (NULL area, bad ring size,
 * unknown flags), E2BIG, ENODEV (area revoked), ENOMEM.
 */
NM_API struct nm_pool *nm_pool_create(struct nm_area *area,
				      const struct nm_pool_opts *opts);

/**
 * nm_pool_destroy - give the pool up.  Returns at once; cached and ring
 * chunks go back to the area now, and the pool lives on until its last
 * in-flight buffer is put, then frees itself.  The caller must not allocate
 * from it afterwards; buffers still held may be put from any thread.
 * Return: the number of chunks still in flight (>= 0); -EINVAL (NULL);
 * -EALREADY (destroyed before, and kept alive by buffers still in flight:
 * once the last is put the pool is freed, and a call then touches freed
 * memory).
 */
NM_API int nm_pool_destroy(struct nm_pool *pool);

/**
 * nm_pool_set_owner - make the calling thread the pool's allocating thread.
 * Only needed when allocation moves from one thread to another; the caller
 * must make sure the old thread no longer touches the pool.
 * Return: 0, or -EINVAL for NULL.
 */
NM_API int nm_pool_set_owner(struct nm_pool *pool);

/* A buffer: a chunk's descriptor plus a window into the chunk. */
struct nm_buf {
	struct nm_iov *iov;  /* chunk descriptor */
	uint32_t off;        /* offset of the buffer in the chunk */
	uint32_t len;        /* capacity when allocated; bytes when delivered */
};

/**
 * nm_pool_alloc - take one whole chunk.  Owner thread only.
 * Return: 0; -ENOMEM when the pool and area are empty; -ENODEV when the
 * area is revoked; -EINVAL for NULL arguments; with
 * NM_POOL_F_SYNC_FOR_DEVICE, the provider's error when it could sync none
 * of the chunks the pool had left to try (those go back to the area and
 * count in err_sync; a chunk that fails its sync is never handed out).
 */
NM_API int nm_pool_alloc(struct nm_pool *pool, struct nm_buf *buf);

/**
 * nm_pool_alloc_bulk - take up to @n whole chunks.  Owner thread only.
 * Return: how many were taken (0..n; fewer when memory runs short), or
 * -ENODEV (revoked, none taken), -EINVAL, or the provider's sync error
 * (as nm_pool_alloc; none taken).
 */
NM_API int nm_pool_alloc_bulk(struct nm_pool *pool, struct nm_buf *bufs,
			      unsigned int n);

/**
 * nm_pool_alloc_frag - carve a @size-byte fragment from the pool's current
 * chunk (starting a new chunk when the current one has less left).  All
 * fragments of a chunk share its reference count; the chunk is recycled
 * when its last fragment is put.  A put of a fragment once every
 * fragment of its chunk is back is a double put (-EALREADY), also while
 * the pool is still carving that chunk.  @align is a power of 2 (0 means
 * 64).
 * Return: 0; -EINVAL (size 0, size larger than a chunk, bad align, NULL);
 * -ENOMEM; -ENODEV.
 */
NM_API int nm_pool_alloc_frag(struct nm_pool *pool, struct nm_buf *buf,
			      uint32_t size, uint32_t align);

/**
 * nm_pool_put - return a buffer to @pool, from any thread.
 * Return: 0; -EXDEV when the buffer belongs to another pool; -EFAULT when
 * it is not a buffer of any area; -ERANGE when off/len lie outside the
 * chunk; -EALREADY when nobody holds the chunk (a double put: every
 * reference on it, every fragment carved from it included, was put);
 * -EINVAL for NULL.  On error nothing changes and the error is counted.
 * A buffer of a revoked area is accepted (0) and released, not recycled.
 * Put by a thread other than the pool's owner, the chunk may wait with
 * that thread's recent puts (up to 128, as DPDK's per-lcore caches do)
 * before going on to the pool's return ring; the owner takes waiting
 * chunks when it has nothing else left, and destroy and revocation
 * release them, so none is lost or held back from an owner that needs it.
 *
 * A reference belongs to the chunk, not to a window of it (an engine
 * hands its reference on with a smaller window; any window inside the
 * chunk may be put), so what a count of holders cannot tell (as in the
 * kernel's page_pool and DPDK's mbufs) is which holder a put comes from:
 * a put of an old copy of a buffer whose chunk has since been handed out
 * again is taken as the new holder's; and a buffer put twice while its
 * chunk has another holder (another fragment, an nm_buf_get reference)
 * is taken as that holder's put, so the chunk goes back while that holder
 * still has it.  Every other double put is refused: a put when the chunk
 * has no holder left never succeeds, so its count is never short.
 */
NM_API int nm_pool_put(struct nm_pool *pool, const struct nm_buf *buf);

/**
 * nm_pool_put_bulk - return @n buffers to @pool in one go.
 * Return: how many were accepted; a rejected buffer is skipped (counted)
 * and the rest still go back.  -EINVAL for NULL arguments (@bufs may be
 * NULL when @n is 0: that returns 0 and touches nothing).
 */
NM_API int nm_pool_put_bulk(struct nm_pool *pool, const struct nm_buf *bufs,
			    unsigned int n);

/**
 * nm_buf_put - return a buffer to whichever pool it belongs to.  Slower
 * than nm_pool_put (the owner is looked up and checked).
 * Return: as nm_pool_put, never -EXDEV.
 */
NM_API int nm_buf_put(const struct nm_buf *buf);

/**
 * nm_buf_get - take another reference on a buffer's chunk (a fragment
 * shared with another consumer); one more put is then due.  Return: 0,
 * -ENODEV (revoked), -EFAULT (not a buffer of any area), -ERANGE (off/len
 * outside the chunk), -EALREADY (nobody holds the chunk), -EINVAL (NULL).
 */
NM_API int nm_buf_get(const struct nm_buf *buf);

/**
 * nm_buf_data - the CPU address of a buffer's first byte.
 * Return: NULL when the memory is unreadable (device memory, a revoked
 * area) or the buffer is invalid (not a buffer of any area, or off/len
 * outside its chunk).  Never sets errno.
 */
NM_API void *nm_buf_data(const struct nm_buf *buf);

/** nm_buf_io_addr - the buffer's IO (DMA) address / offset in the dmabuf.
 * Return: 0 and *addr set; -ENODEV (revoked); -ERANGE (off/len outside the
 * chunk); -EINVAL (NULL, or not a buffer of any area). */
NM_API int nm_buf_io_addr(const struct nm_buf *buf, uint64_t *addr);

/** nm_buf_area - the area a buffer lives in.
 * Return: the area, or NULL when @buf is NULL or not a buffer of any area;
 * never sets errno. */
NM_API struct nm_area *nm_buf_area(const struct nm_buf *buf);

/** nm_buf_chunk_index - index of the buffer's chunk in its area.
 * Return: the index (>= 0), or -EINVAL (NULL, or not a buffer). */
NM_API int nm_buf_chunk_index(const struct nm_buf *buf);

/* Sync directions for nm_buf_sync(). */
enum nm_sync_dir {
	NM_SYNC_FOR_DEVICE = 0, /* before the device (NIC, kernel) writes it */
	NM_SYNC_FOR_CPU = 1,    /* before the CPU reads what was written */
};
/** nm_buf_sync - call the provider's sync hook for the buffer's bytes.
 * Return: 0, -ENODEV, -EINVAL, -ERANGE (off/len outside the chunk), or
 * the provider's error. */
NM_API int nm_buf_sync(const struct nm_buf *buf, enum nm_sync_dir dir);

/**
 * nm_buf_place - write @len bytes from host memory @src into @dst at its
 * offset, whatever the memory is: a memcpy for readable memory, an
 * asynchronous copy (DMA, cuMemcpyHtoDAsync) for device memory.  @done is
 * called with the status once the bytes have landed and @src may be
 * reused: before this returns for readable memory, from nm_area_poll()
 * later for asynchronous providers.  @done may be NULL.
 * Return: 0 (queued or done); -ERANGE (len beyond the buffer, or the
 * buffer's off/len outside its chunk); -ENODEV;
 * -EOPNOTSUPP (the memory can be neither mapped nor copied to); -EINVAL.
 */
NM_API int nm_buf_place(const struct nm_buf *dst, const void *src, size_t len,
			void (*done)(void *arg, int status), void *arg);

/** nm_area_poll - run completions of asynchronous work on an area (places,
 * deferred releases).  Never blocks.  Return: completions run, or -EINVAL. */
NM_API int nm_area_poll(struct nm_area *area);

/* ------------------------------------------------------------------ */
/* Stats and in-flight                                                  */
/* ------------------------------------------------------------------ */

struct nm_pool_stats {
	/* allocation (page_pool's names) */
	uint64_t alloc_fast;      /* served from the alloc cache */
	uint64_t alloc_slow;      /* cache empty: went to ring or area */
	uint64_t alloc_empty;     /* nothing anywhere: -ENOMEM */
	uint64_t alloc_refill;    /* cache refills from the return ring */
	uint64_t alloc_area;      /* chunks taken from the area allocator */
	uint64_t alloc_frag;      /* fragments carved */
	/* recycling */
	uint64_t recycle_cached;  /* puts into the alloc cache (some later
				   * moved to the ring by a full cache's
				   * spill: still counted here, once) */
	uint64_t recycle_ring;    /* puts straight into the return ring */
	uint64_t recycle_ring_full; /* ring full: chunk released to the area */
	uint64_t recycle_released;  /* chunks given back to the area in all */
	/* errors by kind */
	uint64_t err_double_put;  /* -EALREADY */
	uint64_t err_foreign;     /* -EXDEV */
	uint64_t err_not_buf;     /* -EFAULT */
	uint64_t err_range;       /* -ERANGE */
	uint64_t err_inval;       /* -EINVAL (bad sizes, NULLs) */
	uint64_t err_revoked;     /* -ENODEV */
	uint64_t err_sync;        /* chunks the provider could not sync for the
				   * device (NM_POOL_F_SYNC_FOR_DEVICE): given
				   * back to the area, not handed out */
	/* state */
	uint64_t inflight;        /* chunks held outside the pool now */
	uint64_t hold;            /* chunks taken from the area, ever */
	uint64_t release;         /* chunks returned to the area, ever */
};

/** nm_pool_get_stats - snapshot of a pool's counters into @st, of @size
 * bytes (sizeof(*st)).  Any thread; values touched by the owner thread are
 * read racily (they are monotonic).  @st->inflight is counted as
 * nm_pool_inflight() counts it: a walk over the area's descriptors, so a
 * call costs O(chunks); for monitoring, not per packet.  Return: 0,
 * -EINVAL (NULL, @size too small). */
NM_API int nm_pool_get_stats(const struct nm_pool *pool,
			     struct nm_pool_stats *st, size_t size);

/** nm_pool_inflight - chunks of this pool held outside it (by users or the
 * kernel), found by walking the area's descriptors: O(chunks), exact when
 * no other thread is putting meanwhile.  Return: count >= 0, or -EINVAL. */
NM_API long nm_pool_inflight(const struct nm_pool *pool);

/* One held chunk, as nm_pool_held() reports it. */
struct nm_held {
	uint32_t chunk;      /* index in the area */
	uint32_t refs;       /* references (fragments) still held */
};
/**
 * nm_pool_held - list chunks of @pool still held outside it.  Fills up to
 * @max entries. Return: the total number held (may exceed @max), -EINVAL.
 */
NM_API long nm_pool_held(const struct nm_pool *pool, struct nm_held *out,
			 size_t max);

/** nm_pool_area - the area a pool draws from.
 * Return: the area, or NULL for a NULL @pool; never sets errno. */
NM_API struct nm_area *nm_pool_area(const struct nm_pool *pool);

/** nm_pool_chunk_size - bytes per chunk of the pool's area.
 * Return: the chunk size, or 0 for a NULL @pool; never fails otherwise. */
NM_API uint32_t nm_pool_chunk_size(const struct nm_pool *pool);

/** nm_strerror - a short message for a netmem -errno (or errno), with
 * netmem's own meaning where it differs from strerror() (e.g. EALREADY:
 * "double put").
 * Return: a string that must not be modified; never NULL, never fails. */
NM_API const char *nm_strerror(int err);

/* ------------------------------------------------------------------ */
/* Tokens (devmem TCP style)                                            */
/* ------------------------------------------------------------------ */

/*
 * A token table hands out 32-bit tokens for buffers the application holds,
 * so it can return them in batches by number, as devmem TCP's
 * SO_DEVMEM_DONTNEED does.  A token carries a generation: a stale,
 * repeated or unknown token is rejected with -EINVAL and counted.
 * Not thread-safe: one table per receive queue, used by one thread (the
 * release of the underlying buffer may still go to another thread's pool).
 */
struct nm_token_table;

/**
 * nm_token_table_create - a table for up to @capacity live tokens.
 * Return: the table, or NULL with errno: EINVAL (@capacity 0 or above
 * 2^24), ENOMEM.
 */
NM_API struct nm_token_table *nm_token_table_create(unsigned int capacity);
/**
 * nm_token_table_destroy - put the buffers of live tokens back (as
 * nm_token_release_all() does) and free the table.
 * Return: nothing; NULL is ignored.  Never fails.
 */
NM_API void nm_token_table_destroy(struct nm_token_table *t);
/**
 * nm_token_add - store @buf, a buffer the caller holds, in the table and
 * give out its token in *@token.  The token now stands for the caller's
 * reference: nm_token_release() puts it.
 * Return: 0; -EINVAL (NULL arguments); -EFAULT (not a buffer of any area);
 * -ERANGE (off/len outside the chunk); -EALREADY (nobody holds the
 * chunk); -ENOSPC (the table holds @capacity live tokens).  Nothing is
 * stored or counted on error.
 */
NM_API int nm_token_add(struct nm_token_table *t, const struct nm_buf *buf,
			uint32_t *token);
/**
 * nm_token_lookup - the buffer of a live @token into *@buf, without
 * releasing it.
 * Return: 0; -EINVAL (NULL arguments, or an unknown, stale or released
 * token).
 */
NM_API int nm_token_lookup(const struct nm_token_table *t, uint32_t token,
			   struct nm_buf *buf);
/**
 * nm_token_release - put the buffers of @n tokens back to their pools.
 * A token whose buffer was put behind the table's back (the put fails) is
 * spent all the same, but it is not a release: it counts as rejected.
 * Return: how many tokens were valid and their buffers put; invalid ones
 * are skipped and counted.  -EINVAL for NULL arguments.
 */
NM_API int nm_token_release(struct nm_token_table *t, const uint32_t *tokens,
			    unsigned int n);
/**
 * nm_token_release_all - put the buffers of every live token back (a
 * queue being torn down, a connection reset).  Their tokens become stale.
 * Return: how many buffers were put (a failed put counts as rejected, as
 * in nm_token_release()); -EINVAL for NULL.
 */
NM_API int nm_token_release_all(struct nm_token_table *t);
/** nm_token_count - the number of live tokens in @t.
 * Return: the count; 0 for NULL.  Never fails. */
NM_API unsigned int nm_token_count(const struct nm_token_table *t);
/** nm_token_rejected - how many invalid tokens @t has been given, ever,
 * and how many valid ones whose buffer could not be put.
 * Return: the count; 0 for NULL.  Never fails. */
NM_API uint64_t nm_token_rejected(const struct nm_token_table *t);

/* ------------------------------------------------------------------ */
/* Live stats, served to `netmem stat`                                  */
/* ------------------------------------------------------------------ */

/*
 * A stats server lets a running program be asked for its pools', areas'
 * and receivers' figures from outside, the way the kernel's
 * page-pool-stats-get netlink call reads its page pools: a unix socket,
 * served by a thread of its own, answering one request per connection
 * ("text", "json" or "prom" on a line) with one document, then closing.
 *
 * Only the process's own user is answered: the socket file is made
 * owner-only (0600) before it accepts anything, and each peer's uid is
 * checked (SO_PEERCRED) as well, which is what guards an abstract socket.
 * A client cannot stall or crash the server or the program: sockets are
 * non-blocking, a request is at most 64 bytes, and a client that has not
 * been answered within the timeout is dropped.  Reading the figures takes
 * no lock of the fast path (nm_pool_get_stats, nm_rx_stats read counters
 * racily); an area's free count is read under its chunk allocator's lock,
 * held for an instant, which a pool takes only to refill from the area.
 * A request costs a walk over each pool's descriptors.
 *
 * Registered objects are read by the server thread: remove an object
 * (nm_stats_srv_remove) or destroy the server before destroying it.
 */
struct nm_stats_srv;
struct nm_rx;

struct nm_stats_srv_opts {
	size_t sz;                /* sizeof(struct nm_stats_srv_opts) */
	const char *path;         /* socket path; "@NAME" for an abstract one;
				   * NULL: $XDG_RUNTIME_DIR/netmem-PID.sock when
				   * that directory exists, else
				   * /tmp/netmem-PID.sock */
	unsigned int timeout_ms;  /* per client, from accept; 0: 2000 */
	unsigned int max_clients; /* served at once, 1..64; 0: 8.  Others wait
				   * in the listen backlog */
	unsigned int flags;       /* reserved, 0 */
};

/**
 * nm_stats_srv_create - listen on a unix socket and serve stats from a
 * thread of its own.  A stale socket file of the caller's at the path (its
 * process gone) is replaced; anything else there is left alone.
 * @opts: may be NULL for defaults.
 *
 * Return: the server, or NULL with errno: EINVAL (unknown flags,
 * max_clients above 64, an empty path or "@"), E2BIG (non-zero bytes past
 * the known opts), ENAMETOOLONG (the path does not fit a sockaddr_un),
 * EADDRINUSE (a live server listens at the path), EEXIST (something other
 * than a stale socket of this user's is at the path), ENOMEM, or the
 * errno of socket(), bind(), chmod(), listen() or pthread_create() (e.g.
 * EACCES, ENOENT for a missing directory, EMFILE).
 */
NM_API struct nm_stats_srv *nm_stats_srv_create(const struct nm_stats_srv_opts *opts);

/**
 * nm_stats_srv_add_pool - report @pool (and its area's state) under
 * @label (NULL: "pool"; 31 bytes kept) and receive queue @queue (-1: none).
 * Return: 0; -EINVAL (NULL server or pool, @queue below -1); -EEXIST
 * (already registered); -ENOSPC (256 objects registered).
 */
NM_API int nm_stats_srv_add_pool(struct nm_stats_srv *srv, struct nm_pool *pool,
				 const char *label, int queue);

/**
 * nm_stats_srv_add_area - report @area: provider, what memory it got
 * (nm_area_info's detail), chunks free and outstanding, state.
 * Return: as nm_stats_srv_add_pool.
 */
NM_API int nm_stats_srv_add_area(struct nm_stats_srv *srv, struct nm_area *area,
				 const char *label);

/**
 * nm_stats_srv_add_rx - report a receiver's engine and counters
 * (nm_rx_stats, summed over its queues; the queues' pools are added with
 * nm_stats_srv_add_pool).  Return: as nm_stats_srv_add_pool.
 */
NM_API int nm_stats_srv_add_rx(struct nm_stats_srv *srv, struct nm_rx *rx,
			       const char *label);

/**
 * nm_stats_srv_remove - stop reporting @obj (a pool, area or receiver).
 * Once this returns the server no longer touches it.
 * Return: 0; -EINVAL (NULL); -ENOENT (not registered).
 */
NM_API int nm_stats_srv_remove(struct nm_stats_srv *srv, const void *obj);

/** nm_stats_srv_path - the socket's path ("@NAME" when abstract).
 * Return: the path, valid until the server is destroyed, or NULL for a
 * NULL @srv; never sets errno. */
NM_API const char *nm_stats_srv_path(const struct nm_stats_srv *srv);

/* Formats for nm_stats_srv_format(), as a client asks for them. */
enum nm_stats_fmt {
	NM_STATS_TEXT = 0,  /* lines for people */
	NM_STATS_JSON = 1,  /* one JSON object */
	NM_STATS_PROM = 2,  /* Prometheus text exposition format 0.0.4 */
};

/**
 * nm_stats_srv_format - write the document a client asking for @fmt
 * would get into @buf of @len bytes (NUL-terminated, truncated to fit).
 * Return: the document's length (a larger value than @len - 1 means it was
 * truncated, as snprintf), -EINVAL (NULL server, @buf NULL with @len > 0,
 * unknown @fmt), -ENOMEM.
 */
NM_API long nm_stats_srv_format(struct nm_stats_srv *srv, enum nm_stats_fmt fmt,
				char *buf, size_t len);

/**
 * nm_stats_srv_destroy - stop the server thread, close every client and
 * the socket, remove the socket file.  Registered objects are not touched.
 * Return: 0, or -EINVAL for NULL.
 */
NM_API int nm_stats_srv_destroy(struct nm_stats_srv *srv);

#ifdef __cplusplus
}
#endif
#endif /* NETMEM_NETMEM_H */

/* SPDX-License-Identifier: MIT */
/*
 * provider.h - for authors of memory providers.
 *
 * A provider supplies the memory of an area and the few operations that
 * depend on what that memory is.  Like the kernel's memory_provider_ops it
 * is a static const table, checked once when registered, and called only on
 * the slow path: area creation, bulk chunk allocation and release (when a
 * pool's cache and ring are empty or overflowing), sync, revoke, teardown.
 *
 * The core keeps descriptors (nm_iov) apart from the memory and hands the
 * provider a struct nm_area_mem: the provider's view of one area.
 */
#ifndef NETMEM_PROVIDER_H
#define NETMEM_PROVIDER_H

#include <netmem/netmem.h>

#ifdef __cplusplus
extern "C" {
#endif

struct nm_genpool;

/* The provider's view of an area. */
struct nm_area_mem {
	/* Set by the core before area_init; area_init may change size (e.g.
	 * to the size of an imported fd): the core then rounds it down to
	 * whole chunks. */
	size_t size;
	unsigned int order;
	uint32_t chunk_size;
	uint32_t nr_chunks;             /* set by the core after area_init */
	unsigned int flags;             /* NM_AREA_F_* from the options */
	const struct nm_area_opts *opts;/* valid during area_init only */
	struct nm_genpool *gp;          /* the area's chunk allocator (core's) */

	/* Set by the provider in area_init. */
	void *cpu_base;     /* CPU mapping of the whole area, or NULL: unreadable */
	uint64_t io_base;   /* IO/DMA address (or dmabuf offset) of chunk 0 */
	int fd;             /* fd the area owns (dmabuf/memfd), or -1 */
	void *priv;         /* provider state */
	char detail[96];    /* what it got and why, for nm_area_info() */
};

/* nm_provider_ops.flags */
#define NM_PROV_F_DEVICE   (1u << 0) /* device memory: unreadable unless mapped */

struct nm_provider_ops {
	const char *name;           /* unique, 1..31 chars */
	unsigned int flags;         /* NM_PROV_F_* */

	/* Required.  Map or import the memory described by mem->size/order
	 * and opts; fill cpu_base/io_base/fd/priv/detail.
	 * Return 0 or -errno. */
	int (*area_init)(struct nm_area_mem *mem, const struct nm_area_opts *opts);

	/* Required.  Release everything area_init took.  Called once, after
	 * the last chunk has come back (or at once after a GONE revoke). */
	void (*area_fini)(struct nm_area_mem *mem);

	/* Required.  Take up to n free chunks; write their indexes; return how
	 * many (0 when none).  Thread-safe.  nm_genpool_alloc_bulk is a
	 * ready-made implementation over the core's allocator. */
	int (*alloc_bulk)(struct nm_area_mem *mem, uint32_t *idx, unsigned int n);

	/* Required.  Give n chunks back.  Thread-safe.  nm_genpool_release
	 * is the ready-made one. */
	void (*release)(struct nm_area_mem *mem, const uint32_t *idx, unsigned int n);

	/* Optional.  IO address of a chunk; default io_base + idx * chunk_size. */
	int (*io_addr)(const struct nm_area_mem *mem, uint32_t idx, uint64_t *addr);

	/* Optional.  Make [off, off+len) of the area coherent for the device
	 * or the CPU.  NULL means coherent memory: a no-op. */
	int (*sync)(struct nm_area_mem *mem, uint64_t off, uint64_t len,
		    enum nm_sync_dir dir);

	/* Optional.  The owner revoked the area.  With NM_REVOKE_GONE the
	 * memory is already gone: drop it now (close fds); the core then
	 * replaces the CPU mapping with an inaccessible one. */
	int (*revoke)(struct nm_area_mem *mem, unsigned int flags);

	/* Optional.  Copy len bytes from host memory src into the area at off,
	 * for memory the CPU cannot write (device memory).  May be
	 * asynchronous: call done(arg) once the copy has landed and src may be
	 * reused, from this call or from a later poll.  NULL: the core
	 * memcpy()s through cpu_base and calls done at once. */
	int (*place)(struct nm_area_mem *mem, uint64_t off, const void *src,
		     size_t len, void (*done)(void *arg, int status), void *arg);

	/* Optional.  Progress asynchronous work (completed places, deferred
	 * releases); never blocks.  Return how many completions it ran. */
	int (*poll)(struct nm_area_mem *mem);
};

/**
 * nm_provider_register - make a provider available to nm_area_create().
 * The table must outlive every area created from it (static const).
 * Return: 0; -EINVAL (NULL, a required slot missing, bad name, unknown
 * flags); -EEXIST (name taken); -ENOSPC (too many providers).
 */
NM_API int nm_provider_register(const struct nm_provider_ops *ops);

/** nm_provider_find - look a provider up by name.
 * Return: its ops table, or NULL with errno: ENOENT (no such provider),
 * EINVAL (@name NULL). */
NM_API const struct nm_provider_ops *nm_provider_find(const char *name);

/** nm_provider_list - names of registered providers, up to @max of them
 * into @names.
 * Return: how many providers are registered (may exceed @max), or
 * -EINVAL (@max negative, or @names NULL with @max > 0). */
NM_API int nm_provider_list(const char **names, int max);

/* The core's gen_pool-like chunk allocator, for providers' alloc_bulk and
 * release slots.  Thread-safe; bulk operations take its lock once. */
/**
 * nm_genpool_alloc_bulk - take up to @n free chunks of the area from the
 * core's allocator; their indexes into @idx.  A ready-made alloc_bulk slot.
 * Return: how many were taken (0 when none is free), or -EINVAL (@mem
 * without an allocator, @idx NULL).
 */
NM_API int nm_genpool_alloc_bulk(struct nm_area_mem *mem, uint32_t *idx,
				 unsigned int n);
/**
 * nm_genpool_release - give @n chunks back to the core's allocator.  A
 * ready-made release slot.  An index out of range or already free is
 * skipped (the pool refuses double puts before they get here).
 * Return: nothing; never fails.
 */
NM_API void nm_genpool_release(struct nm_area_mem *mem, const uint32_t *idx,
			       unsigned int n);
/** nm_genpool_avail - free chunks left in the allocator.
 * Return: the count; 0 for NULL.  Never fails. */
NM_API uint32_t nm_genpool_avail(const struct nm_genpool *gp);

#ifdef __cplusplus
}
#endif
#endif /* NETMEM_PROVIDER_H */

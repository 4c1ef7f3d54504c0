/* SPDX-License-Identifier: MIT */
/*
 * buf.c - the calls on one buffer (nm_buf_*): reference, data and I/O
 * address, sync, place, and the put that finds the buffer's pool itself.
 * A buffer names its chunk's descriptor; each call first finds the area
 * that descriptor lies in (registry.h), so a pointer that is no
 * descriptor earns an error, not a wild access.  The pool's own paths
 * (alloc, put, fragments) are pool.c's.
 */
#include "core.h"
#include "registry.h"
#include <errno.h>
#include <string.h>

/* Find the area of a pointer that claims to be a descriptor. */
static inline __attribute__((always_inline)) struct nm_area *
buf_area(const struct nm_buf *buf)
{
	int aligned = 0;
	struct nm_area *a;

	if (!buf || !buf->iov)
		return NULL;
	a = nm_area_find_iov(buf->iov, &aligned);
	return aligned ? a : NULL;
}

NM_API int nm_buf_put(const struct nm_buf *buf)
{
	struct nm_pool *p;

	if (!buf)
		return -EINVAL;
	if (!buf_area(buf))
		return -EFAULT;
	p = atomic_load_explicit(&buf->iov->pool, memory_order_relaxed);
	if (!p)
		return -EALREADY;
	return nm_pool_put(p, buf);
}

/* Whether a chunk whose count read *@r (an acquire load) has a holder;
 * *@r may be updated to a newer count on the way. */
static int iov_held(struct nm_iov *iov, uint32_t *r)
{
	for (;;) {
		struct nm_pool *p;
		int u;

		if (!*r)
			return 0;
		if (!nm_frag_biased(*r))
			return 1;
		p = atomic_load_explicit(&iov->pool, memory_order_relaxed);
		if (!p)
			return 0;
		u = nm_frag_unheld(p, iov, r);
		if (u >= 0)
			return !u;
	}
}

int nm_buf_check(const struct nm_buf *buf)
{
	struct nm_area *a = buf_area(buf);
	uint32_t r;

	if (!buf || !buf->iov)
		return -EINVAL;
	if (!a)
		return -EFAULT;
	if ((uint64_t)buf->off + buf->len > a->mem.chunk_size)
		return -ERANGE;
	r = atomic_load_explicit(&buf->iov->ref, memory_order_acquire);
	if (!iov_held(buf->iov, &r))
		return -EALREADY;
	return 0;
}

NM_API int nm_buf_get(const struct nm_buf *buf)
{
	struct nm_area *a = buf_area(buf);
	uint32_t r;

	if (!buf)
		return -EINVAL;
	if (!a)
		return -EFAULT;
	if ((uint64_t)buf->off + buf->len > a->mem.chunk_size)
		return -ERANGE;
	if (!nm_area_live(a))
		return -ENODEV;
	/* acquire: nm_frag_unheld needs it (a chunk being carved) */
	r = atomic_load_explicit(&buf->iov->ref, memory_order_acquire);
	do {
		if (!iov_held(buf->iov, &r))
			return -EALREADY;
	} while (!atomic_compare_exchange_weak_explicit(&buf->iov->ref, &r, r + 1,
							memory_order_acquire,
							memory_order_acquire));
	return 0;
}

NM_API void *nm_buf_data(const struct nm_buf *buf)
{
	struct nm_area *a = buf_area(buf);
	char *base;

	/* Look the descriptor up before touching it: an invalid buffer
	 * gets NULL, not a wild dereference, and a window that does not lie
	 * in its chunk (put would say -ERANGE) gets NULL, not a pointer past
	 * the chunk. */
	if (nm_unlikely(!a || (uint64_t)buf->off + buf->len > a->mem.chunk_size ||
			!nm_area_live(a)))
		return NULL;
	base = nm_iov_cpu(buf->iov);
	return base ? base + buf->off : NULL;
}

NM_API struct nm_area *nm_buf_area(const struct nm_buf *buf)
{
	return buf_area(buf);
}

NM_API int nm_buf_chunk_index(const struct nm_buf *buf)
{
	if (!buf_area(buf))
		return -EINVAL;
	return (int)nm_iov_index(buf->iov);
}

NM_API int nm_buf_io_addr(const struct nm_buf *buf, uint64_t *addr)
{
	struct nm_area *a = buf_area(buf);
	uint64_t base;
	int r;

	if (!a || !addr)
		return -EINVAL;
	if ((uint64_t)buf->off + buf->len > a->mem.chunk_size)
		return -ERANGE;
	if (!nm_area_live(a))
		return -ENODEV;
	if (a->ops->io_addr) {
		r = a->ops->io_addr(&a->mem, nm_iov_index(buf->iov), &base);
		if (r)
			return r;
	} else {
		base = a->mem.io_base + ((uint64_t)nm_iov_index(buf->iov) << a->shift);
	}
	*addr = base + buf->off;
	return 0;
}

NM_API int nm_buf_sync(const struct nm_buf *buf, enum nm_sync_dir dir)
{
	struct nm_area *a = buf_area(buf);

	if (!a || (dir != NM_SYNC_FOR_DEVICE && dir != NM_SYNC_FOR_CPU))
		return -EINVAL;
	if ((uint64_t)buf->off + buf->len > a->mem.chunk_size)
		return -ERANGE;
	if (!nm_area_live(a))
		return -ENODEV;
	if (!a->ops->sync)
		return 0;
	return NM_FAULT(-EIO, a->ops->sync(&a->mem, ((uint64_t)nm_iov_index(buf->iov) << a->shift) + buf->off,
			    buf->len, dir));
}

NM_API int nm_buf_place(const struct nm_buf *dst, const void *src, size_t len,
			void (*done)(void *arg, int status), void *arg)
{
	struct nm_area *a = buf_area(dst);
	char *cpu;

	if (!a || (!src && len))
		return -EINVAL;
	if (len > dst->len || (uint64_t)dst->off + dst->len > a->mem.chunk_size)
		return -ERANGE;
	if (!nm_area_live(a))
		return -ENODEV;
	if (a->ops->place)
		return a->ops->place(&a->mem,
				     ((uint64_t)nm_iov_index(dst->iov) << a->shift) + dst->off,
				     src, len, done, arg);
	cpu = nm_iov_cpu(dst->iov);
	if (!cpu)
		return -EOPNOTSUPP;
	if (len)	/* src may be NULL when len is 0: memcpy would be UB */
		memcpy(cpu + dst->off, src, len);
	if (done)
		done(arg, 0);
	return 0;
}

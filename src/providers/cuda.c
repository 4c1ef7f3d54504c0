/* SPDX-License-Identifier: MIT */
/*
 * cuda.c - the "cuda" provider: GPU device memory as an area.
 *
 * The memory is one cuMemAlloc allocation, carved into chunks by the core
 * like any other; the CPU cannot read it (cpu_base NULL) and a chunk's IO
 * address is its CUdeviceptr.  Where the device and driver allow, the
 * allocation is exported as a dmabuf (cuMemGetHandleForAddressRange), the
 * currency a NIC binding needs (DESIGN rule 2).
 *
 * Two queues make the asynchronous parts work without ever blocking the
 * receive thread:
 *
 *  - placements: nm_buf_place() queues the caller's completion and a
 *    copy on the area's own stream.  A copy that continues the previous
 *    one in both source and destination joins it, up to RUN_MAX bytes:
 *    a cuMemcpyHtoDAsync costs microseconds of driver time whatever its
 *    size, so fragments carved in order from pinned staging in order go
 *    as one copy instead of one each.  The open run is issued when the
 *    next place does not continue it, when it is full, or at the next
 *    poll.  A closed run does not go to the driver alone: up to
 *    BATCH_MAX of them go in one cuMemcpyBatchAsync (CUDA 12.8+), issued
 *    when the batch fills or carries BATCH_BYTES, and at every event
 *    record, so a stream whose places rarely continue each other (staging
 *    buffers reused out of address order) still costs one driver call per
 *    batch, not one per copy.  One event covers a run of places (stream order means it
 *    completes after all of them), recorded every PQ_BATCH places or at
 *    the next poll, so the cost of events does not grow with the number
 *    of small fragments either.
 *  - deferred releases: nm_cuda_put_after() records an event on the
 *    consumer's stream; poll puts the buffer once the event has completed,
 *    so a chunk is never recycled while a kernel may still read it.
 *
 * Both are drained by nm_area_poll(), which queries events with
 * cuEventQuery only.  Callbacks and puts run after the area's lock is
 * dropped and after the last touch of the provider state, because a put
 * may return the area's last chunk and tear the state down.
 */
#include "providers.h"
#include "../util/fd.h"
#include "../util/cudadrv.h"
#include <netmem/cuda.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define PQ_INIT   1024 /* placement queue entries (grows by doubling) */
#define PQ_BATCH  1024 /* most places one event covers */
#define RUN_MAX   (4u << 20) /* most bytes one merged copy carries */
#define BATCH_MAX 64   /* most copies one batch call carries */
#define BATCH_BYTES (8u << 20) /* a batch this full is issued at once */
#define DQ_INIT   256  /* deferred-release entries (grows) */
#define POLL_MAX  256  /* completions one poll runs; bounds its stack */
#define POLL_STREAMS 8 /* streams a poll remembers as "not done yet" */

struct cu_place {
	CUevent ev;    /* NULL: covered by the next entry that has one */
	int status;    /* non-zero: its copy failed to issue */
	void (*done)(void *arg, int status);
	void *arg;
};

struct cu_defer {
	CUevent ev;
	CUstream stream;
	struct nm_buf buf;
};

struct cu_area {
	const struct nm_cudrv *cu;
	int ordinal;
	CUcontext ctx;
	CUstream stream;
	CUdeviceptr dptr;
	size_t size;
	int gone;                /* NM_REVOKE_GONE: device memory freed */
	pthread_mutex_t lock;    /* everything below */
	struct cu_place *pq;     /* ring, pq_cap a power of 2 */
	uint32_t pq_cap, pq_head, pq_len, pq_uncovered;
	/* the open run: merged copies not issued yet, and how many of the
	 * queue's last entries wait for it */
	CUdeviceptr run_dst;
	const char *run_src;
	size_t run_len;
	uint32_t run_n;
	/* closed runs waiting for one batch call: the queue's last b_places
	 * entries (the open run's after them), b_n[i] of them run i's */
	CUdeviceptr b_dst[BATCH_MAX], b_src[BATCH_MAX];
	size_t b_len[BATCH_MAX];
	uint32_t b_n[BATCH_MAX];
	uint32_t bn, b_places;
	size_t b_bytes;
	int batch;               /* the driver takes batches */
	struct cu_defer *dq;
	uint32_t dq_cap, dq_len;
	CUevent *evs;            /* free events, reused: cuEventCreate is slow */
	uint32_t ev_cap, ev_len;
	struct nm_cuda_stats st;
};

static inline struct cu_place *pq_at(struct cu_area *ca, uint32_t i)
{
	return &ca->pq[(ca->pq_head + i) & (ca->pq_cap - 1)];
}

static int ctx_enter(struct cu_area *ca)
{
	CUresult r = ca->cu->CtxPushCurrent(ca->ctx);
	return r == CUDA_SUCCESS ? 0 : nm_cudrv_errno(r);
}

static void ctx_leave(struct cu_area *ca)
{
	CUcontext old;
	ca->cu->CtxPopCurrent(&old);
}

/* Context held, lock held. */
static CUevent ev_get(struct cu_area *ca, int *err)
{
	CUevent ev = NULL;
	CUresult r;

	if (ca->ev_len)
		return ca->evs[--ca->ev_len];
	r = ca->cu->EventCreate(&ev, CU_EVENT_DISABLE_TIMING);
	*err = nm_cudrv_errno(r);
	return r == CUDA_SUCCESS ? ev : NULL;
}

static void ev_put(struct cu_area *ca, CUevent ev)
{
	if (ca->ev_len == ca->ev_cap) {
		uint32_t cap = ca->ev_cap ? ca->ev_cap * 2 : 64;
		CUevent *n = nm_realloc(ca->evs, cap * sizeof(*n));
		if (!n) {
			ca->cu->EventDestroy(ev);
			return;
		}
		ca->evs = n;
		ca->ev_cap = cap;
	}
	ca->evs[ca->ev_len++] = ev;
}

static int pq_grow(struct cu_area *ca)
{
	uint32_t cap = ca->pq_cap * 2;
	struct cu_place *n;

	if (cap < ca->pq_cap)
		return -ENOMEM;
	n = nm_malloc(cap * sizeof(*n));
	if (!n)
		return -ENOMEM;
	for (uint32_t i = 0; i < ca->pq_len; i++)
		n[i] = *pq_at(ca, i);
	free(ca->pq);
	ca->pq = n;
	ca->pq_cap = cap;
	ca->pq_head = 0;
	return 0;
}

/* Issue one copy the plain way.  Context held. */
static CUresult copy1(struct cu_area *ca, CUdeviceptr dst, const char *src, size_t len)
{
	ca->st.copies++;
	ca->st.copy_calls++;
	return ca->cu->MemcpyHtoDAsync(dst, src, len, ca->stream);
}

/* Give the closed runs to the driver: one batch call, or a copy each
 * where the driver has no batch call (or refused one: then never again on
 * this area, and each is issued alone; a copy issued twice is harmless,
 * the same bytes to the same place before anything reads them).  A run
 * whose copy failed completes its places with the error.  Context and
 * lock held. */
static void batch_flush(struct cu_area *ca)
{
	uint32_t n = ca->bn, first = ca->pq_len - ca->run_n - ca->b_places;
	CUresult r = CUDA_ERROR_NOT_SUPPORTED;

	if (!n)
		return;
	if (ca->batch && n > 1) {
		struct nm_cu_memcpy_attr attr = {
			.src_access_order = CU_MEMCPY_SRC_ACCESS_ORDER_STREAM,
		};
		size_t idx = 0, fail = SIZE_MAX;

		if (ca->cu->MemcpyBatchAsync)
			r = ca->cu->MemcpyBatchAsync(ca->b_dst, ca->b_src, ca->b_len, n,
						     &attr, &idx, 1, ca->stream);
		else
			r = ca->cu->MemcpyBatchAsync12(ca->b_dst, ca->b_src, ca->b_len, n,
						       &attr, &idx, 1, &fail, ca->stream);
		if (r == CUDA_SUCCESS) {
			ca->st.copies += n;
			ca->st.copy_calls++;
		} else {
			ca->batch = 0;
			ca->st.batch_refused++;
		}
	}
	for (uint32_t i = 0; i < n; i++) {
		if (r != CUDA_SUCCESS) {
			CUresult e = copy1(ca, ca->b_dst[i], (const char *)(uintptr_t)ca->b_src[i],
					   ca->b_len[i]);
			if (e != CUDA_SUCCESS) {
				int err = nm_cudrv_errno(e);

				for (uint32_t k = 0; k < ca->b_n[i]; k++)
					pq_at(ca, first + k)->status = err;
			}
		}
		first += ca->b_n[i];
	}
	ca->bn = 0;
	ca->b_places = 0;
	ca->b_bytes = 0;
}

/* Close the open run: into the batch, with the places that wait for it
 * (places of no bytes queued before it among them).  Return 1 when the
 * batch should go to the driver now: full, carrying BATCH_BYTES, or the
 * driver takes no batches; also when the batch was already full (a flush
 * that could not enter the context), and then the run is still open:
 * flush, and close it again.  Lock held. */
static int run_close(struct cu_area *ca)
{
	if (!ca->run_len)
		return 0;
	if (ca->bn == BATCH_MAX)
		return 1;	/* full (a flush could not run): not closed yet */
	ca->b_dst[ca->bn] = ca->run_dst;
	ca->b_src[ca->bn] = (CUdeviceptr)(uintptr_t)ca->run_src;
	ca->b_len[ca->bn] = ca->run_len;
	ca->b_n[ca->bn] = ca->run_n;
	ca->bn++;
	ca->b_places += ca->run_n;
	ca->b_bytes += ca->run_len;
	ca->run_len = 0;
	ca->run_n = 0;
	return ca->bn == BATCH_MAX || ca->b_bytes >= BATCH_BYTES || !ca->batch;
}

/* Issue everything queued: the open run and the batch.  Places of no
 * bytes after the last run wait for nothing.  Context and lock held. */
static void run_flush(struct cu_area *ca)
{
	if (run_close(ca) && ca->run_len) {
		batch_flush(ca);	/* it was full: room for the run */
		run_close(ca);
	}
	batch_flush(ca);
	ca->run_n = 0;
}

/* Record one event after the copies queued since the last one (the open
 * run issued first), so that they can complete.  Context and lock held. */
static void pq_cover(struct cu_area *ca)
{
	struct cu_place *last;
	CUevent ev;
	int err = 0;

	run_flush(ca);
	if (!ca->pq_uncovered)
		return;
	last = pq_at(ca, ca->pq_len - 1);
	ev = ev_get(ca, &err);
	if (!ev) {
		ca->st.place_errors++;
		return; /* retried at the next place or poll */
	}
	if (ca->cu->EventRecord(ev, ca->stream) != CUDA_SUCCESS) {
		ev_put(ca, ev);
		ca->st.place_errors++;
		return;
	}
	last->ev = ev;
	ca->pq_uncovered = 0;
	ca->st.events_recorded++;
}

static int parse_args(const struct nm_area_opts *opts, struct nm_cuda_args *args)
{
	const struct nm_cuda_args *ua = opts->provider_arg;
	int err = nm_opts_copy(args, sizeof(*args), ua);

	if (err)
		return err;
	if (args->flags & ~NM_CUDA_F_ALL || args->device < 0)
		return -EINVAL;
	if ((args->flags & NM_CUDA_F_NO_DMABUF) && (args->flags & NM_CUDA_F_REQUIRE_DMABUF))
		return -EINVAL;
	return 0;
}

/* Export the allocation as a dmabuf where the device says it can; write
 * what happened into detail either way.  Context held. */
static int export_dmabuf(struct cu_area *ca, struct nm_area_mem *mem,
			 const struct nm_cuda_args *args, char *why, size_t whylen)
{
	CUdevice dev;
	CUresult r;
	int sup = 0, fd = -1;

	if (args->flags & NM_CUDA_F_NO_DMABUF) {
		snprintf(why, whylen, "dmabuf: not requested");
		return -EOPNOTSUPP;
	}
	if (!ca->cu->MemGetHandleForAddressRange) {
		snprintf(why, whylen, "dmabuf: driver lacks cuMemGetHandleForAddressRange");
		return -EOPNOTSUPP;
	}
	ca->cu->DeviceGet(&dev, ca->ordinal);
	r = ca->cu->DeviceGetAttribute(&sup, CU_DEVICE_ATTRIBUTE_DMA_BUF_SUPPORTED, dev);
	if (r != CUDA_SUCCESS || !sup) {
		/* The proprietary kernel module says no; the open one
		 * (nvidia-open) on a kernel with dmabuf support says yes. */
		snprintf(why, whylen, "dmabuf: unsupported by device (needs nvidia-open)");
		return -EOPNOTSUPP;
	}
	r = ca->cu->MemGetHandleForAddressRange(&fd, ca->dptr, ca->size,
						CU_MEM_RANGE_HANDLE_TYPE_DMA_BUF_FD, 0);
	if (r != CUDA_SUCCESS || fd < 0) {
		snprintf(why, whylen, "dmabuf: export failed: %s", nm_cudrv_errname(r));
		return r != CUDA_SUCCESS ? nm_cudrv_errno(r) : -EIO;
	}
	mem->fd = fd;
	snprintf(why, whylen, "dmabuf fd %d", fd);
	return 0;
}

static void cu_area_free(struct cu_area *ca)
{
	pthread_mutex_destroy(&ca->lock);
	free(ca->pq);
	free(ca->dq);
	free(ca->evs);
	free(ca);
}

static int cuda_area_init(struct nm_area_mem *mem, const struct nm_area_opts *opts)
{
	struct nm_cuda_args args;
	const struct nm_cudrv *cu;
	struct cu_area *ca;
	char why[64];
	CUresult r;
	int err;

	err = parse_args(opts, &args);
	if (err)
		return err;
	cu = nm_cudrv_get(&err);
	if (!cu)
		return err; /* -EOPNOTSUPP: no driver; -ENODEV: no device */
	if (args.device >= cu->device_count)
		return -ENODEV;
	if (!mem->size)
		return -EINVAL;

	ca = nm_calloc(1, sizeof(*ca));
	if (!ca)
		return -ENOMEM;
	ca->cu = cu;
	ca->ordinal = args.device;
	ca->size = mem->size;
	pthread_mutex_init(&ca->lock, NULL);
	ca->pq_cap = PQ_INIT;
	ca->batch = (cu->MemcpyBatchAsync || cu->MemcpyBatchAsync12) &&
		    !getenv("NM_CUDA_NO_BATCH");
	ca->pq = nm_malloc(PQ_INIT * sizeof(*ca->pq));
	ca->dq_cap = DQ_INIT;
	ca->dq = nm_malloc(DQ_INIT * sizeof(*ca->dq));
	if (!ca->pq || !ca->dq) {
		err = -ENOMEM;
		goto fail;
	}
	err = nm_cudrv_primary_ctx(args.device, &ca->ctx);
	if (err)
		goto fail;
	err = ctx_enter(ca);
	if (err)
		goto fail;
	r = cu->MemAlloc(&ca->dptr, ca->size);
	if (r != CUDA_SUCCESS) {
		err = nm_cudrv_errno(r);
		goto fail_ctx;
	}
	if (mem->flags & NM_AREA_F_POPULATE) {
		r = cu->MemsetD8(ca->dptr, 0, ca->size);
		if (r != CUDA_SUCCESS) {
			err = nm_cudrv_errno(r);
			goto fail_mem;
		}
	}
	r = cu->StreamCreate(&ca->stream, CU_STREAM_NON_BLOCKING);
	if (r != CUDA_SUCCESS) {
		err = nm_cudrv_errno(r);
		goto fail_mem;
	}
	mem->fd = -1;
	err = export_dmabuf(ca, mem, &args, why, sizeof(why));
	if (err && (args.flags & NM_CUDA_F_REQUIRE_DMABUF)) {
		err = -EOPNOTSUPP;
		goto fail_stream;
	}
	ctx_leave(ca);
	mem->cpu_base = NULL;
	mem->io_base = ca->dptr;
	mem->priv = ca;
	snprintf(mem->detail, sizeof(mem->detail), "cuMemAlloc on device %d; %.60s",
		 ca->ordinal % 1000, why);
	return 0;

fail_stream:
	cu->StreamDestroy(ca->stream);
fail_mem:
	cu->MemFree(ca->dptr);
fail_ctx:
	ctx_leave(ca);
fail:
	cu_area_free(ca);
	return err;
}

static void cuda_area_fini(struct nm_area_mem *mem)
{
	struct cu_area *ca = mem->priv;
	struct cu_place *left = NULL;
	uint32_t nleft = 0, lhead = 0, lmask = 0;
	int status;

	if (!ca)
		return;
	pthread_mutex_lock(&ca->lock);
	if (!ctx_enter(ca)) {
		/* Copies still in flight write into the memory about to be
		 * freed, and their sources must not be reused before they
		 * land: wait for them (the slow path, once). */
		run_flush(ca);
		ca->cu->StreamSynchronize(ca->stream);
		for (uint32_t i = 0; i < ca->pq_len; i++) {
			struct cu_place *p = pq_at(ca, i);
			if (p->ev)
				ca->cu->EventDestroy(p->ev);
		}
		for (uint32_t i = 0; i < ca->dq_len; i++)
			ca->cu->EventDestroy(ca->dq[i].ev);
		for (uint32_t i = 0; i < ca->ev_len; i++)
			ca->cu->EventDestroy(ca->evs[i]);
		if (!ca->gone)
			ca->cu->MemFree(ca->dptr);
		ca->cu->StreamDestroy(ca->stream);
		ctx_leave(ca);
	}
	/* The queue itself goes to the completions below: no allocation
	 * here, where failing would lose them. */
	if (ca->pq_len) {
		left = ca->pq;
		nleft = ca->pq_len;
		lhead = ca->pq_head;
		lmask = ca->pq_cap - 1;
		ca->pq = NULL;
	}
	status = ca->gone ? -ENODEV : 0;
	if (mem->fd >= 0) {
		close(mem->fd);
		mem->fd = -1;
	}
	mem->priv = NULL;
	pthread_mutex_unlock(&ca->lock);
	cu_area_free(ca);
	/* Every queued completion runs exactly once, even at teardown. */
	for (uint32_t i = 0; i < nleft; i++) {
		struct cu_place *p = &left[(lhead + i) & lmask];

		if (p->done)
			p->done(p->arg, status);
	}
	free(left);
}

static int cuda_revoke(struct nm_area_mem *mem, unsigned int flags)
{
	struct cu_area *ca = mem->priv;

	if (!ca || !(flags & NM_REVOKE_GONE))
		return 0; /* plain revoke: memory stays until the last chunk */
	pthread_mutex_lock(&ca->lock);
	if (!ca->gone && !ctx_enter(ca)) {
		/* "Gone" means free it now.  GPU work in the context (our
		 * copies, consumers' kernels) may still touch the memory, so
		 * wait for it first: revocation is a slow path. */
		run_flush(ca);
		ca->cu->CtxSynchronize();
		ca->cu->MemFree(ca->dptr);
		ca->gone = 1;
		ctx_leave(ca);
	}
	/* Drop the exported dmabuf's hold on the memory; the number stays
	 * ours until area_fini (see nm_fd_retire). */
	if (mem->fd >= 0)
		nm_fd_retire(mem->fd);
	pthread_mutex_unlock(&ca->lock);
	return 0;
}

static int cuda_place(struct nm_area_mem *mem, uint64_t off, const void *src,
		      size_t len, void (*done)(void *arg, int status), void *arg)
{
	struct cu_area *ca = mem->priv;
	CUdeviceptr dst;
	struct cu_place *p;
	int err;

	if (!ca)
		return -ENODEV;
	dst = ca->dptr + off;
	pthread_mutex_lock(&ca->lock);
	if (ca->gone) {
		err = -ENODEV;
		goto out;
	}
	if (ca->pq_len == ca->pq_cap && (err = pq_grow(ca)))
		goto out;
	if (len && ca->run_len && ca->run_src + ca->run_len == (const char *)src &&
	    ca->run_dst + ca->run_len == dst && ca->run_len + len <= RUN_MAX) {
		ca->run_len += len;	/* continues the open run: no driver call */
	} else if (len) {
		if (ca->run_len && run_close(ca)) {
			err = ctx_enter(ca);
			if (err)
				goto out;
			batch_flush(ca);
			if (ca->run_len && run_close(ca))	/* it was full */
				batch_flush(ca);
			ctx_leave(ca);
		}
		ca->run_dst = dst;
		ca->run_src = src;
		ca->run_len = len;
	}
	p = pq_at(ca, ca->pq_len++);
	p->ev = NULL;
	p->status = 0;
	p->done = done;
	p->arg = arg;
	ca->run_n++;
	ca->st.place_calls++;
	ca->st.place_bytes += len;
	if ((++ca->pq_uncovered >= PQ_BATCH || ca->run_len >= RUN_MAX) && !ctx_enter(ca)) {
		pq_cover(ca);
		ctx_leave(ca);
	}
	pthread_mutex_unlock(&ca->lock);
	return 0;
out:
	ca->st.place_errors++;
	pthread_mutex_unlock(&ca->lock);
	return err;
}

static int stream_blocked(CUstream const *set, unsigned int n, CUstream s)
{
	for (unsigned int i = 0; i < n; i++)
		if (set[i] == s)
			return 1;
	return 0;
}

static int cuda_poll(struct nm_area_mem *mem)
{
	struct cu_area *ca = mem->priv;
	struct cu_place dv[POLL_MAX];
	int ds[POLL_MAX];
	struct nm_buf pv[POLL_MAX];
	CUstream blocked[POLL_STREAMS];
	unsigned int nd = 0, np = 0, nb = 0;
	uint32_t j = 0;

	if (!ca)
		return 0;
	pthread_mutex_lock(&ca->lock);
	ca->st.polls++;
	if (ctx_enter(ca)) {
		pthread_mutex_unlock(&ca->lock);
		return 0;
	}
	pq_cover(ca);
	while (ca->pq_len) {
		uint32_t k;
		CUresult r;
		int status;

		uint32_t take;

		for (k = 0; k < ca->pq_len && !pq_at(ca, k)->ev; k++)
			;
		if (k == ca->pq_len || nd == POLL_MAX)
			break;
		r = ca->cu->EventQuery(pq_at(ca, k)->ev);
		if (r == CUDA_ERROR_NOT_READY)
			break; /* later copies cannot be done before this one */
		status = r != CUDA_SUCCESS ? nm_cudrv_errno(r) : ca->gone ? -ENODEV : 0;
		/* An event may cover more places than one poll runs: take
		 * what fits; the event stays with its entry for the next. */
		take = k + 1 <= POLL_MAX - nd ? k + 1 : POLL_MAX - nd;
		if (take == k + 1)
			ev_put(ca, pq_at(ca, k)->ev);
		for (uint32_t i = 0; i < take; i++) {
			dv[nd] = *pq_at(ca, i);
			ds[nd] = dv[nd].status ? dv[nd].status : status;
			if (ds[nd++])
				ca->st.place_errors++;
		}
		ca->st.place_done += take;
		ca->pq_head = (ca->pq_head + take) & (ca->pq_cap - 1);
		ca->pq_len -= take;
	}
	/* Deferred releases may sit on several streams.  Events on one
	 * stream complete in order, so once one is pending the later ones
	 * on that stream need no query. */
	for (uint32_t i = 0; i < ca->dq_len; i++) {
		struct cu_defer *d = &ca->dq[i];

		if (np < POLL_MAX && !stream_blocked(blocked, nb, d->stream)) {
			CUresult r = ca->cu->EventQuery(d->ev);
			if (r != CUDA_ERROR_NOT_READY) {
				/* Done, or the context failed: nothing will
				 * run any more, so releasing is safe. */
				uint32_t ref = atomic_load_explicit(&d->buf.iov->ref,
								    memory_order_relaxed);
				if (!ref)
					ca->st.release_errors++;
				else
					pv[np++] = d->buf;
				ev_put(ca, d->ev);
				ca->st.released++;
				continue;
			}
			if (nb < POLL_STREAMS)
				blocked[nb++] = d->stream;
		}
		ca->dq[j++] = *d;
	}
	ca->dq_len = j;
	ctx_leave(ca);
	pthread_mutex_unlock(&ca->lock);
	/* From here on ca may be freed by a put returning the last chunk. */
	for (unsigned int i = 0; i < nd; i++)
		if (dv[i].done)
			dv[i].done(dv[i].arg, ds[i]);
	for (unsigned int i = 0; i < np; i++)
		nm_buf_put(&pv[i]);
	return (int)(nd + np);
}

const struct nm_provider_ops nm_cuda_ops = {
	.name       = "cuda",
	.flags      = NM_PROV_F_DEVICE,
	.area_init  = cuda_area_init,
	.area_fini  = cuda_area_fini,
	.alloc_bulk = nm_genpool_alloc_bulk,
	.release    = nm_genpool_release,
	.revoke     = cuda_revoke,
	.place      = cuda_place,
	.poll       = cuda_poll,
};

/* ------------------------------------------------------------------ */
/* The public CUDA API                                                  */
/* ------------------------------------------------------------------ */

static struct cu_area *cuda_area_of(const struct nm_area *a, int *err)
{
	if (!a || a->ops != &nm_cuda_ops) {
		*err = -EINVAL;
		return NULL;
	}
	if (!a->mem.priv) {
		*err = -ENODEV;
		return NULL;
	}
	return a->mem.priv;
}

NM_API const char *nm_cuda_status(void)
{
	return nm_cudrv_status();
}

NM_API int nm_cuda_available(void)
{
	int err;
	const struct nm_cudrv *cu = nm_cudrv_get(&err);

	return cu ? cu->device_count : err;
}

/* The sizes of the output structs' first versions (nm_out_copy). */
#define NM_CUDA_DEVICE_INFO_SZ0 160
#define NM_CUDA_STATS_SZ0 88
_Static_assert(sizeof(struct nm_cuda_device_info) >= NM_CUDA_DEVICE_INFO_SZ0, "info only grows");
_Static_assert(sizeof(struct nm_cuda_stats) >= NM_CUDA_STATS_SZ0, "stats only grow");

NM_API int nm_cuda_device_info(int device, struct nm_cuda_device_info *uinfo, size_t size)
{
	struct nm_cuda_device_info full, *info = &full;
	const struct nm_cudrv *cu;
	CUdevice dev;
	size_t total = 0;
	int err;

	if (!uinfo || device < 0 || size < NM_CUDA_DEVICE_INFO_SZ0)
		return -EINVAL;
	cu = nm_cudrv_get(&err);
	if (!cu)
		return err;
	if (device >= cu->device_count || cu->DeviceGet(&dev, device) != CUDA_SUCCESS)
		return -ENODEV;
	memset(info, 0, sizeof(*info));
	cu->DeviceGetName(info->name, sizeof(info->name) - 1, dev);
	if (cu->DeviceGetPCIBusId)
		cu->DeviceGetPCIBusId(info->pci_bus_id, sizeof(info->pci_bus_id) - 1, dev);
	cu->DeviceTotalMem(&total, dev);
	info->total_mem = total;
	cu->DeviceGetAttribute(&info->cc_major, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR, dev);
	cu->DeviceGetAttribute(&info->cc_minor, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR, dev);
	if (cu->DeviceGetAttribute(&info->dmabuf_supported,
				   CU_DEVICE_ATTRIBUTE_DMA_BUF_SUPPORTED, dev) != CUDA_SUCCESS)
		info->dmabuf_supported = 0;
	if (cu->DeviceGetAttribute(&info->gdr_supported,
				   CU_DEVICE_ATTRIBUTE_GPU_DIRECT_RDMA_SUPPORTED, dev) != CUDA_SUCCESS)
		info->gdr_supported = 0;
	info->export_api = cu->MemGetHandleForAddressRange != NULL;
	return nm_out_copy(uinfo, size, info, sizeof(*info), NM_CUDA_DEVICE_INFO_SZ0);
}

/* Run fn in device 0's primary context: pinned host memory is portable,
 * so which context registers it does not matter, but one must be current. */
static int with_ctx0(const struct nm_cudrv **cup, CUcontext *ctx)
{
	int err;

	*cup = nm_cudrv_get(&err);
	if (!*cup)
		return err;
	err = nm_cudrv_primary_ctx(0, ctx);
	if (err)
		return err;
	return (*cup)->CtxPushCurrent(*ctx) == CUDA_SUCCESS ? 0 : -EIO;
}

NM_API void *nm_cuda_host_alloc(size_t size)
{
	const struct nm_cudrv *cu;
	CUcontext ctx, old;
	void *p = NULL;
	CUresult r;
	int err;

	if (!size) {
		errno = EINVAL;
		return NULL;
	}
	err = with_ctx0(&cu, &ctx);
	if (err) {
		errno = -err;
		return NULL;
	}
	r = cu->MemHostAlloc(&p, size, CU_MEMHOSTALLOC_PORTABLE);
	cu->CtxPopCurrent(&old);
	if (r != CUDA_SUCCESS) {
		errno = -nm_cudrv_errno(r);
		return NULL;
	}
	return p;
}

NM_API int nm_cuda_host_free(void *p)
{
	const struct nm_cudrv *cu;
	CUcontext ctx, old;
	CUresult r;
	int err;

	if (!p)
		return -EINVAL;
	err = with_ctx0(&cu, &ctx);
	if (err)
		return err;
	r = cu->MemFreeHost(p);
	cu->CtxPopCurrent(&old);
	return r == CUDA_SUCCESS ? 0 : -EINVAL;
}

#define NM_CUDA_MAX_PINNED 64
static struct {
	struct nm_area *area;
	void *base;
} pinned[NM_CUDA_MAX_PINNED];
static pthread_mutex_t pinned_lock = PTHREAD_MUTEX_INITIALIZER;

NM_API int nm_cuda_pin_area(struct nm_area *area)
{
	const struct nm_cudrv *cu;
	struct nm_area_info info;
	CUcontext ctx, old;
	int err, slot = -1;
	CUresult r;

	if (!area || area->ops == &nm_cuda_ops)
		return -EINVAL;
	if (nm_area_info(area, &info, sizeof(info)))
		return -EINVAL;
	if (info.state != NM_AREA_LIVE)
		return -ENODEV;
	if (!info.cpu_base)
		return -EINVAL;
	pthread_mutex_lock(&pinned_lock);
	for (int i = 0; i < NM_CUDA_MAX_PINNED; i++) {
		if (pinned[i].area == area) {
			pthread_mutex_unlock(&pinned_lock);
			return -EALREADY;
		}
		if (!pinned[i].area && slot < 0)
			slot = i;
	}
	if (slot < 0) {
		pthread_mutex_unlock(&pinned_lock);
		return -ENOSPC;
	}
	err = with_ctx0(&cu, &ctx);
	if (err) {
		pthread_mutex_unlock(&pinned_lock);
		return err;
	}
	r = cu->MemHostRegister(info.cpu_base, info.size, CU_MEMHOSTREGISTER_PORTABLE);
	cu->CtxPopCurrent(&old);
	if (r == CUDA_SUCCESS) {
		pinned[slot].area = area;
		pinned[slot].base = info.cpu_base;
	}
	pthread_mutex_unlock(&pinned_lock);
	return nm_cudrv_errno(r);
}

NM_API int nm_cuda_unpin_area(struct nm_area *area)
{
	const struct nm_cudrv *cu;
	CUcontext ctx, old;
	int err;

	if (!area)
		return -EINVAL;
	pthread_mutex_lock(&pinned_lock);
	for (int i = 0; i < NM_CUDA_MAX_PINNED; i++) {
		if (pinned[i].area != area)
			continue;
		err = with_ctx0(&cu, &ctx);
		if (!err) {
			cu->MemHostUnregister(pinned[i].base);
			cu->CtxPopCurrent(&old);
		}
		pinned[i].area = NULL;
		pinned[i].base = NULL;
		pthread_mutex_unlock(&pinned_lock);
		return 0;
	}
	pthread_mutex_unlock(&pinned_lock);
	return -ENOENT;
}

NM_API int nm_cuda_put_after(const struct nm_buf *buf, void *cu_stream)
{
	struct nm_area *a;
	struct cu_area *ca;
	struct cu_defer *d;
	CUevent ev;
	CUresult r;
	int err = 0;

	if (!buf || !buf->iov)
		return -EINVAL;
	a = nm_buf_area(buf);
	ca = cuda_area_of(a, &err);
	if (!ca)
		return err;
	if ((uint64_t)buf->off + buf->len > a->mem.chunk_size)
		return -EINVAL;
	/* The caller's reference keeps the chunk, hence ca, alive. */
	if (!atomic_load_explicit(&buf->iov->ref, memory_order_relaxed) ||
	    !atomic_load_explicit(&buf->iov->pool, memory_order_relaxed))
		return -EALREADY;
	pthread_mutex_lock(&ca->lock);
	if (ca->dq_len == ca->dq_cap) {
		d = nm_realloc(ca->dq, ca->dq_cap * 2 * sizeof(*d));
		if (!d) {
			err = -ENOMEM;
			goto out;
		}
		ca->dq = d;
		ca->dq_cap *= 2;
	}
	err = ctx_enter(ca);
	if (err)
		goto out;
	ev = ev_get(ca, &err);
	if (!ev) {
		ctx_leave(ca);
		goto out;
	}
	r = ca->cu->EventRecord(ev, (CUstream)cu_stream);
	if (r != CUDA_SUCCESS) {
		ev_put(ca, ev);
		ctx_leave(ca);
		err = nm_cudrv_errno(r);
		goto out;
	}
	ctx_leave(ca);
	d = &ca->dq[ca->dq_len++];
	d->ev = ev;
	d->stream = (CUstream)cu_stream;
	d->buf = *buf;
	ca->st.deferred++;
out:
	pthread_mutex_unlock(&ca->lock);
	return err;
}

NM_API int nm_cuda_area_stats(const struct nm_area *area, struct nm_cuda_stats *ust,
			      size_t size)
{
	struct nm_cuda_stats st;
	struct cu_area *ca;
	int err = 0;

	if (!ust || size < NM_CUDA_STATS_SZ0)
		return -EINVAL;
	ca = cuda_area_of(area, &err);
	if (!ca)
		return err;
	pthread_mutex_lock(&ca->lock);
	st = ca->st;
	st.place_pending = ca->pq_len;
	st.deferred_pending = ca->dq_len;
	pthread_mutex_unlock(&ca->lock);
	return nm_out_copy(ust, size, &st, sizeof(st), NM_CUDA_STATS_SZ0);
}

NM_API void *nm_cuda_area_stream(const struct nm_area *area)
{
	struct cu_area *ca;
	int err = 0;

	ca = cuda_area_of(area, &err);
	if (!ca) {
		errno = -err;
		return NULL;
	}
	return ca->stream;
}

/* SPDX-License-Identifier: MIT */
/*
 * cuda.h - the "cuda" memory provider's own API: GPU device memory as a
 * netmem area, payload placement into it, and release of buffers only
 * after the GPU work that reads them has finished.
 *
 * The library loads the CUDA driver (libcuda.so.1) at run time; it needs
 * neither the CUDA toolkit to build nor a GPU to run.  Where the driver is
 * absent, nm_area_create("cuda", ...) fails with EOPNOTSUPP and
 * nm_cuda_status() says why; where the driver loads but finds no GPU it
 * fails with ENODEV.
 *
 * A cuda area's memory comes from cuMemAlloc on the chosen device.  It is
 * unreadable for the CPU (nm_buf_data() returns NULL); a buffer's IO
 * address (nm_buf_io_addr) is its CUdeviceptr.  Where the device supports
 * it the area is exported as a dmabuf (nm_area_info().dmabuf_fd), ready to
 * be bound to a NIC queue for devmem TCP.  Payload gets in through
 * nm_buf_place(), an asynchronous copy completed by nm_area_poll().
 *
 * Contexts: the provider works in the device's primary context, the one
 * the CUDA runtime uses, so streams created with cudaStreamCreate (or
 * cuStreamCreate in the primary context) can be passed in here.
 */
#ifndef NETMEM_CUDA_H
#define NETMEM_CUDA_H

#include <netmem/netmem.h>

#ifdef __cplusplus
extern "C" {
#endif

/* nm_cuda_args.flags */
#define NM_CUDA_F_NO_DMABUF      (1u << 0) /* do not export a dmabuf */
#define NM_CUDA_F_REQUIRE_DMABUF (1u << 1) /* fail (EOPNOTSUPP) unless exported */
#define NM_CUDA_F_ALL            0x3u

/*
 * The cuda provider's argument: nm_area_opts.provider_arg points to one
 * (NULL means device 0, default flags).  Declare with
 * NM_OPTS(nm_cuda_args, ca, .device = 1).
 */
struct nm_cuda_args {
	size_t sz;          /* sizeof(struct nm_cuda_args) */
	int device;         /* CUDA device ordinal */
	unsigned int flags; /* NM_CUDA_F_* */
};

/**
 * nm_cuda_status - why CUDA is on or off in this process, as one line:
 * "CUDA driver 13.0, 1 device(s)", "no CUDA driver (libcuda.so.1: ...)",
 * "CUDA driver present but cuInit failed: ...".  Loads the driver on
 * first call (thread-safe).
 * Return: that line, a static string; never NULL, never fails.
 */
NM_API const char *nm_cuda_status(void);

/**
 * nm_cuda_available - whether the cuda provider can work here.
 * Return: the number of CUDA devices (> 0); -EOPNOTSUPP (no or too old
 * driver); -ENODEV (driver present, cuInit failed or no device).
 */
NM_API int nm_cuda_available(void);

/* What nm_cuda_device_info() reports about one device. */
struct nm_cuda_device_info {
	char name[96];
	char pci_bus_id[32];     /* "0000:17:00.0", or "" when unknown */
	uint64_t total_mem;      /* bytes */
	int cc_major, cc_minor;  /* compute capability */
	int dmabuf_supported;    /* CU_DEVICE_ATTRIBUTE_DMA_BUF_SUPPORTED */
	int gdr_supported;       /* CU_DEVICE_ATTRIBUTE_GPU_DIRECT_RDMA_SUPPORTED */
	int export_api;          /* the driver has cuMemGetHandleForAddressRange */
};

/**
 * nm_cuda_device_info - describe device @device into @info, of @size bytes
 * (sizeof(*info)).
 * Return: 0; -EINVAL (NULL info, @size too small, negative device);
 * -ENODEV (no such device); -EOPNOTSUPP (no driver).
 */
NM_API int nm_cuda_device_info(int device, struct nm_cuda_device_info *info,
			       size_t size);

/**
 * nm_cuda_host_alloc - @size bytes of pinned (page-locked) host memory
 * from cuMemHostAlloc, portable across contexts.  Copies from it into a
 * cuda area overlap with the CPU; copies from ordinary pageable memory
 * are staged by the driver and serialise.  Use it for staging buffers.
 * Return: the memory, or NULL with errno: EINVAL (size 0), EOPNOTSUPP or
 * ENODEV (no CUDA), ENOMEM.
 */
NM_API void *nm_cuda_host_alloc(size_t size);

/** nm_cuda_host_free - free memory from nm_cuda_host_alloc.
 * Return: 0; -EINVAL (NULL, or not from nm_cuda_host_alloc); -EOPNOTSUPP. */
NM_API int nm_cuda_host_free(void *p);

/**
 * nm_cuda_pin_area - page-lock a readable area (host, hugepage, memfd)
 * with cuMemHostRegister, so buffers drawn from an ordinary pool over it
 * are pinned staging memory for nm_buf_place() into a cuda area.
 * Call nm_cuda_unpin_area() before destroying the area.
 * Return: 0; -EINVAL (NULL, a cuda area, or no CPU mapping); -EALREADY
 * (already pinned); -ENODEV (revoked, or no CUDA device); -EOPNOTSUPP
 * (no driver); -ENOMEM; -ENOSPC (too many pinned areas, 64).
 */
NM_API int nm_cuda_pin_area(struct nm_area *host_area);

/** nm_cuda_unpin_area - undo nm_cuda_pin_area.
 * Return: 0; -EINVAL (NULL); -ENOENT (not pinned). */
NM_API int nm_cuda_unpin_area(struct nm_area *host_area);

/**
 * nm_cuda_put_after - put @buf back once the GPU work queued so far on
 * @cu_stream (a CUstream / cudaStream_t of the area's device, primary
 * context; NULL is the legacy default stream) has finished.
 *
 * Records an event on the stream and queues the buffer; nm_area_poll() on
 * the buffer's area puts it (nm_buf_put) once cuEventQuery reports the
 * event complete.  It never blocks, and the buffer is never recycled
 * earlier.  The caller hands its reference over: it must not put @buf
 * itself.  A revoked area's buffers are still deferred (the GPU may be
 * reading them) and released, not recycled, when the event completes.
 *
 * Return: 0; -EINVAL (NULL buf, not a buffer of a cuda area, a stream of
 * another context); -EALREADY (the buffer holds no reference); -ENODEV
 * (the area's device memory is already released); -ENOMEM; -EIO (other
 * CUDA errors).
 */
NM_API int nm_cuda_put_after(const struct nm_buf *buf, void *cu_stream);

/* Counters of one cuda area, from nm_cuda_area_stats(). */
struct nm_cuda_stats {
	uint64_t place_calls;      /* nm_buf_place copies queued */
	uint64_t place_bytes;      /* bytes of those */
	uint64_t place_done;       /* completions run by poll */
	uint64_t place_pending;    /* queued, not yet completed */
	uint64_t place_errors;     /* places that failed to queue or complete */
	uint64_t events_recorded;  /* CUDA events recorded (places share them) */
	uint64_t deferred;         /* nm_cuda_put_after calls accepted */
	uint64_t released;         /* of those, put back after their event */
	uint64_t deferred_pending; /* still waiting for the GPU */
	uint64_t release_errors;   /* deferred puts that nm_buf_put refused */
	uint64_t polls;            /* nm_area_poll calls */
	/* Added after the first release (a shorter struct still works). */
	uint64_t copies;           /* driver copies issued: places that continue
				    * one another share one (place_calls/copies
				    * places a copy) */
	/* Added in 0.4. */
	uint64_t copy_calls;       /* driver calls that issued them: one
				    * cuMemcpyBatchAsync carries up to 64 */
	uint64_t batch_refused;    /* batch calls the driver refused (the area
				    * then issues each copy alone) */
};

/**
 * nm_cuda_area_stats - snapshot of a cuda area's counters into @st, of
 * @size bytes (sizeof(*st)).
 * Return: 0; -EINVAL (NULL, @size too small, not a cuda area); -ENODEV
 * (area torn down).
 */
NM_API int nm_cuda_area_stats(const struct nm_area *area, struct nm_cuda_stats *st,
			      size_t size);

/**
 * nm_cuda_area_stream - the CUstream the area's placements run on, so a
 * consumer can order GPU work after them (cuStreamWaitEvent /
 * cudaStreamWaitEvent) without waiting on the CPU.
 * Return: the stream, or NULL with errno: EINVAL (NULL, or not a cuda
 * area), ENODEV (the area's device memory is torn down).
 */
NM_API void *nm_cuda_area_stream(const struct nm_area *area);

#ifdef __cplusplus
}
#endif
#endif /* NETMEM_CUDA_H */

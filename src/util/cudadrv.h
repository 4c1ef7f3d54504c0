/* SPDX-License-Identifier: MIT */
/*
 * cudadrv.h - the CUDA driver API and NVRTC as netmem uses them, loaded at
 * run time.  Internal, not installed.
 *
 * The build must not need the CUDA toolkit: a Debian box without one has
 * to build and test the whole library.  So the few types, enum values and
 * prototypes netmem needs are declared here (values checked against
 * cuda.h of CUDA 13.0), libcuda.so.1 is dlopen()ed once, and each entry
 * point is looked up under the versioned name cuda.h would have mapped it
 * to (cuMemAlloc -> cuMemAlloc_v2 and so on).  A host without the driver
 * gets a clear "no CUDA driver (...)" status instead of a link error.
 *
 * NVRTC (the run-time CUDA C compiler) is loaded the same way, only by the
 * tests and benchmarks that launch kernels, so that nothing needs nvcc.
 */
#ifndef NM_UTIL_CUDADRV_H
#define NM_UTIL_CUDADRV_H

#include <stddef.h>
#include <stdint.h>

typedef int CUresult;
typedef int CUdevice;
typedef unsigned long long CUdeviceptr;
typedef struct CUctx_st *CUcontext;
typedef struct CUstream_st *CUstream;
typedef struct CUevent_st *CUevent;
typedef struct CUmod_st *CUmodule;
typedef struct CUfunc_st *CUfunction;

/* CUresult values netmem tells apart (cuda.h: enum cudaError_enum). */
#define CUDA_SUCCESS                              0
#define CUDA_ERROR_INVALID_VALUE                  1
#define CUDA_ERROR_OUT_OF_MEMORY                  2
#define CUDA_ERROR_NOT_INITIALIZED                3
#define CUDA_ERROR_DEINITIALIZED                  4
#define CUDA_ERROR_NO_DEVICE                      100
#define CUDA_ERROR_INVALID_DEVICE                 101
#define CUDA_ERROR_INVALID_CONTEXT                201
#define CUDA_ERROR_UNSUPPORTED_PTX_VERSION        222
#define CUDA_ERROR_INVALID_HANDLE                 400
#define CUDA_ERROR_NOT_FOUND                      500
#define CUDA_ERROR_NOT_READY                      600
#define CUDA_ERROR_HOST_MEMORY_ALREADY_REGISTERED 712
#define CUDA_ERROR_HOST_MEMORY_NOT_REGISTERED     713
#define CUDA_ERROR_NOT_PERMITTED                  800
#define CUDA_ERROR_NOT_SUPPORTED                  801

/* CUdevice_attribute values. */
#define CU_DEVICE_ATTRIBUTE_PCI_BUS_ID                 33
#define CU_DEVICE_ATTRIBUTE_PCI_DEVICE_ID              34
#define CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR   75
#define CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR   76
#define CU_DEVICE_ATTRIBUTE_GPU_DIRECT_RDMA_SUPPORTED  116
#define CU_DEVICE_ATTRIBUTE_DMA_BUF_SUPPORTED          124

/* Flags. */
#define CU_STREAM_NON_BLOCKING          0x1
#define CU_EVENT_DISABLE_TIMING         0x2
#define CU_MEMHOSTALLOC_PORTABLE        0x01
#define CU_MEMHOSTREGISTER_PORTABLE     0x01
#define CU_MEM_RANGE_HANDLE_TYPE_DMA_BUF_FD 0x1
#define CU_MEMCPY_SRC_ACCESS_ORDER_STREAM 0x1

/* cuMemcpyBatchAsync's attributes of a run of copies (cuda.h:
 * CUmemcpyAttributes, CUmemLocation; 24 bytes). */
struct nm_cu_memloc {
	int type;                   /* CUmemLocationType; 0: no hint */
	int id;
};
struct nm_cu_memcpy_attr {
	int src_access_order;       /* CU_MEMCPY_SRC_ACCESS_ORDER_* */
	struct nm_cu_memloc src_hint, dst_hint;
	unsigned int flags;
};

/* The driver entry points netmem calls.  Every slot but the ones marked
 * optional is required: a driver lacking one is treated as absent. */
struct nm_cudrv {
	CUresult (*Init)(unsigned int flags);
	CUresult (*DriverGetVersion)(int *ver);
	CUresult (*GetErrorName)(CUresult err, const char **s);
	CUresult (*DeviceGetCount)(int *n);
	CUresult (*DeviceGet)(CUdevice *dev, int ordinal);
	CUresult (*DeviceGetName)(char *name, int len, CUdevice dev);
	CUresult (*DeviceGetAttribute)(int *v, int attr, CUdevice dev);
	CUresult (*DeviceTotalMem)(size_t *bytes, CUdevice dev);
	CUresult (*DevicePrimaryCtxRetain)(CUcontext *ctx, CUdevice dev);
	CUresult (*DevicePrimaryCtxRelease)(CUdevice dev);
	CUresult (*CtxPushCurrent)(CUcontext ctx);
	CUresult (*CtxPopCurrent)(CUcontext *ctx);
	CUresult (*CtxSynchronize)(void);
	CUresult (*MemAlloc)(CUdeviceptr *p, size_t bytes);
	CUresult (*MemFree)(CUdeviceptr p);
	CUresult (*MemcpyHtoD)(CUdeviceptr dst, const void *src, size_t n);
	CUresult (*MemcpyDtoH)(void *dst, CUdeviceptr src, size_t n);
	CUresult (*MemcpyHtoDAsync)(CUdeviceptr dst, const void *src, size_t n,
				    CUstream s);
	CUresult (*MemsetD8)(CUdeviceptr dst, unsigned char v, size_t n);
	CUresult (*MemHostAlloc)(void **p, size_t bytes, unsigned int flags);
	CUresult (*MemFreeHost)(void *p);
	CUresult (*MemHostRegister)(void *p, size_t bytes, unsigned int flags);
	CUresult (*MemHostUnregister)(void *p);
	CUresult (*StreamCreate)(CUstream *s, unsigned int flags);
	CUresult (*StreamDestroy)(CUstream s);
	CUresult (*StreamSynchronize)(CUstream s);
	CUresult (*StreamQuery)(CUstream s);
	CUresult (*EventCreate)(CUevent *e, unsigned int flags);
	CUresult (*EventDestroy)(CUevent e);
	CUresult (*EventRecord)(CUevent e, CUstream s);
	CUresult (*EventQuery)(CUevent e);
	CUresult (*EventSynchronize)(CUevent e);
	CUresult (*EventElapsedTime)(float *ms, CUevent a, CUevent b);
	CUresult (*ModuleLoadData)(CUmodule *m, const void *image);
	CUresult (*ModuleUnload)(CUmodule m);
	CUresult (*ModuleGetFunction)(CUfunction *f, CUmodule m, const char *name);
	CUresult (*LaunchKernel)(CUfunction f, unsigned int gx, unsigned int gy,
				 unsigned int gz, unsigned int bx, unsigned int by,
				 unsigned int bz, unsigned int shmem, CUstream s,
				 void **params, void **extra);
	/* optional: CUDA 11.7+ drivers */
	CUresult (*MemGetHandleForAddressRange)(void *handle, CUdeviceptr p,
						size_t bytes, int type,
						unsigned long long flags);
	/* optional */
	CUresult (*DeviceGetPCIBusId)(char *id, int len, CUdevice dev);
	/* optional: many copies in one call.  CUDA 13's cuMemcpyBatchAsync
	 * (the _v2 symbol), else 12.8's, which also takes a failIdx. */
	CUresult (*MemcpyBatchAsync)(CUdeviceptr *dsts, CUdeviceptr *srcs, size_t *sizes,
				     size_t count, struct nm_cu_memcpy_attr *attrs,
				     size_t *attr_idx, size_t nattrs, CUstream s);
	CUresult (*MemcpyBatchAsync12)(CUdeviceptr *dsts, CUdeviceptr *srcs, size_t *sizes,
				       size_t count, struct nm_cu_memcpy_attr *attrs,
				       size_t *attr_idx, size_t nattrs, size_t *fail_idx,
				       CUstream s);

	int driver_version;  /* e.g. 13000 */
	int device_count;
};

/*
 * nm_cudrv_get - the loaded driver, after cuInit; NULL when CUDA is off
 * here.  @err (may be NULL) gets 0 or the reason as -errno: -EOPNOTSUPP
 * when libcuda.so.1 is absent or too old, -ENODEV when cuInit fails or
 * there is no device.  Loads once; thread-safe.
 */
const struct nm_cudrv *nm_cudrv_get(int *err);

/* Why CUDA is on or off, as one line ("no CUDA driver (libcuda.so.1: ...)"). */
const char *nm_cudrv_status(void);

/* A CUresult's name ("CUDA_ERROR_OUT_OF_MEMORY"), never NULL. */
const char *nm_cudrv_errname(CUresult r);

/* A CUresult as a -errno: OUT_OF_MEMORY -ENOMEM, INVALID_VALUE/HANDLE
 * -EINVAL, NO/INVALID_DEVICE -ENODEV, NOT_SUPPORTED -EOPNOTSUPP,
 * NOT_READY -EAGAIN, NOT_PERMITTED -EPERM, anything else -EIO. */
int nm_cudrv_errno(CUresult r);

/*
 * nm_cudrv_primary_ctx - device @ordinal's primary context (the one the
 * CUDA runtime uses), retained once per device for the life of the
 * process.  Return 0 and *ctx, or -errno.
 */
int nm_cudrv_primary_ctx(int ordinal, CUcontext *ctx);

/*
 * nm_nvrtc_compile - compile CUDA C @src for device @ordinal with NVRTC,
 * loaded at run time (libnvrtc.so.13, .12, .11.2, ... or NM_NVRTC_LIB).
 * Produces a CUBIN for the device's architecture when NVRTC can, else PTX
 * for the driver to JIT.  *image is malloc()ed, NUL-terminated for PTX.
 * @log gets the compiler's log or the reason for failure.
 * Return 0, -EOPNOTSUPP (no NVRTC), -EINVAL (compile error), -ENOMEM.
 */
int nm_nvrtc_compile(const char *src, const char *name, int ordinal,
		     char **image, size_t *len, char *log, size_t loglen);

/*
 * nm_cudrv_load_kernel - nm_nvrtc_compile + cuModuleLoadData +
 * cuModuleGetFunction in the current context; the PTX route is tried when
 * the CUBIN one is refused.  Return 0 or -errno, reason in @log.
 */
int nm_cudrv_load_kernel(const char *src, const char *name, int ordinal,
			 CUmodule *mod, CUfunction *fn, char *log, size_t loglen);
#endif

/* SPDX-License-Identifier: MIT */
/*
 * cudadrv.c - load libcuda.so.1 (and, for kernels, libnvrtc) at run time.
 *
 * Loading happens once, under pthread_once, on the first call that needs
 * CUDA; until then a process that never touches the cuda provider pays
 * nothing, and a host without the driver learns why from one status line.
 * Symbols are looked up by the names cuda.h maps its API to (the _v2
 * variants), because the unversioned names are the old ABI kept for
 * binaries built against CUDA 3.x and take 32-bit sizes.
 */
#include "cudadrv.h"
#include "fault.h"
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct nm_cudrv drv;
static int drv_err = -EOPNOTSUPP;
static char drv_status[256] = "CUDA not probed yet";
static pthread_once_t drv_once = PTHREAD_ONCE_INIT;

struct sym {
	const char *name;
	size_t off;
	int optional;
};

#define S(field, name) { name, offsetof(struct nm_cudrv, field), 0 }
#define O(field, name) { name, offsetof(struct nm_cudrv, field), 1 }
static const struct sym cuda_syms[] = {
	S(Init, "cuInit"),
	S(DriverGetVersion, "cuDriverGetVersion"),
	S(GetErrorName, "cuGetErrorName"),
	S(DeviceGetCount, "cuDeviceGetCount"),
	S(DeviceGet, "cuDeviceGet"),
	S(DeviceGetName, "cuDeviceGetName"),
	S(DeviceGetAttribute, "cuDeviceGetAttribute"),
	S(DeviceTotalMem, "cuDeviceTotalMem_v2"),
	S(DevicePrimaryCtxRetain, "cuDevicePrimaryCtxRetain"),
	S(DevicePrimaryCtxRelease, "cuDevicePrimaryCtxRelease_v2"),
	S(CtxPushCurrent, "cuCtxPushCurrent_v2"),
	S(CtxPopCurrent, "cuCtxPopCurrent_v2"),
	S(CtxSynchronize, "cuCtxSynchronize"),
	S(MemAlloc, "cuMemAlloc_v2"),
	S(MemFree, "cuMemFree_v2"),
	S(MemcpyHtoD, "cuMemcpyHtoD_v2"),
	S(MemcpyDtoH, "cuMemcpyDtoH_v2"),
	S(MemcpyHtoDAsync, "cuMemcpyHtoDAsync_v2"),
	S(MemsetD8, "cuMemsetD8_v2"),
	S(MemHostAlloc, "cuMemHostAlloc"),
	S(MemFreeHost, "cuMemFreeHost"),
	S(MemHostRegister, "cuMemHostRegister_v2"),
	S(MemHostUnregister, "cuMemHostUnregister"),
	S(StreamCreate, "cuStreamCreate"),
	S(StreamDestroy, "cuStreamDestroy_v2"),
	S(StreamSynchronize, "cuStreamSynchronize"),
	S(StreamQuery, "cuStreamQuery"),
	S(EventCreate, "cuEventCreate"),
	S(EventDestroy, "cuEventDestroy_v2"),
	S(EventRecord, "cuEventRecord"),
	S(EventQuery, "cuEventQuery"),
	S(EventSynchronize, "cuEventSynchronize"),
	S(EventElapsedTime, "cuEventElapsedTime"),
	S(ModuleLoadData, "cuModuleLoadData"),
	S(ModuleUnload, "cuModuleUnload"),
	S(ModuleGetFunction, "cuModuleGetFunction"),
	S(LaunchKernel, "cuLaunchKernel"),
	O(MemGetHandleForAddressRange, "cuMemGetHandleForAddressRange"),
	O(DeviceGetPCIBusId, "cuDeviceGetPCIBusId"),
	O(MemcpyBatchAsync, "cuMemcpyBatchAsync_v2"),
	O(MemcpyBatchAsync12, "cuMemcpyBatchAsync"),
};
#undef S
#undef O

static void drv_load(void)
{
	const char *lib = getenv("NM_CUDA_LIB");
	const char *name = lib && *lib ? lib : "libcuda.so.1";
	void *h;
	CUresult r;
	int n = 0;

	h = dlopen(name, RTLD_NOW | RTLD_LOCAL);
	if (!h) {
		const char *e = dlerror();
		snprintf(drv_status, sizeof(drv_status), "no CUDA driver (%s: %s)",
			 name, e ? e : "not found");
		drv_err = -EOPNOTSUPP;
		return;
	}
	for (size_t i = 0; i < sizeof(cuda_syms) / sizeof(cuda_syms[0]); i++) {
		void *p = dlsym(h, cuda_syms[i].name);
		if (!p && !cuda_syms[i].optional) {
			snprintf(drv_status, sizeof(drv_status),
				 "no CUDA driver (%s is too old: no %s)", name,
				 cuda_syms[i].name);
			drv_err = -EOPNOTSUPP;
			/* Keep the handle: unloading a driver that may have
			 * started threads is never worth the risk. */
			memset(&drv, 0, sizeof(drv));
			return;
		}
		memcpy((char *)&drv + cuda_syms[i].off, &p, sizeof(p));
	}
	r = drv.Init(0);
	if (r != CUDA_SUCCESS) {
		snprintf(drv_status, sizeof(drv_status),
			 "CUDA driver present but cuInit failed: %s (%d)",
			 nm_cudrv_errname(r), r);
		drv_err = r == CUDA_ERROR_NO_DEVICE || r == CUDA_ERROR_INVALID_DEVICE ||
			  r == CUDA_ERROR_NOT_INITIALIZED ? -ENODEV : nm_cudrv_errno(r);
		if (drv_err == -EIO)
			drv_err = -ENODEV;
		return;
	}
	drv.DriverGetVersion(&drv.driver_version);
	r = drv.DeviceGetCount(&n);
	if (r != CUDA_SUCCESS || n <= 0) {
		snprintf(drv_status, sizeof(drv_status),
			 "CUDA driver %d.%d present but no CUDA device",
			 drv.driver_version / 1000, drv.driver_version % 1000 / 10);
		drv_err = -ENODEV;
		return;
	}
	drv.device_count = n;
	snprintf(drv_status, sizeof(drv_status), "CUDA driver %d.%d, %d device(s)",
		 drv.driver_version / 1000, drv.driver_version % 1000 / 10, n);
	drv_err = 0;
}

const struct nm_cudrv *nm_cudrv_get(int *err)
{
	pthread_once(&drv_once, drv_load);
	if (err)
		*err = drv_err;
	return drv_err ? NULL : &drv;
}

const char *nm_cudrv_status(void)
{
	pthread_once(&drv_once, drv_load);
	return drv_status;
}

const char *nm_cudrv_errname(CUresult r)
{
	const char *s = NULL;

	if (drv.GetErrorName && drv.GetErrorName(r, &s) == CUDA_SUCCESS && s)
		return s;
	return "CUDA_ERROR_UNKNOWN";
}

int nm_cudrv_errno(CUresult r)
{
	switch (r) {
	case CUDA_SUCCESS: return 0;
	case CUDA_ERROR_OUT_OF_MEMORY: return -ENOMEM;
	case CUDA_ERROR_INVALID_VALUE:
	case CUDA_ERROR_INVALID_HANDLE:
	case CUDA_ERROR_INVALID_CONTEXT: return -EINVAL;
	case CUDA_ERROR_NO_DEVICE:
	case CUDA_ERROR_INVALID_DEVICE:
	case CUDA_ERROR_DEINITIALIZED: return -ENODEV;
	case CUDA_ERROR_NOT_SUPPORTED: return -EOPNOTSUPP;
	case CUDA_ERROR_NOT_READY: return -EAGAIN;
	case CUDA_ERROR_NOT_PERMITTED: return -EPERM;
	case CUDA_ERROR_HOST_MEMORY_ALREADY_REGISTERED: return -EALREADY;
	default: return -EIO;
	}
}

#define NM_CUDA_MAX_DEVICES 64
static CUcontext primary[NM_CUDA_MAX_DEVICES];
static pthread_mutex_t primary_lock = PTHREAD_MUTEX_INITIALIZER;

int nm_cudrv_primary_ctx(int ordinal, CUcontext *ctx)
{
	const struct nm_cudrv *cu;
	CUdevice dev;
	CUresult r;
	int err;

	cu = nm_cudrv_get(&err);
	if (!cu)
		return err;
	if (ordinal < 0 || !ctx)
		return -EINVAL;
	if (ordinal >= cu->device_count || ordinal >= NM_CUDA_MAX_DEVICES)
		return -ENODEV;
	pthread_mutex_lock(&primary_lock);
	if (!primary[ordinal]) {
		r = cu->DeviceGet(&dev, ordinal);
		if (r == CUDA_SUCCESS)
			r = cu->DevicePrimaryCtxRetain(&primary[ordinal], dev);
		if (r != CUDA_SUCCESS) {
			primary[ordinal] = NULL;
			pthread_mutex_unlock(&primary_lock);
			return nm_cudrv_errno(r);
		}
	}
	*ctx = primary[ordinal];
	pthread_mutex_unlock(&primary_lock);
	return 0;
}

/* ------------------------------------------------------------------ */
/* NVRTC                                                                */
/* ------------------------------------------------------------------ */

typedef int nvrtcResult;
typedef struct _nvrtcProgram *nvrtcProgram;

static struct {
	nvrtcResult (*Version)(int *, int *);
	nvrtcResult (*CreateProgram)(nvrtcProgram *, const char *, const char *,
				     int, const char *const *, const char *const *);
	nvrtcResult (*CompileProgram)(nvrtcProgram, int, const char *const *);
	nvrtcResult (*GetPTXSize)(nvrtcProgram, size_t *);
	nvrtcResult (*GetPTX)(nvrtcProgram, char *);
	nvrtcResult (*GetCUBINSize)(nvrtcProgram, size_t *);  /* optional */
	nvrtcResult (*GetCUBIN)(nvrtcProgram, char *);        /* optional */
	nvrtcResult (*GetProgramLogSize)(nvrtcProgram, size_t *);
	nvrtcResult (*GetProgramLog)(nvrtcProgram, char *);
	nvrtcResult (*DestroyProgram)(nvrtcProgram *);
	const char *(*GetErrorString)(nvrtcResult);
} rtc;
static int rtc_err = -EOPNOTSUPP;
static char rtc_status[256];
static pthread_once_t rtc_once = PTHREAD_ONCE_INIT;

static void rtc_load(void)
{
	/* NVRTC's soname carries the toolkit's major version; try the
	 * newest first, then whatever the loader finds unversioned. */
	static const char *const names[] = {
		"libnvrtc.so.13", "libnvrtc.so.12", "libnvrtc.so.11.2",
		"libnvrtc.so.11.1", "libnvrtc.so.11.0", "libnvrtc.so",
		"/usr/local/cuda/lib64/libnvrtc.so",
	};
	const char *env = getenv("NM_NVRTC_LIB");
	void *h = NULL;

	if (env && *env)
		h = dlopen(env, RTLD_NOW | RTLD_LOCAL);
	for (size_t i = 0; !h && i < sizeof(names) / sizeof(names[0]); i++)
		h = dlopen(names[i], RTLD_NOW | RTLD_LOCAL);
	if (!h) {
		const char *e = dlerror();
		snprintf(rtc_status, sizeof(rtc_status), "no NVRTC (libnvrtc.so.*: %s)",
			 e ? e : "not found");
		return;
	}
#define L(f, n) (*(void **)&rtc.f = dlsym(h, n))
	L(Version, "nvrtcVersion");
	L(CreateProgram, "nvrtcCreateProgram");
	L(CompileProgram, "nvrtcCompileProgram");
	L(GetPTXSize, "nvrtcGetPTXSize");
	L(GetPTX, "nvrtcGetPTX");
	L(GetCUBINSize, "nvrtcGetCUBINSize");
	L(GetCUBIN, "nvrtcGetCUBIN");
	L(GetProgramLogSize, "nvrtcGetProgramLogSize");
	L(GetProgramLog, "nvrtcGetProgramLog");
	L(DestroyProgram, "nvrtcDestroyProgram");
	L(GetErrorString, "nvrtcGetErrorString");
#undef L
	if (!rtc.CreateProgram || !rtc.CompileProgram || !rtc.GetPTXSize ||
	    !rtc.GetPTX || !rtc.GetProgramLogSize || !rtc.GetProgramLog ||
	    !rtc.DestroyProgram) {
		snprintf(rtc_status, sizeof(rtc_status), "NVRTC library lacks symbols");
		return;
	}
	rtc_err = 0;
}

/* One compile with one -arch option; cubin chooses the output kind. */
static int rtc_try(const char *src, const char *name, const char *arch, int cubin,
		   char **image, size_t *len, char *log, size_t loglen)
{
	const char *opts[] = { arch };
	nvrtcProgram prog = NULL;
	nvrtcResult r;
	size_t n = 0, ln = 0;
	char *buf;

	r = rtc.CreateProgram(&prog, src, name, 0, NULL, NULL);
	if (r)
		return -ENOMEM;
	r = rtc.CompileProgram(prog, 1, opts);
	if (r) {
		if (log && loglen && rtc.GetProgramLogSize(prog, &ln) == 0 && ln) {
			char *l = nm_malloc(ln);
			if (l && rtc.GetProgramLog(prog, l) == 0)
				snprintf(log, loglen, "nvrtc %s: %s", arch, l);
			free(l);
		} else if (log && loglen) {
			snprintf(log, loglen, "nvrtc %s: %s", arch,
				 rtc.GetErrorString ? rtc.GetErrorString(r) : "failed");
		}
		rtc.DestroyProgram(&prog);
		return -EINVAL;
	}
	r = cubin ? rtc.GetCUBINSize(prog, &n) : rtc.GetPTXSize(prog, &n);
	if (r || !n) {
		rtc.DestroyProgram(&prog);
		return -EINVAL;
	}
	buf = nm_malloc(n + 1);
	if (!buf) {
		rtc.DestroyProgram(&prog);
		return -ENOMEM;
	}
	r = cubin ? rtc.GetCUBIN(prog, buf) : rtc.GetPTX(prog, buf);
	rtc.DestroyProgram(&prog);
	if (r) {
		free(buf);
		return -EINVAL;
	}
	buf[n] = 0;
	*image = buf;
	*len = n;
	return 0;
}

static int rtc_compile(const char *src, const char *name, int ordinal, int want_cubin,
		       char **image, size_t *len, char *log, size_t loglen)
{
	const struct nm_cudrv *cu;
	CUdevice dev;
	int err, major = 0, minor = 0;
	char arch[32];

	pthread_once(&rtc_once, rtc_load);
	if (rtc_err) {
		if (log && loglen)
			snprintf(log, loglen, "%s", rtc_status);
		return rtc_err;
	}
	if (!src || !name || !image || !len)
		return -EINVAL;
	cu = nm_cudrv_get(&err);
	if (!cu) {
		if (log && loglen)
			snprintf(log, loglen, "%s", nm_cudrv_status());
		return err;
	}
	if (cu->DeviceGet(&dev, ordinal) != CUDA_SUCCESS)
		return -ENODEV;
	cu->DeviceGetAttribute(&major, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR, dev);
	cu->DeviceGetAttribute(&minor, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR, dev);
	if (want_cubin && rtc.GetCUBINSize && rtc.GetCUBIN) {
		snprintf(arch, sizeof(arch), "--gpu-architecture=sm_%d%d", major, minor);
		if (!rtc_try(src, name, arch, 1, image, len, log, loglen))
			return 0;
	}
	/* PTX for the device's virtual architecture, then older ones: an
	 * NVRTC older than the GPU still produces PTX the driver can JIT. */
	static const int fallback[] = { 0, 90, 80, 75, 70, 60, 52 };
	for (size_t i = 0; i < sizeof(fallback) / sizeof(fallback[0]); i++) {
		int cc = fallback[i] ? fallback[i] : major * 10 + minor;
		if (fallback[i] && fallback[i] > major * 10 + minor)
			continue;
		snprintf(arch, sizeof(arch), "--gpu-architecture=compute_%d", cc);
		if (!rtc_try(src, name, arch, 0, image, len, log, loglen))
			return 0;
	}
	return -EINVAL;
}

int nm_nvrtc_compile(const char *src, const char *name, int ordinal,
		     char **image, size_t *len, char *log, size_t loglen)
{
	return rtc_compile(src, name, ordinal, 1, image, len, log, loglen);
}

int nm_cudrv_load_kernel(const char *src, const char *name, int ordinal,
			 CUmodule *mod, CUfunction *fn, char *log, size_t loglen)
{
	const struct nm_cudrv *cu;
	char *image = NULL;
	size_t len = 0;
	CUresult r;
	int err;

	cu = nm_cudrv_get(&err);
	if (!cu)
		return err;
	if (!mod || !fn)
		return -EINVAL;
	/* A CUBIN fits only the exact GPU; if the driver refuses it (newer
	 * NVRTC than driver), fall back to PTX, which the driver JITs. */
	for (int cubin = 1; cubin >= 0; cubin--) {
		err = rtc_compile(src, name, ordinal, cubin, &image, &len, log, loglen);
		if (err)
			return err;
		r = cu->ModuleLoadData(mod, image);
		free(image);
		image = NULL;
		if (r == CUDA_SUCCESS) {
			r = cu->ModuleGetFunction(fn, *mod, name);
			if (r == CUDA_SUCCESS)
				return 0;
			cu->ModuleUnload(*mod);
			if (log && loglen)
				snprintf(log, loglen, "cuModuleGetFunction(%s): %s", name,
					 nm_cudrv_errname(r));
			return nm_cudrv_errno(r);
		}
		if (log && loglen)
			snprintf(log, loglen, "cuModuleLoadData (%s): %s (%d)",
				 cubin ? "cubin" : "ptx", nm_cudrv_errname(r), r);
	}
	return nm_cudrv_errno(r);
}

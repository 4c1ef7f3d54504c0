/* SPDX-License-Identifier: MIT */
/*
 * dmabuf.h - the "dmabuf" memory provider's argument.
 *
 * nm_area_create("dmabuf", &opts) imports the dmabuf opts.fd (the area
 * keeps a dup; the caller may close its own).  opts.size 0 takes the whole
 * dmabuf (its size from lseek(fd, 0, SEEK_END)); a larger opts.size than
 * the dmabuf is refused.  Chunks are carved from the binding by the core's
 * gen_pool-style allocator, as the kernel's devmem binding does.
 *
 * A dmabuf area is device memory: unreadable unless asked otherwise.
 * nm_buf_data() returns NULL and a buffer's IO address (nm_buf_io_addr) is
 * its offset in the dmabuf, which is what devmem TCP and a NIC binding
 * speak.  With NM_DMABUF_F_CPU_MAP the provider also tries to mmap the
 * dmabuf; exporters that allow it (udmabuf, system heap) give readable
 * buffers, bracketed by DMA_BUF_IOCTL_SYNC on nm_buf_sync() and
 * nm_buf_place().  When the exporter refuses, the area stays unreadable
 * and nm_area_info().detail says why, unless NM_DMABUF_F_REQUIRE_CPU_MAP
 * makes that an error.
 *
 * Errors of nm_area_create("dmabuf", ...), besides the core's:
 *   EBADF   opts.fd is not an open fd
 *   ENOTTY  opts.fd is open but not a dmabuf (kept apart from EINVAL, which
 *           means bad options).  With NM_AREA_F_ALLOW_ANY_FD a memfd or
 *           other tmpfs/hugetlbfs file is accepted and treated as a dmabuf:
 *           a test hook for machines with no exporter.
 *   ERANGE  opts.size larger than the dmabuf
 *   EINVAL  bad nm_dmabuf_args (unknown flags, CPU_MAP together with
 *           NM_AREA_F_NO_CPU_MAP), an empty dmabuf
 *   E2BIG   non-zero bytes past the known nm_dmabuf_args
 *   the mmap errno (EACCES, ENODEV, ...) when NM_DMABUF_F_REQUIRE_CPU_MAP
 *           is set and the exporter refuses the mapping
 */
#ifndef NETMEM_DMABUF_H
#define NETMEM_DMABUF_H

#include <netmem/netmem.h>

#ifdef __cplusplus
extern "C" {
#endif

/* nm_dmabuf_args.flags */
#define NM_DMABUF_F_CPU_MAP         (1u << 0) /* try to mmap for the CPU */
#define NM_DMABUF_F_REQUIRE_CPU_MAP (1u << 1) /* fail unless mapped (implies CPU_MAP) */
#define NM_DMABUF_F_ALL             0x3u

/*
 * nm_area_opts.provider_arg of the dmabuf provider points to one of these,
 * or is NULL (unreadable, the default).  Declare with
 * NM_OPTS(nm_dmabuf_args, da, .flags = NM_DMABUF_F_CPU_MAP).
 */
struct nm_dmabuf_args {
	size_t sz;          /* sizeof(struct nm_dmabuf_args) */
	unsigned int flags; /* NM_DMABUF_F_* */
};

#ifdef __cplusplus
}
#endif
#endif /* NETMEM_DMABUF_H */

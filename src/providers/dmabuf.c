/* SPDX-License-Identifier: MIT */
/*
 * dmabuf.c - the "dmabuf" provider: an imported dmabuf as an area, the
 * userspace counterpart of the kernel's devmem binding (a dmabuf bound to
 * receive queues, carved into net_iovs by a gen_pool).
 *
 * The currency is the fd plus offsets (DESIGN rule 2): io_base is 0, so a
 * buffer's IO address is its offset in the dmabuf, and the memory is
 * unreadable (cpu_base NULL) unless the caller asks for a CPU mapping with
 * NM_DMABUF_F_CPU_MAP and the exporter grants one.  CPU access to a mapped
 * dmabuf is bracketed with DMA_BUF_IOCTL_SYNC: the exporter may need cache
 * maintenance (DESIGN rule 5), even if x86 with a coherent exporter makes
 * it free.
 *
 * A dmabuf is recognised by its filesystem magic (DMA_BUF_MAGIC, Linux
 * 5.3 and later), else by the "exp_name:" line the kernel prints in its
 * fdinfo, else by the "anon_inode:dmabuf" link name of older kernels.
 * See include/netmem/dmabuf.h for the arguments and errors.
 */
#include "providers.h"
#include "../util/fd.h"
#include <stdatomic.h>
#include <netmem/dmabuf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

/* The kernel's UAPI values (include/uapi/linux/dma-buf.h, linux/magic.h),
 * spelled out so the library builds against old headers. */
#ifndef DMA_BUF_MAGIC
#define DMA_BUF_MAGIC 0x444d4142	/* "DMAB" */
#endif
#ifndef TMPFS_MAGIC
#define TMPFS_MAGIC 0x01021994
#endif
#ifndef HUGETLBFS_MAGIC
#define HUGETLBFS_MAGIC 0x958458f6
#endif
#ifndef DMA_BUF_SYNC_READ
#define DMA_BUF_SYNC_READ  (1 << 0)
#define DMA_BUF_SYNC_WRITE (2 << 0)
#define DMA_BUF_SYNC_RW    (DMA_BUF_SYNC_READ | DMA_BUF_SYNC_WRITE)
#define DMA_BUF_SYNC_START (0 << 2)
#define DMA_BUF_SYNC_END   (1 << 2)
#endif
struct nm_dma_buf_sync {
	uint64_t flags;	/* layout of the kernel's struct dma_buf_sync */
};
#ifndef DMA_BUF_IOCTL_SYNC
#define DMA_BUF_IOCTL_SYNC _IOW('b', 0, struct nm_dma_buf_sync)
#endif

struct dmabuf_area {
	void *map;       /* CPU mapping, or NULL */
	size_t map_len;
	int real;        /* a real dmabuf, not an ALLOW_ANY_FD stand-in */
	_Atomic int gone; /* revoked with NM_REVOKE_GONE */
};

static int parse_args(const struct nm_area_opts *opts, struct nm_dmabuf_args *args)
{
	const struct nm_dmabuf_args *ua = opts->provider_arg;
	int err = nm_opts_copy(args, sizeof(*args), ua);

	if (err)
		return err;
	if (args->flags & ~NM_DMABUF_F_ALL)
		return -EINVAL;
	if (args->flags & NM_DMABUF_F_REQUIRE_CPU_MAP)
		args->flags |= NM_DMABUF_F_CPU_MAP;
	if ((args->flags & NM_DMABUF_F_CPU_MAP) &&
	    (opts->flags & NM_AREA_F_NO_CPU_MAP))
		return -EINVAL;
	return 0;
}

/* Whether the open fd @fd is a dmabuf: 1, 0, or -errno. */
static int is_dmabuf(int fd)
{
	char path[64], line[128], link[64];
	struct statfs sfs;
	ssize_t n;
	FILE *f;
	int found = 0;

	if (fstatfs(fd, &sfs))
		return -errno;
	if ((unsigned long)sfs.f_type == DMA_BUF_MAGIC)
		return 1;
	/* Before 5.3 dmabufs were anonymous inodes; their fdinfo has named
	 * the exporter since 4.x. */
	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	f = fopen(path, "re");
	if (f) {
		while (!found && fgets(line, sizeof(line), f))
			found = !strncmp(line, "exp_name:", 9);
		fclose(f);
		if (found)
			return 1;
	}
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	n = readlink(path, link, sizeof(link) - 1);
	if (n > 0) {
		link[n] = 0;
		if (!strcmp(link, "anon_inode:dmabuf"))
			return 1;
	}
	return 0;
}

/* The stand-in NM_AREA_F_ALLOW_ANY_FD accepts: memory-only files, the
 * kind a test can make where no exporter exists. */
static int is_shmem_file(int fd, off_t *size)
{
	struct statfs sfs;
	struct stat st;

	if (fstat(fd, &st) || fstatfs(fd, &sfs))
		return 0;
	if (!S_ISREG(st.st_mode) ||
	    ((unsigned long)sfs.f_type != TMPFS_MAGIC &&
	     (unsigned long)sfs.f_type != HUGETLBFS_MAGIC))
		return 0;
	*size = st.st_size;
	return 1;
}

/* One DMA_BUF_IOCTL_SYNC, retried when interrupted as the kernel asks.
 * ENOTTY is an ALLOW_ANY_FD stand-in: nothing to sync. */
static int dma_sync(int fd, uint64_t flags)
{
	struct nm_dma_buf_sync s = { .flags = flags };
	int r;

	do {
		r = ioctl(fd, DMA_BUF_IOCTL_SYNC, &s);
	} while (r && (errno == EINTR || errno == EAGAIN));
	if (r && errno != ENOTTY)
		return -errno;
	return 0;
}

static int dmabuf_area_init(struct nm_area_mem *mem, const struct nm_area_opts *opts)
{
	struct nm_dmabuf_args args;
	struct dmabuf_area *d;
	char why[48] = "";
	off_t fsize = 0;
	int err, real, fd;

	err = parse_args(opts, &args);
	if (err)
		return err;
	if (opts->fd < 0 || fcntl(opts->fd, F_GETFD) < 0)
		return -EBADF;
	real = is_dmabuf(opts->fd);
	if (real < 0)
		return real;
	if (real) {
		/* dmabufs report their size through llseek only */
		fsize = lseek(opts->fd, 0, SEEK_END);
		if (fsize < 0)
			return -errno;
	} else if (!(mem->flags & NM_AREA_F_ALLOW_ANY_FD) ||
		   !is_shmem_file(opts->fd, &fsize)) {
		return -ENOTTY;
	}
	if (fsize <= 0)
		return -EINVAL;
	if (opts->size > (uint64_t)fsize)
		return -ERANGE;
	/* Size 0: the whole dmabuf; otherwise never past its end.  The core
	 * rounds the rest down to whole chunks. */
	if (opts->size == 0 || mem->size > (uint64_t)fsize)
		mem->size = (size_t)fsize;
	mem->size &= ~(size_t)(mem->chunk_size - 1);
	if (mem->size == 0)
		return -EINVAL;

	d = nm_calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	d->real = real;
	fd = nm_fd_call(fcntl(opts->fd, F_DUPFD_CLOEXEC, 3));
	if (fd < 0) {
		err = -errno;
		free(d);
		return err;
	}
	if (args.flags & NM_DMABUF_F_CPU_MAP) {
		int mflags = MAP_SHARED;

		if (mem->flags & NM_AREA_F_POPULATE)
			mflags |= MAP_POPULATE;
		d->map = nm_mmap(NULL, mem->size, PROT_READ | PROT_WRITE, mflags, fd, 0);
		if (d->map == MAP_FAILED) {
			err = -errno;
			d->map = NULL;
			if (args.flags & NM_DMABUF_F_REQUIRE_CPU_MAP) {
				close(fd);
				free(d);
				return err;
			}
			/* 524 is the kernel's internal ENOTSUPP, which some
			 * exporters (nvidia's) let out; libc has no text for it. */
			if (err == -524)
				snprintf(why, sizeof(why), ", exporter refused mmap: ENOTSUPP");
			else
				snprintf(why, sizeof(why), ", exporter refused mmap: %s",
					 strerror(-err));
		} else {
			d->map_len = mem->size;
		}
	}
	mem->fd = fd;
	mem->priv = d;
	mem->cpu_base = d->map;
	mem->io_base = 0;
	snprintf(mem->detail, sizeof(mem->detail), "%s fd %d, %s%s",
		 real ? "dmabuf" : "non-dmabuf (ALLOW_ANY_FD)", fd,
		 d->map ? "CPU-mapped" : "unreadable", why);
	return 0;
}

/* FOR_CPU opens a CPU access window on the dmabuf, FOR_DEVICE closes it:
 * the exporter does its cache maintenance at those two points.  Without a
 * CPU mapping the CPU never touches the memory: nothing to do. */
static int dmabuf_sync(struct nm_area_mem *mem, uint64_t off, uint64_t len,
		       enum nm_sync_dir dir)
{
	struct dmabuf_area *d = mem->priv;

	(void)off;
	(void)len;
	if (!d || !d->map || mem->fd < 0)
		return 0;
	if (atomic_load(&d->gone))
		return -ENODEV;
	return dma_sync(mem->fd, DMA_BUF_SYNC_RW |
			(dir == NM_SYNC_FOR_CPU ? DMA_BUF_SYNC_START : DMA_BUF_SYNC_END));
}

static int dmabuf_place(struct nm_area_mem *mem, uint64_t off, const void *src,
			size_t len, void (*done)(void *arg, int status), void *arg)
{
	struct dmabuf_area *d = mem->priv;
	int err;

	if (!d || !d->map)
		return -EOPNOTSUPP;
	if (atomic_load(&d->gone))
		return -ENODEV;
	if (off > d->map_len || len > d->map_len - off)
		return -ERANGE;
	err = dma_sync(mem->fd, DMA_BUF_SYNC_START | DMA_BUF_SYNC_WRITE);
	if (err)
		return err;
	if (len)
		memcpy((char *)d->map + off, src, len);
	err = dma_sync(mem->fd, DMA_BUF_SYNC_END | DMA_BUF_SYNC_WRITE);
	if (done)
		done(arg, err);
	return err;
}

/* The exporter took the memory back: drop our reference to the dmabuf
 * now, so its pages can go; the core makes the mapping inaccessible.  The
 * fd number is kept (pointing at /dev/null) until area_fini, so a sync
 * racing with the revoke cannot reach a file opened since under it. */
static int dmabuf_revoke(struct nm_area_mem *mem, unsigned int flags)
{
	struct dmabuf_area *d = mem->priv;

	if (!(flags & NM_REVOKE_GONE) || mem->fd < 0)
		return 0;
	atomic_store(&d->gone, 1);
	return nm_fd_retire(mem->fd);
}

static void dmabuf_area_fini(struct nm_area_mem *mem)
{
	struct dmabuf_area *d = mem->priv;

	if (d && d->map)
		munmap(d->map, d->map_len);
	if (mem->fd >= 0)
		close(mem->fd);
	mem->fd = -1;
	free(d);
	mem->priv = NULL;
}

const struct nm_provider_ops nm_dmabuf_ops = {
	.name       = "dmabuf",
	.flags      = NM_PROV_F_DEVICE,
	.area_init  = dmabuf_area_init,
	.area_fini  = dmabuf_area_fini,
	.alloc_bulk = nm_genpool_alloc_bulk,
	.release    = nm_genpool_release,
	.sync       = dmabuf_sync,
	.revoke     = dmabuf_revoke,
	.place      = dmabuf_place,
};

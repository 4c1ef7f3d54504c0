/* SPDX-License-Identifier: MIT */
/*
 * memfd.c - the "memfd" provider: an area whose memory is a sealed memfd,
 * so that another process can map the very bytes the pool receives into.
 *
 * The area's fd (nm_area_info().dmabuf_fd) is the memfd; the application
 * passes it on (SCM_RIGHTS) and the peer finds a buffer at the offset
 * nm_buf_io_addr() gives: the IO address of a memfd area is the offset in
 * the file (io_base 0), as it is for a dmabuf, because that is the one
 * address both processes share.
 *
 * The file is sealed against shrinking (F_SEAL_SHRINK) and against further
 * seals (F_SEAL_SEAL) before it is mapped: a peer holding the fd must not
 * be able to truncate the memory out from under the pool, which would turn
 * every later access into SIGBUS.  Growing is harmless and allowed.
 *
 * With NM_AREA_F_IMPORT_FD the area imports opts->fd instead (a dup of it;
 * size from fstat when opts->size is 0).  The fd must be a shared-memory
 * file (tmpfs/shmem, which is what memfd_create makes, or hugetlbfs, which
 * is what memfd_create(MFD_HUGETLB) makes), open read-write, and already
 * sealed against shrinking: the provider does not add seals to a file it
 * does not own, and will not map one that another process could shrink.
 * Errors: EBADF (not an open fd), ENOTTY (not a shared-memory file),
 * EACCES (not open for writing), EPERM (not sealed against shrinking),
 * ERANGE (opts->size larger than the file).
 *
 * NM_AREA_F_NO_CPU_MAP leaves the file unmapped here: the memory is then
 * only the fd's, for a peer to map.
 */
#include "providers.h"
#include "../util/fd.h"
#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#ifndef TMPFS_MAGIC
#define TMPFS_MAGIC 0x01021994
#endif
#ifndef HUGETLBFS_MAGIC
#define HUGETLBFS_MAGIC 0x958458f6
#endif
#ifndef MFD_ALLOW_SEALING
#define MFD_ALLOW_SEALING 0x0002U
#endif
#ifndef F_ADD_SEALS
#define F_ADD_SEALS   1033
#define F_GET_SEALS   1034
#define F_SEAL_SEAL   0x0001
#define F_SEAL_SHRINK 0x0002
#endif

struct mfd_area {
	void *map;       /* the shared mapping, or NULL */
	size_t map_len;
	int owned;       /* created here (1) or imported (0) */
};

/* Check that @fd is a shared-memory file this area may map and keep;
 * *huge is set for a hugetlbfs file. */
static int check_import(int fd, struct stat *st, int *huge)
{
	struct statfs sfs;
	int fl, seals;

	if (fd < 0 || fcntl(fd, F_GETFD) < 0)
		return -EBADF;
	if (fstat(fd, st) || fstatfs(fd, &sfs))
		return -errno;
	/* Only shmem and hugetlbfs files are memory that is not also on a
	 * disk, and only they can be sealed. */
	if (!S_ISREG(st->st_mode) ||
	    ((unsigned long)sfs.f_type != TMPFS_MAGIC &&
	     (unsigned long)sfs.f_type != HUGETLBFS_MAGIC))
		return -ENOTTY;
	*huge = (unsigned long)sfs.f_type == HUGETLBFS_MAGIC;
	fl = fcntl(fd, F_GETFL);
	if (fl < 0)
		return -errno;
	if ((fl & O_ACCMODE) != O_RDWR)
		return -EACCES;
	seals = fcntl(fd, F_GET_SEALS);
	if (seals < 0 || !(seals & F_SEAL_SHRINK))
		return -EPERM;
	return 0;
}

static int memfd_import(struct nm_area_mem *mem, const struct nm_area_opts *opts)
{
	struct stat st;
	int err, fd, huge = 0;

	err = check_import(opts->fd, &st, &huge);
	if (err)
		return err;
	if (st.st_size <= 0)
		return -EINVAL;
	if (opts->size > (uint64_t)st.st_size)
		return -ERANGE;
	/* A hugetlbfs file is mapped in whole huge pages (st_blksize), and
	 * only a whole-page range can later be replaced by the core's
	 * inaccessible mapping: round up to them, within the file. */
	if (huge && st.st_blksize > 0 && !(st.st_blksize & (st.st_blksize - 1)))
		mem->size = (mem->size + (size_t)st.st_blksize - 1) &
			    ~((size_t)st.st_blksize - 1);
	/* Size 0: the whole file.  Otherwise the request rounded up to whole
	 * chunks, but never past the end of the file: the core rounds what
	 * is left down to whole chunks. */
	if (opts->size == 0 || mem->size > (uint64_t)st.st_size)
		mem->size = (size_t)st.st_size;
	fd = nm_fd_call(fcntl(opts->fd, F_DUPFD_CLOEXEC, 3));
	if (fd < 0)
		return -errno;
	mem->fd = fd;
	return 0;
}

static int memfd_create_area(struct nm_area_mem *mem, const struct nm_area_opts *opts)
{
	char name[40];
	int fd;

	if (mem->size == 0)
		return -EINVAL;
	snprintf(name, sizeof(name), "netmem:%s", opts->name ? opts->name : "memfd");
	fd = nm_fd_call(memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING));
	if (fd < 0)
		return -errno;
	if (ftruncate(fd, (off_t)mem->size) ||
	    fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_SEAL)) {
		int err = -errno;
		close(fd);
		return err;
	}
	mem->fd = fd;
	return 0;
}

static int memfd_area_init(struct nm_area_mem *mem, const struct nm_area_opts *opts)
{
	struct mfd_area *m;
	int err;

	m = nm_calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	m->owned = !(mem->flags & NM_AREA_F_IMPORT_FD);
	err = m->owned ? memfd_create_area(mem, opts) : memfd_import(mem, opts);
	if (err) {
		free(m);
		return err;
	}
	/* The core keeps whole chunks only; map just those. */
	mem->size &= ~(size_t)(mem->chunk_size - 1);
	if (mem->size == 0) {
		err = -EINVAL;
		goto fail;
	}
	if (!(mem->flags & NM_AREA_F_NO_CPU_MAP)) {
		int mflags = MAP_SHARED;

		if (mem->flags & NM_AREA_F_POPULATE)
			mflags |= MAP_POPULATE;
		m->map = nm_mmap(NULL, mem->size, PROT_READ | PROT_WRITE, mflags,
			      mem->fd, 0);
		if (m->map == MAP_FAILED) {
			err = -errno;
			goto fail;
		}
		m->map_len = mem->size;
	} else if ((mem->flags & NM_AREA_F_POPULATE) && m->owned) {
		/* nothing to fault in: allocate the file's pages instead */
		if (fallocate(mem->fd, FALLOC_FL_KEEP_SIZE, 0, (off_t)mem->size)) {
			err = -errno;
			goto fail;
		}
	}
	mem->cpu_base = m->map;
	mem->io_base = 0;
	mem->priv = m;
	snprintf(mem->detail, sizeof(mem->detail), "%s memfd fd %d, %s%s",
		 m->owned ? "sealed" : "imported", mem->fd,
		 m->map ? "mapped shared" : "not mapped",
		 (mem->flags & NM_AREA_F_POPULATE) ? ", populated" : "");
	return 0;
fail:
	close(mem->fd);
	mem->fd = -1;
	free(m);
	return err;
}

/*
 * The memory is gone.  A memfd this area created is punched out, so its
 * pages are freed even while a peer still holds the fd (the peer reads
 * zeros from then on, not recycled data); an imported file belongs to
 * someone else and is only let go of.  Either way the area's fd is
 * closed; the core replaces the CPU mapping with an inaccessible one.
 */
static int memfd_revoke(struct nm_area_mem *mem, unsigned int flags)
{
	struct mfd_area *m = mem->priv;
	int fd = mem->fd, err = 0, r;

	if (!(flags & NM_REVOKE_GONE) || fd < 0)
		return 0;
	if (m->owned &&
	    fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0,
		      (off_t)mem->size))
		err = -errno;
	/* Keep the number until area_fini (see nm_fd_retire). */
	r = nm_fd_retire(fd);
	return err ? err : r;
}

static void memfd_area_fini(struct nm_area_mem *mem)
{
	struct mfd_area *m = mem->priv;

	if (!m)
		return;
	if (m->map)
		munmap(m->map, m->map_len);
	if (mem->fd >= 0)
		close(mem->fd);
	mem->fd = -1;
	free(m);
	mem->priv = NULL;
}

const struct nm_provider_ops nm_memfd_ops = {
	.name       = "memfd",
	.area_init  = memfd_area_init,
	.area_fini  = memfd_area_fini,
	.alloc_bulk = nm_genpool_alloc_bulk,
	.release    = nm_genpool_release,
	.revoke     = memfd_revoke,
};

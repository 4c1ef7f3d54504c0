/* SPDX-License-Identifier: MIT */
/*
 * hugepage.c - the "hugepage" provider: anonymous memory in 2 MiB pages.
 *
 * A receive area touched by a NIC or the kernel on every packet wants as
 * few TLB entries (and IOMMU entries) as possible.  The provider first asks
 * the hugetlb pool (MAP_HUGETLB | MAP_HUGE_2MB), whose pages are reserved
 * at mmap time, so a pool that cannot supply the area fails here and not
 * with SIGBUS on first touch.  When it fails, and the caller did not ask
 * for NM_AREA_F_HUGE_STRICT, it falls back to transparent hugepages: an
 * anonymous mapping aligned to 2 MiB with MADV_HUGEPAGE, which the kernel
 * backs with 2 MiB pages when it can and 4 KiB pages when it cannot.
 * mem->detail says which it got and why, so "why is my area slow" has an
 * answer in nm_area_info().
 *
 * Like "host": readable, coherent (no sync hook), IO address = CPU address.
 */
#include "providers.h"
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define HP_SHIFT 21
#define HP_SIZE  (1ul << HP_SHIFT)

#ifndef MAP_HUGE_SHIFT
#define MAP_HUGE_SHIFT 26
#endif
#ifndef MAP_HUGE_2MB
#define MAP_HUGE_2MB (21 << MAP_HUGE_SHIFT)
#endif
#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23	/* Linux 5.14 */
#endif

struct hp_area {
	void *base;      /* the whole mapping */
	size_t len;      /* its length, a multiple of 2 MiB */
	int hugetlb;     /* 1: hugetlb pages, 0: THP fallback */
};

/* Read one unsigned number from a sysfs/procfs file; -1 if unreadable. */
static long read_ulong(const char *path)
{
	char buf[32];
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = 0;
	return strtol(buf, NULL, 10);
}

/* THP's global mode ("always", "madvise", "never"), or "?" if unknown. */
static const char *thp_mode(char *buf, size_t len)
{
	int fd = open("/sys/kernel/mm/transparent_hugepage/enabled",
		      O_RDONLY | O_CLOEXEC);
	char raw[64], *l, *r;
	ssize_t n;

	snprintf(buf, len, "?");
	if (fd < 0)
		return buf;
	n = read(fd, raw, sizeof(raw) - 1);
	close(fd);
	if (n <= 0)
		return buf;
	raw[n] = 0;
	/* the current mode is the bracketed word: "always [madvise] never" */
	l = strchr(raw, '[');
	r = l ? strchr(l, ']') : NULL;
	if (l && r)
		snprintf(buf, len, "%.*s", (int)(r - l - 1), l + 1);
	return buf;
}

/* Fault every page in.  MADV_POPULATE_WRITE does it without the kernel
 * first handing out 4 KiB pages the way MAP_POPULATE before madvise
 * would; older kernels get a write per 2 MiB, which faults in a huge page
 * where THP can supply one. */
static void populate(void *p, size_t len)
{
	if (madvise(p, len, MADV_POPULATE_WRITE) == 0)
		return;
	for (size_t off = 0; off < len; off += 4096)
		((volatile char *)p)[off] = 0;
}

static int map_hugetlb(struct hp_area *h, size_t len, unsigned int flags)
{
	int mflags = MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB | MAP_HUGE_2MB;
	void *p;

	/* No MAP_NORESERVE: the reservation is what makes an empty pool
	 * fail here instead of with SIGBUS in the receive path. */
	if (flags & NM_AREA_F_POPULATE)
		mflags |= MAP_POPULATE;
	p = nm_mmap(NULL, len, PROT_READ | PROT_WRITE, mflags, -1, 0);
	if (p == MAP_FAILED)
		return -errno;
	h->base = p;
	h->len = len;
	h->hugetlb = 1;
	return 0;
}

static int map_thp(struct hp_area *h, size_t len, unsigned int flags)
{
	int mflags = MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE;
	uintptr_t start, end, raw;
	void *p;

	/* Over-map by 2 MiB and trim, so the area starts on a 2 MiB
	 * boundary: only aligned 2 MiB ranges can be huge pages. */
	if (len > SIZE_MAX - HP_SIZE)
		return -ENOMEM;
	p = nm_mmap(NULL, len + HP_SIZE, PROT_READ | PROT_WRITE, mflags, -1, 0);
	if (p == MAP_FAILED)
		return -errno;
	raw = (uintptr_t)p;
	start = (raw + HP_SIZE - 1) & ~(uintptr_t)(HP_SIZE - 1);
	end = start + len;
	if (start > raw)
		munmap(p, start - raw);
	if (raw + len + HP_SIZE > end)
		munmap((void *)end, raw + len + HP_SIZE - end);
	h->base = (void *)start;
	h->len = len;
	h->hugetlb = 0;
	/* Fails only without CONFIG_TRANSPARENT_HUGEPAGE: then 4 KiB pages
	 * it is, and detail says so. */
	if (madvise(h->base, len, MADV_HUGEPAGE))
		return -errno;
	return 0;
}

static int hugepage_area_init(struct nm_area_mem *mem,
			      const struct nm_area_opts *opts)
{
	struct hp_area *h;
	char why[48], mode[16];
	size_t len;
	int err, terr;

	(void)opts;
	if (mem->size == 0)
		return -EINVAL;
	if (mem->size > SIZE_MAX - HP_SIZE)
		return -ENOMEM;
	/* Whole huge pages; chunks of order > 9 are whole ones already. */
	len = (mem->size + HP_SIZE - 1) & ~(HP_SIZE - 1);
	h = nm_calloc(1, sizeof(*h));
	if (!h)
		return -ENOMEM;

	err = map_hugetlb(h, len, mem->flags);
	if (err) {
		snprintf(why, sizeof(why), "%s", strerror(-err));
		if (mem->flags & NM_AREA_F_HUGE_STRICT) {
			free(h);
			return err;
		}
		terr = map_thp(h, len, mem->flags);
		if (terr && !h->base) {
			free(h);
			return terr;
		}
		if (terr)
			snprintf(mem->detail, sizeof(mem->detail),
				 "4K pages: no THP (%.20s); hugetlb: %.24s (nr_hugepages=%ld)",
				 strerror(-terr), why,
				 read_ulong("/proc/sys/vm/nr_hugepages"));
		else
			snprintf(mem->detail, sizeof(mem->detail),
				 "THP fallback (%.8s): hugetlb: %.32s (nr_hugepages=%ld)",
				 thp_mode(mode, sizeof(mode)), why,
				 read_ulong("/proc/sys/vm/nr_hugepages"));
		if (mem->flags & NM_AREA_F_POPULATE)
			populate(h->base, len);
	} else {
		snprintf(mem->detail, sizeof(mem->detail), "hugetlb 2M x %zu%s",
			 len >> HP_SHIFT,
			 (mem->flags & NM_AREA_F_POPULATE) ? ", populated" : "");
	}
	mem->size = len;
	mem->priv = h;
	mem->cpu_base = (mem->flags & NM_AREA_F_NO_CPU_MAP) ? NULL : h->base;
	mem->io_base = (uint64_t)(uintptr_t)h->base;
	mem->fd = -1;
	return 0;
}

/* The memory is gone: give the pages back now, keeping the range
 * reserved and inaccessible until area_fini.  The core does the same for
 * cpu_base, but not when NM_AREA_F_NO_CPU_MAP left cpu_base NULL, and the
 * pages must go either way. */
static int hugepage_revoke(struct nm_area_mem *mem, unsigned int flags)
{
	struct hp_area *h = mem->priv;

	if (!(flags & NM_REVOKE_GONE) || !h)
		return 0;
	if (mmap(h->base, h->len, PROT_NONE,
		 MAP_FIXED | MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
		 -1, 0) == MAP_FAILED)
		return -errno;
	return 0;
}

static void hugepage_area_fini(struct nm_area_mem *mem)
{
	struct hp_area *h = mem->priv;

	if (!h)
		return;
	munmap(h->base, h->len);
	free(h);
	mem->priv = NULL;
}

const struct nm_provider_ops nm_hugepage_ops = {
	.name       = "hugepage",
	.area_init  = hugepage_area_init,
	.area_fini  = hugepage_area_fini,
	.alloc_bulk = nm_genpool_alloc_bulk,
	.release    = nm_genpool_release,
	.revoke     = hugepage_revoke,
};

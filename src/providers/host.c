/* SPDX-License-Identifier: MIT */
/*
 * host.c - the "host" provider: anonymous private pages.  The reference
 * provider: readable, coherent (no sync hook), IO address = CPU address,
 * as an IOMMU-less host would hand a NIC.
 */
#include "providers.h"
#include <sys/mman.h>
#include <errno.h>
#include <stdio.h>

static int host_area_init(struct nm_area_mem *mem, const struct nm_area_opts *opts)
{
	(void)opts;
	int mflags = MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE;
	void *p;

	if (mem->size == 0)
		return -EINVAL;
	if (mem->flags & NM_AREA_F_POPULATE)
		mflags |= MAP_POPULATE;
	p = nm_mmap(NULL, mem->size, PROT_READ | PROT_WRITE, mflags, -1, 0);
	if (p == MAP_FAILED)
		return -errno;
	mem->cpu_base = (mem->flags & NM_AREA_F_NO_CPU_MAP) ? NULL : p;
	mem->priv = p;
	mem->io_base = (uint64_t)(uintptr_t)p;
	mem->fd = -1;
	snprintf(mem->detail, sizeof(mem->detail), "anonymous 4K pages%s",
		 (mem->flags & NM_AREA_F_POPULATE) ? ", populated" : "");
	return 0;
}

static void host_area_fini(struct nm_area_mem *mem)
{
	if (mem->priv)
		munmap(mem->priv, mem->size);
	mem->priv = NULL;
}

/* The memory is gone: drop the pages now, even where the area has no CPU
 * mapping of its own (NO_CPU_MAP), keeping the range reserved and
 * inaccessible until area_fini unmaps it. */
static int host_revoke(struct nm_area_mem *mem, unsigned int flags)
{
	if (!(flags & NM_REVOKE_GONE) || !mem->priv)
		return 0;
	if (mmap(mem->priv, mem->size, PROT_NONE,
		 MAP_FIXED | MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
		 -1, 0) == MAP_FAILED)
		return -errno;
	return 0;
}

const struct nm_provider_ops nm_host_ops = {
	.name       = "host",
	.area_init  = host_area_init,
	.area_fini  = host_area_fini,
	.alloc_bulk = nm_genpool_alloc_bulk,
	.release    = nm_genpool_release,
	.revoke     = host_revoke,
};

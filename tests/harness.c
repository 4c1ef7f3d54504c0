/* SPDX-License-Identifier: MIT */
#include "harness.h"
#include <netmem/provider.h>
#include <sys/mman.h>
#include <unistd.h>

int nm_test_failures;

struct nm_area *t_host_area(size_t chunks, unsigned int order)
{
	NM_OPTS(nm_area_opts, o, .size = chunks << (12 + order), .order = order);
	struct nm_area *a = nm_area_create("host", &o);
	if (!a) {
		fprintf(stderr, "host area: %s\n", strerror(errno));
		exit(1);
	}
	return a;
}

int t_same_good_stats(const struct nm_pool_stats *a, const struct nm_pool_stats *b)
{
#define SAME(f) \
	if (a->f != b->f) { \
		fprintf(stderr, "%s moved: %llu -> %llu\n", #f, \
			(unsigned long long)a->f, (unsigned long long)b->f); \
		return 0; \
	}
	SAME(alloc_fast) SAME(alloc_slow) SAME(alloc_area) SAME(recycle_cached)
	SAME(recycle_ring) SAME(recycle_released) SAME(inflight) SAME(hold)
	SAME(release)
#undef SAME
	return 1;
}

int t_anon_init(struct nm_area_mem *m)
{
	void *p = mmap(NULL, m->size, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

	if (p == MAP_FAILED)
		return -errno;
	m->cpu_base = m->priv = p;
	m->io_base = (uintptr_t)p;
	return 0;
}

void t_anon_fini(struct nm_area_mem *m)
{
	munmap(m->priv, m->size);
	m->priv = NULL;
}

int t_is_root(void)
{
	return geteuid() == 0;
}

/* SPDX-License-Identifier: MIT */
/*
 * nm_area_revoke of an area with no chunk out (netmem.h: "The memory is
 * released when the last chunk comes back"; none is out, so at once): it
 * returns 0 outstanding, the area is NM_AREA_DEAD straight away with no
 * CPU base, and its memory is unmapped before nm_area_destroy, not kept
 * until then.  The same after a pool took chunks and gave them all back
 * (its cache drained by the revoke's first alloc).
 */
#include "harness.h"
#include <sys/mman.h>

/* Whether the page at addr is mapped, per mincore (ENOMEM: unmapped). */
static int mapped(void *addr)
{
	unsigned char vec;

	if (mincore(addr, 4096, &vec) == 0)
		return 1;
	REQUIRE(errno == ENOMEM);
	return 0;
}

static void *base_of(struct nm_area *a)
{
	struct nm_area_info info;

	REQUIRE(nm_area_info(a, &info, sizeof(info)) == 0);
	return info.cpu_base;
}

static void check_dead(struct nm_area *a, void *base)
{
	struct nm_area_info info;

	REQUIRE(nm_area_info(a, &info, sizeof(info)) == 0);
	CHECK_EQ(info.state, NM_AREA_DEAD);
	CHECK(info.cpu_base == NULL);
	CHECK_EQ(info.nr_outstanding, 0);
	CHECK(!mapped(base));
}

int main(void)
{
	struct nm_area *a = t_host_area(16, 0);
	struct nm_pool *p;
	struct nm_buf b[4], x;
	void *base = base_of(a);

	/* never used */
	REQUIRE(base && mapped(base));
	CHECK_EQ(nm_area_revoke(a, 0), 0);
	check_dead(a, base);
	CHECK_EQ(nm_area_destroy(a), 0);

	/* used, everything back */
	a = t_host_area(16, 0);
	base = base_of(a);
	p = nm_pool_create(a, NULL);
	REQUIRE(p && base);
	REQUIRE(nm_pool_alloc_bulk(p, b, 4) == 4);
	REQUIRE(nm_pool_put_bulk(p, b, 4) == 4);
	CHECK(nm_area_revoke(a, 0) >= 0);
	CHECK_EQ(nm_pool_alloc(p, &x), -ENODEV);	/* drains the cache */
	check_dead(a, base);
	CHECK_EQ(nm_pool_destroy(p), 0);
	CHECK_EQ(nm_area_destroy(a), 0);
	return t_done();
}

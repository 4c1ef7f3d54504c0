/* SPDX-License-Identifier: MIT */
/*
 * An area larger than memory fails with ENOMEM (more than RAM, sizes near
 * SIZE_MAX that would overflow the rounding, more chunks than the
 * descriptor index can hold), an order past NM_MAX_ORDER with EINVAL;
 * nothing is left behind (ASan checks for leaks) and a normal area and
 * pool work afterwards.
 */
#include "harness.h"
#include <stdint.h>
#include <sys/sysinfo.h>

static void too_big(size_t size, unsigned int order, int want)
{
	NM_OPTS(nm_area_opts, o, .size = size, .order = order);

	errno = 0;
	if (nm_area_create("host", &o) != NULL) {
		fprintf(stderr, "size %zu order %u: created\n", size, order);
		nm_test_failures++;
		return;
	}
	if (errno != want) {
		fprintf(stderr, "size %zu order %u: errno %d, want %d\n",
			size, order, errno, want);
		nm_test_failures++;
	}
}

int main(void)
{
	struct sysinfo si;
	uint64_t ram;
	struct nm_area *a;
	struct nm_pool *p;
	struct nm_buf b;

	REQUIRE(sysinfo(&si) == 0);
	ram = (uint64_t)si.totalram * si.mem_unit;

	too_big((size_t)ram + 4096, 0, ENOMEM);
	too_big((size_t)ram * 2, 9, ENOMEM);
	too_big(SIZE_MAX, 0, ENOMEM);
	too_big(SIZE_MAX - 4095, 0, ENOMEM);
	too_big(SIZE_MAX / 2, 18, ENOMEM);
	too_big((size_t)1 << 62, 0, ENOMEM);
	too_big(4096, NM_MAX_ORDER + 1, EINVAL);
	too_big(4096, UINT32_MAX, EINVAL);

	a = t_host_area(4, 0);
	p = nm_pool_create(a, NULL);
	REQUIRE(p);
	CHECK_EQ(nm_pool_alloc(p, &b), 0);
	CHECK_EQ(nm_pool_put(p, &b), 0);
	CHECK_EQ(nm_pool_destroy(p), 0);
	CHECK_EQ(nm_area_destroy(a), 0);
	return t_done();
}

/* SPDX-License-Identifier: MIT */
/*
 * The process-wide limit of live areas (1024): creating one more fails
 * with ENOSPC before the provider does any work (its area_init is not
 * called), the areas already there are untouched, and destroying one makes
 * room again.  With many areas live, buffers looked up in an interleaved
 * order (each lookup a different area from the one before) still resolve
 * to their own area, and a destroyed area's slot, once reused, resolves to
 * the new area.
 */
#include "harness.h"
#include <netmem/provider.h>
#include <stdint.h>

#define LIMIT 1024

static long inits, finis;

static int cnt_init(struct nm_area_mem *m, const struct nm_area_opts *o)
{
	int r = t_anon_init(m);

	(void)o;
	inits += !r;
	return r;
}

static void cnt_fini(struct nm_area_mem *m)
{
	t_anon_fini(m);
	finis++;
}

static const struct nm_provider_ops cnt_ops = {
	.name = "limit-host",
	.area_init = cnt_init,
	.area_fini = cnt_fini,
	.alloc_bulk = nm_genpool_alloc_bulk,
	.release = nm_genpool_release,
};

static struct nm_area *areas[LIMIT];
static struct nm_pool *pools[LIMIT];
static struct nm_buf bufs[LIMIT];

int main(void)
{
	NM_OPTS(nm_area_opts, o, .size = 4096);
	struct nm_area *extra;
	int n = 0, before;

	REQUIRE(nm_provider_register(&cnt_ops) == 0);
	/* Fill up to the limit: exactly LIMIT, none being live before. */
	while (n < LIMIT) {
		areas[n] = nm_area_create("limit-host", &o);
		if (!areas[n])
			break;
		n++;
	}
	REQUIRE(n > LIMIT / 2);
	CHECK_EQ(n, LIMIT);
	CHECK_EQ(inits, n);

	/* Full: refused before area_init, every time. */
	before = (int)inits;
	for (int i = 0; i < 3; i++) {
		errno = 0;
		CHECK(nm_area_create("limit-host", &o) == NULL);
		CHECK_EQ(errno, ENOSPC);
	}
	CHECK_EQ(inits, before);
	CHECK_EQ(finis, 0);

	/* One buffer from each area; look them up in a stride that never
	 * hits the same area twice in a row. */
	for (int i = 0; i < n; i++) {
		pools[i] = nm_pool_create(areas[i], NULL);
		REQUIRE(pools[i]);
		REQUIRE(nm_pool_alloc(pools[i], &bufs[i]) == 0);
		*(int *)nm_buf_data(&bufs[i]) = i;
	}
	for (int k = 0, i = 0; k < n; k++, i = (i + 7) % n) {
		CHECK(nm_buf_area(&bufs[i]) == areas[i]);
		CHECK_EQ(*(int *)nm_buf_data(&bufs[i]), i);
	}

	/* Destroy one in the middle: its slot is free once its last buffer
	 * and pool are gone, and a new area takes it. */
	CHECK_EQ(nm_buf_put(&bufs[n / 2]), 0);
	CHECK_EQ(nm_pool_destroy(pools[n / 2]), 0);
	CHECK_EQ(nm_area_destroy(areas[n / 2]), 0);
	CHECK_EQ(finis, 1);
	extra = nm_area_create("limit-host", &o);
	CHECK(extra != NULL);
	if (extra) {
		struct nm_pool *p = nm_pool_create(extra, NULL);
		struct nm_buf b;

		REQUIRE(p && nm_pool_alloc(p, &b) == 0);
		CHECK(nm_buf_area(&b) == extra);
		/* the neighbours still resolve to themselves */
		CHECK(nm_buf_area(&bufs[n / 2 - 1]) == areas[n / 2 - 1]);
		CHECK(nm_buf_area(&bufs[n / 2 + 1]) == areas[n / 2 + 1]);
		CHECK_EQ(nm_buf_put(&b), 0);
		CHECK_EQ(nm_pool_destroy(p), 0);
		CHECK_EQ(nm_area_destroy(extra), 0);
	}

	for (int i = 0; i < n; i++) {
		if (i == n / 2)
			continue;
		CHECK_EQ(nm_buf_put(&bufs[i]), 0);
		CHECK_EQ(nm_pool_destroy(pools[i]), 0);
		CHECK_EQ(nm_area_destroy(areas[i]), 0);
	}
	CHECK_EQ(finis, inits);
	return t_done();
}

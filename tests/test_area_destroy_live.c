/* SPDX-License-Identifier: MIT */
/*
 * nm_area_destroy of a live area revokes it (netmem.h): from then on its
 * pools hand nothing out (-ENODEV, even with chunks in the alloc cache),
 * a buffer still held reads as unreadable (nm_buf_data NULL) and is put
 * back fine, and the pool then destroys with nothing in flight.
 */
#include "harness.h"

int main(void)
{
	struct nm_area *a = t_host_area(8, 0);
	struct nm_pool *p = nm_pool_create(a, NULL);
	struct nm_buf held, cached, x;

	REQUIRE(p);
	REQUIRE(nm_pool_alloc(p, &held) == 0);
	REQUIRE(nm_pool_alloc(p, &cached) == 0);
	REQUIRE(nm_pool_put(p, &cached) == 0);	/* one in the cache */
	REQUIRE(nm_buf_data(&held) != NULL);

	CHECK_EQ(nm_area_destroy(a), 0);
	CHECK_EQ(nm_pool_alloc(p, &x), -ENODEV);
	CHECK_EQ(nm_pool_alloc_frag(p, &x, 64, 0), -ENODEV);
	CHECK(nm_buf_data(&held) == NULL);
	CHECK_EQ(nm_buf_get(&held), -ENODEV);
	CHECK_EQ(nm_pool_put(p, &held), 0);
	CHECK_EQ(nm_pool_inflight(p), 0);
	CHECK_EQ(nm_pool_destroy(p), 0);
	return t_done();
}

/* SPDX-License-Identifier: MIT */
/*
 * The host provider with NM_AREA_F_NO_CPU_MAP ("do not map for the CPU
 * even if possible"; docs/providers.md: how tests reach the unreadable
 * paths on an ordinary machine): the area reports no CPU base, a buffer's
 * data pointer is NULL, nm_buf_place cannot write it (-EOPNOTSUPP), yet
 * the memory is there: chunks have IO addresses, allocate, and go back.
 * A receiver refuses such a pool without split (rx.h, EINVAL).
 */
#include "harness.h"
#include <netmem/rx.h>

static int on_data(struct nm_rx *rx, struct nm_rx_conn *c, const struct nm_rx_msg *m,
		   void *user)
{
	return 0;
}

int main(void)
{
	NM_OPTS(nm_area_opts, ao, .size = 8 << 12, .flags = NM_AREA_F_NO_CPU_MAP);
	struct nm_area *a = nm_area_create("host", &ao);
	struct nm_area_info info;
	struct nm_pool *p;
	struct nm_buf b[2];
	uint64_t io[2];
	char c = 1;

	REQUIRE(a);
	REQUIRE(nm_area_info(a, &info, sizeof(info)) == 0);
	CHECK(info.cpu_base == NULL);
	CHECK_EQ(info.nr_chunks, 8);
	p = nm_pool_create(a, NULL);
	REQUIRE(p);
	REQUIRE(nm_pool_alloc_bulk(p, b, 2) == 2);
	for (int i = 0; i < 2; i++) {
		CHECK(nm_buf_data(&b[i]) == NULL);
		CHECK_EQ(nm_buf_place(&b[i], &c, 1, NULL, NULL), -EOPNOTSUPP);
		CHECK_EQ(nm_buf_io_addr(&b[i], &io[i]), 0);
	}
	CHECK(io[0] != io[1]);
	{
		NM_OPTS(nm_rx_opts, o, .pool = p, .on_data = on_data);
		errno = 0;
		CHECK(nm_rx_create(&o) == NULL);
		CHECK_EQ(errno, EINVAL);
	}
	CHECK_EQ(nm_pool_put_bulk(p, b, 2), 2);
	CHECK_EQ(nm_pool_destroy(p), 0);
	CHECK_EQ(nm_area_destroy(a), 0);
	return t_done();
}

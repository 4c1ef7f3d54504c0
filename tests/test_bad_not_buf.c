/* SPDX-License-Identifier: MIT */
/*
 * A pointer that is not a buffer: a NULL descriptor, a stack or heap
 * address, an address inside the area's memory, a pointer into the middle
 * of a descriptor, one just past the descriptor array.  nm_pool_put,
 * nm_pool_put_bulk and nm_buf_put return -EFAULT (counted in err_not_buf
 * where a pool is named); the lookups (nm_buf_area, nm_buf_chunk_index,
 * nm_buf_io_addr, nm_buf_sync, nm_buf_get, nm_buf_data, nm_buf_place)
 * refuse without dereferencing it.  A held buffer and the pool's stats of
 * good operations are untouched, and allocation goes on as before.
 */
#include "harness.h"
#include <stdint.h>

#define NR 32

int main(void)
{
	struct nm_area *a = t_host_area(NR, 0);
	struct nm_pool *p = nm_pool_create(a, NULL);
	struct nm_pool_stats s0, s1;
	struct nm_buf held, bad[8], all[NR];
	long on_stack[16] = { 0 };
	void *heap = calloc(1, 256);
	unsigned int nbad = 0;
	uint64_t addr;
	char byte = 1;
	int n;

	REQUIRE(p && heap);
	REQUIRE(nm_pool_alloc(p, &held) == 0);
	memset(nm_buf_data(&held), 0x77, held.len);

	bad[nbad++] = (struct nm_buf){ .iov = NULL, .len = 1 };
	bad[nbad++] = (struct nm_buf){ .iov = (struct nm_iov *)on_stack, .len = 1 };
	bad[nbad++] = (struct nm_buf){ .iov = heap, .len = 1 };
	bad[nbad++] = (struct nm_buf){ .iov = nm_buf_data(&held), .len = 1 };
	bad[nbad++] = (struct nm_buf){ .iov = (struct nm_iov *)((char *)held.iov + 1) };
	bad[nbad++] = (struct nm_buf){ .iov = (struct nm_iov *)((char *)held.iov + 8) };
	bad[nbad++] = (struct nm_buf){ .iov = (struct nm_iov *)(uintptr_t)0xdead0000 };
	/* One past the last descriptor of the area; the stride is derived
	 * from two real buffers (the descriptor is opaque). */
	bad[nbad] = held;
	{
		struct nm_buf t;
		REQUIRE(nm_pool_alloc(p, &t) == 0);
		ptrdiff_t stride = ((char *)t.iov - (char *)held.iov) /
				   (nm_buf_chunk_index(&t) - nm_buf_chunk_index(&held));
		bad[nbad].iov = (struct nm_iov *)((char *)held.iov +
				(NR - nm_buf_chunk_index(&held)) * stride);
		nbad++;
		CHECK_EQ(nm_pool_put(p, &t), 0);
	}

	nm_pool_get_stats(p, &s0, sizeof(s0));
	for (unsigned int i = 0; i < nbad; i++) {
		CHECK_EQ(nm_pool_put(p, &bad[i]), -EFAULT);
		CHECK_EQ(nm_buf_put(&bad[i]), -EFAULT);
		CHECK(nm_buf_area(&bad[i]) == NULL);
		CHECK_EQ(nm_buf_chunk_index(&bad[i]), -EINVAL);
		CHECK_EQ(nm_buf_io_addr(&bad[i], &addr), -EINVAL);
		CHECK_EQ(nm_buf_sync(&bad[i], NM_SYNC_FOR_CPU), -EINVAL);
		CHECK_EQ(nm_buf_get(&bad[i]), -EFAULT);
		CHECK(nm_buf_data(&bad[i]) == NULL);
		CHECK_EQ(nm_buf_place(&bad[i], &byte, 1, NULL, NULL), -EINVAL);
	}
	CHECK_EQ(nm_pool_put_bulk(p, bad, nbad), 0);
	nm_pool_get_stats(p, &s1, sizeof(s1));

	CHECK_EQ(s1.err_not_buf, s0.err_not_buf + 2 * nbad);
	CHECK_EQ(s1.err_foreign + s1.err_double_put + s1.err_range + s1.err_inval, 0);
	CHECK_EQ(s1.alloc_fast, s0.alloc_fast);
	CHECK_EQ(s1.alloc_slow, s0.alloc_slow);
	CHECK_EQ(s1.recycle_cached, s0.recycle_cached);
	CHECK_EQ(s1.recycle_ring, s0.recycle_ring);
	CHECK_EQ(s1.recycle_released, s0.recycle_released);
	CHECK_EQ(s1.hold, s0.hold);
	CHECK_EQ(s1.release, s0.release);
	CHECK_EQ(s1.inflight, 1);
	CHECK(((unsigned char *)nm_buf_data(&held))[0] == 0x77);
	CHECK(on_stack[0] == 0 && ((char *)heap)[0] == 0);

	/* Allocation goes on: every chunk once, the held one not again. */
	n = nm_pool_alloc_bulk(p, all, NR);
	CHECK_EQ(n, NR - 1);
	for (int i = 0; i < n; i++)
		CHECK(all[i].iov != held.iov);
	CHECK_EQ(nm_pool_put_bulk(p, all, (unsigned int)n), n);
	CHECK_EQ(nm_pool_put(p, &held), 0);
	CHECK_EQ(nm_pool_inflight(p), 0);

	free(heap);
	CHECK_EQ(nm_pool_destroy(p), 0);
	CHECK_EQ(nm_area_destroy(a), 0);
	return t_done();
}

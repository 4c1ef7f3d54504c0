/* SPDX-License-Identifier: MIT */
/*
 * Chunk orders 0..9 (4 KiB to 2 MiB): for each, a host area of several
 * chunks; chunk size, count and length as asked; every chunk distinct, at
 * base + index << shift, its IO address io_base + index * size; the whole
 * chunk writable and readable (2 MiB included) without touching its
 * neighbours; fragments inside big chunks.  Orders up to NM_MAX_ORDER can
 * be created (not touched); NM_MAX_ORDER + 1 cannot.
 */
#include "harness.h"

#define CHUNKS 4

int main(void)
{
	for (unsigned int order = 0; order <= 9; order++) {
		struct nm_area *a = t_host_area(CHUNKS, order);
		struct nm_pool *p = nm_pool_create(a, NULL);
		uint32_t cs = 4096u << order;
		struct nm_area_info info;
		struct nm_buf b[CHUNKS + 1], f;
		uint64_t io;
		int n;

		REQUIRE(p);
		REQUIRE(nm_area_info(a, &info, sizeof(info)) == 0);
		CHECK_EQ(info.order, order);
		CHECK_EQ(info.chunk_size, cs);
		CHECK_EQ(info.nr_chunks, CHUNKS);
		CHECK_EQ(info.size, (size_t)CHUNKS * cs);
		CHECK_EQ(nm_pool_chunk_size(p), cs);
		n = nm_pool_alloc_bulk(p, b, CHUNKS + 1);
		CHECK_EQ(n, CHUNKS);
		for (int i = 0; i < n; i++) {
			int idx = nm_buf_chunk_index(&b[i]);
			unsigned char *d = nm_buf_data(&b[i]);

			CHECK_EQ(b[i].len, cs);
			CHECK_EQ(b[i].off, 0);
			REQUIRE(idx >= 0 && idx < CHUNKS && d);
			CHECK(d == (unsigned char *)info.cpu_base + (size_t)idx * cs);
			CHECK_EQ(nm_buf_io_addr(&b[i], &io), 0);
			CHECK_EQ(io, info.io_base + (uint64_t)idx * cs);
			memset(d, 0x40 + idx, cs);
		}
		for (int i = 0; i < n; i++) {
			unsigned char *d = nm_buf_data(&b[i]);
			int idx = nm_buf_chunk_index(&b[i]);
			size_t bad = 0;

			for (size_t k = 0; k < cs; k += 511)
				bad += d[k] != 0x40 + idx;
			bad += d[cs - 1] != 0x40 + idx;
			CHECK_EQ(bad, 0);
		}
		CHECK_EQ(nm_pool_put_bulk(p, b, (unsigned int)n), n);

		/* Fragments of a quarter chunk. */
		for (int i = 0; i < 4; i++) {
			REQUIRE(nm_pool_alloc_frag(p, &f, cs / 4, 0) == 0);
			CHECK_EQ(f.off, (uint32_t)i * (cs / 4));
			CHECK_EQ(nm_buf_io_addr(&f, &io), 0);
			CHECK_EQ(io % (cs / 4 < 64 ? 64 : 1), 0);
			CHECK_EQ(nm_pool_put(p, &f), 0);
		}
		CHECK_EQ(nm_pool_inflight(p), 0);
		CHECK_EQ(nm_pool_destroy(p), 0);
		CHECK_EQ(nm_area_destroy(a), 0);
	}
	/* Larger orders can be created (NORESERVE, never touched). */
	for (unsigned int order = 10; order <= NM_MAX_ORDER; order++) {
		struct nm_area *a = t_host_area(1, order);
		struct nm_area_info info;

		REQUIRE(nm_area_info(a, &info, sizeof(info)) == 0);
		CHECK_EQ(info.chunk_size, 4096u << order);
		CHECK_EQ(info.nr_chunks, 1);
		CHECK_EQ(nm_area_destroy(a), 0);
	}
	{
		NM_OPTS(nm_area_opts, o, .size = 1 << 20, .order = NM_MAX_ORDER + 1);
		errno = 0;
		CHECK(nm_area_create("host", &o) == NULL);
		CHECK_EQ(errno, EINVAL);
	}
	return t_done();
}

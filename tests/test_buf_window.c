/* SPDX-License-Identifier: MIT */
/*
 * A buffer whose window (off + len) does not lie in its chunk is refused
 * by every nm_buf_* call that would reach the memory through it:
 * nm_buf_data returns NULL (never a pointer past the chunk),
 * nm_buf_io_addr, nm_buf_sync, nm_buf_place and nm_buf_get return -ERANGE
 * (get takes no reference: one put still frees the chunk).  nm_buf_sync
 * and nm_buf_place also say -ERANGE for a good window when the bytes
 * asked for do not fit (place: more than the buffer's len), and neither
 * the provider's sync nor a byte of the chunk is touched.  The window at
 * the very end of the chunk (off = chunk size, len 0) is still a window.
 */
#include "harness.h"
#include <netmem/provider.h>

static int syncs;

static int count_sync(struct nm_area_mem *m, uint64_t off, uint64_t len,
		      enum nm_sync_dir dir)
{
	(void)m, (void)off, (void)len, (void)dir;
	syncs++;
	return 0;
}

static int counting_init(struct nm_area_mem *m, const struct nm_area_opts *o)
{
	(void)o;
	return t_anon_init(m);
}

static const struct nm_provider_ops counting_ops = {
	.name = "test-window",
	.area_init = counting_init,
	.area_fini = t_anon_fini,
	.alloc_bulk = nm_genpool_alloc_bulk,
	.release = nm_genpool_release,
	.sync = count_sync,
};

int main(void)
{
	NM_OPTS(nm_area_opts, ao, .size = 4 * 4096, .order = 0);
	const struct { uint32_t off, len; } bad[] = {
		{ 4096, 1 }, { 4095, 2 }, { 0, 4097 }, { 1, 4096 }, { 8192, 0 },
		{ UINT32_MAX, 1 }, { 1, UINT32_MAX }, { UINT32_MAX, UINT32_MAX },
	};
	const unsigned int nb = sizeof(bad) / sizeof(bad[0]);
	struct nm_area *a;
	struct nm_pool *p;
	struct nm_buf b, w;
	char src[64] = { 0 }, *d;
	uint64_t io;

	REQUIRE(nm_provider_register(&counting_ops) == 0);
	a = nm_area_create("test-window", &ao);
	REQUIRE(a);
	p = nm_pool_create(a, NULL);
	REQUIRE(p);
	REQUIRE(nm_pool_alloc(p, &b) == 0);
	d = nm_buf_data(&b);
	REQUIRE(d);
	memset(d, 0x5a, 4096);

	for (unsigned int i = 0; i < nb; i++) {
		w = b;
		w.off = bad[i].off;
		w.len = bad[i].len;
		CHECK(nm_buf_data(&w) == NULL);
		io = 12345;
		CHECK_EQ(nm_buf_io_addr(&w, &io), -ERANGE);
		CHECK_EQ(io, 12345);
		CHECK_EQ(nm_buf_sync(&w, NM_SYNC_FOR_CPU), -ERANGE);
		CHECK_EQ(nm_buf_sync(&w, NM_SYNC_FOR_DEVICE), -ERANGE);
		CHECK_EQ(nm_buf_place(&w, src, 0, NULL, NULL), -ERANGE);
		CHECK_EQ(nm_buf_place(&w, src, 1, NULL, NULL), -ERANGE);
		CHECK_EQ(nm_buf_get(&w), -ERANGE);
		CHECK_EQ(nm_buf_put(&w), -ERANGE);
		/* what the accessors do not touch: which area, which chunk */
		CHECK(nm_buf_area(&w) == a);
		CHECK_EQ(nm_buf_chunk_index(&w), nm_buf_chunk_index(&b));
	}

	/* A good window, but more bytes than it holds. */
	w = b;
	w.off = 4000;
	w.len = 96;
	CHECK(nm_buf_data(&w) == d + 4000);
	CHECK_EQ(nm_buf_place(&w, src, 97, NULL, NULL), -ERANGE);
	CHECK_EQ(nm_buf_place(&w, src, 64, NULL, NULL), 0);
	CHECK_EQ((unsigned char)d[4000], 0);
	CHECK_EQ((unsigned char)d[4064], 0x5a);
	CHECK_EQ(syncs, 0);
	CHECK_EQ(nm_buf_sync(&w, NM_SYNC_FOR_CPU), 0);
	CHECK_EQ(syncs, 1);
	CHECK_EQ(nm_buf_io_addr(&w, &io), 0);

	/* The empty window at the chunk's end is one. */
	w.off = 4096;
	w.len = 0;
	CHECK(nm_buf_data(&w) == d + 4096);
	CHECK_EQ(nm_buf_place(&w, src, 0, NULL, NULL), 0);

	/* No get succeeded: one put frees the chunk, a second is refused. */
	CHECK_EQ(nm_pool_inflight(p), 1);
	CHECK_EQ(nm_pool_put(p, &b), 0);
	CHECK_EQ(nm_pool_inflight(p), 0);
	CHECK_EQ(nm_pool_put(p, &b), -EALREADY);
	CHECK_EQ(nm_pool_destroy(p), 0);
	CHECK_EQ(nm_area_destroy(a), 0);
	return t_done();
}

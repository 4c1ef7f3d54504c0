/* SPDX-License-Identifier: MIT */
/*
 * Payload placed into GPU pool buffers arrives intact: random bytes are
 * placed fragment by fragment (from pinned memory, from a pinned host
 * area's pool, and from ordinary pageable memory), completions come only
 * from nm_area_poll, and an NVRTC-compiled kernel's checksum of each
 * buffer on the GPU equals the CPU's checksum of the same bytes.
 */
#include "test_gpu_util.h"
#include <unistd.h>

#define NFRAG 200

static int completions, bad_status;

static void on_done(void *arg, int status)
{
	(void)arg;
	completions++;
	if (status)
		bad_status++;
}

/* Checksum [io, io+len) on the GPU. */
static void gpu_sum(const struct nm_cudrv *cu, CUfunction fn, uint64_t io, size_t len,
		    CUdeviceptr out, uint64_t res[2])
{
	unsigned long long n = len;
	CUdeviceptr p = io;
	void *args[] = { &p, &n, &out };
	unsigned int blocks = (unsigned int)((len + 4095) / 4096);

	REQUIRE(cu->MemsetD8(out, 0, 16) == CUDA_SUCCESS);
	REQUIRE(cu->LaunchKernel(fn, (blocks + 63) / 64, 1, 1, 64, 1, 1, 0, NULL,
				 args, NULL) == CUDA_SUCCESS);
	REQUIRE(cu->MemcpyDtoH(res, out, 16) == CUDA_SUCCESS);
}

static void run(const struct nm_cudrv *cu, CUfunction fn, struct nm_pool *p,
		struct nm_area *a, unsigned char *(*src_of)(int i, size_t len, void *ctx),
		void *ctx, const char *what)
{
	struct nm_buf b[NFRAG];
	unsigned char *src[NFRAG];
	CUdeviceptr out;
	uint64_t io, g[2], c[2];
	int placed = 0;

	completions = bad_status = 0;
	REQUIRE(cu->MemAlloc(&out, 16) == CUDA_SUCCESS);
	for (int i = 0; i < NFRAG; i++) {
		size_t len = 1 + (size_t)(rand() % 20000);
		REQUIRE(nm_pool_alloc_frag(p, &b[i], (uint32_t)len, 64) == 0);
		src[i] = src_of(i, len, ctx);
		for (size_t k = 0; k < len; k++)
			src[i][k] = (unsigned char)rand();
		CHECK_EQ(nm_buf_place(&b[i], src[i], len, on_done, NULL), 0);
		placed++;
	}
	/* Nothing completes behind poll's back. */
	CHECK_EQ(completions, 0);
	CHECK(T_POLL_UNTIL(a, completions == placed));
	CHECK_EQ(bad_status, 0);
	for (int i = 0; i < NFRAG; i++) {
		REQUIRE(nm_buf_io_addr(&b[i], &io) == 0);
		gpu_sum(cu, fn, io, b[i].len, out, g);
		t_cpu_checksum(src[i], b[i].len, c);
		if (g[0] != c[0] || g[1] != c[1]) {
			fprintf(stderr, "%s: fragment %d (%u bytes): gpu %llx/%llx cpu %llx/%llx\n",
				what, i, b[i].len, (unsigned long long)g[0],
				(unsigned long long)g[1], (unsigned long long)c[0],
				(unsigned long long)c[1]);
			nm_test_failures++;
		}
	}
	CHECK_EQ(nm_pool_put_bulk(p, b, NFRAG), NFRAG);
	cu->MemFree(out);
	printf("%s: %d fragments placed and checked\n", what, NFRAG);
}

/* Sources: slices of one pinned buffer, of a pinned host pool, of malloc. */
static unsigned char *from_base(int i, size_t len, void *ctx)
{
	(void)len;
	return (unsigned char *)ctx + (size_t)i * 20480;
}

static struct nm_buf sb[NFRAG];

static unsigned char *from_pool(int i, size_t len, void *ctx)
{
	(void)len;
	REQUIRE(nm_pool_alloc(ctx, &sb[i]) == 0);
	return nm_buf_data(&sb[i]);
}

int main(void)
{
	const struct nm_cudrv *cu = t_gpu_require();
	struct nm_cuda_stats st;
	struct nm_area *a, *h;
	struct nm_pool *p, *hp;
	CUmodule mod;
	CUfunction fn = t_gpu_kernel("nm_checksum", &mod);
	unsigned char *pinned, *pageable;

	srand(12345);
	a = t_cuda_area(256, 4, 0);
	p = nm_pool_create(a, NULL);
	REQUIRE(p);

	pinned = nm_cuda_host_alloc((size_t)NFRAG * 20480);
	REQUIRE(pinned);
	run(cu, fn, p, a, from_base, pinned, "pinned");
	CHECK_EQ(nm_cuda_host_free(pinned), 0);

	h = t_host_area(NFRAG, 3); /* 32 KiB chunks */
	CHECK_EQ(nm_cuda_pin_area(h), 0);
	CHECK_EQ(nm_cuda_pin_area(h), -EALREADY);
	hp = nm_pool_create(h, NULL);
	REQUIRE(hp);
	run(cu, fn, p, a, from_pool, hp, "pinned host area");
	CHECK_EQ(nm_pool_put_bulk(hp, sb, NFRAG), NFRAG);
	CHECK_EQ(nm_cuda_unpin_area(h), 0);
	CHECK_EQ(nm_pool_destroy(hp), 0);
	CHECK_EQ(nm_area_destroy(h), 0);

	pageable = malloc((size_t)NFRAG * 20480);
	REQUIRE(pageable);
	run(cu, fn, p, a, from_base, pageable, "pageable");
	free(pageable);

	REQUIRE(nm_cuda_area_stats(a, &st, sizeof(st)) == 0);
	CHECK_EQ(st.place_calls, 3 * NFRAG);
	CHECK_EQ(st.place_done, 3 * NFRAG);
	CHECK_EQ(st.place_pending, 0);
	CHECK_EQ(st.place_errors, 0);
	CHECK(st.events_recorded > 0 && st.events_recorded < 3 * NFRAG);
	printf("events %llu for %llu placements\n",
	       (unsigned long long)st.events_recorded, (unsigned long long)st.place_calls);

	/* Out of range and bad arguments. */
	struct nm_buf b;
	REQUIRE(nm_pool_alloc(p, &b) == 0);
	char x[16] = { 0 };
	CHECK_EQ(nm_buf_place(&b, x, (size_t)b.len + 1, NULL, NULL), -ERANGE);
	CHECK_EQ(nm_buf_place(&b, NULL, 4, NULL, NULL), -EINVAL);
	CHECK_EQ(nm_pool_put(p, &b), 0);

	cu->ModuleUnload(mod);
	CHECK_EQ(nm_pool_destroy(p), 0);
	CHECK_EQ(nm_area_destroy(a), 0);
	return t_done();
}

/* SPDX-License-Identifier: MIT */
/*
 * Revoking a GPU area with buffers in flight.  Plain revoke: held,
 * deferred and placed buffers all finish normally, the device memory stays
 * until the last chunk comes back, then the area is dead.  GONE: the
 * memory is freed at once, placements report -ENODEV, held buffers can
 * still be put and deferred ones are still released, and nothing is
 * freed twice.
 */
#include "test_gpu_util.h"
#include <unistd.h>

static int done_ok, done_gone, done_other;

static void on_done(void *arg, int status)
{
	(void)arg;
	if (!status)
		done_ok++;
	else if (status == -ENODEV)
		done_gone++;
	else
		done_other++;
}

static void one(const struct nm_cudrv *cu, CUfunction spin, unsigned int flags)
{
	struct nm_area_info ai;
	struct nm_cuda_stats st;
	struct nm_area *a;
	struct nm_pool *p;
	struct nm_buf b[8], x;
	CUstream s;
	unsigned char *src = nm_cuda_host_alloc(1 << 20);
	unsigned long long ns = 200ull * 1000 * 1000;
	void *args[] = { &ns };
	int out;

	REQUIRE(src);
	memset(src, 0xa5, 1 << 20);
	done_ok = done_gone = done_other = 0;
	a = t_cuda_area(16, 4, 0);
	p = nm_pool_create(a, NULL);
	REQUIRE(p);
	REQUIRE(cu->StreamCreate(&s, CU_STREAM_NON_BLOCKING) == CUDA_SUCCESS);
	REQUIRE(nm_pool_alloc_bulk(p, b, 8) == 8);
	for (int i = 0; i < 4; i++)
		CHECK_EQ(nm_buf_place(&b[i], src, b[i].len, on_done, NULL), 0);
	REQUIRE(cu->LaunchKernel(spin, 1, 1, 1, 1, 1, 1, 0, s, args, NULL) == CUDA_SUCCESS);
	CHECK_EQ(nm_cuda_put_after(&b[6], s), 0);
	CHECK_EQ(nm_cuda_put_after(&b[7], s), 0);

	/* Outstanding counts every chunk pools took, their caches included. */
	out = nm_area_revoke(a, flags);
	CHECK(out >= 8 && out <= 16);
	CHECK_EQ(nm_area_revoke(a, flags), -EALREADY);
	REQUIRE(nm_area_info(a, &ai, sizeof(ai)) == 0);
	CHECK(ai.state == (flags ? NM_AREA_DEAD : NM_AREA_REVOKING));
	if (flags)
		CHECK_EQ(ai.dmabuf_fd, -1);
	/* No buffer is handed out; held ones fail but can be put. */
	CHECK_EQ(nm_pool_alloc(p, &x), -ENODEV);
	CHECK_EQ(nm_buf_place(&b[4], src, 64, on_done, NULL), -ENODEV);
	uint64_t io;
	CHECK_EQ(nm_buf_io_addr(&b[4], &io), -ENODEV);

	/* Placements complete: landed (plain) or gone (GONE). */
	CHECK(T_POLL_UNTIL(a, done_ok + done_gone + done_other == 4));
	CHECK_EQ(done_other, 0);
	CHECK_EQ(flags ? done_gone : done_ok, 4);
	/* Deferred ones are released only after the kernel. */
	CHECK(T_POLL_UNTIL(a, nm_pool_inflight(p) == 6));
	CHECK_EQ(cu->StreamQuery(s), CUDA_SUCCESS);
	REQUIRE(nm_cuda_area_stats(a, &st, sizeof(st)) == 0);
	CHECK_EQ(st.released, 2);

	for (int i = 0; i < 6; i++)
		CHECK_EQ(nm_pool_put(p, &b[i]), 0);
	REQUIRE(nm_area_info(a, &ai, sizeof(ai)) == 0);
	CHECK_EQ(ai.nr_outstanding, 0);
	CHECK(ai.state == NM_AREA_DEAD);
	/* Torn down: the provider state is gone, polling is harmless. */
	CHECK_EQ(nm_area_poll(a), 0);
	CHECK_EQ(nm_cuda_area_stats(a, &st, sizeof(st)), -ENODEV);
	CHECK_EQ(nm_pool_destroy(p), 0);
	CHECK_EQ(nm_area_destroy(a), 0);
	cu->StreamDestroy(s);
	nm_cuda_host_free(src);
	printf("revoke%s: ok\n", flags ? " GONE" : "");
}

int main(void)
{
	const struct nm_cudrv *cu = t_gpu_require();
	CUmodule mod;
	CUfunction spin = t_gpu_kernel("nm_spin", &mod);

	one(cu, spin, 0);
	one(cu, spin, NM_REVOKE_GONE);
	cu->ModuleUnload(mod);
	return t_done();
}

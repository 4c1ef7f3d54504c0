/* SPDX-License-Identifier: MIT */
/*
 * Release after GPU work: a buffer handed to nm_cuda_put_after() behind a
 * long-running kernel stays held while the kernel runs (however often the
 * area is polled) and goes back to the pool after it, without the CPU
 * ever waiting.  Two streams: a finished one releases while the other is
 * still busy.
 */
#include "test_gpu_util.h"
#include <time.h>
#include <unistd.h>

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void spin(const struct nm_cudrv *cu, CUfunction fn, CUstream s, unsigned long long ns)
{
	void *args[] = { &ns };
	REQUIRE(cu->LaunchKernel(fn, 1, 1, 1, 1, 1, 1, 0, s, args, NULL) == CUDA_SUCCESS);
}

int main(void)
{
	const struct nm_cudrv *cu = t_gpu_require();
	struct nm_cuda_stats st;
	struct nm_area *a;
	struct nm_pool *p;
	struct nm_buf b[4];
	CUstream slow, fast;
	CUmodule mod;
	CUfunction fn = t_gpu_kernel("nm_spin", &mod);
	double t0, t_poll;
	int polls = 0;

	a = t_cuda_area(16, 0, 0);
	p = nm_pool_create(a, NULL);
	REQUIRE(p);
	REQUIRE(cu->StreamCreate(&slow, CU_STREAM_NON_BLOCKING) == CUDA_SUCCESS);
	REQUIRE(cu->StreamCreate(&fast, CU_STREAM_NON_BLOCKING) == CUDA_SUCCESS);
	REQUIRE(nm_pool_alloc_bulk(p, b, 4) == 4);

	/* b[0], b[1] behind a 500 ms kernel; b[2] behind nothing on another
	 * stream; b[3] kept by the test. */
	spin(cu, fn, slow, 500ull * 1000 * 1000);
	t0 = now();
	CHECK_EQ(nm_cuda_put_after(&b[0], slow), 0);
	CHECK_EQ(nm_cuda_put_after(&b[1], slow), 0);
	CHECK_EQ(nm_cuda_put_after(&b[2], fast), 0);
	CHECK_EQ(nm_pool_inflight(p), 4);

	/* Poll hard while the kernel runs: b[2] goes, b[0] and b[1] stay. */
	CHECK(T_POLL_UNTIL(a, nm_pool_inflight(p) == 3));
	while (now() - t0 < 0.3) {
		t_poll = now();
		nm_area_poll(a);
		CHECK(now() - t_poll < 0.05); /* poll never waits for the GPU */
		polls++;
		if (cu->StreamQuery(slow) == CUDA_ERROR_NOT_READY)
			CHECK_EQ(nm_pool_inflight(p), 3);
	}
	CHECK_EQ(cu->StreamQuery(slow), CUDA_ERROR_NOT_READY);
	REQUIRE(nm_cuda_area_stats(a, &st, sizeof(st)) == 0);
	CHECK_EQ(st.deferred, 3);
	CHECK_EQ(st.released, 1);
	CHECK_EQ(st.deferred_pending, 2);

	/* After the kernel: released, and the pool hands them out again. */
	CHECK(T_POLL_UNTIL(a, nm_pool_inflight(p) == 1));
	CHECK(now() - t0 >= 0.45);
	CHECK_EQ(cu->StreamQuery(slow), CUDA_SUCCESS);
	REQUIRE(nm_cuda_area_stats(a, &st, sizeof(st)) == 0);
	CHECK_EQ(st.released, 3);
	CHECK_EQ(st.deferred_pending, 0);
	CHECK_EQ(st.release_errors, 0);
	printf("%d polls while the kernel ran; released after %.3f s\n", polls, now() - t0);

	/* The caller gave its reference away: putting it again is a double
	 * put; deferring a buffer already put is refused. */
	CHECK_EQ(nm_buf_put(&b[0]), -EALREADY);
	CHECK_EQ(nm_cuda_put_after(&b[0], fast), -EALREADY);
	struct nm_buf bad = b[3];
	bad.off = 1;
	bad.len = nm_pool_chunk_size(p);
	CHECK_EQ(nm_cuda_put_after(&bad, fast), -EINVAL);
	/* The default (NULL) stream works too. */
	CHECK_EQ(nm_cuda_put_after(&b[3], NULL), 0);
	CHECK(T_POLL_UNTIL(a, nm_pool_inflight(p) == 0));

	cu->StreamDestroy(slow);
	cu->StreamDestroy(fast);
	cu->ModuleUnload(mod);
	CHECK_EQ(nm_pool_destroy(p), 0);
	CHECK_EQ(nm_area_destroy(a), 0);
	return t_done();
}

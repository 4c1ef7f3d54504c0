/* SPDX-License-Identifier: MIT */
/*
 * `netmem rx --split --provider cuda --verify` against the stand-in driver
 * (cuda_mock.h), so the GPU check's plumbing is tested on hosts without a
 * GPU: the kernel is compiled by the real NVRTC (skips without one), the
 * stand-in runs its logic on the CPU, and the scenario of test_gpu_rx_split
 * (rx_gpu_verify.h) must hold: every payload byte compared, a clean verify,
 * and a wrong stream caught at its first byte.  It says nothing about a
 * real GPU; test_gpu_rx_split does that.
 */
#include "cuda_mock.h"
#include "rx_gpu_verify.h"
#include "util/cudadrv.h"

int main(void)
{
	struct t_cuda_mock m;
	char log[512] = "", *img = NULL;
	size_t len;
	int err;

	t_cuda_mock_load(&m);
	err = nm_nvrtc_compile("extern \"C\" __global__ void k(void) {}", "k", 0, &img, &len,
			       log, sizeof(log));
	if (err == -EOPNOTSUPP) {
		t_cuda_mock_unlink(&m);
		SKIP("%s", log);
	}
	CHECK_EQ(err, 0);
	free(img);
	/* The children (netmem rx) load the stand-in through NM_CUDA_LIB,
	 * so it must stay on disk until they are done. */
	t_rx_gpu_verify(4ull << 20);
	t_cuda_mock_unlink(&m);
	return t_done();
}

/* SPDX-License-Identifier: MIT */
/*
 * A loopback TCP stream received with `netmem rx --split --provider cuda`
 * whose every payload byte is checked on the GPU (rx_gpu_verify.h): the
 * payload is placed into GPU memory, an NVRTC-compiled kernel compares it
 * with the pattern, and the buffers go back only after that kernel.
 * Skips without a GPU (fails under NM_TEST_GPU=1, as the other test_gpu_*).
 */
#include "test_gpu_util.h"
#include "rx_gpu_verify.h"

int main(void)
{
	t_gpu_require();
	t_rx_gpu_verify(64ull << 20);	/* 4 x 64 MiB */
	return t_done();
}

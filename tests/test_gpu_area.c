/* SPDX-License-Identifier: MIT */
/*
 * GPU area creation and dmabuf export: the memory is unreadable, IO
 * addresses are device pointers inside the allocation, and the dmabuf fd
 * is there exactly when the device says it supports dmabuf (and the
 * detail says why when not).  Needs a GPU: skips without one, fails
 * without one under NM_TEST_GPU=1.
 */
#include "test_gpu_util.h"
#include <unistd.h>
#include <sys/stat.h>

int main(void)
{
	const struct nm_cudrv *cu = t_gpu_require();
	struct nm_cuda_device_info di;
	struct nm_area_info ai;
	struct nm_area *a;
	struct nm_pool *p;
	struct nm_buf b[8];
	uint64_t io;
	char link[64], path[256];
	ssize_t n;

	CHECK(nm_cuda_available() > 0);
	REQUIRE(nm_cuda_device_info(0, &di, sizeof(di)) == 0);
	printf("device 0: %s cc %d.%d, %llu MiB, dmabuf %d, gdr %d, export api %d\n",
	       di.name, di.cc_major, di.cc_minor,
	       (unsigned long long)(di.total_mem >> 20), di.dmabuf_supported,
	       di.gdr_supported, di.export_api);
	CHECK_EQ(nm_cuda_device_info(nm_cuda_available(), &di, sizeof(di)), -ENODEV);

	a = t_cuda_area(64, 4, 0); /* 64 chunks of 64 KiB */
	REQUIRE(nm_area_info(a, &ai, sizeof(ai)) == 0);
	printf("detail: %s\n", ai.detail);
	CHECK(!strcmp(ai.provider, "cuda"));
	CHECK(ai.cpu_base == NULL);
	CHECK(ai.io_base != 0);
	CHECK_EQ(ai.nr_chunks, 64);
	CHECK(strstr(ai.detail, "dmabuf") != NULL);
	if (di.dmabuf_supported && di.export_api) {
		CHECK(ai.dmabuf_fd >= 0);
		snprintf(path, sizeof(path), "/proc/self/fd/%d", ai.dmabuf_fd);
		n = readlink(path, link, sizeof(link) - 1);
		if (n > 0) {
			link[n] = 0;
			CHECK(strstr(link, "dmabuf") != NULL);
		}
	} else {
		CHECK_EQ(ai.dmabuf_fd, -1);
	}

	p = nm_pool_create(a, NULL);
	REQUIRE(p);
	REQUIRE(nm_pool_alloc_bulk(p, b, 8) == 8);
	for (int i = 0; i < 8; i++) {
		CHECK(nm_buf_data(&b[i]) == NULL);
		CHECK_EQ(nm_buf_io_addr(&b[i], &io), 0);
		CHECK(io >= ai.io_base && io < ai.io_base + ai.size);
		CHECK_EQ(io, ai.io_base + (uint64_t)nm_buf_chunk_index(&b[i]) * ai.chunk_size);
	}
	/* The device pointer is real: the driver accepts a memset into it. */
	CHECK_EQ(nm_buf_io_addr(&b[3], &io), 0);
	CHECK_EQ(cu->MemsetD8((CUdeviceptr)io, 0x5a, b[3].len), CUDA_SUCCESS);
	CHECK_EQ(nm_pool_put_bulk(p, b, 8), 8);
	CHECK_EQ(nm_pool_destroy(p), 0);
	CHECK_EQ(nm_area_destroy(a), 0);

	/* Flags: no export, or export required. */
	a = t_cuda_area(4, 0, NM_CUDA_F_NO_DMABUF);
	REQUIRE(nm_area_info(a, &ai, sizeof(ai)) == 0);
	CHECK_EQ(ai.dmabuf_fd, -1);
	CHECK(strstr(ai.detail, "not requested") != NULL);
	CHECK_EQ(nm_area_destroy(a), 0);
	{
		NM_OPTS(nm_cuda_args, ca, .flags = NM_CUDA_F_REQUIRE_DMABUF);
		NM_OPTS(nm_area_opts, o, .size = 1 << 20, .provider_arg = &ca);
		errno = 0;
		a = nm_area_create("cuda", &o);
		if (di.dmabuf_supported && di.export_api) {
			CHECK(a != NULL);
		} else {
			CHECK(a == NULL && errno == EOPNOTSUPP);
		}
		if (a)
			nm_area_destroy(a);
	}
	/* A device that does not exist. */
	{
		NM_OPTS(nm_cuda_args, ca, .device = nm_cuda_available());
		NM_OPTS(nm_area_opts, o, .size = 1 << 20, .provider_arg = &ca);
		errno = 0;
		CHECK(nm_area_create("cuda", &o) == NULL && errno == ENODEV);
	}
	/* More than the GPU has. */
	{
		NM_OPTS(nm_area_opts, o, .size = (size_t)di.total_mem * 2, .order = 9);
		errno = 0;
		CHECK(nm_area_create("cuda", &o) == NULL && errno == ENOMEM);
	}
	return t_done();
}

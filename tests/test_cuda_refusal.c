/* SPDX-License-Identifier: MIT */
/*
 * The cuda provider where CUDA is off: creation fails with the documented
 * errno and nm_cuda_status() says why; the CUDA API refuses bad
 * arguments with -EINVAL whatever the host has.  On a GPU host the
 * refusal half is skipped and only the argument checks run.
 */
#include "harness.h"
#include <netmem/cuda.h>
#include <netmem/provider.h>

static void check_bad_args(void)
{
	struct nm_area *h = t_host_area(4, 0);
	struct nm_pool *p = nm_pool_create(h, NULL);
	struct nm_buf b = { 0 };
	struct nm_cuda_stats st;
	struct nm_cuda_device_info di;

	REQUIRE(p);
	CHECK_EQ(nm_cuda_put_after(NULL, NULL), -EINVAL);
	CHECK_EQ(nm_cuda_put_after(&b, NULL), -EINVAL);        /* no iov */
	REQUIRE(nm_pool_alloc(p, &b) == 0);
	CHECK_EQ(nm_cuda_put_after(&b, NULL), -EINVAL);        /* host buffer */
	CHECK_EQ(nm_cuda_area_stats(NULL, &st, sizeof(st)), -EINVAL);
	CHECK_EQ(nm_cuda_area_stats(h, &st, sizeof(st)), -EINVAL);         /* not cuda */
	CHECK_EQ(nm_cuda_area_stats(h, NULL, sizeof(struct nm_cuda_stats)), -EINVAL);
	errno = 0;
	CHECK(nm_cuda_area_stream(h) == NULL && errno == EINVAL);
	CHECK_EQ(nm_cuda_device_info(-1, &di, sizeof(di)), -EINVAL);
	CHECK_EQ(nm_cuda_device_info(0, NULL, sizeof(struct nm_cuda_device_info)), -EINVAL);
	/* a size below the first version's (a pointer's): refused first */
	CHECK_EQ(nm_cuda_device_info(0, &di, sizeof(void *)), -EINVAL);
	CHECK_EQ(nm_cuda_area_stats(h, &st, sizeof(void *)), -EINVAL);
	CHECK_EQ(nm_cuda_pin_area(NULL), -EINVAL);
	CHECK_EQ(nm_cuda_unpin_area(NULL), -EINVAL);
	CHECK_EQ(nm_cuda_unpin_area(h), -ENOENT);
	CHECK_EQ(nm_cuda_host_free(NULL), -EINVAL);
	errno = 0;
	CHECK(nm_cuda_host_alloc(0) == NULL && errno == EINVAL);

	/* Bad provider arguments are refused before the driver is asked. */
	NM_OPTS(nm_cuda_args, bad, .device = -1);
	NM_OPTS(nm_area_opts, o, .size = 1 << 20, .provider_arg = &bad);
	errno = 0;
	CHECK(nm_area_create("cuda", &o) == NULL && errno == EINVAL);
	NM_OPTS(nm_cuda_args, badf, .flags = 0x80);
	o.provider_arg = &badf;
	errno = 0;
	CHECK(nm_area_create("cuda", &o) == NULL && errno == EINVAL);
	NM_OPTS(nm_cuda_args, both, .flags = NM_CUDA_F_NO_DMABUF | NM_CUDA_F_REQUIRE_DMABUF);
	o.provider_arg = &both;
	errno = 0;
	CHECK(nm_area_create("cuda", &o) == NULL && errno == EINVAL);
	struct { struct nm_cuda_args a; int extra; } big = {
		.a = { .sz = sizeof(big) }, .extra = 1 };
	o.provider_arg = &big;
	errno = 0;
	CHECK(nm_area_create("cuda", &o) == NULL && errno == E2BIG);

	CHECK_EQ(nm_pool_put(p, &b), 0);
	CHECK_EQ(nm_pool_destroy(p), 0);
	CHECK_EQ(nm_area_destroy(h), 0);
}

int main(void)
{
	const char *why;
	int avail;

	check_bad_args();

	why = nm_cuda_status();
	REQUIRE(why && *why);
	avail = nm_cuda_available();
	printf("cuda: %s (available %d)\n", why, avail);
	if (avail > 0) {
		if (nm_test_failures)
			return t_done();
		SKIP("a CUDA device is present (%s): refusal not testable", why);
	}

	/* The provider is registered even without the driver... */
	const char *names[32];
	int n = nm_provider_list(names, 32), found = 0;
	for (int i = 0; i < n && i < 32; i++)
		found |= !strcmp(names[i], "cuda");
	CHECK(found);

	/* ...and refuses with the documented errno and a reason. */
	NM_OPTS(nm_area_opts, o, .size = 1 << 20);
	errno = 0;
	CHECK(nm_area_create("cuda", &o) == NULL);
	if (avail == -EOPNOTSUPP) {
		CHECK_EQ(errno, EOPNOTSUPP);
		CHECK(strstr(why, "no CUDA driver") != NULL);
		CHECK(strstr(why, "libcuda.so.1") != NULL);
	} else {
		CHECK_EQ(avail, -ENODEV);
		CHECK_EQ(errno, ENODEV);
	}
	errno = 0;
	CHECK(nm_cuda_host_alloc(4096) == NULL && errno == -avail);
	struct nm_cuda_device_info di;
	CHECK_EQ(nm_cuda_device_info(0, &di, sizeof(di)), avail);
	struct nm_area *h = t_host_area(4, 0);
	CHECK_EQ(nm_cuda_pin_area(h), avail);
	CHECK_EQ(nm_area_destroy(h), 0);
	return t_done();
}

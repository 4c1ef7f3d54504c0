/* SPDX-License-Identifier: MIT */
/*
 * Unknown option bits and options structs from the future: unknown area
 * flags, a non-zero reserved numa_node, unknown pool flags and unknown
 * revoke flags are refused with EINVAL; an opts struct larger than the
 * library knows is accepted when its tail is zero and refused with E2BIG
 * when any tail byte is not; a smaller (older) struct reads the missing
 * fields as zero.  A refused revoke leaves the area live and its pool
 * allocating; a refused provider table is not registered.
 */
#include "harness.h"
#include <netmem/provider.h>

/* The current option structs with room behind them, as a newer caller
 * would pass them. */
struct area_opts_v2 {
	struct nm_area_opts o;
	unsigned char tail[24];
};
struct pool_opts_v2 {
	struct nm_pool_opts o;
	unsigned char tail[24];
};

static int dummy_init(struct nm_area_mem *m, const struct nm_area_opts *o)
{
	return -ENOSYS;
}

static void dummy_fini(struct nm_area_mem *m)
{
}

static const struct nm_provider_ops bad_flags_ops = {
	.name = "bad-flags",
	.flags = 1u << 7,
	.area_init = dummy_init,
	.area_fini = dummy_fini,
	.alloc_bulk = nm_genpool_alloc_bulk,
	.release = nm_genpool_release,
};

static void area_fails(const struct nm_area_opts *o, int want)
{
	struct nm_area *a;

	errno = 0;
	a = nm_area_create("host", o);
	if (a) {
		fprintf(stderr, "area created, want errno %d\n", want);
		nm_test_failures++;
		nm_area_destroy(a);
		return;
	}
	if (errno != want) {
		fprintf(stderr, "area errno %d, want %d\n", errno, want);
		nm_test_failures++;
	}
}

static void pool_fails(struct nm_area *a, const struct nm_pool_opts *o, int want)
{
	struct nm_pool *p;

	errno = 0;
	p = nm_pool_create(a, o);
	if (p) {
		fprintf(stderr, "pool created, want errno %d\n", want);
		nm_test_failures++;
		nm_pool_destroy(p);
		return;
	}
	if (errno != want) {
		fprintf(stderr, "pool errno %d, want %d\n", errno, want);
		nm_test_failures++;
	}
}

int main(void)
{
	struct area_opts_v2 av2;
	struct pool_opts_v2 pv2;
	struct nm_area_opts ao;
	struct nm_pool_opts po;
	struct nm_area_info info;
	struct nm_area *a;
	struct nm_pool *p;
	struct nm_buf b;

	/* Area flags. */
	ao = (struct nm_area_opts){ .sz = sizeof(ao), .size = 65536 };
	for (unsigned int bit = 5; bit < 32; bit++) {
		ao.flags = 1u << bit;
		area_fails(&ao, EINVAL);
	}
	ao.flags = ~0u;
	area_fails(&ao, EINVAL);
	ao.flags = NM_AREA_F_POPULATE | (1u << 9);
	area_fails(&ao, EINVAL);
	ao.flags = 0;
	ao.numa_node = 1;
	area_fails(&ao, EINVAL);
	ao.numa_node = 0;

	/* Area opts with a tail. */
	memset(&av2, 0, sizeof(av2));
	av2.o = ao;
	av2.o.sz = sizeof(av2);
	for (size_t i = 0; i < sizeof(av2.tail); i++) {
		av2.tail[i] = 0x80;
		area_fails(&av2.o, E2BIG);
		av2.tail[i] = 0;
	}
	a = nm_area_create("host", &av2.o);	/* zero tail: fine */
	REQUIRE(a);
	CHECK_EQ(nm_area_destroy(a), 0);

	/* An older, shorter struct: the fields it lacks read as zero. */
	ao.order = 3;
	ao.sz = offsetof(struct nm_area_opts, order);
	a = nm_area_create("host", &ao);
	REQUIRE(a);
	REQUIRE(nm_area_info(a, &info, sizeof(info)) == 0);
	CHECK_EQ(info.order, 0);
	CHECK_EQ(info.nr_chunks, 16);

	/* Pool flags and pool opts with a tail. */
	po = (struct nm_pool_opts){ .sz = sizeof(po) };
	for (unsigned int bit = 1; bit < 32; bit++) {
		po.flags = 1u << bit;
		pool_fails(a, &po, EINVAL);
	}
	memset(&pv2, 0, sizeof(pv2));
	pv2.o.sz = sizeof(pv2);
	for (size_t i = 0; i < sizeof(pv2.tail); i++) {
		pv2.tail[i] = 1;
		pool_fails(a, &pv2.o, E2BIG);
		pv2.tail[i] = 0;
	}
	/* With a zero tail it is accepted. */
	p = nm_pool_create(a, &pv2.o);
	REQUIRE(p);

	/* Revoke flags: refused, and the area stays live. */
	REQUIRE(nm_pool_alloc(p, &b) == 0);
	CHECK_EQ(nm_area_revoke(a, 1u << 1), -EINVAL);
	CHECK_EQ(nm_area_revoke(a, ~0u), -EINVAL);
	CHECK_EQ(nm_area_revoke(a, NM_REVOKE_GONE | (1u << 31)), -EINVAL);
	REQUIRE(nm_area_info(a, &info, sizeof(info)) == 0);
	CHECK_EQ(info.state, NM_AREA_LIVE);
	CHECK(info.cpu_base != NULL);
	CHECK(nm_buf_data(&b) != NULL);
	CHECK_EQ(nm_pool_put(p, &b), 0);
	CHECK_EQ(nm_pool_alloc(p, &b), 0);
	CHECK_EQ(nm_pool_put(p, &b), 0);

	/* A provider table with unknown flags is refused. */
	CHECK_EQ(nm_provider_register(&bad_flags_ops), -EINVAL);
	errno = 0;
	CHECK(nm_provider_find("bad-flags") == NULL);
	CHECK_EQ(errno, ENOENT);

	CHECK_EQ(nm_pool_destroy(p), 0);
	CHECK_EQ(nm_area_destroy(a), 0);
	return t_done();
}

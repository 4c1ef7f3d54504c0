/* SPDX-License-Identifier: MIT */
/*
 * An application-defined provider: a static const table registered with
 * nm_provider_register() and used through a pool, its optional slots
 * (io_addr, sync, revoke) called where the core promises, area_fini once
 * after the last chunk is back.  Registration refuses a table with a
 * required slot missing, a bad name or unknown flags (-EINVAL), and a
 * duplicate table or name (-EEXIST); nm_area_create() of an unknown
 * provider fails with ENOENT.
 */
#include "harness.h"
#include <netmem/provider.h>
#include <stdint.h>

#define NR 8
#define IO_BASE 0x100000000ull

/* What the provider saw, for the checks. */
static struct {
	int init, fini, alloc, release, io_addr, sync_dev, sync_cpu, revoke;
	unsigned int revoke_flags;
	unsigned char *mem;
} seen;

static int app_init(struct nm_area_mem *mem, const struct nm_area_opts *opts)
{
	seen.init++;
	if (opts->provider_arg != &seen)	/* the argument arrives intact */
		return -EINVAL;
	seen.mem = calloc(1, mem->size);
	if (!seen.mem)
		return -ENOMEM;
	mem->cpu_base = seen.mem;
	mem->io_base = IO_BASE;
	mem->priv = seen.mem;
	snprintf(mem->detail, sizeof(mem->detail), "app memory, %zu bytes", mem->size);
	return 0;
}

static void app_fini(struct nm_area_mem *mem)
{
	seen.fini++;
	free(mem->priv);
	mem->priv = NULL;
}

static int app_alloc(struct nm_area_mem *mem, uint32_t *idx, unsigned int n)
{
	seen.alloc++;
	return nm_genpool_alloc_bulk(mem, idx, n);
}

static void app_release(struct nm_area_mem *mem, const uint32_t *idx, unsigned int n)
{
	seen.release++;
	nm_genpool_release(mem, idx, n);
}

/* IO addresses run backwards, so the test can tell its slot was used. */
static int app_io_addr(const struct nm_area_mem *mem, uint32_t idx, uint64_t *addr)
{
	seen.io_addr++;
	*addr = IO_BASE + (uint64_t)(mem->nr_chunks - 1 - idx) * mem->chunk_size;
	return 0;
}

static int app_sync(struct nm_area_mem *mem, uint64_t off, uint64_t len,
		    enum nm_sync_dir dir)
{
	if (off + len > mem->size)
		return -ERANGE;
	if (dir == NM_SYNC_FOR_DEVICE)
		seen.sync_dev++;
	else
		seen.sync_cpu++;
	return 0;
}

static int app_revoke(struct nm_area_mem *mem, unsigned int flags)
{
	seen.revoke++;
	seen.revoke_flags = flags;
	return 0;
}

static const struct nm_provider_ops app_ops = {
	.name       = "app_test-1",
	.area_init  = app_init,
	.area_fini  = app_fini,
	.alloc_bulk = app_alloc,
	.release    = app_release,
	.io_addr    = app_io_addr,
	.sync       = app_sync,
	.revoke     = app_revoke,
};

static struct nm_provider_ops max_ops;
static char max_name[32];

/* Copies of app_ops with one thing wrong each. */
static void refusals(void)
{
	struct nm_provider_ops o;
	char long_name[40];
	const char *bad_names[] = { "", "App", "a b", "x/y", "dot.ted", "caf\xc3\xa9" };

	CHECK_EQ(nm_provider_register(NULL), -EINVAL);
	o = app_ops; o.name = "t-noinit"; o.area_init = NULL;
	CHECK_EQ(nm_provider_register(&o), -EINVAL);
	o = app_ops; o.name = "t-nofini"; o.area_fini = NULL;
	CHECK_EQ(nm_provider_register(&o), -EINVAL);
	o = app_ops; o.name = "t-noalloc"; o.alloc_bulk = NULL;
	CHECK_EQ(nm_provider_register(&o), -EINVAL);
	o = app_ops; o.name = "t-norelease"; o.release = NULL;
	CHECK_EQ(nm_provider_register(&o), -EINVAL);
	o = app_ops; o.name = NULL;
	CHECK_EQ(nm_provider_register(&o), -EINVAL);
	o = app_ops; o.name = "t-flags"; o.flags = 0x80;
	CHECK_EQ(nm_provider_register(&o), -EINVAL);
	for (size_t i = 0; i < sizeof(bad_names) / sizeof(bad_names[0]); i++) {
		o = app_ops;
		o.name = bad_names[i];
		if (nm_provider_register(&o) != -EINVAL) {
			fprintf(stderr, "name \"%s\" was not refused\n", bad_names[i]);
			nm_test_failures++;
		}
	}
	memset(long_name, 'a', 32);
	long_name[32] = 0;		/* 32 chars: one too many */
	o = app_ops; o.name = long_name;
	CHECK_EQ(nm_provider_register(&o), -EINVAL);
	/* 31: the most allowed.  A registered table must outlive its use:
	 * this one is static, the refused copies above may be on the stack. */
	long_name[31] = 0;
	memcpy(max_name, long_name, 32);
	max_ops = app_ops;
	max_ops.name = max_name;
	CHECK_EQ(nm_provider_register(&max_ops), 0);
	CHECK(nm_provider_find(long_name) == &max_ops);
	/* none of the refused names made it in */
	errno = 0;
	CHECK(nm_provider_find("t-noinit") == NULL);
	CHECK_EQ(errno, ENOENT);
}

static void use_through_pool(void)
{
	NM_OPTS(nm_area_opts, ao, .size = NR * 4096, .provider_arg = &seen);
	NM_OPTS(nm_pool_opts, po, .flags = NM_POOL_F_SYNC_FOR_DEVICE);
	struct nm_area_info info;
	struct nm_area *a;
	struct nm_pool *p;
	struct nm_buf b[NR], extra;
	uint64_t io = 0;
	int got;

	a = nm_area_create("app_test-1", &ao);
	REQUIRE(a);
	CHECK_EQ(seen.init, 1);
	REQUIRE(nm_area_info(a, &info, sizeof(info)) == 0);
	CHECK(!strcmp(info.provider, "app_test-1"));
	CHECK(!strcmp(info.detail, "app memory, 32768 bytes"));
	CHECK(info.cpu_base == seen.mem);
	CHECK_EQ(info.nr_chunks, NR);
	p = nm_pool_create(a, &po);
	REQUIRE(p);
	got = nm_pool_alloc_bulk(p, b, NR);
	CHECK_EQ(got, NR);
	CHECK(seen.alloc >= 1);
	CHECK(seen.sync_dev >= NR);	/* synced for the device on refill */
	for (int i = 0; i < got; i++) {
		int idx = nm_buf_chunk_index(&b[i]);
		unsigned char *d = nm_buf_data(&b[i]);

		CHECK(d == seen.mem + (size_t)idx * 4096);
		if (d)
			memset(d, i, 16);
		CHECK_EQ(nm_buf_io_addr(&b[i], &io), 0);
		CHECK_EQ(io, IO_BASE + (uint64_t)(NR - 1 - idx) * 4096);
	}
	CHECK(seen.io_addr >= NR);
	CHECK_EQ(nm_buf_sync(&b[0], NM_SYNC_FOR_CPU), 0);
	CHECK_EQ(seen.sync_cpu, 1);
	CHECK_EQ(nm_pool_alloc(p, &extra), -ENOMEM);
	CHECK_EQ(nm_pool_put_bulk(p, b, (unsigned int)got), got);
	CHECK_EQ(nm_pool_alloc_frag(p, &b[0], 100, 0), 0);
	CHECK_EQ(nm_pool_alloc_frag(p, &b[1], 100, 0), 0);
	CHECK(b[0].iov == b[1].iov);
	CHECK_EQ(nm_buf_put(&b[0]), 0);

	/* revoke with a buffer held: the slot is told, fini waits */
	CHECK_EQ(nm_pool_destroy(p), 1);
	CHECK(seen.release >= 1);
	CHECK_EQ(nm_area_revoke(a, 0), 1);
	CHECK_EQ(seen.revoke, 1);
	CHECK_EQ(seen.revoke_flags, 0);
	CHECK_EQ(seen.fini, 0);
	CHECK_EQ(nm_buf_put(&b[1]), 0);
	CHECK_EQ(seen.fini, 1);
	CHECK_EQ(nm_area_destroy(a), 0);
	CHECK_EQ(seen.fini, 1);
	CHECK_EQ(seen.revoke, 1);	/* destroy does not revoke twice */

	/* the argument is the provider's to check: its errno comes back */
	ao.provider_arg = NULL;
	errno = 0;
	CHECK(nm_area_create("app_test-1", &ao) == NULL);
	CHECK_EQ(errno, EINVAL);
	CHECK_EQ(seen.fini, 1);		/* no fini for a failed init */
}

int main(void)
{
	const char *names[64];
	int n, found = 0;
	NM_OPTS(nm_area_opts, o, .size = 4096);
	struct nm_provider_ops dup_name = app_ops;
	struct nm_provider_ops host_name = app_ops;

	errno = 0;
	CHECK(nm_area_create("no-such-provider", &o) == NULL);
	CHECK_EQ(errno, ENOENT);
	errno = 0;
	CHECK(nm_area_create("app_test-1", &o) == NULL);	/* not yet */
	CHECK_EQ(errno, ENOENT);

	refusals();
	CHECK_EQ(nm_provider_register(&app_ops), 0);
	CHECK_EQ(nm_provider_register(&app_ops), -EEXIST);	/* same table */
	CHECK_EQ(nm_provider_register(&dup_name), -EEXIST);	/* same name */
	host_name.name = "host";
	CHECK_EQ(nm_provider_register(&host_name), -EEXIST);	/* a builtin's */
	CHECK(nm_provider_find("app_test-1") == &app_ops);

	n = nm_provider_list(names, 64);
	CHECK(n > 0 && n <= 64);
	for (int i = 0; i < n && i < 64; i++) {
		if (!strcmp(names[i], "app_test-1"))
			found++;
	}
	CHECK_EQ(found, 1);
	CHECK_EQ(nm_provider_list(NULL, 1), -EINVAL);
	CHECK_EQ(nm_provider_list(NULL, 0), n);

	use_through_pool();
	return t_done();
}

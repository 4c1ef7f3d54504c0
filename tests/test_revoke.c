/* SPDX-License-Identifier: MIT */
/*
 * Revocation while buffers are in flight (DESIGN rule 4).  The area is
 * revoked from another thread while whole buffers and fragments are held
 * and one chunk sits in the return ring.  After the revoke returns: every
 * allocation (alloc, bulk, frag) fails with -ENODEV and so does a new pool;
 * a held buffer's nm_buf_data is NULL and nm_buf_io_addr, nm_buf_sync,
 * nm_buf_get and nm_buf_place return -ENODEV; the memory stays mapped
 * (contents intact) while any chunk is out; each held buffer can still be
 * put (0); with the last one the area goes NM_AREA_DEAD and its mapping is
 * gone (mincore and /proc/self/maps); the pool's stats account for every
 * chunk (hold == release).
 */
#include "harness.h"
#include <pthread.h>
#include <stdint.h>
#include <sys/mman.h>
#include <unistd.h>

#define NR   64
#define HELD 8
#define FRAG 1024

/* Whether addr lies in any mapping of this process (per /proc/self/maps). */
static int in_maps(const void *addr)
{
	FILE *f = fopen("/proc/self/maps", "r");
	unsigned long lo, hi, a = (unsigned long)(uintptr_t)addr;
	char line[512];
	int found = 0;

	REQUIRE(f);
	while (!found && fgets(line, sizeof(line), f))
		if (sscanf(line, "%lx-%lx", &lo, &hi) == 2 && a >= lo && a < hi)
			found = 1;
	fclose(f);
	return found;
}

/* Whether the page at addr is mapped, per mincore (ENOMEM: unmapped). */
static int mapped(void *addr)
{
	unsigned char vec;

	if (mincore(addr, 4096, &vec) == 0)
		return 1;
	REQUIRE(errno == ENOMEM);
	return 0;
}

static struct nm_area *area;
static int revoke_ret;
static struct nm_pool *pool;
static struct nm_buf ringed;

static void *revoker(void *arg)
{
	(void)arg;
	revoke_ret = nm_area_revoke(area, 0);
	return NULL;
}

static void *put_ringed(void *arg)
{
	(void)arg;
	CHECK_EQ(nm_pool_put(pool, &ringed), 0);
	return NULL;
}

/*
 * A chunk the pool was carving, its fragments all back, must not keep a
 * revoked area's memory: a whole-buffer alloc that fails -ENODEV gives it
 * back like the cache, and the area dies with the last held buffer.
 */
static void carving_chunk_released(void)
{
	struct nm_area *a = t_host_area(8, 0);
	struct nm_pool *p = nm_pool_create(a, NULL);
	struct nm_area_info info;
	struct nm_pool_stats st;
	struct nm_buf f, w, b;

	REQUIRE(p);
	REQUIRE(nm_pool_alloc_frag(p, &f, 100, 0) == 0);
	REQUIRE(nm_pool_alloc(p, &w) == 0);
	CHECK_EQ(nm_pool_put(p, &f), 0);
	CHECK(nm_area_revoke(a, 0) > 0);
	CHECK_EQ(nm_pool_alloc(p, &b), -ENODEV);
	CHECK_EQ(nm_pool_put(p, &w), 0);
	REQUIRE(nm_area_info(a, &info, sizeof(info)) == 0);
	CHECK_EQ(info.nr_outstanding, 0);
	CHECK_EQ(info.state, NM_AREA_DEAD);
	REQUIRE(nm_pool_get_stats(p, &st, sizeof(st)) == 0);
	CHECK_EQ(st.hold, st.release);
	CHECK_EQ(nm_pool_destroy(p), 0);
	CHECK_EQ(nm_area_destroy(a), 0);
}

int main(void)
{
	struct nm_buf held[HELD], frag[3], b;
	unsigned char *cpu[HELD];
	struct nm_area_info info;
	struct nm_pool_stats st;
	uint64_t addr;
	pthread_t th;
	void *base;
	char c = 0;

	area = t_host_area(NR, 0);
	pool = nm_pool_create(area, NULL);
	REQUIRE(pool);
	for (int i = 0; i < HELD; i++) {
		REQUIRE(nm_pool_alloc(pool, &held[i]) == 0);
		cpu[i] = nm_buf_data(&held[i]);
		REQUIRE(cpu[i]);
		memset(cpu[i], 0x10 + i, held[i].len);
	}
	for (int i = 0; i < 3; i++)
		REQUIRE(nm_pool_alloc_frag(pool, &frag[i], FRAG, 0) == 0);
	REQUIRE(nm_pool_alloc(pool, &ringed) == 0);
	REQUIRE(pthread_create(&th, NULL, put_ringed, NULL) == 0);
	pthread_join(th, NULL);
	REQUIRE(nm_area_info(area, &info, sizeof(info)) == 0);
	base = info.cpu_base;
	REQUIRE(base && mapped(base) && in_maps(base));

	/* Revoke from another thread. */
	REQUIRE(pthread_create(&th, NULL, revoker, NULL) == 0);
	pthread_join(th, NULL);
	CHECK_EQ(revoke_ret, NR);	/* the pool took the whole area */
	CHECK_EQ(nm_area_revoke(area, 0), -EALREADY);
	CHECK_EQ(nm_area_revoke(area, NM_REVOKE_GONE), -EALREADY);

	/* Nothing is handed out any more. */
	CHECK_EQ(nm_pool_alloc(pool, &b), -ENODEV);
	CHECK_EQ(nm_pool_alloc_bulk(pool, &b, 1), -ENODEV);
	CHECK_EQ(nm_pool_alloc_frag(pool, &b, FRAG, 0), -ENODEV);
	CHECK_EQ(nm_pool_alloc(pool, &b), -ENODEV);
	errno = 0;
	CHECK(nm_pool_create(area, NULL) == NULL);
	CHECK_EQ(errno, ENODEV);

	/* Stale handles fail clearly. */
	for (int i = 0; i < HELD; i++) {
		CHECK(nm_buf_data(&held[i]) == NULL);
		CHECK_EQ(nm_buf_io_addr(&held[i], &addr), -ENODEV);
		CHECK_EQ(nm_buf_sync(&held[i], NM_SYNC_FOR_CPU), -ENODEV);
		CHECK_EQ(nm_buf_sync(&held[i], NM_SYNC_FOR_DEVICE), -ENODEV);
		CHECK_EQ(nm_buf_get(&held[i]), -ENODEV);
		CHECK_EQ(nm_buf_place(&held[i], &c, 1, NULL, NULL), -ENODEV);
		CHECK(nm_buf_area(&held[i]) == area);
	}
	CHECK(nm_buf_data(&frag[1]) == NULL);

	/* Cache and ring went back; the held chunks keep the memory. */
	REQUIRE(nm_area_info(area, &info, sizeof(info)) == 0);
	CHECK_EQ(info.state, NM_AREA_REVOKING);
	CHECK(info.cpu_base == NULL);
	CHECK_EQ(info.nr_outstanding, HELD + 1);
	CHECK_EQ(info.nr_free, 0);
	CHECK_EQ(nm_pool_inflight(pool), HELD + 1);
	CHECK(mapped(base));
	for (int i = 0; i < HELD; i++)
		CHECK(cpu[i][0] == 0x10 + i && cpu[i][4095] == 0x10 + i);

	/* Put them all back; the memory goes with the last. */
	for (int i = 0; i < 3; i++)
		CHECK_EQ(nm_pool_put(pool, &frag[i]), 0);
	CHECK_EQ(nm_pool_put(pool, &frag[0]), -EALREADY);
	for (int i = 0; i < HELD - 1; i++)
		CHECK_EQ(nm_buf_put(&held[i]), 0);
	REQUIRE(nm_area_info(area, &info, sizeof(info)) == 0);
	CHECK_EQ(info.state, NM_AREA_REVOKING);
	CHECK_EQ(info.nr_outstanding, 1);
	CHECK(mapped(base));
	CHECK_EQ(nm_pool_put(pool, &held[HELD - 1]), 0);
	REQUIRE(nm_area_info(area, &info, sizeof(info)) == 0);
	CHECK_EQ(info.state, NM_AREA_DEAD);
	CHECK_EQ(info.nr_outstanding, 0);
	CHECK(!mapped(base));
	CHECK(!in_maps(base));
	CHECK_EQ(nm_pool_put(pool, &held[0]), -EALREADY);

	/* Every chunk accounted for. */
	REQUIRE(nm_pool_get_stats(pool, &st, sizeof(st)) == 0);
	CHECK_EQ(st.inflight, 0);
	CHECK_EQ(st.hold, NR);
	CHECK_EQ(st.release, NR);
	CHECK_EQ(st.recycle_released, NR);
	CHECK_EQ(st.err_revoked, 4);
	CHECK_EQ(st.err_double_put, 2);
	CHECK_EQ(nm_pool_alloc(pool, &b), -ENODEV);
	CHECK_EQ(nm_pool_destroy(pool), 0);
	CHECK_EQ(nm_area_destroy(area), 0);

	carving_chunk_released();
	return t_done();
}

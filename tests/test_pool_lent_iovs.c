/* SPDX-License-Identifier: MIT */
/*
 * The engines' take-back of chunks they lent to the application
 * (NM_RX_F_LEND), below the receive engines, with no network:
 * nm_pool_recycle_iovs (the udp engine's) and nm_pool_reuse_iovs (the xdp
 * engine's, which hands up to its fill ring's room straight back and
 * recycles the rest).  A chunk the application took a reference on while
 * it was lent (nm_buf_get) loses the engine's reference only: it stays
 * out, held once, until the application puts it; every other chunk goes
 * back.  Checked with kept chunks among the first ones, the last ones,
 * and past the reuse's room (the part it recycles).
 */
#include "harness.h"
#include "core/core.h"

#define N	40
#define ROOM	10	/* the reuse's max: fewer than N */

static struct nm_buf whole(struct nm_pool *p, struct nm_iov *iov)
{
	return (struct nm_buf){ .iov = iov, .off = 0, .len = nm_pool_chunk_size(p) };
}

/* Take an extra reference on every chunk of @iovs whose index @keep says,
 * as an application keeping what it was lent; list them in @kept and
 * return how many. */
static long keep_some(struct nm_pool *p, struct nm_iov **iovs, const int *keep,
		      struct nm_iov **kept)
{
	long n = 0;

	for (int i = 0; i < N; i++) {
		struct nm_buf b = whole(p, iovs[i]);

		if (!keep[i])
			continue;
		CHECK_EQ(nm_buf_get(&b), 0);
		kept[n++] = iovs[i];
	}
	return n;
}

/* The application puts what it kept: each is taken (it held one
 * reference, the engine's being gone), and a second put is a double put. */
static void put_kept(struct nm_pool *p, struct nm_iov **kept, long n)
{
	for (long i = 0; i < n; i++) {
		struct nm_buf b = whole(p, kept[i]);

		CHECK_EQ(nm_pool_put(p, &b), 0);
		CHECK_EQ(nm_pool_put(p, &b), -EALREADY);
	}
}

int main(void)
{
	struct nm_area *a = t_host_area(256, 0);
	struct nm_pool *p = a ? nm_pool_create(a, NULL) : NULL;
	struct nm_iov *iovs[N], *kept[N];
	int keep[N];
	long nkept;
	unsigned int k;

	REQUIRE(p);

	/* recycle: every third kept, the first and the last among them */
	REQUIRE(nm_pool_alloc_iovs(p, iovs, N) == N);
	CHECK_EQ(nm_pool_inflight(p), N);
	for (int i = 0; i < N; i++)
		keep[i] = i % 3 == 0 || i == N - 1;
	nkept = keep_some(p, iovs, keep, kept);
	nm_pool_recycle_iovs(p, iovs, N);
	CHECK_EQ(nm_pool_inflight(p), nkept);
	for (long i = 0; i < nkept; i++)
		CHECK_EQ(atomic_load(&kept[i]->ref), 1);
	put_kept(p, kept, nkept);
	CHECK_EQ(nm_pool_inflight(p), 0);

	/* reuse, room for all: the kept ones stay out, the others come back
	 * to the engine still its own (one reference each) */
	REQUIRE(nm_pool_alloc_iovs(p, iovs, N) == N);
	for (int i = 0; i < N; i++)
		keep[i] = i == 0 || i == 7 || i == N - 1;
	nkept = keep_some(p, iovs, keep, kept);
	k = nm_pool_reuse_iovs(p, iovs, N, N);
	CHECK_EQ(k, N - nkept);
	for (unsigned int i = 0; i < k; i++) {
		CHECK_EQ(atomic_load(&iovs[i]->ref), 1);
		for (long j = 0; j < nkept; j++)
			CHECK(iovs[i] != kept[j]);
	}
	CHECK_EQ(nm_pool_inflight(p), (long)k + nkept);
	put_kept(p, kept, nkept);
	nm_pool_recycle_iovs(p, iovs, k);
	CHECK_EQ(nm_pool_inflight(p), 0);

	/* reuse with room for ROOM: chunks kept before and past it; what
	 * does not fit is recycled, the kept ones stay out either way */
	REQUIRE(nm_pool_alloc_iovs(p, iovs, N) == N);
	for (int i = 0; i < N; i++)
		keep[i] = i == 2 || i == ROOM + 3 || i == N - 2;
	nkept = keep_some(p, iovs, keep, kept);
	k = nm_pool_reuse_iovs(p, iovs, N, ROOM);
	CHECK_EQ(k, ROOM);
	for (unsigned int i = 0; i < k; i++) {
		CHECK_EQ(atomic_load(&iovs[i]->ref), 1);
		for (long j = 0; j < nkept; j++)
			CHECK(iovs[i] != kept[j]);
	}
	CHECK_EQ(nm_pool_inflight(p), (long)k + nkept);
	for (long i = 0; i < nkept; i++)
		CHECK_EQ(atomic_load(&kept[i]->ref), 1);
	put_kept(p, kept, nkept);
	nm_pool_recycle_iovs(p, iovs, k);
	CHECK_EQ(nm_pool_inflight(p), 0);

	CHECK_EQ(nm_pool_destroy(p), 0);
	CHECK_EQ(nm_area_destroy(a), 0);
	return t_done();
}

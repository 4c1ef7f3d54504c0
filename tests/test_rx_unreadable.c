/* SPDX-License-Identifier: MIT */
/*
 * Memory with no CPU mapping never reaches the kernel as a receive
 * address (DESIGN.md: "an engine never hands the kernel an address it did
 * not get from a CPU mapping of the area").
 *
 *  - nm_rx_create() refuses a payload pool over such memory (a memfd area
 *    with NM_AREA_F_NO_CPU_MAP) without NM_RX_F_SPLIT: EINVAL, with one
 *    queue or several, with either engine; with SPLIT it is accepted
 *    (payloads are placed).  Split's header pool must be readable (the
 *    headers are parsed by the CPU): an unreadable one is refused, EINVAL.
 *  - White box: the check where buffers are posted holds even if create's
 *    check were bypassed.  A receiver is made over a readable pool, then
 *    its queue is pointed at the unreadable one (as a missed create check
 *    would leave it), and a peer sends.  The engine must not post the
 *    buffers (uring: no buffer-ring entry; socket: no recv() into them):
 *    it gives them back, counts them (stats unreadable), and the queue
 *    fails with -EFAULT, for good.  on_data never sees a buffer, and
 *    nothing is left held.  Before the check, the uring engine posted
 *    NULL + offset and spun on -ENOBUFS, the socket engine recv()'d into
 *    NULL and ended the connection with -EFAULT.
 */
#include "test_rx_util.h"
#include "rx/rx_int.h"
#include <sys/socket.h>

static _Atomic int datas;

static int on_data(struct nm_rx *rx, struct nm_rx_conn *c, const struct nm_rx_msg *m,
		   void *user)
{
	atomic_fetch_add(&datas, 1);
	for (unsigned int i = 0; i < m->nr; i++) {
		CHECK(nm_buf_data(&m->bufs[i]) != NULL);
		nm_buf_put(&m->bufs[i]);
	}
	if (m->hdr)
		nm_buf_put(m->hdr);
	return 0;
}

static struct nm_pool *unreadable_pool(struct nm_area **area)
{
	NM_OPTS(nm_area_opts, ao, .size = (size_t)16 << 16, .order = 4,
		.flags = NM_AREA_F_NO_CPU_MAP, .name = "unreadable");
	struct nm_area_info ai;
	struct nm_pool *p;

	*area = nm_area_create("memfd", &ao);
	REQUIRE(*area);
	REQUIRE(!nm_area_info(*area, &ai, sizeof(ai)));
	REQUIRE(ai.cpu_base == NULL);
	p = nm_pool_create(*area, NULL);
	REQUIRE(p);
	return p;
}

static void create_refused(const char *engine)
{
	struct nm_area *a1, *a2;
	struct nm_pool *u1 = unreadable_pool(&a1), *u2 = unreadable_pool(&a2);
	struct nm_pool *h = t_pool(16, 4), *h2 = t_pool(16, 4);
	struct nm_pool *two[2] = { u1, u2 }, *htwo[2] = { h, h2 };
	struct nm_buf frag;
	struct nm_rx *rx;

	/* A fragment carved before the receiver: the case where the old
	 * uring engine posted NULL + a small offset. */
	REQUIRE(!nm_pool_alloc_frag(u1, &frag, 100, 64));
	{
		NM_OPTS(nm_rx_opts, o, .engine = engine, .pool = u1, .on_data = on_data);
		errno = 0;
		rx = nm_rx_create(&o);
		CHECK(rx == NULL);
		CHECK_EQ(errno, EINVAL);
		if (rx)
			nm_rx_destroy(rx);
	}
	{
		NM_OPTS(nm_rx_opts, o, .engine = engine, .pools = two, .nr_queues = 2,
			.on_data = on_data);
		errno = 0;
		rx = nm_rx_create(&o);
		CHECK(rx == NULL);
		CHECK_EQ(errno, EINVAL);
		if (rx)
			nm_rx_destroy(rx);
	}
	{
		/* Only the second queue's pool is unreadable. */
		struct nm_pool *mixed[2] = { h, u2 };
		NM_OPTS(nm_rx_opts, o, .engine = engine, .pools = mixed, .nr_queues = 2,
			.on_data = on_data);
		errno = 0;
		rx = nm_rx_create(&o);
		CHECK(rx == NULL);
		CHECK_EQ(errno, EINVAL);
		if (rx)
			nm_rx_destroy(rx);
	}
	{
		/* With split the same pools are fine: payloads are placed. */
		NM_OPTS(nm_rx_opts, o, .engine = engine, .pools = two, .nr_queues = 2,
			.hdr_pools = htwo, .flags = NM_RX_F_SPLIT, .on_data = on_data);
		struct nm_rx_info info;

		rx = nm_rx_create(&o);
		REQUIRE(rx || errno == EOPNOTSUPP);
		if (rx) {
			REQUIRE(!nm_rx_info(rx, &info, sizeof(info)));
			CHECK(info.features & NM_RX_FEAT_PLACE);
			CHECK_EQ(nm_rx_destroy(rx), 0);
		}
	}
	CHECK_EQ(nm_pool_put(u1, &frag), 0);
	CHECK_EQ(nm_pool_destroy(u1), 0);
	CHECK_EQ(nm_pool_destroy(u2), 0);
	CHECK_EQ(nm_area_destroy(a1), 0);
	CHECK_EQ(nm_area_destroy(a2), 0);
	CHECK_EQ(t_pool_done(h), 0);
	CHECK_EQ(t_pool_done(h2), 0);
}

static void post_refused(const char *engine)
{
	struct nm_area *ua;
	struct nm_pool *u = unreadable_pool(&ua), *good = t_pool(16, 4);
	NM_OPTS(nm_rx_opts, o, .engine = engine, .pool = good, .on_data = on_data);
	struct nm_rx_stats st;
	struct nm_buf frag;
	struct nm_rxq *q;
	struct nm_rx *rx;
	char msg[1000];
	int sv[2], r = 0;

	atomic_store(&datas, 0);
	rx = nm_rx_create(&o);
	if (!rx && errno == EOPNOTSUPP) {
		printf("%s: not on this kernel\n", engine);
		goto out;
	}
	REQUIRE(rx);
	/* What a missed create check would leave: the queue receiving into
	 * the unreadable pool (nothing was posted from @good yet: the ring is
	 * filled, the socket engine's buffer taken, on the first pass). */
	q = &rx->q[0];
	REQUIRE(q->pool == good && q->rx_pool == good);
	q->pool = q->rx_pool = u;
	q->readable = 0;
	REQUIRE(!nm_pool_alloc_frag(u, &frag, 100, 64));	/* offset != 0 next */

	REQUIRE(!socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv));
	memset(msg, 'x', sizeof(msg));
	REQUIRE(send(sv[1], msg, sizeof(msg), 0) == (ssize_t)sizeof(msg));
	REQUIRE(!nm_rx_add_fd(rx, sv[0], 0));
	/* The queue fails on its first pass that takes a buffer; a bound on
	 * passes, not on time. */
	for (int i = 0; i < 200 && r >= 0; i++)
		r = nm_rx_poll(rx, 5);
	CHECK_EQ(r, -EFAULT);
	CHECK_EQ(nm_rx_poll(rx, 0), -EFAULT);	/* for good */
	CHECK_EQ(nm_rx_run(rx, 1000), -EFAULT);
	REQUIRE(!nm_rx_stats(rx, &st, sizeof(st)));
	CHECK(st.unreadable >= 1);
	CHECK_EQ(st.refill, 0);		/* nothing was posted */
	CHECK_EQ(st.bufs, 0);
	CHECK_EQ(atomic_load(&datas), 0);
	/* The refused buffers went back: only the test's fragment is out. */
	CHECK_EQ(nm_pool_inflight(u), 1);
	printf("%s: poll %d (%s), %llu refused\n", engine, r, nm_strerror(r),
	       (unsigned long long)st.unreadable);
	/* Give the queue its own pool back for the teardown. */
	q->pool = q->rx_pool = good;
	q->readable = 1;
	CHECK_EQ(nm_rx_destroy(rx), 0);
	close(sv[1]);
	CHECK_EQ(nm_pool_put(u, &frag), 0);
out:
	CHECK_EQ(nm_pool_destroy(u), 0);
	CHECK_EQ(nm_area_destroy(ua), 0);
	CHECK_EQ(t_pool_done(good), 0);
}

/* SPLIT with the headers in unreadable memory: refused; readable: made. */
static void split_hdr_refused(const char *engine)
{
	struct nm_area *ua;
	struct nm_pool *u = unreadable_pool(&ua), *good = t_pool(16, 4), *hdr = t_pool(16, 0);
	NM_OPTS(nm_rx_opts, o, .engine = engine, .pool = good, .hdr_pool = u,
		.on_data = on_data, .flags = NM_RX_F_SPLIT);
	struct nm_rx *rx;

	errno = 0;
	CHECK(nm_rx_create(&o) == NULL);
	CHECK_EQ(errno, EINVAL);
	o.hdr_pool = hdr;
	rx = nm_rx_create(&o);
	CHECK(rx != NULL);
	if (rx)
		CHECK_EQ(nm_rx_destroy(rx), 0);
	CHECK_EQ(nm_pool_destroy(u), 0);
	nm_area_destroy(ua);
	CHECK_EQ(t_pool_done(good), 0);
	CHECK_EQ(t_pool_done(hdr), 0);
}

int main(void)
{
	split_hdr_refused("uring");
	split_hdr_refused("socket");
	create_refused("uring");
	create_refused("socket");
	post_refused("uring");
	post_refused("socket");
	return t_done();
}

/* SPDX-License-Identifier: MIT */
/*
 * Split mode into unreadable memory: a test-defined provider with no CPU
 * mapping (cpu_base NULL) whose place() is asynchronous: it only queues
 * the copy, and its poll() does it later, newest first.  The engine must
 * receive into the host header pool, place payloads into the device pool,
 * keep the staging bytes alive until each copy lands, and deliver each
 * frame only once all its places completed, frames in order.  The test
 * reads the "device" memory through the provider's private backing.
 * Both engines.
 *
 * That the copies really are in flight together (the order they land in
 * then matters) is checked where it is certain, not where the timing of a
 * stream decides it: one 40 KiB frame already queued in the socket, placed
 * into 4 KiB device chunks, is ten places issued from one received buffer
 * before the provider is polled.
 */
#include "test_rx_util.h"
#include <netmem/provider.h>
#include <sys/ioctl.h>
#include <linux/sockios.h>

#define ORDER 4

static unsigned int cur_order = ORDER;	/* the device area's */

struct pend {
	uint64_t off;
	const void *src;
	size_t len;
	void (*done)(void *, int);
	void *arg;
};

static uint8_t *backing;
static struct pend *pq;
static unsigned int npq, pq_cap, max_pending;
static _Atomic uint64_t placed;

static int dev_init(struct nm_area_mem *mem, const struct nm_area_opts *opts)
{
	backing = calloc(1, mem->size);
	if (!backing)
		return -ENOMEM;
	mem->cpu_base = NULL;	/* unreadable */
	mem->priv = backing;
	snprintf(mem->detail, sizeof(mem->detail), "test device memory");
	return 0;
}

static void dev_fini(struct nm_area_mem *mem)
{
	free(mem->priv);
	backing = NULL;
}

static int dev_place(struct nm_area_mem *mem, uint64_t off, const void *src,
		     size_t len, void (*done)(void *, int), void *arg)
{
	if (off + len > mem->size)
		return -ERANGE;
	if (npq == pq_cap) {
		pq_cap = pq_cap ? pq_cap * 2 : 64;
		pq = realloc(pq, pq_cap * sizeof(*pq));
		if (!pq)
			return -ENOMEM;
	}
	pq[npq++] = (struct pend){ off, src, len, done, arg };
	if (npq > max_pending)
		max_pending = npq;
	return 0;
}

static int dev_poll(struct nm_area_mem *mem)
{
	unsigned int n = npq;

	/* Newest first: frames must still come out in order. */
	while (npq) {
		struct pend p = pq[--npq];
		memcpy((uint8_t *)mem->priv + p.off, p.src, p.len);
		atomic_fetch_add(&placed, p.len);
		if (p.done)
			p.done(p.arg, 0);
	}
	return (int)n;
}

static const struct nm_provider_ops dev_ops = {
	.name       = "test-asyncdev",
	.flags      = NM_PROV_F_DEVICE,
	.area_init  = dev_init,
	.area_fini  = dev_fini,
	.alloc_bulk = nm_genpool_alloc_bulk,
	.release    = nm_genpool_release,
	.place      = dev_place,
	.poll       = dev_poll,
};

static int on_data(struct nm_rx *rx, struct nm_rx_conn *c, const struct nm_rx_msg *m,
		   void *user)
{
	struct t_rx *t = user;
	const uint8_t *h = nm_buf_data(m->hdr);
	uint32_t len;

	REQUIRE(h);
	len = (uint32_t)h[0] << 24 | h[1] << 16 | h[2] << 8 | h[3];
	CHECK_EQ(len, m->bytes);
	CHECK(m->flags & NM_RX_MSG_UNREADABLE);
	CHECK_EQ(nm_buf_put(m->hdr), 0);
	for (unsigned int i = 0; i < m->nr; i++) {
		const struct nm_buf *b = &m->bufs[i];
		int idx = nm_buf_chunk_index(b);

		CHECK(nm_buf_data(b) == NULL);
		REQUIRE(idx >= 0);
		t_check_bytes(t, nm_rx_conn_user(c),
			      backing + ((size_t)idx << (12 + cur_order)) + b->off, b->len);
		CHECK_EQ(nm_buf_put(b), 0);
	}
	return 0;
}

static void run(const char *engine)
{
	NM_OPTS(nm_area_opts, ao, .size = (size_t)64 << (12 + ORDER), .order = ORDER);
	struct nm_area *a = nm_area_create("test-asyncdev", &ao);
	struct nm_pool *pool, *hpool = t_pool(64, 4);
	struct t_rx t = { .lock = PTHREAD_MUTEX_INITIALIZER };
	NM_OPTS(nm_rx_opts, o, .engine = engine, .on_data = on_data,
		.on_conn = t_on_conn, .on_close = t_on_close, .user = &t,
		.flags = NM_RX_F_SPLIT, .hdr_pool = hpool);
	struct t_sender s = { .nconn = 4, .seed0 = 11000, .framed = 1, .maxmsg = 200 << 10,
			      .per_conn = t_sanitized() ? (512 << 10) : (2 << 20) };
	struct nm_rx_info info;
	struct nm_rx_stats st;
	struct nm_rx *rx;

	REQUIRE(a);
	pool = nm_pool_create(a, NULL);
	REQUIRE(pool);
	o.pool = pool;
	max_pending = 0;
	atomic_store(&placed, 0);
	rx = nm_rx_create(&o);
	REQUIRE(rx);
	REQUIRE(!nm_rx_info(rx, &info, sizeof(info)));
	CHECK(info.features & NM_RX_FEAT_PLACE);
	t_send_and_receive(rx, &s, &t);
	CHECK_EQ(atomic_load(&t.close_errs), 0);
	REQUIRE(!nm_rx_stats(rx, &st, sizeof(st)));
	CHECK(st.places > 0);
	CHECK_EQ(st.place_errors, 0);
	CHECK_EQ(atomic_load(&placed), st.bytes);
	printf("%s: %llu frames, %llu places (up to %u pending), %llu bytes\n", engine,
	       (unsigned long long)st.frames, (unsigned long long)st.places, max_pending,
	       (unsigned long long)st.bytes);
	CHECK_EQ(nm_rx_destroy(rx), 0);
	CHECK_EQ(nm_pool_inflight(hpool), 0);
	CHECK_EQ(nm_pool_destroy(pool), 0);
	nm_area_destroy(a);
	CHECK_EQ(t_pool_done(hpool), 0);
}

/* One frame of 40 KiB, all of it queued before the receiver reads: one
 * receive, ten places into 4 KiB device chunks, all pending at once. */
static void queued_places(const char *engine)
{
	NM_OPTS(nm_area_opts, ao, .size = (size_t)64 << 12, .order = 0);
	struct nm_area *a = nm_area_create("test-asyncdev", &ao);
	struct nm_pool *pool, *hpool = t_pool(16, 4);
	struct t_rx t = { .lock = PTHREAD_MUTEX_INITIALIZER };
	NM_OPTS(nm_rx_opts, o, .engine = engine, .on_data = on_data,
		.on_conn = t_on_conn, .on_close = t_on_close, .user = &t,
		.flags = NM_RX_F_SPLIT, .hdr_pool = hpool);
	static uint8_t f[12 + (40 << 10)];
	struct nm_rx *rx;
	int sv[2], inq = 0;

	REQUIRE(a);
	cur_order = 0;
	pool = nm_pool_create(a, NULL);
	REQUIRE(pool);
	o.pool = pool;
	max_pending = 0;
	rx = nm_rx_create(&o);
	REQUIRE(rx);
	/* Frame 1: the seed; frame 2: 40 KiB of pattern. */
	f[3] = 4;
	f[4] = 1;
	f[8 + 2] = (40 << 10) >> 8;
	for (size_t i = 0; i < (40 << 10); i++)
		f[12 + i] = pat(1, i);
	t_tcp_pair(sv);
	REQUIRE(!t_send_all(sv[1], f, 12 + (40 << 10)));
	for (int i = 0; i < 10000 && inq < 12 + (40 << 10); i++) {
		REQUIRE(!ioctl(sv[0], SIOCINQ, &inq));
		if (inq < 12 + (40 << 10))
			usleep(1000);
	}
	REQUIRE(inq == 12 + (40 << 10));
	REQUIRE(!nm_rx_add_fd(rx, sv[0], 0));
	CHECK_EQ(T_RUN_UNTIL(rx, atomic_load(&t.bytes) == (40 << 10) ||
				 atomic_load(&t.bad), t_recv_ms()), 0);
	CHECK_EQ(atomic_load(&t.bad), 0);
	printf("%s: one queued 40 KiB frame, up to %u places pending\n", engine, max_pending);
	CHECK(max_pending >= 10);	/* in flight together */
	close(sv[1]);
	CHECK_EQ(T_RUN_UNTIL(rx, atomic_load(&t.closed) == 1, t_recv_ms()), 0);
	CHECK_EQ(atomic_load(&t.close_errs), 0);
	CHECK_EQ(nm_rx_destroy(rx), 0);
	CHECK_EQ(nm_pool_destroy(pool), 0);
	nm_area_destroy(a);
	CHECK_EQ(t_pool_done(hpool), 0);
}

/* Receiving into the header pool (unreadable payload), the uring ring may
 * take at most half the buffers that pool can hold (its area's, or fewer
 * under its max_chunks): all of them would leave none for a header, and
 * the stage would wait for ever for one the ring holds (`netmem rx
 * --split --provider cuda --ring 256` did, its staging pool capped at
 * 256 chunks). */
static void ring_share(unsigned int cap)
{
	NM_OPTS(nm_area_opts, ao, .size = (size_t)64 << (12 + ORDER), .order = ORDER);
	struct nm_area *a = nm_area_create("test-asyncdev", &ao);
	struct nm_area *ha = t_host_area(cap ? 4 * cap : 64, 4);
	NM_OPTS(nm_pool_opts, hpo, .max_chunks = cap);
	struct nm_pool *pool, *hpool = nm_pool_create(ha, &hpo);
	struct t_rx t = { .lock = PTHREAD_MUTEX_INITIALIZER };
	NM_OPTS(nm_rx_opts, o, .engine = "uring", .on_data = on_data, .user = &t,
		.flags = NM_RX_F_SPLIT, .hdr_pool = hpool, .ring_entries = 64);
	struct nm_rx *rx;

	REQUIRE(a && hpool);
	pool = nm_pool_create(a, NULL);
	REQUIRE(pool);
	o.pool = pool;
	errno = 0;
	rx = nm_rx_create(&o);
	if (!rx && errno == EOPNOTSUPP) {
		printf("ring_share: io_uring refused here, not checked\n");
	} else {
		CHECK(rx == NULL && errno == EINVAL);
		o.ring_entries = 32;
		rx = nm_rx_create(&o);
		CHECK(rx != NULL);
		if (rx)
			CHECK_EQ(nm_rx_destroy(rx), 0);
	}
	CHECK_EQ(nm_pool_destroy(pool), 0);
	nm_area_destroy(a);
	CHECK_EQ(t_pool_done(hpool), 0);
}

int main(void)
{
	REQUIRE(!nm_provider_register(&dev_ops));
	run("socket");
	run("uring");
	queued_places("socket");
	queued_places("uring");
	ring_share(0);	/* 64 in the area */
	ring_share(64);	/* 256 in the area, 64 for the pool */
	free(pq);
	return t_done();
}

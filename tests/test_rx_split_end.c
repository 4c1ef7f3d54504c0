/* SPDX-License-Identifier: MIT */
/*
 * Split mode, how a connection ends when errors and the end of stream
 * meet (white-box: the test plays the engine, as fuzz/fuzz_split.c does,
 * and places into memory with no CPU mapping land when it says):
 *
 *  - on_data fails for a frame whose places land after the EOF was seen,
 *    before the close is final: on_close says on_data's error and no frame
 *    behind it is delivered (fuzz: split-err-after-eof,
 *    split-deliver-after-end);
 *  - a framing error met while the backlog is retried after the EOF: the
 *    connection closes with it (fuzz: split-hang-after-eof);
 *  - a place fails while the EOF waits for placing frames: the connection
 *    closes with the place's error (fuzz: split-hang-place-error);
 *  - a frame too big after a whole frame still placing: the whole frame
 *    is delivered, then on_close(-EMSGSIZE), the same as readable memory
 *    (fuzz: split-drop-placing); on_data failing for one of those frames
 *    is the error then, and nothing after that frame arrives;
 *  - nm_rx_conn_close() between runs, then nm_rx_destroy: on_close once.
 */
#include "test_rx_util.h"
#include "rx/rx_int.h"
#include <netmem/provider.h>
#include <sys/socket.h>

#define NCHUNKS 256

/* Device memory: places queue until dev_land(). */
struct pend {
	uint64_t off;
	const void *src;
	size_t len;
	void (*done)(void *, int);
	void *arg;
};
static struct pend pq[1024];
static unsigned int npq;
static int place_status;	/* what the landing places report */

static int dev_init(struct nm_area_mem *mem, const struct nm_area_opts *opts)
{
	mem->priv = calloc(1, mem->size);
	if (!mem->priv)
		return -ENOMEM;
	mem->cpu_base = NULL;
	return 0;
}

static void dev_fini(struct nm_area_mem *mem)
{
	free(mem->priv);
}

static int dev_place(struct nm_area_mem *mem, uint64_t off, const void *src,
		     size_t len, void (*done)(void *, int), void *arg)
{
	REQUIRE(npq < sizeof(pq) / sizeof(pq[0]));
	pq[npq++] = (struct pend){ off, src, len, done, arg };
	return 0;
}

static int held_places = 1;

static int dev_poll(struct nm_area_mem *mem)
{
	unsigned int n = npq;

	if (held_places)
		return 0;
	npq = 0;
	for (unsigned int i = 0; i < n; i++) {
		if (!place_status)
			memcpy((uint8_t *)mem->priv + pq[i].off, pq[i].src, pq[i].len);
		pq[i].done(pq[i].arg, place_status);
	}
	return (int)n;
}

static const struct nm_provider_ops dev_ops = {
	.name       = "test-split-end-dev",
	.flags      = NM_PROV_F_DEVICE,
	.area_init  = dev_init,
	.area_fini  = dev_fini,
	.alloc_bulk = nm_genpool_alloc_bulk,
	.release    = nm_genpool_release,
	.place      = dev_place,
	.poll       = dev_poll,
};

static struct nm_rx_conn *conn;
static int got, fail_at, closes, close_err;

static int on_conn(struct nm_rx *rx, struct nm_rx_conn *c, void *user)
{
	conn = c;
	return 0;
}

static int on_data(struct nm_rx *rx, struct nm_rx_conn *c, const struct nm_rx_msg *m,
		   void *user)
{
	CHECK_EQ(nm_buf_put(m->hdr), 0);
	for (unsigned int i = 0; i < m->nr; i++)
		CHECK_EQ(nm_buf_put(&m->bufs[i]), 0);
	if (got++ == fail_at)
		return -ECONNABORTED;
	return 0;
}

static void on_close(struct nm_rx *rx, struct nm_rx_conn *c, int err, void *user)
{
	CHECK(c == conn);
	closes++;
	close_err = err;
}

struct recv {
	struct nm_area *ha, *pa;
	struct nm_pool *hpool, *pool;
	struct nm_rx *rx;
	struct nm_rxq *q;
	int peer;
};

static void up(struct recv *r, int readable)
{
	NM_OPTS(nm_area_opts, ao, .size = (size_t)NCHUNKS << 12);
	int sv[2];

	r->ha = nm_area_create("host", &ao);
	r->pa = nm_area_create(readable ? "host" : dev_ops.name, &ao);
	REQUIRE(r->ha && r->pa);
	r->hpool = nm_pool_create(r->ha, NULL);
	r->pool = nm_pool_create(r->pa, NULL);
	REQUIRE(r->hpool && r->pool);
	NM_OPTS(nm_rx_opts, o, .engine = "socket", .flags = NM_RX_F_SPLIT,
		.pool = r->pool, .hdr_pool = r->hpool, .max_conns = 2,
		.max_frame = 2000, .on_data = on_data, .on_conn = on_conn,
		.on_close = on_close);
	r->rx = nm_rx_create(&o);
	REQUIRE(r->rx);
	r->q = &r->rx->q[0];
	conn = NULL;
	got = closes = 0;
	close_err = 1;
	fail_at = -1;
	npq = 0;
	held_places = 1;
	place_status = 0;
	REQUIRE(!socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv));
	REQUIRE(!nm_rx_add_fd(r->rx, sv[0], 0));
	r->peer = sv[1];
	CHECK(nm_rx_poll(r->rx, 0) >= 0);
	REQUIRE(conn);
}

static void down(struct recv *r)
{
	held_places = 0;
	nm_area_poll(r->pa);
	CHECK_EQ(nm_rx_destroy(r->rx), 0);
	CHECK_EQ(nm_pool_inflight(r->pool), 0);
	CHECK_EQ(nm_pool_inflight(r->hpool), 0);
	CHECK_EQ(nm_pool_destroy(r->pool), 0);
	CHECK_EQ(nm_pool_destroy(r->hpool), 0);
	CHECK_EQ(nm_area_destroy(r->pa), 0);
	CHECK_EQ(nm_area_destroy(r->ha), 0);
	close(r->peer);
}

/* Bytes as the engine hands them over: one receive buffer. */
static void feed(struct recv *r, const uint8_t *p, uint32_t n)
{
	struct nm_buf b;

	REQUIRE(!nm_rxq_alloc(r->q, &b));
	REQUIRE(b.len >= n);
	memcpy(nm_buf_data(&b), p, n);
	b.len = n;
	CHECK(nm_rxq_deliver(r->q, conn, &b, 1) >= 0);
}

/* A frame of @n payload bytes at p; return its length. */
static uint32_t frame(uint8_t *p, uint32_t n)
{
	p[0] = (uint8_t)(n >> 24);
	p[1] = (uint8_t)(n >> 16);
	p[2] = (uint8_t)(n >> 8);
	p[3] = (uint8_t)n;
	memset(p + 4, 0x5a, n);
	return 4 + n;
}

static void run_until_closed(struct recv *r)
{
	for (int i = 0; i < 100 && !closes; i++)
		CHECK(nm_rx_poll(r->rx, 0) >= 0);
}

/* on_data fails for a frame placed after the EOF, before the close is
 * final; the frame behind it must not be delivered. */
static void err_after_eof(void)
{
	struct recv r;
	uint8_t s[512];
	uint32_t n;

	up(&r, 0);
	fail_at = 0;
	n = frame(s, 100);
	n += frame(s + n, 100);
	feed(&r, s, n);
	nm_rxq_conn_end(r.q, conn, 0);	/* EOF: the close is queued */
	held_places = 0;
	nm_area_poll(r.pa);		/* both land; the first's on_data fails */
	run_until_closed(&r);
	CHECK_EQ(closes, 1);
	CHECK_EQ(close_err, -ECONNABORTED);
	CHECK_EQ(got, 1);
	down(&r);
	CHECK_EQ(closes, 1);
}

/* The payload pool... here the header pool, dry: the stream waits in the
 * backlog; EOF; the retried backlog holds a frame too big. */
static void hang_after_eof(void)
{
	struct recv r;
	struct nm_buf ballast[NCHUNKS], b;
	uint8_t s[512];
	uint32_t n;
	int nb = 0, k;

	up(&r, 1);
	n = frame(s, 100);
	s[n] = 0; s[n + 1] = 0; s[n + 2] = 0x10; s[n + 3] = 0;	/* 4096 > 2000 */
	n += 4;
	REQUIRE(!nm_rxq_alloc(r.q, &b));
	memcpy(nm_buf_data(&b), s, n);
	b.len = n;
	while ((k = nm_pool_alloc_bulk(r.hpool, ballast + nb, NCHUNKS - nb)) > 0)
		nb += k;
	CHECK(nm_rxq_deliver(r.q, conn, &b, 1) >= 0);
	CHECK_EQ(nm_split_backlog(conn), 1);
	nm_rxq_conn_end(r.q, conn, 0);	/* EOF */
	CHECK_EQ(nm_pool_put_bulk(r.hpool, ballast, (unsigned int)nb), nb);
	nm_split_retry(r.q);		/* before the close is final */
	run_until_closed(&r);
	CHECK_EQ(closes, 1);
	CHECK_EQ(close_err, -EMSGSIZE);
	CHECK_EQ(got, 1);
	down(&r);
	CHECK_EQ(closes, 1);
}

/* A place fails while the EOF waits for placing frames. */
static void place_error_after_eof(void)
{
	struct recv r;
	uint8_t s[512];

	up(&r, 0);
	feed(&r, s, frame(s, 100));
	nm_rxq_conn_end(r.q, conn, 0);	/* EOF */
	CHECK(nm_rx_poll(r.rx, 0) >= 0);	/* waits for the places */
	CHECK_EQ(closes, 0);
	CHECK(nm_split_eof_pending(conn));
	place_status = -EIO;
	held_places = 0;
	run_until_closed(&r);
	CHECK_EQ(closes, 1);
	CHECK_EQ(close_err, -EIO);
	CHECK_EQ(got, 0);
	down(&r);
	CHECK_EQ(closes, 1);
}

/* A whole frame still placing, then a frame too big: the whole frame
 * arrives, then on_close(-EMSGSIZE); readable memory the same. */
static void drop_placing(int readable)
{
	struct recv r;
	uint8_t s[512];
	uint32_t n;

	up(&r, readable);
	n = frame(s, 100);
	s[n] = 0; s[n + 1] = 0; s[n + 2] = 0x10; s[n + 3] = 0;	/* 4096 > 2000 */
	feed(&r, s, n + 4);
	CHECK(nm_rx_poll(r.rx, 0) >= 0);	/* places held */
	held_places = 0;
	run_until_closed(&r);
	CHECK_EQ(closes, 1);
	CHECK_EQ(close_err, -EMSGSIZE);
	CHECK_EQ(got, 1);
	down(&r);
	CHECK_EQ(closes, 1);
}

/* Two whole frames still placing, then a frame too big; on_data fails
 * for the first: that is the error, the second is not delivered (readable
 * memory: on_data's error comes before the parser reaches the bad one). */
static void drop_placing_data_err(int readable)
{
	struct recv r;
	uint8_t s[512];
	uint32_t n;

	up(&r, readable);
	fail_at = 0;
	n = frame(s, 100);
	n += frame(s + n, 100);
	s[n] = 0; s[n + 1] = 0; s[n + 2] = 0x10; s[n + 3] = 0;	/* 4096 > 2000 */
	feed(&r, s, n + 4);
	CHECK(nm_rx_poll(r.rx, 0) >= 0);	/* places held */
	held_places = 0;
	run_until_closed(&r);
	CHECK_EQ(closes, 1);
	CHECK_EQ(close_err, -ECONNABORTED);
	CHECK_EQ(got, 1);
	down(&r);
	CHECK_EQ(closes, 1);
}

/* Closed between runs, then destroyed: on_close once; and closed and
 * run (on_close there), then destroyed: not again. */
static void close_then_destroy(int run)
{
	struct recv r;

	up(&r, 1);
	CHECK_EQ(nm_rx_conn_close(conn, -ECONNABORTED), 0);
	if (run)
		run_until_closed(&r);
	CHECK_EQ(closes, run);
	down(&r);
	CHECK_EQ(closes, 1);
	CHECK_EQ(close_err, -ECONNABORTED);
}

int main(void)
{
	REQUIRE(!nm_provider_register(&dev_ops));
	err_after_eof();
	hang_after_eof();
	place_error_after_eof();
	drop_placing(1);
	drop_placing(0);
	drop_placing_data_err(1);
	drop_placing_data_err(0);
	close_then_destroy(0);
	close_then_destroy(1);
	return t_done();
}

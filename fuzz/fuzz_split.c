/* SPDX-License-Identifier: MIT */
/*
 * fuzz_split - header/data split and its framing fed any bytes in any
 * split of reads (libFuzzer).  White-box: one connection per input is
 * opened through the socket engine (a socketpair), but the bytes do not go
 * through a socket: the harness plays the engine, taking receive buffers
 * from the queue's pool, filling them with the input's pieces and handing
 * them to the queue as an engine does (nm_rxq_deliver), then ends the
 * stream as an engine does on EOF.  So the input decides every read
 * boundary exactly, at no syscall per piece.
 *
 * Four receivers, chosen per input: payload memory readable (host) or not
 * (a provider of the harness's with no CPU mapping, whose place() copies
 * at once or later from poll, in order or newest first), each with the
 * built-in framing (rx.h: 4-byte big-endian length) or a framing callback
 * of the harness's that also asks for more than NM_RX_MAX_HDR, refuses
 * frames (-EBADMSG) and contradicts itself (-EPROTO).  Between pieces the
 * input may run the queue, starve the header or payload pool (the stage
 * must stall and resume without loss), hold delivered buffers and give
 * them back.  It may make on_data return an error at the Nth frame, or
 * the Nth place fail.
 *
 * A reference parser over the whole stream says which frames must arrive,
 * byte for byte, in order, and how the connection must end (0, -EPIPE,
 * -EMSGSIZE, -EPROTO, -EBADMSG, on_data's error, the place's).  After
 * the end every buffer is back in its pool and nothing is in flight.
 * Any difference aborts.
 */
#include "fuzz_util.h"
#include "rx/rx_int.h"
#include <netmem/provider.h>
#include <errno.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAX_FRAME  2000
#define MAXFRAMES  4096
#define MAXSTREAM  8192
#define NCHUNKS    512
#define MAXHOLD    8192

/* ------------------------------------------------------------------ */
/* Unreadable memory: a provider with no CPU mapping                    */
/* ------------------------------------------------------------------ */

struct pend {
	uint64_t off;
	const void *src;
	size_t len;
	void (*done)(void *, int);
	void *arg;
	int status;
};

static uint8_t *dev_backing;		/* of the area made last */
static struct pend pq[MAXSTREAM * 2];
static unsigned int npq;
static int dev_async, dev_lifo;
static unsigned long place_calls, place_fail_at;	/* 0: never */
static int place_failed;

static int dev_init(struct nm_area_mem *mem, const struct nm_area_opts *opts)
{
	dev_backing = calloc(1, mem->size);
	if (!dev_backing)
		return -ENOMEM;
	mem->cpu_base = NULL;
	mem->priv = dev_backing;
	snprintf(mem->detail, sizeof(mem->detail), "fuzz device memory");
	return 0;
}

static void dev_fini(struct nm_area_mem *mem)
{
	free(mem->priv);
}

static int dev_place(struct nm_area_mem *mem, uint64_t off, const void *src,
		     size_t len, void (*done)(void *, int), void *arg)
{
	int status = 0;

	CHECK(off + len <= mem->size);
	if (++place_calls == place_fail_at) {
		place_failed = 1;
		if (!dev_async)
			return -EIO;	/* not queued: done is not called */
		status = -EIO;
	}
	if (!dev_async) {
		memcpy((uint8_t *)mem->priv + off, src, len);
		if (done)
			done(arg, 0);
		return 0;
	}
	CHECK(npq < sizeof(pq) / sizeof(pq[0]));
	pq[npq++] = (struct pend){ off, src, len, done, arg, status };
	return 0;
}

static int dev_poll(struct nm_area_mem *mem)
{
	unsigned int n = npq;

	for (unsigned int i = 0; i < n; i++) {
		struct pend p = dev_lifo ? pq[n - 1 - i] : pq[i];

		if (!p.status)
			memcpy((uint8_t *)mem->priv + p.off, p.src, p.len);
		if (p.done)
			p.done(p.arg, p.status);
	}
	npq = 0;
	return (int)n;
}

static const struct nm_provider_ops dev_ops = {
	.name       = "fuzz-dev",
	.flags      = NM_PROV_F_DEVICE,
	.area_init  = dev_init,
	.area_fini  = dev_fini,
	.alloc_bulk = nm_genpool_alloc_bulk,
	.release    = nm_genpool_release,
	.place      = dev_place,
	.poll       = dev_poll,
};

/* ------------------------------------------------------------------ */
/* The framing callback of the harness                                  */
/* ------------------------------------------------------------------ */

/*
 * First byte b0: 0xff refuses the frame (-EBADMSG); 0xfe answers a header
 * longer than what it was shown (the stage must say -EPROTO); otherwise
 * the header is 3 + 2 * (b0 & 0x7f) bytes (up to 257: more than
 * NM_RX_MAX_HDR, so -EMSGSIZE once 256 bytes are in), its bytes 1-2 the
 * payload length, little-endian.
 */
static ssize_t frame_cb(const void *hdr, size_t avail, size_t *plen, void *user)
{
	const uint8_t *h = hdr;
	size_t hlen;

	CHECK(avail >= 1 && avail <= NM_RX_MAX_HDR);
	if (h[0] == 0xff)
		return -EBADMSG;
	if (h[0] == 0xfe)
		return (ssize_t)avail + 1;
	hlen = 3 + 2 * (size_t)(h[0] & 0x7f);
	if (avail < hlen)
		return 0;
	*plen = h[1] | (size_t)h[2] << 8;
	return (ssize_t)hlen;
}

/* ------------------------------------------------------------------ */
/* The reference parser                                                 */
/* ------------------------------------------------------------------ */

struct frame { uint32_t hoff, hlen, poff, plen; };

static uint8_t stream[MAXSTREAM];
static uint32_t stream_len;
static struct frame want[MAXFRAMES];
static unsigned int nwant;
static int want_err;		/* how the stream ends by itself */

static void reference(int custom)
{
	uint32_t pos = 0;

	nwant = 0;
	want_err = 0;
	while (pos < stream_len) {
		uint32_t left = stream_len - pos, hlen;
		uint64_t plen;

		if (!custom) {
			if (left < 4)
				break;
			hlen = 4;
			plen = (uint32_t)stream[pos] << 24 | stream[pos + 1] << 16 |
			       stream[pos + 2] << 8 | stream[pos + 3];
		} else {
			uint8_t b0 = stream[pos];

			if (b0 == 0xff) {
				want_err = -EBADMSG;
				return;
			}
			if (b0 == 0xfe) {
				want_err = -EPROTO;
				return;
			}
			hlen = 3 + 2 * (uint32_t)(b0 & 0x7f);
			if (hlen > NM_RX_MAX_HDR) {
				if (left >= NM_RX_MAX_HDR)
					want_err = -EMSGSIZE;
				break;
			}
			if (left < hlen)
				break;
			plen = stream[pos + 1] | (uint32_t)stream[pos + 2] << 8;
		}
		if (plen > MAX_FRAME) {
			want_err = -EMSGSIZE;
			return;
		}
		if (left - hlen < plen)
			break;
		CHECK(nwant < MAXFRAMES);
		want[nwant++] = (struct frame){ pos, hlen, pos + hlen, (uint32_t)plen };
		pos += hlen + (uint32_t)plen;
	}
	if (pos < stream_len && !want_err)
		want_err = -EPIPE;	/* the peer stopped inside a frame */
}

/* ------------------------------------------------------------------ */
/* The receivers and what they deliver                                  */
/* ------------------------------------------------------------------ */

struct recv {
	struct nm_rx *rx;
	struct nm_pool *pool, *hdr_pool;
	int readable, custom;
	uint8_t *backing;	/* unreadable: the memory behind the area */
};

static struct recv rcv[4];
static struct recv *cur;
static struct nm_rx_conn *conn;
static int closed, close_err;
static unsigned int got;		/* frames delivered */
static int data_err_at = -1;		/* on_data returns an error at this frame */
static int data_err_given, skip_data_after_err, skip_err_after_eof, skip_hang_after_eof,
	   skip_drop_placing;
static int hold;			/* keep delivered buffers for a while */
static struct nm_buf held[MAXHOLD];
static unsigned int nheld;

static int on_conn(struct nm_rx *rx, struct nm_rx_conn *c, void *user)
{
	CHECK(!conn);
	conn = c;
	return 0;
}

static void release_held(void)
{
	for (unsigned int i = 0; i < nheld; i++)
		CHECK_EQ(nm_buf_put(&held[i]), 0);
	nheld = 0;
}

static int on_data(struct nm_rx *rx, struct nm_rx_conn *c, const struct nm_rx_msg *m,
		   void *user)
{
	const struct frame *f;
	const uint8_t *h;
	uint32_t at = 0;

	CHECK(c == conn && !closed);
	/* issue: a connection that has ended (on_data failed, a place
	 * failed) still gets frames: those parsed from the rest of the same
	 * buffer, and those whose places land after the failed one
	 * (NM_FUZZ_SKIP=split-deliver-after-end lets them by, unchecked) */
	if (data_err_given && !skip_data_after_err)
		FAIL("on_data called again after it returned an error");
	if (place_failed && skip_data_after_err) {
		CHECK_EQ(nm_buf_put(m->hdr), 0);
		for (unsigned int i = 0; i < m->nr; i++)
			CHECK_EQ(nm_buf_put(&m->bufs[i]), 0);
		got++;
		return 0;
	}
	CHECK(m->flags & NM_RX_MSG_FRAME);
	CHECK(!!(m->flags & NM_RX_MSG_UNREADABLE) == !cur->readable);
	if (got >= nwant)
		FAIL("frame %u delivered; the stream has %u", got, nwant);
	f = &want[got];
	CHECK(m->hdr);
	CHECK_EQ(m->hdr_len, f->hlen);
	CHECK_EQ(m->hdr->len, f->hlen);
	h = nm_buf_data(m->hdr);
	CHECK(h);
	if (memcmp(h, stream + f->hoff, f->hlen))
		FAIL("frame %u: header differs", got);
	CHECK_EQ(m->bytes, f->plen);
	CHECK(m->tokens == NULL);
	for (unsigned int i = 0; i < m->nr; i++) {
		const struct nm_buf *b = &m->bufs[i];
		const uint8_t *d;

		CHECK(b->len > 0 && at + b->len <= f->plen);
		if (cur->readable) {
			d = nm_buf_data(b);
			CHECK(d);
		} else {
			int idx = nm_buf_chunk_index(b);

			CHECK(nm_buf_data(b) == NULL);
			CHECK(idx >= 0 && idx < NCHUNKS);
			d = cur->backing + ((size_t)idx << 12) + b->off;
		}
		if (memcmp(d, stream + f->poff + at, b->len))
			FAIL("frame %u: payload differs at %u (piece %u of %u)", got, at, i, m->nr);
		at += b->len;
	}
	CHECK_EQ(at, f->plen);
	if (hold && nheld + m->nr + 1 <= MAXHOLD) {
		held[nheld++] = *m->hdr;
		for (unsigned int i = 0; i < m->nr; i++)
			held[nheld++] = m->bufs[i];
	} else {
		CHECK_EQ(nm_buf_put(m->hdr), 0);
		for (unsigned int i = 0; i < m->nr; i++)
			CHECK_EQ(nm_buf_put(&m->bufs[i]), 0);
	}
	if ((int)got++ == data_err_at) {
		data_err_given = 1;
		return -ECONNABORTED;
	}
	return 0;
}

static void on_close(struct nm_rx *rx, struct nm_rx_conn *c, int err, void *user)
{
	CHECK(c == conn && !closed);
	closed = 1;
	close_err = err;
}

/* The areas last the whole run; the pools and the receiver are made for
 * each input, so that an input does the same wherever it runs (a
 * reproducer reproduces).  Each pool over an area of its own: pools over
 * one area keep what they cached, and would starve each other. */
static struct nm_area *areas[4][2];

static void setup(void)
{
	CHECK_EQ(nm_provider_register(&dev_ops), 0);
	for (int i = 0; i < 4; i++) {
		NM_OPTS(nm_area_opts, o, .size = (size_t)NCHUNKS << 12);
		struct recv *r = &rcv[i];

		r->readable = i < 2;
		r->custom = i & 1;
		areas[i][0] = nm_area_create("host", &o);
		areas[i][1] = nm_area_create(r->readable ? "host" : "fuzz-dev", &o);
		CHECK(areas[i][0] && areas[i][1]);
		r->backing = r->readable ? NULL : dev_backing;
	}
}

static void recv_up(struct recv *r)
{
	int i = (int)(r - rcv);

	r->hdr_pool = nm_pool_create(areas[i][0], NULL);
	r->pool = nm_pool_create(areas[i][1], NULL);
	CHECK(r->hdr_pool && r->pool);
	NM_OPTS(nm_rx_opts, ro, .engine = "socket", .flags = NM_RX_F_SPLIT,
		.pool = r->pool, .hdr_pool = r->hdr_pool, .max_conns = 2,
		.buf_size = i == 0 || i == 2 ? 512 : 0, .max_frame = MAX_FRAME,
		.frame = r->custom ? frame_cb : NULL, .on_data = on_data,
		.on_conn = on_conn, .on_close = on_close);
	r->rx = nm_rx_create(&ro);
	if (!r->rx)
		FAIL("nm_rx_create: %s", strerror(errno));
}

/* Down again, with nothing left in flight. */
static void recv_down(struct recv *r)
{
	CHECK_EQ(nm_rx_destroy(r->rx), 0);
	CHECK_EQ(nm_pool_destroy(r->pool), 0);
	CHECK_EQ(nm_pool_destroy(r->hdr_pool), 0);
	r->rx = NULL;
}

/* ------------------------------------------------------------------ */
/* Starving a pool                                                      */
/* ------------------------------------------------------------------ */

static struct nm_buf ballast[NCHUNKS];
static unsigned int nballast;
static struct nm_pool *ballast_pool;

static void starve(struct nm_pool *p)
{
	if (nballast)
		return;
	ballast_pool = p;
	for (;;) {
		int r = nm_pool_alloc_bulk(p, ballast + nballast, NCHUNKS - nballast);

		CHECK(r >= 0);
		nballast += (unsigned int)r;
		if (!r || nballast == NCHUNKS)
			break;
	}
}

static void feed_all_back(void)
{
	if (nballast)
		CHECK_EQ(nm_pool_put_bulk(ballast_pool, ballast, nballast), nballast);
	nballast = 0;
	release_held();
}

static void run_queue(void)
{
	int r = nm_rx_poll(cur->rx, 0);

	CHECK(r >= 0);
}

/* ------------------------------------------------------------------ */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz_in in = { data, size };
	struct nm_rxq *q;
	unsigned int cfg, mode, e_at, p_at;
	const uint8_t *ops;
	size_t nops;
	int sv[2], polls, forced;

	if (!areas[0][0]) {
		skip_data_after_err = fz_skip("split-deliver-after-end");
		skip_err_after_eof = fz_skip("split-err-after-eof");
		skip_hang_after_eof = fz_skip("split-hang-after-eof");
		skip_drop_placing = fz_skip("split-drop-placing");
		setup();
	}
	if (size < 3 || size > MAXSTREAM / 2)
		return 0;
	cfg = fz_byte(&in);
	e_at = fz_byte(&in);
	p_at = fz_byte(&in);
	cur = &rcv[cfg & 3];
	recv_up(cur);
	q = &cur->rx->q[0];
	dev_async = !!(cfg & 4);
	dev_lifo = !!(cfg & 8);
	hold = !!(cfg & 16);
	mode = (cfg >> 5) % 3;	/* 0 plain, 1 on_data fails, 2 a place fails */
	data_err_at = mode == 1 ? (int)e_at : -1;
	place_fail_at = mode == 2 && !cur->readable ? 1 + p_at : 0;
	data_err_given = 0;
	place_calls = 0;
	place_failed = 0;
	got = 0;
	closed = 0;
	close_err = 1;
	conn = NULL;
	npq = 0;

	/* The stream the pieces make, first, for the reference parser. */
	ops = in.p;
	nops = in.left;
	stream_len = 0;
	while (in.left) {
		unsigned int op = fz_byte(&in) % 8, len;

		if (op == 6)
			fz_byte(&in);	/* which pool to starve */
		if (op >= 5)
			continue;
		len = 1 + fz_below(&in, q->buf_size);
		if (len > in.left)
			len = (unsigned int)in.left;
		if (stream_len + len > MAXSTREAM)
			break;
		memcpy(stream + stream_len, in.p, len);
		stream_len += len;
		in.p += len;
		in.left -= len;
	}
	reference(cur->custom);

	/* A connection, opened as the engine opens one. */
	CHECK_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	CHECK_EQ(nm_rx_add_fd(cur->rx, sv[0], 0), 0);
	run_queue();
	CHECK(conn);

	in.p = ops;
	in.left = nops;
	while (in.left && !closed) {
		unsigned int op = fz_byte(&in) % 8, len;
		struct nm_buf b;

		switch (op) {
		case 5:
			run_queue();
			break;
		case 6:
			starve(fz_byte(&in) & 1 && !cur->readable ? cur->pool : cur->hdr_pool);
			break;
		case 7:
			feed_all_back();
			run_queue();
			break;
		default:
			len = 1 + fz_below(&in, q->buf_size);
			if (len > in.left)
				len = (unsigned int)in.left;
			if (!len)
				break;
			if (nm_rxq_alloc(q, &b)) {
				/* the engine would wait for buffers to come back */
				feed_all_back();
				run_queue();
				if (closed)
					break;
				if (nm_rxq_alloc(q, &b))
					FAIL("no receive buffer with nothing held by the application");
			}
			CHECK(b.len >= len);
			memcpy(nm_buf_data(&b), in.p, len);
			b.len = len;
			in.p += len;
			in.left -= len;
			CHECK(nm_rxq_deliver(q, conn, &b, 1) >= 0);
			break;
		}
	}

	/* End of stream, as the engine reports it, and the queue run until
	 * the connection is gone. */
	feed_all_back();
	if (!closed)
		nm_rxq_conn_end(q, conn, 0);
	for (polls = 0; !closed && polls < 100; polls++) {
		run_queue();
		release_held();
	}
	/* issue: an error that comes once the EOF is in and before the
	 * close is final (a place fails, a frame in the backlog is refused)
	 * is dropped, and the close then waits for frames or a backlog that
	 * nothing will move: the connection hangs, its fd open, on_close
	 * never called.  NM_FUZZ_SKIP=split-hang-after-eof closes it by hand
	 * and checks only that nothing leaks. */
	forced = 0;
	if (!closed && skip_hang_after_eof && conn->state == CONN_CLOSING) {
		forced = 1;
		nm_rxq_conn_end(q, conn, conn->close_err ? conn->close_err : -EPIPE);
		run_queue();
	}
	if (!closed) {
		char st[256];

		nm_split_describe(conn, st, sizeof(st));
		FAIL("the connection did not close (%u of %u frames delivered; state %d, "
		     "close_err %d, on_closing %d, %s)", got, nwant,
		     conn->state, conn->close_err, conn->on_closing, st);
	}
	run_queue();	/* places of aborted frames land */
	release_held();
	close(sv[1]);

	switch (forced ? 3 : mode) {
	case 3:
		break;
	case 1:
		if (data_err_at < (int)nwant) {
			if (skip_drop_placing && dev_async && !cur->readable && want_err &&
			    want_err != -EPIPE && got <= (unsigned int)data_err_at &&
			    close_err == want_err)
				break;
			if (skip_data_after_err)
				CHECK(got >= (unsigned int)data_err_at + 1);
			else
				CHECK_EQ(got, (unsigned int)data_err_at + 1);
			/* issue: an error from on_data for a frame placed after
			 * the EOF was seen, before the close was finalised, is
			 * lost (NM_FUZZ_SKIP=split-err-after-eof lets it by) */
			if (skip_err_after_eof && close_err == want_err)
				break;
			CHECK_EQ(close_err, -ECONNABORTED);
			break;
		}
		/* fall through: never reached that frame */
	case 0:
	case 2:
		if (place_failed) {
			if (!skip_data_after_err)
				CHECK(got < nwant || want_err);
			CHECK(close_err == -EIO || close_err == want_err);
			break;
		}
		/* Whole frames still placing when a later error ends the
		 * connection are dropped (unreadable memory, async places),
		 * where readable memory delivers them: NM_FUZZ_SKIP=
		 * split-drop-placing lets that by. */
		if (skip_drop_placing && dev_async && !cur->readable && want_err &&
		    want_err != -EPIPE && got < nwant && close_err == want_err)
			break;
		if (got != nwant || close_err != want_err)
			FAIL("%u of %u frames delivered, closed with %d, expected %d",
			     got, nwant, close_err, want_err);
		break;
	}
	/* Nothing is held anywhere now. */
	CHECK_EQ(npq, 0);
	CHECK_EQ(nm_split_places_inflight(q), 0);
	CHECK_EQ(nm_pool_inflight(cur->pool), 0);
	CHECK_EQ(nm_pool_inflight(cur->hdr_pool), 0);
	recv_down(cur);
	return 0;
}

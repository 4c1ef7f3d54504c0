/* SPDX-License-Identifier: MIT */
/*
 * split.c - header/data split over a byte stream, and the built-in framing
 * (a 4-byte big-endian payload length, then the payload).
 *
 * The engine hands over the stream in received buffers, in order.  Header
 * bytes are gathered in the connection (a header may straddle buffers),
 * then copied into a small buffer carved from the host header pool.
 * Payload bytes go one of two ways:
 *
 *  - readable payload pool: the engine received straight into it, so the
 *    payload is delivered as slices of the received buffers (each slice its
 *    own reference), no copy;
 *  - unreadable payload pool (device memory): the engine received into the
 *    header pool, which is host memory, and the payload is moved with
 *    nm_buf_place() into fragments of the payload pool.  Places may finish
 *    later (nm_area_poll); a frame is delivered only once all its places
 *    have landed, and frames of a connection leave in order.  The staging
 *    buffer keeps a reference per place in flight, so its bytes stay put
 *    until the copy is done.
 *
 * This is a delivery stage (rx_int.h): the queue core calls it only
 * through nm_rx_stage_split, and it calls the core's nm_rxq_* API.  Its
 * state is its own: struct split_q per queue (q->stage), struct
 * split_conn per connection (c->stage).
 */
#include "rx_int.h"
#include <errno.h>
#include <stdlib.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>

struct nm_split_frame {
	struct nm_split_frame *next;
	struct nm_rxq *q;
	uint32_t slot, gen;           /* the connection, checked on completion */
	int pending;                  /* places in flight */
	int complete;                 /* every byte received */
	int aborted;                  /* connection gone: free when placed */
	int err;                      /* a place failed */
	struct nm_buf hdr;
	struct nm_buf *bufs;
	unsigned int nr, cap;
};

struct nm_split_place {
	struct nm_split_place *next;
	struct nm_split_frame *f;
	struct nm_buf src;            /* staging reference held for the copy */
};

/* Framing state of one connection (c->stage). */
struct split_conn {
	uint8_t acc[NM_RX_MAX_HDR];  /* header bytes gathered so far */
	uint32_t acc_n;
	int in_payload;
	uint64_t left;               /* payload bytes still to come */
	struct nm_split_frame *cur;  /* frame being received */
	struct nm_split_frame *head, *tail; /* complete, waiting for places */
	struct nm_buf dst;           /* unreadable: payload buffer being filled */
	uint32_t dst_fill;
	/* Received buffers not yet consumed: the payload or header pool ran
	 * dry.  Waits here (backpressure) and is retried every pass. */
	struct nm_buf *back;
	unsigned int nback, back_cap;
	uint32_t back_pos;           /* bytes of back[0] already consumed */
	int stalled;                 /* on split_q.stalled */
	struct nm_rx_conn *next_stalled;
	/* A stream error ended the connection: the frames whole before it
	 * are delivered (once placed) before the close, nothing after. */
	int drain;
	int eof_pending;             /* the close waits for frames placing */
};

/* The stage's state of one queue (q->stage). */
struct split_q {
	struct nm_split_frame *frame_cache; /* free frame objects */
	struct nm_split_place *place_cache;
	unsigned int places_inflight;
	struct nm_rx_conn *stalled;  /* connections with a backlog */
	nm_rx_frame_fn frame;
	uint64_t max_frame;
	struct nm_area *pa;          /* the payload's area when placing */
};

static inline struct split_conn *SC(struct nm_rx_conn *c)
{
	return (struct split_conn *)(void *)c->stage;
}

static inline struct split_q *SQ(struct nm_rxq *q)
{
	return q->stage;
}

ssize_t nm_split_len32(const void *hdr, size_t avail, size_t *payload_len,
		       void *user)
{
	const uint8_t *b = hdr;

	if (avail < 4)
		return 0;
	*payload_len = (size_t)b[0] << 24 | (size_t)b[1] << 16 |
		       (size_t)b[2] << 8 | b[3];
	return 4;
}

static struct nm_split_frame *frame_get(struct nm_rxq *q)
{
	struct split_q *sq = SQ(q);
	struct nm_split_frame *f = sq->frame_cache;

	if (f) {
		sq->frame_cache = f->next;
	} else {
		f = nm_calloc(1, sizeof(*f));
		if (!f)
			return NULL;
	}
	f->next = NULL;
	f->q = q;
	f->pending = f->complete = f->aborted = f->err = 0;
	f->nr = 0;
	f->hdr.iov = NULL;
	return f;
}

/* Give a frame's buffers back (nobody will see them) and recycle it. */
static void frame_drop(struct nm_rxq *q, struct nm_split_frame *f)
{
	if (f->hdr.iov)
		nm_buf_put(&f->hdr);
	for (unsigned int i = 0; i < f->nr; i++)
		nm_buf_put(&f->bufs[i]);
	f->nr = 0;
	f->hdr.iov = NULL;
	f->next = SQ(q)->frame_cache;
	SQ(q)->frame_cache = f;
}

/* Recycle a delivered frame: its buffers are the application's now. */
static void frame_recycle(struct nm_rxq *q, struct nm_split_frame *f)
{
	f->nr = 0;
	f->hdr.iov = NULL;
	f->next = SQ(q)->frame_cache;
	SQ(q)->frame_cache = f;
}

static int frame_add(struct nm_split_frame *f, const struct nm_buf *b)
{
	if (f->nr == f->cap) {
		unsigned int nc = f->cap ? f->cap * 2 : 8;
		struct nm_buf *nb = nm_realloc(f->bufs, nc * sizeof(*nb));
		if (!nb)
			return -ENOMEM;
		f->bufs = nb;
		f->cap = nc;
	}
	f->bufs[f->nr++] = *b;
	return 0;
}

/* Deliver the connection's frames that are whole and placed, in order. */
static void split_flush(struct nm_rxq *q, struct nm_rx_conn *c)
{
	struct split_conn *sp = SC(c);

	/* Once the connection ended with an error (a frame lost, on_data
	 * said stop), nothing after it may be delivered: abort drops it. */
	while (sp->head && sp->head->complete && !sp->head->pending &&
	       (c->state == CONN_OPEN || !c->close_err || sp->drain)) {
		struct nm_split_frame *f = sp->head;

		sp->head = f->next;
		if (!sp->head)
			sp->tail = NULL;
		if (f->err) {
			int err = f->err;
			frame_drop(q, f);
			/* Ends an open connection; a clean end waiting for
			 * these frames, or a drain, turns into this error. */
			nm_rxq_conn_end(q, c, err);
			return;
		}
		nm_rxq_emit(q, c, f->bufs, f->nr, &f->hdr,
			    NM_RX_MSG_FRAME | (q->readable ? 0 : NM_RX_MSG_UNREADABLE));
		frame_recycle(q, f);
	}
	if (!sp->head && !sp->nback && sp->eof_pending && c->state == CONN_CLOSING) {
		/* The EOF (or a stream error) waited for these frames:
		 * finish closing now, with the error it had. */
		sp->eof_pending = 0;
		sp->drain = 0;
		nm_rxq_close_again(q, c);
	}
}

static void place_done(void *arg, int status)
{
	struct nm_split_place *pl = arg;
	struct nm_split_frame *f = pl->f;
	struct nm_rxq *q = f->q;
	struct split_q *sq = SQ(q);
	struct nm_rx_conn *c;

	nm_pool_put(q->rx_pool, &pl->src);
	pl->next = sq->place_cache;
	sq->place_cache = pl;
	sq->places_inflight--;
	if (status < 0) {
		RXS_ADD(q, place_errors, 1);
		if (!f->err)
			f->err = status;
	}
	if (--f->pending)
		return;
	if (f->aborted) {
		frame_drop(q, f);
		return;
	}
	if (!f->complete)
		return;	/* still receiving (the place ran synchronously) */
	c = nm_rxq_conn_lookup(q, f->slot, f->gen);
	if (c)
		split_flush(q, c);
}

static void frame_complete(struct nm_rxq *q, struct nm_rx_conn *c)
{
	struct split_conn *sp = SC(c);
	struct nm_split_frame *f = sp->cur;

	sp->cur = NULL;
	sp->in_payload = 0;
	sp->dst.iov = NULL;
	f->complete = 1;
	if (sp->tail)
		sp->tail->next = f;
	else
		sp->head = f;
	sp->tail = f;
	split_flush(q, c);
}

/* Place n bytes at src (inside the staging buffer raw) into the payload. */
static int place_bytes(struct nm_rxq *q, struct nm_rx_conn *c,
		       const struct nm_buf *raw, const uint8_t *src, uint32_t n,
		       uint32_t *placed)
{
	struct split_conn *sp = SC(c);
	struct split_q *sq = SQ(q);
	struct nm_split_frame *f = sp->cur;

	while (n) {
		struct nm_split_place *pl;
		struct nm_buf piece;
		uint32_t k;
		int r;

		if (!sp->dst.iov || sp->dst_fill == sp->dst.len) {
			uint32_t want = nm_pool_chunk_size(q->pool);

			/* left counts what is not yet placed, n included */
			if (sp->left < want)
				want = (uint32_t)sp->left;
			r = nm_pool_alloc_frag(q->pool, &sp->dst, want, 64);
			if (r) {
				RXS_ADD(q, pool_empty, 1);
				return r == -ENOMEM ? -ENOBUFS : r;
			}
			if (frame_add(f, &sp->dst)) {
				nm_pool_put(q->pool, &sp->dst);
				sp->dst.iov = NULL;
				return -ENOMEM;
			}
			sp->dst_fill = 0;
		}
		k = sp->dst.len - sp->dst_fill;
		if (k > n)
			k = n;
		piece.iov = sp->dst.iov;
		piece.off = sp->dst.off + sp->dst_fill;
		piece.len = k;
		pl = sq->place_cache;
		if (pl)
			sq->place_cache = pl->next;
		else if (!(pl = nm_malloc(sizeof(*pl))))
			return -ENOMEM;
		pl->f = f;
		pl->src = *raw;
		if (nm_buf_get(raw)) {
			pl->next = sq->place_cache;
			sq->place_cache = pl;
			return -ENODEV;
		}
		f->pending++;
		sq->places_inflight++;
		RXS_ADD(q, places, 1);
		r = nm_buf_place(&piece, src, k, place_done, pl);
		if (r < 0) {
			/* Not queued: done will not be called. */
			f->pending--;
			sq->places_inflight--;
			nm_pool_put(q->rx_pool, &pl->src);
			pl->next = sq->place_cache;
			sq->place_cache = pl;
			RXS_ADD(q, place_errors, 1);
			return r;
		}
		sp->dst_fill += k;
		sp->left -= k;
		src += k;
		n -= k;
		*placed += k;
	}
	return 0;
}

/* Start a frame whose header is the first h bytes of sp->acc. */
static int frame_start(struct nm_rxq *q, struct nm_rx_conn *c, uint32_t h,
		       size_t plen)
{
	struct split_conn *sp = SC(c);
	struct nm_split_frame *f;
	int r;

	if (plen > SQ(q)->max_frame) {
		RXS_ADD(q, frame_too_big, 1);
		return -EMSGSIZE;
	}
	f = frame_get(q);
	if (!f)
		return -ENOMEM;
	r = nm_pool_alloc_frag(q->hdr_pool, &f->hdr, h, 8);
	if (r) {
		f->hdr.iov = NULL;
		frame_drop(q, f);
		RXS_ADD(q, pool_empty, 1);
		return r == -ENOMEM ? -ENOBUFS : r;
	}
	memcpy(nm_buf_data(&f->hdr), sp->acc, h);
	f->slot = c->slot;
	f->gen = c->gen;
	sp->cur = f;
	sp->left = plen;
	sp->in_payload = 1;
	sp->dst.iov = NULL;
	return 0;
}

/*
 * Consume raw from *pos on.  Return 0 when all of it was consumed, -ENOBUFS
 * when a pool ran dry (*pos says how far it got; nothing is lost), or
 * another -errno that ends the connection.
 */
static int feed_one(struct nm_rxq *q, struct nm_rx_conn *c,
		    const struct nm_buf *raw, uint32_t *ppos)
{
	struct nm_rx *rx = q->rx;
	struct split_conn *sp = SC(c);
	const uint8_t *p = nm_buf_data(raw);
	uint32_t pos = *ppos, len = raw->len;
	int r = 0;

	if (!p)
		return -EFAULT;
	while (pos < len || (sp->in_payload && !sp->left)) {
		if (!sp->in_payload) {
			uint32_t old = sp->acc_n, k = len - pos;
			size_t plen = 0;
			ssize_t h;

			if (k > NM_RX_MAX_HDR - old)
				k = NM_RX_MAX_HDR - old;
			memcpy(sp->acc + old, p + pos, k);
			h = SQ(q)->frame(sp->acc, old + k, &plen, rx->o.user);
			if (h < 0) {
				r = (int)h;
				break;
			}
			if (h == 0) {
				sp->acc_n = old + k;
				if (sp->acc_n == NM_RX_MAX_HDR) {
					r = -EMSGSIZE;
					break;
				}
				pos += k;
				continue;
			}
			if ((size_t)h > old + k || (size_t)h <= old) {
				r = -EPROTO;	/* the framing callback contradicts itself */
				break;
			}
			/* Start the frame before consuming: if the header pool
			 * is dry, the bytes stay where they are. */
			r = frame_start(q, c, (uint32_t)h, plen);
			if (r)
				break;
			sp->acc_n = 0;
			pos += (uint32_t)h - old;
			continue;
		}
		if (sp->left) {
			uint32_t take = len - pos;

			if (take > sp->left)
				take = (uint32_t)sp->left;
			if (q->readable) {
				struct nm_buf s = { raw->iov, raw->off + pos, take };

				if ((r = nm_buf_get(&s)))
					break;
				if ((r = frame_add(sp->cur, &s))) {
					nm_buf_put(&s);
					break;
				}
				sp->left -= take;
				pos += take;
			} else {
				uint32_t placed = 0;

				r = place_bytes(q, c, raw, p + pos, take, &placed);
				pos += placed;
				if (r)
					break;
			}
		}
		if (!sp->left)
			frame_complete(q, c);
	}
	*ppos = pos;
	return r;
}

static int back_push(struct split_conn *sp, struct nm_buf *raw)
{
	if (sp->nback == sp->back_cap) {
		unsigned int nc = sp->back_cap ? sp->back_cap * 2 : 8;
		struct nm_buf *nb = nm_realloc(sp->back, nc * sizeof(*nb));
		if (!nb)
			return -ENOMEM;
		sp->back = nb;
		sp->back_cap = nc;
	}
	sp->back[sp->nback++] = *raw;
	return 0;
}

/* c waits for a dry pool: retried every pass (split_pass_begin). */
static void stall(struct nm_rxq *q, struct nm_rx_conn *c)
{
	struct split_conn *sp = SC(c);

	if (sp->stalled)
		return;
	sp->stalled = 1;
	sp->next_stalled = SQ(q)->stalled;
	SQ(q)->stalled = c;
	RXS_ADD(q, enobufs, 1);
}

/* Work through c's backlog.  Return 0 (drained), -ENOBUFS (still dry), or
 * an error that ends the connection. */
static int back_run(struct nm_rxq *q, struct nm_rx_conn *c)
{
	struct split_conn *sp = SC(c);
	unsigned int i = 0;
	int r = 0;

	while (i < sp->nback) {
		r = feed_one(q, c, &sp->back[i], &sp->back_pos);
		if (r)
			break;
		nm_buf_put(&sp->back[i]);
		sp->back_pos = 0;
		i++;
	}
	memmove(sp->back, sp->back + i, (sp->nback - i) * sizeof(*sp->back));
	sp->nback -= i;
	return r;
}

static int split_feed(struct nm_rxq *q, struct nm_rx_conn *c, struct nm_buf *raw)
{
	struct split_conn *sp = SC(c);
	uint32_t pos = 0;
	int r;

	if (sp->nback) {
		/* Behind a backlog: keep the order. */
		r = back_push(sp, raw);
		if (r)
			nm_buf_put(raw);
		return r;
	}
	r = feed_one(q, c, raw, &pos);
	if (r == -ENOBUFS) {
		sp->back_pos = pos;
		r = back_push(sp, raw);
		if (!r) {
			stall(q, c);
			return 0;
		}
	}
	nm_buf_put(raw);
	if (r < 0 && !c->close_err)
		sp->drain = 1;	/* a stream error: frames before it go out */
	return r;
}

/* Run the stalled connections' backlogs again.  Return how many moved. */
int nm_split_retry(struct nm_rxq *q)
{
	struct split_q *sq = SQ(q);
	struct nm_rx_conn *list = sq->stalled, *c;
	int n = 0;

	sq->stalled = NULL;
	while ((c = list)) {
		struct split_conn *sp = SC(c);
		int r;

		list = sp->next_stalled;
		sp->stalled = 0;
		if (c->state == CONN_FREE || !sp->nback)
			continue;
		r = back_run(q, c);
		if (r == -ENOBUFS) {
			sp->stalled = 1;
			sp->next_stalled = sq->stalled;
			sq->stalled = c;
			continue;
		}
		n++;
		if (r < 0) {
			sp->drain = !c->close_err;	/* frames before it go out */
			nm_rxq_conn_end(q, c, r);
		}
		else if (c->state == CONN_CLOSING && sp->eof_pending)
			split_flush(q, c);
	}
	return n;
}

/* The verdict on a clean end of stream: 0, or -EPIPE inside a frame. */
static int split_eof(struct split_conn *sp)
{
	if (sp->in_payload || sp->acc_n || sp->nback)
		return -EPIPE;	/* the peer stopped inside a frame */
	return 0;
}

static void split_abort(struct nm_rxq *q, struct nm_rx_conn *c);

/* An error ends c: 1 when frames whole before a stream error still place
 * (the close waits for split_flush), else 0. */
static int split_drain(struct nm_rxq *q, struct nm_rx_conn *c)
{
	struct split_conn *sp = SC(c);
	struct nm_split_frame *h = sp->head, *t = sp->tail;

	if (!sp->drain || !h) {
		sp->drain = 0;
		return 0;
	}
	/* Keep the whole frames (head..tail) for split_flush; drop the
	 * frame in progress and the backlog, which lie after the error. */
	sp->head = sp->tail = NULL;
	split_abort(q, c);
	sp->head = h;
	sp->tail = t;
	return 1;
}

static void split_abort(struct nm_rxq *q, struct nm_rx_conn *c)
{
	struct split_conn *sp = SC(c);
	struct nm_split_frame *f, *next;

	if (sp->cur) {
		sp->cur->next = sp->head;
		sp->head = sp->cur;
		sp->cur = NULL;
	}
	for (f = sp->head; f; f = next) {
		next = f->next;
		if (f->pending)
			f->aborted = 1;	/* place_done drops it */
		else
			frame_drop(q, f);
	}
	sp->head = sp->tail = NULL;
	for (unsigned int i = 0; i < sp->nback; i++)
		nm_buf_put(&sp->back[i]);
	free(sp->back);
	sp->back = NULL;
	sp->nback = sp->back_cap = 0;
	sp->back_pos = 0;
	if (sp->stalled) {
		struct nm_rx_conn **pp;

		for (pp = &SQ(q)->stalled; *pp; pp = &SC(*pp)->next_stalled)
			if (*pp == c) {
				*pp = sp->next_stalled;
				break;
			}
		sp->stalled = 0;
	}
	sp->in_payload = 0;
	sp->acc_n = 0;
	sp->dst.iov = NULL;
}

/* ------------------------------------------------------------------ */
/* the stage's table                                                    */
/* ------------------------------------------------------------------ */

static int split_init(struct nm_rxq *q)
{
	struct nm_rx *rx = q->rx;
	struct split_q *sq = nm_calloc(1, sizeof(*sq));

	if (!sq)
		return -ENOMEM;
	sq->frame = rx->o.frame ? rx->o.frame : nm_split_len32;
	sq->max_frame = rx->o.max_frame ? rx->o.max_frame : 16u << 20;
	q->stage = sq;
	q->hdr_pool = rx->o.hdr_pools ? rx->o.hdr_pools[q->id] : rx->o.hdr_pool;
	/* Unreadable payload: the engine receives into the header pool
	 * (host memory), and the payload is placed from there. */
	q->rx_pool = q->readable ? q->pool : q->hdr_pool;
	/* Headers come from the pool the ring receives into (when staging):
	 * a ring sized by default leaves it half, or headers starve. */
	q->rx_share = 2;
	if (!q->readable) {
		sq->pa = nm_pool_area(q->pool);
		if (q->id == 0)
			rx->features |= NM_RX_FEAT_PLACE;
	}
	return 0;
}

static void split_fini(struct nm_rxq *q)
{
	struct split_q *sq = SQ(q);
	struct nm_area *a = nm_pool_area(q->pool);

	if (!sq)
		return;
	/* Let places in flight land: their staging references and frames
	 * must come back before the pools can be destroyed.  Bounded. */
	for (int i = 0; sq->places_inflight && i < 100000; i++)
		if (nm_area_poll(a) <= 0)
			sched_yield();
	while (sq->frame_cache) {
		struct nm_split_frame *f = sq->frame_cache;
		sq->frame_cache = f->next;
		free(f->bufs);
		free(f);
	}
	while (sq->place_cache) {
		struct nm_split_place *pl = sq->place_cache;
		sq->place_cache = pl->next;
		free(pl);
	}
	free(sq);
	q->stage = NULL;
}

static void split_conn_open(struct nm_rxq *q, struct nm_rx_conn *c)
{
	memset(SC(c), 0, sizeof(struct split_conn));
}

static int split_deliver(struct nm_rxq *q, struct nm_rx_conn *c,
			 struct nm_buf *bufs, unsigned int n)
{
	int r, total = 0;

	for (unsigned int i = 0; i < n; i++) {
		if (c->state != CONN_OPEN) {
			nm_buf_put(&bufs[i]);
			continue;
		}
		r = split_feed(q, c, &bufs[i]);
		if (r < 0)
			nm_rxq_conn_end(q, c, r);
		else
			total += r;
	}
	return total;
}

/* The core finalises c's close with *err: frames still placing (a clean
 * end, or whole frames before a stream error) go out first. */
static int split_conn_end(struct nm_rxq *q, struct nm_rx_conn *c, int *err)
{
	struct split_conn *sp = SC(c);

	if ((!*err && (sp->head || sp->nback)) ||
	    (*err && split_drain(q, c))) {
		/* split_flush() closes again once they are out. */
		sp->eof_pending = 1;
		return 1;
	}
	if (!*err)
		*err = split_eof(sp);
	split_abort(q, c);
	sp->eof_pending = 0;
	return 0;
}

/* An error for a frame before a stream error (on_data's, a place's), met
 * while those frames drain, replaces the stream error and stops the
 * draining; a clean end waiting for frames turns into any error. */
static int split_conn_err(struct nm_rxq *q, struct nm_rx_conn *c)
{
	struct split_conn *sp = SC(c);

	if (c->close_err && !sp->drain)
		return 0;
	if (c->close_err)
		sp->drain = 0;
	sp->eof_pending = 0;
	return 1;
}

static inline void timeout_soon(int *timeout_ms)
{
	if (*timeout_ms > 1 || *timeout_ms < 0)
		*timeout_ms = 1;
}

/* Places landing, then the backlogs of stalled connections. */
static int split_pass_begin(struct nm_rxq *q, int *timeout_ms)
{
	struct split_q *sq = SQ(q);
	int n = 0;

	if (sq->pa && sq->places_inflight) {
		nm_area_poll(sq->pa);
		timeout_soon(timeout_ms);
	} else if (sq->pa && sq->stalled) {
		/* A dry payload pool may be waiting for the area to give
		 * buffers back (nm_cuda_put_after's deferred releases):
		 * only a poll runs those. */
		nm_area_poll(sq->pa);
	}
	if (sq->stalled) {
		n = nm_split_retry(q);
		if (sq->stalled)
			timeout_soon(timeout_ms);	/* retry the dry pool soon */
	}
	return n;
}

static void split_pass_end(struct nm_rxq *q)
{
	struct split_q *sq = SQ(q);

	if (sq->pa && sq->places_inflight)
		nm_area_poll(sq->pa);
}

static int split_pending(struct nm_rxq *q)
{
	return SQ(q)->stalled || SQ(q)->places_inflight;
}

const struct nm_rx_stage nm_rx_stage_split = {
	.name       = "split",
	.conn_size  = sizeof(struct split_conn),
	.init       = split_init,
	.fini       = split_fini,
	.conn_open  = split_conn_open,
	.deliver    = split_deliver,
	.conn_end   = split_conn_end,
	.conn_err   = split_conn_err,
	.conn_abort = split_abort,
	.pass_begin = split_pass_begin,
	.pass_end   = split_pass_end,
	.pending    = split_pending,
};

/* ------------------------------------------------------------------ */
/* white-box views (tests, fuzzers)                                     */
/* ------------------------------------------------------------------ */

unsigned int nm_split_backlog(const struct nm_rx_conn *c)
{
	return SC((struct nm_rx_conn *)c)->nback;
}

int nm_split_eof_pending(const struct nm_rx_conn *c)
{
	return SC((struct nm_rx_conn *)c)->eof_pending;
}

unsigned int nm_split_places_inflight(const struct nm_rxq *q)
{
	return q->stage ? SQ((struct nm_rxq *)q)->places_inflight : 0;
}

int nm_split_describe(const struct nm_rx_conn *c, char *buf, size_t size)
{
	const struct split_conn *sp = SC((struct nm_rx_conn *)c);

	return snprintf(buf, size, "eof_pending %d, head %p, cur %p, backlog %u, "
			"stalled %d, places in flight %u", sp->eof_pending,
			(void *)sp->head, (void *)sp->cur, sp->nback, sp->stalled,
			nm_split_places_inflight(c->q));
}

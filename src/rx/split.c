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
 */
#include "rx_int.h"
#include <errno.h>
#include <stdlib.h>
#include <sched.h>
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
	struct nm_split_frame *f = q->frame_cache;

	if (f) {
		q->frame_cache = f->next;
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
	f->next = q->frame_cache;
	q->frame_cache = f;
}

/* Recycle a delivered frame: its buffers are the application's now. */
static void frame_recycle(struct nm_rxq *q, struct nm_split_frame *f)
{
	f->nr = 0;
	f->hdr.iov = NULL;
	f->next = q->frame_cache;
	q->frame_cache = f;
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
void nm_split_flush(struct nm_rxq *q, struct nm_rx_conn *c)
{
	struct nm_split *sp = &c->sp;

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
	if (!sp->head && !sp->nback && c->eof_pending && c->state == CONN_CLOSING) {
		/* The EOF (or a stream error) waited for these frames:
		 * finish closing now, with the error it had. */
		int err = c->close_err;

		c->eof_pending = 0;
		sp->drain = 0;
		c->state = CONN_OPEN;
		nm_rxq_conn_end(q, c, err);
	}
}

static void place_done(void *arg, int status)
{
	struct nm_split_place *pl = arg;
	struct nm_split_frame *f = pl->f;
	struct nm_rxq *q = f->q;
	struct nm_rx_conn *c;

	nm_pool_put(q->rx_pool, &pl->src);
	pl->next = q->place_cache;
	q->place_cache = pl;
	q->places_inflight--;
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
		nm_split_flush(q, c);
}

static void frame_complete(struct nm_rxq *q, struct nm_rx_conn *c)
{
	struct nm_split *sp = &c->sp;
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
	nm_split_flush(q, c);
}

/* Place n bytes at src (inside the staging buffer raw) into the payload. */
static int place_bytes(struct nm_rxq *q, struct nm_rx_conn *c,
		       const struct nm_buf *raw, const uint8_t *src, uint32_t n,
		       uint32_t *placed)
{
	struct nm_split *sp = &c->sp;
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
		pl = q->place_cache;
		if (pl)
			q->place_cache = pl->next;
		else if (!(pl = nm_malloc(sizeof(*pl))))
			return -ENOMEM;
		pl->f = f;
		pl->src = *raw;
		if (nm_buf_get(raw)) {
			pl->next = q->place_cache;
			q->place_cache = pl;
			return -ENODEV;
		}
		f->pending++;
		q->places_inflight++;
		RXS_ADD(q, places, 1);
		r = nm_buf_place(&piece, src, k, place_done, pl);
		if (r < 0) {
			/* Not queued: done will not be called. */
			f->pending--;
			q->places_inflight--;
			nm_pool_put(q->rx_pool, &pl->src);
			pl->next = q->place_cache;
			q->place_cache = pl;
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
	struct nm_split *sp = &c->sp;
	struct nm_split_frame *f;
	int r;

	if (plen > q->rx->max_frame) {
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
	struct nm_split *sp = &c->sp;
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
			h = rx->frame(sp->acc, old + k, &plen, rx->o.user);
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

static int back_push(struct nm_split *sp, struct nm_buf *raw)
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

static void stall(struct nm_rxq *q, struct nm_rx_conn *c)
{
	if (c->sp.stalled)
		return;
	c->sp.stalled = 1;
	c->next_stalled = q->stalled;
	q->stalled = c;
	q->starved_cnt++;	/* makes the loop come back soon */
	RXS_ADD(q, enobufs, 1);
}

/* Work through c's backlog.  Return 0 (drained), -ENOBUFS (still dry), or
 * an error that ends the connection. */
static int back_run(struct nm_rxq *q, struct nm_rx_conn *c)
{
	struct nm_split *sp = &c->sp;
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

int nm_split_feed(struct nm_rxq *q, struct nm_rx_conn *c, struct nm_buf *raw)
{
	struct nm_split *sp = &c->sp;
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

int nm_split_retry(struct nm_rxq *q)
{
	struct nm_rx_conn *list = q->stalled, *c;
	int n = 0;

	q->stalled = NULL;
	while ((c = list)) {
		int r;

		list = c->next_stalled;
		c->sp.stalled = 0;
		q->starved_cnt--;
		if (c->state == CONN_FREE || !c->sp.nback)
			continue;
		r = back_run(q, c);
		if (r == -ENOBUFS) {
			c->sp.stalled = 1;
			c->next_stalled = q->stalled;
			q->stalled = c;
			q->starved_cnt++;
			continue;
		}
		n++;
		if (r < 0) {
			c->sp.drain = !c->close_err;	/* frames before it go out */
			nm_rxq_conn_end(q, c, r);
		}
		else if (c->state == CONN_CLOSING && c->eof_pending)
			nm_split_flush(q, c);
	}
	return n;
}

int nm_split_end(struct nm_rxq *q, struct nm_rx_conn *c)
{
	if (c->sp.in_payload || c->sp.acc_n || c->sp.nback)
		return -EPIPE;	/* the peer stopped inside a frame */
	return 0;
}

int nm_split_drain(struct nm_rxq *q, struct nm_rx_conn *c)
{
	struct nm_split *sp = &c->sp;
	struct nm_split_frame *h = sp->head, *t = sp->tail;

	if (!sp->drain || !h) {
		sp->drain = 0;
		return 0;
	}
	/* Keep the whole frames (head..tail) for nm_split_flush; drop the
	 * frame in progress and the backlog, which lie after the error. */
	sp->head = sp->tail = NULL;
	nm_split_abort(q, c);
	sp->head = h;
	sp->tail = t;
	return 1;
}

void nm_split_abort(struct nm_rxq *q, struct nm_rx_conn *c)
{
	struct nm_split *sp = &c->sp;
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

		for (pp = &q->stalled; *pp; pp = &(*pp)->next_stalled)
			if (*pp == c) {
				*pp = c->next_stalled;
				break;
			}
		sp->stalled = 0;
		q->starved_cnt--;
	}
	sp->in_payload = 0;
	sp->acc_n = 0;
	sp->dst.iov = NULL;
}

void nm_split_fini(struct nm_rxq *q)
{
	struct nm_area *a = nm_pool_area(q->pool);

	/* Let places in flight land: their staging references and frames
	 * must come back before the pools can be destroyed.  Bounded. */
	for (int i = 0; q->places_inflight && i < 100000; i++)
		if (nm_area_poll(a) <= 0)
			sched_yield();
	while (q->frame_cache) {
		struct nm_split_frame *f = q->frame_cache;
		q->frame_cache = f->next;
		free(f->bufs);
		free(f);
	}
	while (q->place_cache) {
		struct nm_split_place *pl = q->place_cache;
		q->place_cache = pl->next;
		free(pl);
	}
}

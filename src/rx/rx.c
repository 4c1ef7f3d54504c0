/* SPDX-License-Identifier: MIT */
/*
 * rx.c - the receiver: engine choice by name, queues and their threads,
 * connections (slots with generations, so a late completion for a closed
 * connection is recognised), listeners, hand-off of accepted fds between
 * queues, delivery to the application with tokens, deferred closes, stats.
 *
 * Closing is always deferred to the end of a queue pass: an engine or a
 * callback only marks a connection (nm_rxq_conn_end), and the queue loop
 * finalises it after the engine's pass returned, so no engine ever has a
 * connection freed under it while it walks completions.
 */
#include "rx_int.h"
#include "core/ring.h"
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* The engines, in the order nm_rx_engines() lists them.  A new engine is
 * a file under src/rx/ that defines `const struct nm_rx_engine
 * nm_rx_engine_NAME` and its NAME here: nothing else
 * (tests/test_rx_engine_table.c checks that every engine file is listed). */
#define NM_RX_ENGINES(X) X(uring) X(socket) X(xdp) X(udp)

#define NM_RX_ENGINE_DECL(name) extern const struct nm_rx_engine nm_rx_engine_##name;
#define NM_RX_ENGINE_REF(name) &nm_rx_engine_##name,
NM_RX_ENGINES(NM_RX_ENGINE_DECL)
static const struct nm_rx_engine *const engines[] = { NM_RX_ENGINES(NM_RX_ENGINE_REF) };
#define NR_ENGINES (sizeof(engines) / sizeof(engines[0]))

NM_API int nm_rx_engines(const char **names, int max)
{
	if (names)
		for (int i = 0; i < (int)NR_ENGINES && i < max; i++)
			names[i] = engines[i]->name;
	return (int)NR_ENGINES;
}

static const struct nm_rx_engine *engine_find(const char *name)
{
	for (size_t i = 0; i < NR_ENGINES; i++)
		if (!strcmp(engines[i]->name, name))
			return engines[i];
	return NULL;
}

static int pool_readable(struct nm_pool *p)
{
	struct nm_area_info ai;

	if (nm_area_info(nm_pool_area(p), &ai, sizeof(ai)))
		return 0;
	return ai.cpu_base != NULL;
}

/* ------------------------------------------------------------------ */
/* connections                                                          */
/* ------------------------------------------------------------------ */

struct nm_rx_conn *nm_rxq_conn_lookup(struct nm_rxq *q, uint32_t slot, uint32_t gen)
{
	struct nm_rx_conn *c;

	if (slot >= q->rx->o.max_conns)
		return NULL;
	c = q->conns[slot];
	if (!c || c->gen != gen || c->state == CONN_FREE)
		return NULL;
	return c;
}

static void close_push(struct nm_rxq *q, struct nm_rx_conn *c)
{
	if (c->on_closing)
		return;
	/* Room for every connection was made at init (each is on the list
	 * once at most): a connection marked for closing always gets there.
	 * (Growing it here could fail, and one left off was never closed.) */
	c->on_closing = 1;
	q->closing[q->nclosing++] = c;
}

void nm_rxq_conn_end(struct nm_rxq *q, struct nm_rx_conn *c, int err)
{
	if (c->state != CONN_OPEN) {
		/* A clean end not yet final (an EOF queued, or waiting for
		 * the stage) turns into the error; the stage says whether an
		 * error for bytes before the end (split: a frame drained
		 * before a stream error) replaces the one it had. */
		const struct nm_rx_stage *st = q->rx->stage;

		if (c->state == CONN_CLOSING && !c->closed && err &&
		    (st->conn_err ? st->conn_err(q, c) : !c->close_err)) {
			c->close_err = err;
			close_push(q, c);
		}
		return;
	}
	c->state = CONN_CLOSING;
	c->close_err = err;
	close_push(q, c);
}

void nm_rxq_conn_free(struct nm_rxq *q, struct nm_rx_conn *c)
{
	c->state = CONN_FREE;
	c->gen++;
	c->fd = -1;
	q->free_slots[q->nr_free++] = c->slot;
	atomic_fetch_sub_explicit(&q->nconn, 1, memory_order_relaxed);
}

void nm_rxq_close_again(struct nm_rxq *q, struct nm_rx_conn *c)
{
	close_push(q, c);
}

/* Parking (rx_int.h). */
int nm_rxq_park(struct nm_rxq *q, struct nm_rx_conn *c)
{
	if (c->starved)
		return 0;
	c->starved = 1;
	c->next_starved = NULL;
	if (q->parked)
		q->parked_tail->next_starved = c;
	else
		q->parked = c;
	q->parked_tail = c;
	q->starved_cnt++;
	return 1;
}

void nm_rxq_unpark(struct nm_rxq *q, struct nm_rx_conn *c)
{
	struct nm_rx_conn **pp, *prev = NULL;

	if (!c->starved)
		return;
	for (pp = &q->parked; *pp; prev = *pp, pp = &(*pp)->next_starved)
		if (*pp == c) {
			*pp = c->next_starved;
			if (q->parked_tail == c)
				q->parked_tail = prev;
			break;
		}
	c->starved = 0;
	q->starved_cnt--;
}

struct nm_rx_conn *nm_rxq_unpark_all(struct nm_rxq *q)
{
	struct nm_rx_conn *list = q->parked;

	for (struct nm_rx_conn *c = list; c; c = c->next_starved) {
		c->starved = 0;
		q->starved_cnt--;
	}
	q->parked = q->parked_tail = NULL;
	return list;
}

struct nm_rx_conn *nm_rxq_unpark_first(struct nm_rxq *q)
{
	struct nm_rx_conn *c = q->parked;

	if (!c)
		return NULL;
	q->parked = c->next_starved;
	if (!q->parked)
		q->parked_tail = NULL;
	c->next_starved = NULL;
	c->starved = 0;
	q->starved_cnt--;
	return c;
}

/* Finalise one marked connection: the stage, on_close, the engine. */
static void conn_finalise(struct nm_rxq *q, struct nm_rx_conn *c)
{
	struct nm_rx *rx = q->rx;
	int err = c->close_err;

	/* The stage may still deliver what came before the end first; it
	 * then calls nm_rxq_close_again(). */
	if (rx->stage->conn_end && rx->stage->conn_end(q, c, &err))
		return;
	c->closed = 1;
	RXS_ADD(q, conns_closed, 1);
	RXS_SUB(q, conns_active, 1);
	if (err)
		RXS_ADD(q, conns_err, 1);
	if (rx->o.on_close)
		rx->o.on_close(rx, c, err, rx->o.user);
	rx->eng->conn_close(q, c);
}

static void closing_sweep(struct nm_rxq *q)
{
	/* Finalising may mark others (never this one again): take turns. */
	while (q->nclosing) {
		struct nm_rx_conn *c = q->closing[--q->nclosing];

		c->on_closing = 0;
		if (c->state == CONN_CLOSING)
			conn_finalise(q, c);
	}
}

static int conn_open(struct nm_rxq *q, int fd)
{
	struct nm_rx *rx = q->rx;
	struct nm_rx_conn *c;
	uint32_t slot;
	int r;

	if (!q->nr_free) {
		close(fd);
		atomic_fetch_sub_explicit(&q->nconn, 1, memory_order_relaxed);
		return -ENOSPC;
	}
	slot = q->free_slots[--q->nr_free];
	c = q->conns[slot];
	if (!c) {
		c = nm_calloc(1, sizeof(*c) + rx->stage->conn_size);
		if (!c) {
			/* No on_conn/on_close (no connection to name): counted
			 * as opened and closed with an error (nm_rx_stats). */
			RXS_ADD(q, conns_opened, 1);
			RXS_ADD(q, conns_closed, 1);
			RXS_ADD(q, conns_err, 1);
			q->free_slots[q->nr_free++] = slot;
			atomic_fetch_sub_explicit(&q->nconn, 1, memory_order_relaxed);
			close(fd);
			return -ENOMEM;
		}
		c->slot = slot;
		c->gen = 1;
		q->conns[slot] = c;
	}
	c->q = q;
	c->fd = fd;
	c->state = CONN_OPEN;
	c->id = atomic_fetch_add_explicit(&rx->next_id, 1, memory_order_relaxed);
	c->user = NULL;
	c->close_err = 0;
	c->want_close = 0;
	c->armed = c->starved = c->cancelled = c->on_closing = 0;
	c->closed = 0;
	c->next_starved = NULL;
	if (rx->stage->conn_open)
		rx->stage->conn_open(q, c);
	RXS_ADD(q, conns_opened, 1);
	RXS_ADD(q, conns_active, 1);
	if (rx->o.on_conn) {
		r = rx->o.on_conn(rx, c, rx->o.user);
		if (r < 0) {
			nm_rxq_conn_end(q, c, r);
			return 0;
		}
	}
	r = rx->eng->conn_add(q, c);
	if (r < 0)
		nm_rxq_conn_end(q, c, r);
	return 0;
}

/* The write comes first, the count after it: a drain that sees the new
 * count reads after the write (or reads nothing yet, and the next count
 * change brings another read), so no wake is left unread for good. */
void nm_rxq_wake(struct nm_rxq *q)
{
	uint64_t one = 1;
	ssize_t r = write(q->evfd, &one, sizeof(one));
	(void)r;	/* EAGAIN: a wake is already pending */
	atomic_fetch_add_explicit(&q->wakes, 1, memory_order_release);
}


/* Hand an fd to queue q (any thread); nconn was reserved by the caller. */
static int inbox_push(struct nm_rxq *q, int fd)
{
	pthread_mutex_lock(&q->inbox_lock);
	if (q->inbox_n == q->rx->o.max_conns) {
		pthread_mutex_unlock(&q->inbox_lock);
		return -ENOSPC;
	}
	q->inbox[q->inbox_n++] = fd;
	atomic_store_explicit(&q->inbox_pending, q->inbox_n, memory_order_release);
	pthread_mutex_unlock(&q->inbox_lock);
	nm_rxq_wake(q);
	return 0;
}

static void inbox_drain(struct nm_rxq *q)
{
	int fds[64];
	unsigned int n;

	while (atomic_load_explicit(&q->inbox_pending, memory_order_acquire)) {
		pthread_mutex_lock(&q->inbox_lock);
		n = q->inbox_n < 64 ? q->inbox_n : 64;
		q->inbox_n -= n;
		memcpy(fds, q->inbox + q->inbox_n, n * sizeof(int));
		atomic_store_explicit(&q->inbox_pending, q->inbox_n, memory_order_relaxed);
		pthread_mutex_unlock(&q->inbox_lock);
		for (unsigned int i = 0; i < n; i++)
			conn_open(q, fds[i]);
	}
}

/* Reserve room for one more connection on q. */
static int conn_reserve(struct nm_rxq *q)
{
	unsigned int n = atomic_load_explicit(&q->nconn, memory_order_relaxed);

	do {
		if (n >= q->rx->o.max_conns)
			return -ENOSPC;
	} while (!atomic_compare_exchange_weak_explicit(&q->nconn, &n, n + 1,
			memory_order_relaxed, memory_order_relaxed));
	return 0;
}

/* A packet engine's own socket (the queue's XSK) becomes a connection of
 * q itself, on q's thread: on_conn, then the engine's conn_add.  The
 * receiver owns @fd from here.  Return 0, or -ENOSPC (fd closed). */
int nm_rxq_conn_open(struct nm_rxq *q, int fd)
{
	if (conn_reserve(q)) {
		close(fd);
		return -ENOSPC;
	}
	return conn_open(q, fd);
}

/* q's engine accepted fd: with REUSEPORT listeners it stays on q (the
 * kernel chose the queue); else it goes to a queue round-robin. */
int nm_rxq_accepted(struct nm_rxq *q, int fd)
{
	struct nm_rx *rx = q->rx;

	if (rx->o.listen_flags & NM_RX_LISTEN_REUSEPORT) {
		if (!conn_reserve(q))
			return conn_open(q, fd);
		close(fd);
		return -ENOSPC;
	}

	for (unsigned int tries = 0; tries < rx->nq; tries++) {
		unsigned int k = atomic_fetch_add_explicit(&rx->rr, 1,
					memory_order_relaxed) % rx->nq;
		struct nm_rxq *t = &rx->q[k];

		if (conn_reserve(t))
			continue;
		if (t == q)
			return conn_open(q, fd);
		if (!inbox_push(t, fd))
			return 0;
		atomic_fetch_sub_explicit(&t->nconn, 1, memory_order_relaxed);
	}
	close(fd);
	return -ENOSPC;
}

void nm_rxq_drain_wake(struct nm_rxq *q)
{
	uint64_t v;
	ssize_t r;

	/* acquire: the read below comes after the writes counted */
	q->wakes_acked = atomic_load_explicit(&q->wakes, memory_order_acquire);
	r = read(q->evfd, &v, sizeof(v));
	(void)r;
}

void nm_rxq_ack_wake(struct nm_rxq *q)
{
	if (atomic_load_explicit(&q->wakes, memory_order_acquire) != q->wakes_acked)
		nm_rxq_drain_wake(q);
}

/* ------------------------------------------------------------------ */
/* delivery                                                             */
/* ------------------------------------------------------------------ */

int nm_rxq_put_bufs(struct nm_rxq *q, struct nm_buf *bufs, unsigned int n)
{
	for (unsigned int i = 0; i < n; i++)
		nm_buf_put(&bufs[i]);
	return 0;
}

/* A buffer an engine took to receive into has no CPU address (see
 * nm_rxq_post_addr).  Give it back; fail the queue unless the area was
 * revoked under it (a normal event: the pool gives no more buffers). */
void *nm_rxq_post_refused(struct nm_rxq *q, struct nm_buf *b)
{
	struct nm_area *a = nm_buf_area(b);
	int live = a && nm_area_live(a);

	RXS_ADD(q, unreadable, 1);
	nm_buf_put(b);
	b->iov = NULL;
	if (live && !q->fatal)
		q->fatal = -EFAULT;
	return NULL;
}

static uint32_t token_of(struct nm_rx *rx, struct nm_rxq *q, const struct nm_buf *b)
{
	uint32_t t;

	if (nm_token_add(rx->tok, b, &t)) {
		RXS_ADD(q, tok_full, 1);
		return NM_RX_NO_TOKEN;
	}
	return t;
}

static int emit_msg(struct nm_rxq *q, struct nm_rx_conn *c, struct nm_buf *bufs,
		    unsigned int n, const struct nm_buf *hdr, unsigned int flags,
		    const struct nm_rx_pkt *pkt)
{
	struct nm_rx *rx = q->rx;
	struct nm_rx_msg m;
	uint64_t bytes = 0;
	int r;

	for (unsigned int i = 0; i < n; i++)
		bytes += bufs[i].len;
	memset(&m, 0, sizeof(m));
	m.bufs = bufs;
	m.nr = n;
	m.flags = flags;
	m.bytes = bytes;
	m.hdr = hdr;
	m.hdr_token = NM_RX_NO_TOKEN;
	m.pkt = pkt;
	if (hdr)
		m.hdr_len = hdr->len;
	if (rx->tok) {
		uint32_t local[8], *toks = local;

		if (n > 8 && !(toks = nm_malloc(n * sizeof(*toks)))) {
			/* No room for the tokens: the application never sees
			 * these buffers, they go back, the connection ends. */
			nm_rxq_put_bufs(q, bufs, n);
			if (hdr)
				nm_buf_put(hdr);
			nm_rxq_conn_end(q, c, -ENOMEM);
			return -ENOMEM;
		}
		pthread_mutex_lock(&rx->tok_lock);
		for (unsigned int i = 0; i < n; i++)
			toks[i] = token_of(rx, q, &bufs[i]);
		if (hdr)
			m.hdr_token = token_of(rx, q, hdr);
		pthread_mutex_unlock(&rx->tok_lock);
		m.tokens = toks;
		r = rx->o.on_data(rx, c, &m, rx->o.user);
		if (toks != local)
			free(toks);
	} else {
		r = rx->o.on_data(rx, c, &m, rx->o.user);
	}
	RXS_ADD(q, msgs, 1);
	RXS_ADD(q, bufs, n);
	RXS_ADD(q, bytes, bytes);
	if (hdr) {
		RXS_ADD(q, frames, 1);
		RXS_ADD(q, hdr_bytes, hdr->len);
	}
	if (pkt)
		RXS_ADD(q, pkts, pkt->seg_size && n == 1 && bufs[0].len > pkt->seg_size ?
			(bufs[0].len + pkt->seg_size - 1) / pkt->seg_size : 1);
	if (r < 0)
		nm_rxq_conn_end(q, c, r);
	return r < 0 ? r : 1;
}

int nm_rxq_emit(struct nm_rxq *q, struct nm_rx_conn *c, struct nm_buf *bufs,
		unsigned int n, const struct nm_buf *hdr, unsigned int flags)
{
	return emit_msg(q, c, bufs, n, hdr, flags, NULL);
}

int nm_rxq_deliver_pkt(struct nm_rxq *q, struct nm_rx_conn *c, struct nm_buf *b,
		       const struct nm_rx_pkt *pkt)
{
	struct nm_rx *rx = q->rx;
	int r;

	if (nm_unlikely(c->state != CONN_OPEN)) {
		nm_rxq_put_bufs(q, b, 1);
		return 0;
	}
	if (nm_unlikely(rx->tok))
		return emit_msg(q, c, b, 1, NULL, NM_RX_MSG_PKT, pkt);
	/* A packet per message, no tokens (the common case of a packet
	 * engine): emit_msg's work without its branches, counted before the
	 * callback so that little stays live across it. */
	RXS_ADD(q, msgs, 1);
	RXS_ADD(q, bufs, 1);
	RXS_ADD(q, bytes, b->len);
	RXS_ADD(q, pkts, pkt->seg_size && b->len > pkt->seg_size ?
		(b->len + pkt->seg_size - 1) / pkt->seg_size : 1);
	const struct nm_rx_msg m = {
		.bufs = b, .nr = 1, .flags = NM_RX_MSG_PKT, .bytes = b->len,
		.hdr_token = NM_RX_NO_TOKEN, .pkt = pkt,
	};
	r = rx->o.on_data(rx, c, &m, rx->o.user);
	if (nm_unlikely(r < 0)) {
		nm_rxq_conn_end(q, c, r);
		return r;
	}
	return 1;
}

unsigned int nm_rxq_deliver_pkts(struct nm_rxq *q, struct nm_rx_conn *c, struct nm_buf *b,
				 unsigned int n, const void *const *data,
				 struct nm_rx_pkt *pkt)
{
	struct nm_rx *rx = q->rx;
	/* one message, its buffer and size changed per packet: a packet
	 * costs the callback and little else (the fields are the same as
	 * nm_rxq_deliver_pkt's) */
	struct nm_rx_msg m = {
		.nr = 1, .flags = NM_RX_MSG_PKT, .hdr_token = NM_RX_NO_TOKEN, .pkt = pkt,
	};
	uint64_t bytes = 0;
	unsigned int i = 0;

	if (nm_unlikely(rx->tok)) {	/* tokens: the general path */
		for (; i < n && c->state == CONN_OPEN; i++) {
			pkt->data = data ? data[i] : NULL;
			if (nm_rxq_deliver_pkt(q, c, &b[i], pkt) < 0) {
				i++;
				break;
			}
		}
		goto rest;
	}
	for (; i < n && c->state == CONN_OPEN; i++) {
		int r;

		pkt->data = data ? data[i] : NULL;
		m.bufs = &b[i];
		m.bytes = b[i].len;
		bytes += b[i].len;
		r = rx->o.on_data(rx, c, &m, rx->o.user);
		if (nm_unlikely(r < 0)) {
			nm_rxq_conn_end(q, c, r);
			i++;
			break;
		}
	}
	/* one datagram per buffer here: no GRO batch (seg_size 0) */
	RXS_ADD(q, msgs, i);
	RXS_ADD(q, bufs, i);
	RXS_ADD(q, pkts, i);
	RXS_ADD(q, bytes, bytes);
rest:
	if (i < n)
		nm_rxq_put_bufs(q, b + i, n - i);
	return i;
}

unsigned int nm_rxq_deliver_burst(struct nm_rxq *q, struct nm_rx_conn *c,
				  const struct nm_rx_pktbuf *p, unsigned int n,
				  uint64_t bytes)
{
	struct nm_rx *rx = q->rx;
	int r;

	if (nm_unlikely(c->state != CONN_OPEN)) {
		for (unsigned int i = 0; i < n; i++)
			nm_buf_put(&p[i].buf);
		return 0;
	}
	/* counted as on_data's messages would be: one per packet */
	RXS_ADD(q, msgs, n);
	RXS_ADD(q, bufs, n);
	RXS_ADD(q, pkts, n);
	RXS_ADD(q, bytes, bytes);
	r = rx->o.on_pkts(rx, c, p, n, rx->o.user);
	if (nm_unlikely(r < 0))
		nm_rxq_conn_end(q, c, r);
	return n;
}

/* An engine received bufs on c: to the stage (rx_int.h). */
int nm_rxq_deliver(struct nm_rxq *q, struct nm_rx_conn *c,
		   struct nm_buf *bufs, unsigned int n)
{
	if (nm_unlikely(c->state != CONN_OPEN)) {
		nm_rxq_put_bufs(q, bufs, n);
		return 0;
	}
	return q->rx->stage->deliver(q, c, bufs, n);
}

static void threads_quit(struct nm_rx *rx);
static int run_claim(struct nm_rx *rx);

/* ------------------------------------------------------------------ */
/* create / destroy                                                     */
/* ------------------------------------------------------------------ */

static int queue_init(struct nm_rx *rx, struct nm_rxq *q, unsigned int id)
{
	unsigned int maxc = rx->o.max_conns;
	int r;

	q->rx = rx;
	q->id = id;
	/* First, so that queue_fini() may always destroy it. */
	pthread_mutex_init(&q->inbox_lock, NULL);
	q->pool = rx->nq > 1 || rx->o.pools ? rx->o.pools[id] : rx->o.pool;
	q->readable = pool_readable(q->pool);
	r = rx->stage->init(q);	/* q->rx_pool, q->hdr_pool, q->rx_share */
	if (r)
		return r;
	q->buf_size = rx->o.buf_size ? rx->o.buf_size : nm_pool_chunk_size(q->rx_pool);
	if (q->buf_size > nm_pool_chunk_size(q->rx_pool))
		return -EINVAL;
	q->evfd = nm_fd_call(eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC));
	if (q->evfd < 0)
		return -errno;
	q->conns = nm_calloc(maxc, sizeof(*q->conns));
	q->free_slots = nm_malloc(maxc * sizeof(*q->free_slots));
	q->inbox = nm_malloc(maxc * sizeof(*q->inbox));
	q->closing = nm_malloc(maxc * sizeof(*q->closing));
	if (!q->conns || !q->free_slots || !q->inbox || !q->closing)
		return -ENOMEM;
	/* Lowest slots first, so a small test touches few. */
	for (unsigned int i = 0; i < maxc; i++)
		q->free_slots[i] = maxc - 1 - i;
	q->nr_free = maxc;
	return rx->eng->init(q);
}

static void queue_fini(struct nm_rx *rx, struct nm_rxq *q, int eng_up)
{
	if (q->conns) {
		/* Whatever is open ends now, with -ECANCELED. */
		for (unsigned int i = 0; i < rx->o.max_conns; i++) {
			struct nm_rx_conn *c = q->conns[i];

			if (!c || c->state == CONN_FREE)
				continue;
			if (!c->closed) {
				/* Open, or closing but not finalised (closed
				 * between runs): on_close once, here. */
				int err = c->state == CONN_OPEN || !c->close_err ?
					  -ECANCELED : c->close_err;

				c->closed = 1;
				if (rx->stage->conn_abort)
					rx->stage->conn_abort(q, c);
				RXS_ADD(q, conns_closed, 1);
				RXS_SUB(q, conns_active, 1);
				if (c->state != CONN_OPEN && c->close_err)
					RXS_ADD(q, conns_err, 1);
				if (rx->o.on_close)
					rx->o.on_close(rx, c, err, rx->o.user);
			} else if (rx->stage->conn_abort) {
				rx->stage->conn_abort(q, c);
			}
			if (c->fd >= 0)
				close(c->fd);
			c->state = CONN_FREE;
		}
	}
	if (eng_up)
		rx->eng->fini(q);
	if (rx->stage->fini)
		rx->stage->fini(q);
	if (q->conns)
		for (unsigned int i = 0; i < rx->o.max_conns; i++)
			free(q->conns[i]);
	if (q->inbox)
		for (unsigned int i = 0; i < q->inbox_n; i++)
			close(q->inbox[i]);
	free(q->conns);
	free(q->free_slots);
	free(q->inbox);
	free(q->closing);
	if (q->evfd >= 0)
		close(q->evfd);
	pthread_mutex_destroy(&q->inbox_lock);
}

static int opts_validate(const struct nm_rx_opts *o)
{
	unsigned int nq = o->nr_queues ? o->nr_queues : 1;

	if ((!o->on_data && !o->on_pkts) || (o->flags & ~NM_RX_F_ALL) ||
	    nq > NM_RX_MAX_QUEUES)
		return -EINVAL;
	/* a burst's entries carry no tokens */
	if (o->on_pkts && (o->flags & NM_RX_F_TOKENS))
		return -EINVAL;
	if (((o->flags & NM_RX_F_NO_INC) && (o->flags & NM_RX_F_REQUIRE_INC)) ||
	    ((o->flags & NM_RX_F_NO_BUNDLE) && (o->flags & NM_RX_F_REQUIRE_BUNDLE)) ||
	    /* a token is a buffer held past the callback: not one lent */
	    ((o->flags & NM_RX_F_LEND) && (o->flags & NM_RX_F_TOKENS)))
		return -EINVAL;
	if (o->ring_entries && (o->ring_entries & (o->ring_entries - 1) ||
				o->ring_entries > 32768))
		return -EINVAL;
	if (nq > 1 ? !o->pools : !o->pool && !o->pools)
		return -EINVAL;
	for (unsigned int i = 0; i < nq; i++) {
		struct nm_pool *p = o->pools ? o->pools[i] : o->pool;
		struct nm_pool *h = NULL;

		if (!p)
			return -EINVAL;
		for (unsigned int j = 0; j < i; j++)	/* one pool per queue */
			if (o->pools[j] == p)
				return -EINVAL;
		/* Memory without a CPU mapping is reached only through split's
		 * placement: an engine must never give the kernel an address
		 * that did not come from one (DESIGN.md). */
		if (!(o->flags & NM_RX_F_SPLIT)) {
			if (!pool_readable(p))
				return -EINVAL;
			continue;
		}
		h = o->hdr_pools ? o->hdr_pools[i] : (nq == 1 ? o->hdr_pool : NULL);
		if (!h || h == p || !pool_readable(h))
			return -EINVAL;
	}
	if (!(o->flags & NM_RX_F_SPLIT) && (o->frame || o->max_frame))
		return -EINVAL;
	if (o->listen_flags & ~NM_RX_LISTEN_ALL)
		return -EINVAL;
	/* Options of the xdp engine only; copy and zero-copy exclude each other. */
	if ((o->ifname || o->queue_id || o->xdp_flags) &&
	    (!o->engine || strcmp(o->engine, "xdp")))
		return -EINVAL;
	if ((o->xdp_flags & ~NM_RX_XDP_ALL) ||
	    ((o->xdp_flags & NM_RX_XDP_COPY) && (o->xdp_flags & NM_RX_XDP_ZEROCOPY)))
		return -EINVAL;
	for (unsigned int i = 0; o->cpus && i < nq; i++)
		if (o->cpus[i] < -1 || o->cpus[i] >= CPU_SETSIZE)
			return -EINVAL;
	return 0;
}

/* Copy and check the options, fill in the defaults.  0 or -errno. */
static int rx_opts_take(struct nm_rx *rx, const struct nm_rx_opts *uopts)
{
	int err = nm_opts_check(uopts, uopts->sz, sizeof(rx->o));

	if (err)
		return err;
	memcpy(&rx->o, uopts, uopts->sz < sizeof(rx->o) ? uopts->sz : sizeof(rx->o));
	err = opts_validate(&rx->o);
	if (err)
		return err;
	rx->nq = rx->o.nr_queues ? rx->o.nr_queues : 1;
	if (!rx->o.max_conns)
		rx->o.max_conns = 4096;
	if (!rx->o.backlog)
		rx->o.backlog = 1024;
	return 0;
}

/* Make the queues, each with its stage's and engine's state; the
 * portable engine when io_uring is missing and none was named.  0, or
 * -errno with none left. */
static int queues_up(struct nm_rx *rx)
{
	unsigned int i;
	int err;

	rx->q = nm_calloc(rx->nq, sizeof(*rx->q));
	if (!rx->q)
		return -ENOMEM;
	for (i = 0; i < rx->nq; i++)
		rx->q[i].evfd = -1;
	for (i = 0; i < rx->nq; i++) {
		err = queue_init(rx, &rx->q[i], i);
		if (err == -EOPNOTSUPP && !rx->o.engine && i == 0 &&
		    !(rx->o.flags & (NM_RX_F_REQUIRE_INC | NM_RX_F_REQUIRE_BUNDLE))) {
			/* No io_uring here: the portable engine. */
			queue_fini(rx, &rx->q[0], 0);
			memset(&rx->q[0], 0, sizeof(rx->q[0]));
			rx->q[0].evfd = -1;
			rx->eng = &nm_rx_engine_socket;
			err = queue_init(rx, &rx->q[0], 0);
		}
		if (err) {
			queue_fini(rx, &rx->q[i], 0);
			while (i--)
				queue_fini(rx, &rx->q[i], 1);
			free(rx->q);
			rx->q = NULL;
			return err;
		}
	}
	return 0;
}

NM_API struct nm_rx *nm_rx_create(const struct nm_rx_opts *uopts)
{
	struct nm_rx *rx;
	int err;

	if (!uopts) {
		errno = EINVAL;
		return NULL;
	}
	rx = nm_calloc(1, sizeof(*rx));
	if (!rx)
		return NULL;
	pthread_mutex_init(&rx->tok_lock, NULL);
	pthread_mutex_init(&rx->run_lock, NULL);
	pthread_cond_init(&rx->run_cv, NULL);
	pthread_cond_init(&rx->done_cv, NULL);
	err = rx_opts_take(rx, uopts);
	if (err)
		goto fail_free;
	rx->stage = rx->o.flags & NM_RX_F_SPLIT ? &nm_rx_stage_split : &nm_rx_stage_plain;
	atomic_init(&rx->next_id, 1);
	if (rx->o.flags & NM_RX_F_TOKENS) {
		rx->tok = nm_token_table_create(rx->o.tok_capacity ?
						rx->o.tok_capacity : 65536);
		if (!rx->tok) {
			err = -errno;
			goto fail_free;
		}
	}
	rx->eng = rx->o.engine ? engine_find(rx->o.engine) : &nm_rx_engine_uring;
	if (!rx->eng)
		err = -ENOENT;
	else if ((rx->o.flags & rx->eng->refuse_flags) ||
		 (rx->o.on_pkts && !rx->eng->burst))
		err = -EINVAL;
	else
		err = queues_up(rx);
	if (err)
		goto fail_tok;
	return rx;

fail_tok:
	nm_token_table_destroy(rx->tok);
fail_free:
	pthread_mutex_destroy(&rx->tok_lock);
	pthread_mutex_destroy(&rx->run_lock);
	pthread_cond_destroy(&rx->run_cv);
	pthread_cond_destroy(&rx->done_cv);
	free(rx);
	errno = -err;
	return NULL;
}

NM_API int nm_rx_destroy(struct nm_rx *rx)
{
	if (!rx)
		return -EINVAL;
	/* Held to the end: a callback run by the teardown (on_close with
	 * -ECANCELED) that calls nm_rx_destroy, nm_rx_run or nm_rx_poll is
	 * told -EBUSY, as from any other callback. */
	if (run_claim(rx))
		return -EBUSY;
	threads_quit(rx);
	pthread_mutex_destroy(&rx->run_lock);
	pthread_cond_destroy(&rx->run_cv);
	pthread_cond_destroy(&rx->done_cv);
	for (unsigned int i = 0; i < rx->nr_listen; i++)
		close(rx->listen_fds[i]);
	rx->nr_listen = 0;
	for (unsigned int i = 0; i < rx->nq; i++)
		queue_fini(rx, &rx->q[i], 1);
	if (rx->tok) {
		/* every buffer still behind a live token goes back */
		nm_token_release_all(rx->tok);
		nm_token_table_destroy(rx->tok);
	}
	pthread_mutex_destroy(&rx->tok_lock);
	free(rx->q);
	free(rx);
	return 0;
}

/* ------------------------------------------------------------------ */
/* listeners and fds                                                    */
/* ------------------------------------------------------------------ */

/* @host:@port into @ss.  Return its length, or -EINVAL. */
static int listen_addr(const char *host, int port, struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	if (!host || inet_pton(AF_INET, host, &((struct sockaddr_in *)ss)->sin_addr) == 1) {
		struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
		s4->sin_family = AF_INET;
		s4->sin_port = htons((uint16_t)port);
		if (!host)
			s4->sin_addr.s_addr = htonl(INADDR_ANY);
		return sizeof(*s4);
	}
	if (inet_pton(AF_INET6, host, &((struct sockaddr_in6 *)ss)->sin6_addr) == 1) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)port);
		return sizeof(*s6);
	}
	return -EINVAL;
}

static int addr_port(const struct sockaddr_storage *ss)
{
	return ss->ss_family == AF_INET ? ntohs(((const struct sockaddr_in *)ss)->sin_port)
					: ntohs(((const struct sockaddr_in6 *)ss)->sin6_port);
}

/* One listening socket on @ss (its port filled in when it was 0), handed
 * to queue @q's engine.  Return the fd or -errno. */
static int listen_one(struct nm_rx *rx, struct nm_rxq *q,
		      struct sockaddr_storage *ss, socklen_t sl, int reuseport)
{
	int fd, one = 1, r;

	fd = nm_fd_call(socket(ss->ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
	if (fd < 0)
		return -errno;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if ((reuseport && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one))) ||
	    bind(fd, (struct sockaddr *)ss, sl) || listen(fd, rx->o.backlog) ||
	    getsockname(fd, (struct sockaddr *)ss, &sl)) {
		r = -errno;
		close(fd);
		return r;
	}
	r = rx->eng->listen(q, fd);
	if (r < 0) {
		close(fd);
		return r;
	}
	nm_rxq_wake(q);	/* an application's loop: a pass to start it */
	return fd;
}

/* A datagram engine's nm_rx_listen: a socket bound per queue (one
 * SO_REUSEPORT group when several), each handed to its queue as a
 * connection.  Return the port or -errno. */
static int listen_dgram(struct nm_rx *rx, struct sockaddr_storage *ss, socklen_t sl)
{
	int one = 1, fd, r;

	for (unsigned int i = 0; i < rx->nq; i++) {
		fd = nm_fd_call(socket(ss->ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
		if (fd < 0)
			return -errno;
		if ((rx->nq > 1 && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one))) ||
		    bind(fd, (struct sockaddr *)ss, sl) ||
		    getsockname(fd, (struct sockaddr *)ss, &sl)) {
			r = -errno;
			close(fd);
			return r;
		}
		r = nm_rx_add_fd(rx, fd, (int)i);
		if (r) {
			close(fd);
			return r;
		}
	}
	rx->nr_listen_calls++;
	return addr_port(ss);
}

NM_API int nm_rx_listen(struct nm_rx *rx, const char *host, int port)
{
	struct sockaddr_storage ss;
	unsigned int n;
	int sl, fd;

	if (!rx || port < 0 || port > 65535)
		return -EINVAL;
	if (rx->nr_listen_calls == 8)
		return -ENOSPC;
	sl = listen_addr(host, port, &ss);
	if (sl < 0)
		return sl;
	if (rx->eng->dgram)
		return listen_dgram(rx, &ss, (socklen_t)sl);
	n = rx->o.listen_flags & NM_RX_LISTEN_REUSEPORT ? rx->nq : 1;
	for (unsigned int i = 0; i < n; i++) {
		/* The first one fills in the port (when 0); the others join
		 * its SO_REUSEPORT group on it. */
		fd = listen_one(rx, &rx->q[i], &ss, (socklen_t)sl, n > 1);
		if (fd < 0) {
			/* Listeners already handed to engines stay (an armed
			 * accept may name them) until nm_rx_destroy. */
			rx->nr_listen_calls += i > 0;
			return fd;
		}
		rx->listen_fds[rx->nr_listen++] = fd;
	}
	rx->nr_listen_calls++;
	return addr_port(&ss);
}

NM_API int nm_rx_add_fd(struct nm_rx *rx, int fd, int queue)
{
	int type = 0;
	socklen_t tl = sizeof(type);
	struct nm_rxq *q;
	int r;

	if (!rx || fd < 0 || queue < -1 || (queue >= 0 && (unsigned int)queue >= rx->nq))
		return -EINVAL;
	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &tl) ||
	    type != (rx->eng->dgram ? SOCK_DGRAM : SOCK_STREAM))
		return -EINVAL;
	if (queue < 0)
		queue = (int)(atomic_fetch_add_explicit(&rx->rr, 1, memory_order_relaxed) % rx->nq);
	q = &rx->q[queue];
	if (conn_reserve(q))
		return -ENOSPC;
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	r = inbox_push(q, fd);
	if (r)
		atomic_fetch_sub_explicit(&q->nconn, 1, memory_order_relaxed);
	return r;
}

/* ------------------------------------------------------------------ */
/* running                                                              */
/* ------------------------------------------------------------------ */

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* One pass of a queue.  Return messages delivered or a fatal -errno. */
static int queue_pass(struct nm_rxq *q, int timeout_ms)
{
	struct nm_rx *rx = q->rx;
	const struct nm_rx_stage *st = rx->stage;
	int r, n = 0;

	if (q->fatal)
		return q->fatal;
	inbox_drain(q);
	if (st->pass_begin)
		n += st->pass_begin(q, &timeout_ms);
	closing_sweep(q);
	if (q->starved_cnt && (timeout_ms > 1 || timeout_ms < 0))
		timeout_ms = 1;	/* retry the dry pool soon */
	r = rx->eng->poll(q, timeout_ms);
	if (r > 0)
		n += r;
	if (st->pass_end)
		st->pass_end(q);
	closing_sweep(q);
	if (q->fatal)
		return q->fatal;
	return r < 0 ? r : n;
}

/* The thread running a pass owns the queue's pools.  Most passes run on
 * the thread that ran the last one: then it is one load each. */
static void queue_own(struct nm_rxq *q)
{
	if (atomic_load_explicit(&q->pool->owner, memory_order_relaxed) != nm_self())
		nm_pool_set_owner(q->pool);
	if (q->hdr_pool &&
	    atomic_load_explicit(&q->hdr_pool->owner, memory_order_relaxed) != nm_self())
		nm_pool_set_owner(q->hdr_pool);
}

/* Run q until stop or deadline.  Return 0 or a fatal -errno. */
static int queue_loop(struct nm_rxq *q, int64_t deadline)
{
	struct nm_rx *rx = q->rx;

	queue_own(q);
	while (!atomic_load_explicit(&rx->stop, memory_order_acquire)) {
		int t = 100, r;

		if (deadline >= 0) {
			int64_t left = deadline - now_ms();
			if (left <= 0)
				break;
			if (left < t)
				t = (int)left;
		}
		r = queue_pass(q, t);
		if (r < 0) {
			nm_rx_stop(rx);
			return r;
		}
	}
	return 0;
}

static void *queue_thread(void *arg)
{
	struct nm_rxq *q = arg;
	struct nm_rx *rx = q->rx;

	if (rx->o.on_thread)
		rx->o.on_thread(rx, q->id, rx->o.user);
	pthread_mutex_lock(&rx->run_lock);
	for (;;) {
		int64_t deadline;

		while (q->seen_run == rx->run_gen && !rx->quit)
			pthread_cond_wait(&rx->run_cv, &rx->run_lock);
		if (rx->quit)
			break;
		q->seen_run = rx->run_gen;
		deadline = rx->deadline;
		pthread_mutex_unlock(&rx->run_lock);
		q->run_ret = queue_loop(q, deadline);
		pthread_mutex_lock(&rx->run_lock);
		if (--rx->nactive == 0)
			pthread_cond_signal(&rx->done_cv);
	}
	pthread_mutex_unlock(&rx->run_lock);
	return NULL;
}

/* Pin @thr to opts.cpus[@id] if one is named.  Return 0 or -errno. */
static int queue_pin(struct nm_rx *rx, unsigned int id, pthread_t thr)
{
	cpu_set_t set;

	if (!rx->o.cpus || rx->o.cpus[id] < 0)
		return 0;
	CPU_ZERO(&set);
	CPU_SET(rx->o.cpus[id], &set);
	return -pthread_setaffinity_np(thr, sizeof(set), &set);
}

/* Start queue @q's thread, pinned before it runs anything. */
static int queue_thread_start(struct nm_rx *rx, struct nm_rxq *q)
{
	pthread_attr_t attr;
	int r;

	if (pthread_attr_init(&attr))
		return -EAGAIN;
	if (rx->o.cpus && rx->o.cpus[q->id] >= 0) {
		cpu_set_t set;

		CPU_ZERO(&set);
		CPU_SET(rx->o.cpus[q->id], &set);
		pthread_attr_setaffinity_np(&attr, sizeof(set), &set);
	}
	r = NM_FAULT(EAGAIN, pthread_create(&q->thr, &attr, queue_thread, q));
	pthread_attr_destroy(&attr);
	/* A CPU outside the process's set fails the create with EINVAL. */
	return -r;
}

static void threads_quit(struct nm_rx *rx)
{
	pthread_mutex_lock(&rx->run_lock);
	rx->quit = 1;
	pthread_cond_broadcast(&rx->run_cv);
	pthread_mutex_unlock(&rx->run_lock);
	for (unsigned int i = 1; i < rx->nq; i++)
		if (rx->q[i].thr_started) {
			pthread_join(rx->q[i].thr, NULL);
			rx->q[i].thr_started = 0;
		}
}

NM_API int nm_rx_run(struct nm_rx *rx, int timeout_ms)
{
	unsigned int started = 0;
	int ret = 0, r;

	if (!rx)
		return -EINVAL;
	if (run_claim(rx))
		return -EBUSY;
	/* rx->stop is not cleared here: a stop that came before this run
	 * (from another thread, racing with its start) ends it at once. */
	pthread_mutex_lock(&rx->run_lock);
	for (unsigned int i = 1; i < rx->nq; i++) {
		struct nm_rxq *q = &rx->q[i];

		if (!q->thr_started) {
			q->seen_run = rx->run_gen;
			r = queue_thread_start(rx, q);
			if (r) {
				ret = r;
				break;
			}
			q->thr_started = 1;
		}
		q->run_ret = 0;
		started++;
	}
	if (!ret)
		ret = queue_pin(rx, 0, pthread_self());
	if (ret) {
		/* Threads started so far wait for the next run; the stop, if
		 * any, is left for it. */
		pthread_mutex_unlock(&rx->run_lock);
		atomic_store(&rx->running, RUN_IDLE);
		return ret;
	}
	rx->deadline = timeout_ms < 0 ? -1 : now_ms() + timeout_ms;
	rx->nactive = started;
	rx->run_gen++;
	pthread_cond_broadcast(&rx->run_cv);
	pthread_mutex_unlock(&rx->run_lock);

	ret = queue_loop(&rx->q[0], rx->deadline);

	pthread_mutex_lock(&rx->run_lock);
	while (rx->nactive)
		pthread_cond_wait(&rx->done_cv, &rx->run_lock);
	pthread_mutex_unlock(&rx->run_lock);
	for (unsigned int i = 1; i < rx->nq && !ret; i++)
		ret = rx->q[i].run_ret;
	/* This run consumed the stop (if it ended by one); a stop from now
	 * on is for the next run. */
	atomic_store_explicit(&rx->stop, 0, memory_order_relaxed);
	atomic_store(&rx->running, RUN_IDLE);
	return ret;
}

/*
 * Claim the receiver for nm_rx_run() or nm_rx_destroy(): refused while
 * either runs or any queue is in an application-driven pass.  With
 * queue_claim() this is the two-flag handshake: each side raises its own
 * flag (seq_cst), then looks at the other's, so at most one side wins.
 * A run's flag says whether it is still deciding (RUN_CLAIMING) or has
 * won (RUN_HELD): a queue pass that finds it deciding waits the few
 * instructions until it knows, instead of losing to a run that is about
 * to lose to it.  (With one flag, a refused nm_rx_run() from a callback
 * on one queue made a pass of another queue, driven by the application
 * on its own thread, fail with -EBUSY: test_rx_queue_fd saw it.)
 */
static int run_claim(struct nm_rx *rx)
{
	int idle = RUN_IDLE;

	if (!atomic_compare_exchange_strong(&rx->running, &idle, RUN_CLAIMING))
		return -EBUSY;
	if (atomic_load(&rx->qpolls)) {
		atomic_store(&rx->running, RUN_IDLE);
		return -EBUSY;
	}
	atomic_store(&rx->running, RUN_HELD);
	return 0;
}

/* Claim queue @q for one pass on this thread (nm_rx_queue_poll). */
static int queue_claim(struct nm_rx *rx, struct nm_rxq *q)
{
	int r;

	atomic_fetch_add(&rx->qpolls, 1);
	/* A run deciding sees our count and gives up, or has won already. */
	for (unsigned int spin = 0; (r = atomic_load(&rx->running)) == RUN_CLAIMING; spin++)
		if (spin & 63)
			nm_cpu_relax();
		else if (spin)
			sched_yield();	/* its thread may be off the CPU */
	if (r == RUN_HELD) {
		atomic_fetch_sub(&rx->qpolls, 1);
		return -EBUSY;
	}
	if (atomic_exchange(&q->busy, 1)) {
		atomic_fetch_sub(&rx->qpolls, 1);
		return -EBUSY;
	}
	return 0;
}

static void queue_unclaim(struct nm_rx *rx, struct nm_rxq *q)
{
	atomic_store(&q->busy, 0);
	atomic_fetch_sub(&rx->qpolls, 1);
}

/* Work a pass left undone: keep the queue's fd readable (the wake eventfd
 * is watched by every engine, so writing it makes queue_fd's fd ready). */
static int queue_has_work(struct nm_rx *rx, struct nm_rxq *q)
{
	return q->starved_cnt ||
	       atomic_load_explicit(&q->inbox_pending, memory_order_relaxed) ||
	       (rx->stage->pending && rx->stage->pending(q)) ||
	       (rx->eng->pending && rx->eng->pending(q));
}

NM_API int nm_rx_queue_poll(struct nm_rx *rx, unsigned int queue, int timeout_ms)
{
	struct nm_rxq *q;
	int r;

	if (!rx || queue >= rx->nq)
		return -EINVAL;
	q = &rx->q[queue];
	if (queue_claim(rx, q))
		return -EBUSY;
	queue_own(q);
	if (rx->eng->fd_ack)
		rx->eng->fd_ack(q);
	r = queue_pass(q, timeout_ms);
	if (r >= 0 && queue_has_work(rx, q))
		nm_rxq_wake(q);
	queue_unclaim(rx, q);
	return r;
}

NM_API int nm_rx_queue_fd(struct nm_rx *rx, unsigned int queue)
{
	if (!rx || queue >= rx->nq)
		return -EINVAL;
	return rx->eng->queue_fd(&rx->q[queue]);
}

NM_API int nm_rx_poll(struct nm_rx *rx, int timeout_ms)
{
	struct nm_rxq *q;
	int r;

	if (!rx || rx->nq != 1)
		return -EINVAL;
	q = &rx->q[0];
	if (queue_claim(rx, q))
		return -EBUSY;
	queue_own(q);
	r = queue_pass(q, timeout_ms);
	queue_unclaim(rx, q);
	return r;
}

NM_API int nm_rx_stop(struct nm_rx *rx)
{
	if (!rx)
		return -EINVAL;
	atomic_store_explicit(&rx->stop, 1, memory_order_release);
	for (unsigned int i = 0; i < rx->nq; i++)
		nm_rxq_wake(&rx->q[i]);
	return 0;
}

NM_API int nm_rx_release_tokens(struct nm_rx *rx, const uint32_t *tokens,
				unsigned int n)
{
	int r;

	if (!rx || (!tokens && n))
		return -EINVAL;
	if (!rx->tok)
		return -EOPNOTSUPP;
	pthread_mutex_lock(&rx->tok_lock);
	r = nm_token_release(rx->tok, tokens, n);
	pthread_mutex_unlock(&rx->tok_lock);
	if (r >= 0 && (unsigned int)r < n)
		atomic_fetch_add_explicit(&rx->tok_rejected, n - (unsigned int)r,
					  memory_order_relaxed);
	if (r == 0 && n)
		return -EINVAL;
	return r;
}

/* ------------------------------------------------------------------ */
/* connections, info, stats                                             */
/* ------------------------------------------------------------------ */

NM_API int nm_rx_conn_fd(const struct nm_rx_conn *c)
{
	return c ? c->fd : -EINVAL;
}

NM_API uint64_t nm_rx_conn_id(const struct nm_rx_conn *c)
{
	return c ? c->id : 0;
}

NM_API int nm_rx_conn_queue(const struct nm_rx_conn *c)
{
	return c ? (int)c->q->id : -EINVAL;
}

NM_API void *nm_rx_conn_user(const struct nm_rx_conn *c)
{
	return c ? c->user : NULL;
}

NM_API int nm_rx_conn_set_user(struct nm_rx_conn *c, void *user)
{
	if (!c)
		return -EINVAL;
	c->user = user;
	return 0;
}

NM_API int nm_rx_conn_close(struct nm_rx_conn *c, int err)
{
	if (!c || err > 0)
		return -EINVAL;
	if (c->state != CONN_OPEN)
		return -EALREADY;
	nm_rxq_conn_end(c->q, c, err);
	return 0;
}

/* The sizes of the output structs' first versions (nm_out_copy). */
#define NM_RX_INFO_SZ0 32
#define NM_RX_STATS_SZ0 176
_Static_assert(sizeof(struct nm_rx_info) >= NM_RX_INFO_SZ0, "info only grows");
_Static_assert(sizeof(struct nm_rx_stats) >= NM_RX_STATS_SZ0, "stats only grow");

NM_API int nm_rx_info(const struct nm_rx *rx, struct nm_rx_info *uinfo, size_t size)
{
	struct nm_rx_info info = { 0 };

	if (!rx || !uinfo || size < NM_RX_INFO_SZ0)
		return -EINVAL;
	info.engine = rx->eng->name;
	info.nr_queues = rx->nq;
	info.features = rx->features;
	info.buf_size = rx->q[0].buf_size;
	info.ring_entries = rx->ring_entries;
	info.cq_entries = rx->cq_entries;
	return nm_out_copy(uinfo, size, &info, sizeof(info), NM_RX_INFO_SZ0);
}

/* Add queue @q's counters into @out. */
static void queue_stats_add(const struct nm_rxq *q, uint64_t *out)
{
	for (size_t k = 0; k < NM_RXS_N; k++)
		out[k] += atomic_load_explicit(&((struct nm_rxq *)q)->st[k],
					       memory_order_relaxed);
}

NM_API int nm_rx_queue_stats(const struct nm_rx *rx, unsigned int queue,
			     struct nm_rx_stats *ust, size_t size)
{
	struct nm_rx_stats st;

	if (!rx || !ust || queue >= rx->nq || size < NM_RX_STATS_SZ0)
		return -EINVAL;
	memset(&st, 0, sizeof(st));
	queue_stats_add(&rx->q[queue], (uint64_t *)&st);
	return nm_out_copy(ust, size, &st, sizeof(st), NM_RX_STATS_SZ0);
}

NM_API int nm_rx_stats(const struct nm_rx *rx, struct nm_rx_stats *ust, size_t size)
{
	struct nm_rx_stats full, *st = &full;

	if (!rx || !ust || size < NM_RX_STATS_SZ0)
		return -EINVAL;
	memset(st, 0, sizeof(*st));
	for (unsigned int i = 0; i < rx->nq; i++)
		queue_stats_add(&rx->q[i], (uint64_t *)st);
	st->tok_rejected = atomic_load_explicit(&((struct nm_rx *)rx)->tok_rejected,
						memory_order_relaxed);
	return nm_out_copy(ust, size, st, sizeof(*st), NM_RX_STATS_SZ0);
}

/* SPDX-License-Identifier: MIT */
/*
 * uring.c - the io_uring engine: multishot recv over one provided-buffer
 * ring per queue, shared by all the queue's connections, refilled from the
 * queue's pool.
 *
 * Each ring entry is a pool buffer; its buffer ID (bid) indexes a table
 * holding the nm_buf, whose one reference stands for "posted to the
 * kernel".  A completion names the first bid it used; the engine walks the
 * ring positions from there (bundles span consecutive entries) and turns
 * the bytes into slices.  A buffer the kernel is done with hands its
 * reference to the slice delivered from it and its bid becomes free; with
 * incremental consumption (IOU_PBUF_RING_INC) a buffer the kernel keeps
 * (IORING_CQE_F_BUF_MORE) has each delivered fragment take a reference of
 * its own, so the chunk recycles when the last fragment is put and the
 * kernel has let go.  Only free bids are ever reposted: the refill never
 * posts a buffer the kernel still holds.
 *
 * When the ring runs dry the kernel ends the multishot recv with -ENOBUFS;
 * the bytes stay in the socket.  The connection is parked, and re-armed
 * after a later refill that posted something (all of a few, newest first;
 * of many, a few at a time in the order they were parked: ur_resume), so
 * nothing is lost or reordered.  A multishot that ends for any other
 * reason without an error (CQ overflow) is re-armed at once.
 *
 * Few buffers are posted by default: 16, however many connections the
 * queue has.  The kernel copies into them round-robin, and a small set
 * stays in cache; more posted buffers, per connection or in all, made
 * every connection count slower (docs/benchmarks.md).  Bundles are used
 * only when asked for.
 *
 * The ring is SINGLE_ISSUER|DEFER_TASKRUN where the kernel has them: the
 * kernel posts completions only when the queue's thread enters to wait
 * for them, and with min-wait (6.12+) that wait is for a batch, cut short
 * once MIN_WAIT_US have passed since it began and a completion is there
 * (the kernel's min-wait counts from the start of the wait, not from the
 * first completion), so the sender's side does not wake the receiver for
 * every packet.  A single issuer must be the thread
 * that runs the queue, not the one that creates the receiver: the ring is
 * created disabled and enabled by the queue's first pass.  Older kernels
 * get COOP_TASKRUN and a wait for one completion.
 *
 * A connection that streams is batched by its socket as well: SO_RCVLOWAT
 * (see "Batching by the socket" below).  Without it a one-connection
 * stream fell into a slow mode half the time (docs/benchmarks.md): the
 * bytes waiting through the batching wait closed the advertised window,
 * so TCP left its ACKs to the receiver's reads, and the sender's segments
 * were then pushed out from the receiver's CPU, which did both sides' work.
 *
 * The ring's setup, wait, buffer ring and queue fd are ur_common.c's,
 * shared with the udp engine.  liburing 2.3 predates INC, bundles and
 * min-wait; their kernel values are defined here or there when the
 * headers lack them.
 */
#include "ur_common.h"
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#ifndef IORING_RECVSEND_BUNDLE
#define IORING_RECVSEND_BUNDLE (1U << 4)
#endif
#ifndef IORING_FEAT_RECVSEND_BUNDLE
#define IORING_FEAT_RECVSEND_BUNDLE (1U << 14)
#endif
#ifndef IORING_CQE_F_BUF_MORE
#define IORING_CQE_F_BUF_MORE (1U << 4)
#endif

#define SQ_ENTRIES 256
#define BGID 0
/* Provided-buffer ring capacity when ring_entries is 0, and how many of
 * its buffers are kept posted (e->target). */
#define RING_CAP_DEFAULT 256
#define POST_TARGET 16
/* Batching wait (min-wait kernels): wake for WAIT_NR completions, or after
 * MIN_WAIT_US once any has arrived. */
#define WAIT_NR 32
#define MIN_WAIT_US 20
/* With HOLD_STREAMS connections or more streaming (a completion of
 * LOWAT_TRIGGER bytes or more within the last HOLD_EPOCH_NS or the one
 * before), the wait holds: HOLD_US, or until HOLD_NR sockets are ready
 * (ur_wait_shape). */
#define HOLD_STREAMS 16
#define HOLD_EPOCH_NS 10000000ull
#define HOLD_US 1000
#define HOLD_NR 64
/* Batching by the socket: a completion of LOWAT_TRIGGER bytes or more
 * marks a streaming connection, whose socket then wakes us only once its
 * mark waits (or the stream ends); one idle for LOWAT_IDLE_NS goes back
 * to waking on any byte.  The mark is LOWAT_BUDGET shared among the
 * queue's streaming connections, within [LOWAT_MIN, LOWAT_MAX]: what may
 * wait unread in the queue's sockets stays bounded however many stream
 * (the kernel also grows a socket's buffer to twice its mark). */
#define LOWAT_TRIGGER (32u << 10)
#define LOWAT_MIN     (64u << 10)
#define LOWAT_MAX     (1u << 20)
#define LOWAT_BUDGET  (16u << 20)
#define LOWAT_IDLE_NS 1000000ull

struct ur_eng {
	struct urc u;               /* ring, buffer ring, bids, queue fd */
	uint32_t target;            /* buffers kept posted (see ur_init) */
	uint16_t tail;              /* ring position of the next post */
	uint32_t *boff;             /* INC: bytes of the bid already consumed */
	uint16_t *bpos;             /* ring position the bid was posted at */
	uint16_t *pos_bid;          /* ring position & mask -> bid */
	int inc, bundle;
	struct nm_buf *scratch;
	unsigned int scap;
	/* batching by the socket, by connection slot */
	int lowat_ok;               /* off: NM_RX_F_NO_LOWAT */
	uint64_t *lw_last;          /* ns of the slot's last completion */
	uint32_t *lw_slots;         /* slots with SO_RCVLOWAT raised */
	uint32_t *lw_pos;           /* slot -> index in lw_slots + 1; 0: off */
	uint32_t nlw;
	uint64_t now_ns, lw_checked_ns;
	int min_wait_ok;            /* the kernel has min-wait (urc_init kept it) */
	/* streaming connections counted per epoch of HOLD_EPOCH_NS */
	uint32_t *st_epoch;         /* slot -> the last epoch it was counted in */
	uint32_t epoch, streams, streams_prev;
	uint64_t epoch_ns;
};

static inline uint64_t ud_conn(const struct nm_rx_conn *c)
{
	return nm_rxq_conn_key(c) | URC_RECV;
}

static int ur_arm_accept(struct ur_eng *e, int lfd)
{
	struct io_uring_sqe *sqe = urc_sqe(&e->u);

	if (!sqe)
		return -EBUSY;
	io_uring_prep_multishot_accept(sqe, lfd, NULL, NULL, SOCK_CLOEXEC);
	io_uring_sqe_set_data64(sqe, ((uint64_t)lfd << 2) | URC_ACCEPT);
	return 0;
}

static int ur_arm(struct nm_rxq *q, struct ur_eng *e, struct nm_rx_conn *c)
{
	struct io_uring_sqe *sqe = urc_sqe(&e->u);

	if (!sqe)
		return -EBUSY;
	io_uring_prep_recv_multishot(sqe, c->fd, NULL, 0, 0);
	sqe->flags |= IOSQE_BUFFER_SELECT;
	sqe->buf_group = BGID;
	if (e->bundle)
		sqe->ioprio |= IORING_RECVSEND_BUNDLE;
	io_uring_sqe_set_data64(sqe, ud_conn(c));
	c->armed = 1;
	return 0;
}

#define REFILL_SORT 64	/* buffers posted in address order, a batch at a time */

/* Sort a batch of taken buffers by address.  Taken one at a time off the
 * top of the pool's cache, they often come highest first: such a batch is
 * turned round first, and the insertion sort then has little to move. */
static void sort_batch(uint16_t *bid, void **addr, unsigned int n)
{
	if (n > 1 && (uintptr_t)addr[0] > (uintptr_t)addr[n - 1]) {
		for (unsigned int i = 0, j = n - 1; i < j; i++, j--) {
			uint16_t b = bid[i];
			void *a = addr[i];

			bid[i] = bid[j];
			addr[i] = addr[j];
			bid[j] = b;
			addr[j] = a;
		}
	}
	for (unsigned int i = 1; i < n; i++) {
		uint16_t b = bid[i];
		void *a = addr[i];
		unsigned int j = i;

		for (; j && (uintptr_t)addr[j - 1] > (uintptr_t)a; j--) {
			addr[j] = addr[j - 1];
			bid[j] = bid[j - 1];
		}
		addr[j] = a;
		bid[j] = b;
	}
}

/*
 * Post free bids up to the target, as far as the pool gives buffers; one
 * tail update.  Each batch goes to the ring in address
 * order: the kernel fills ring entries in order, so buffers that are
 * neighbours in memory then hold neighbouring stream bytes, and a split
 * stage placing them (unreadable payload) joins their copies into one
 * (docs/gpu.md: on the H200 a copy costs the copy engine ~2.4 us besides
 * its bytes).
 */
static void ur_refill(struct nm_rxq *q, struct ur_eng *e)
{
	uint32_t posted = e->u.entries - e->u.nfree, target = e->target;
	unsigned int n = 0;

	if (posted >= target)
		return;
	while (n < target - posted) {
		uint16_t bids[REFILL_SORT];
		void *addrs[REFILL_SORT];
		unsigned int k = 0, want = target - posted - n;

		if (want > REFILL_SORT)
			want = REFILL_SORT;
		while (k < want) {
			uint16_t bid = e->u.free_bids[e->u.nfree - 1];
			void *addr = urc_buf_take(q, &e->u.bufs[bid]);

			if (!addr)
				break;	/* the bid stays free */
			e->u.nfree--;
			bids[k] = bid;
			addrs[k++] = addr;
		}
		sort_batch(bids, addrs, k);
		for (unsigned int i = 0; i < k; i++, n++) {
			uint16_t bid = bids[i], pos = (uint16_t)(e->tail + n);

			e->boff[bid] = 0;
			e->bpos[bid] = pos;
			e->pos_bid[pos & e->u.mask] = bid;
			io_uring_buf_ring_add(e->u.br, addrs[i], e->u.bufs[bid].len, bid,
					      (int)e->u.mask, (int)n);
		}
		if (k < want)
			break;
	}
	if (!n)
		return;
	/* release inside: the entries are visible before the new tail */
	io_uring_buf_ring_advance(e->u.br, (int)n);
	e->tail = (uint16_t)(e->tail + n);
	RXS_ADD(q, refill, n);
	RXS_ADD(q, refill_batches, 1);
}

static uint64_t ur_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/*
 * Batching by the socket.  A stream's bytes that wait in the socket
 * through the batching wait shrink the window TCP would advertise, and
 * then TCP sends no ACK on arrival but leaves it to the reader's recv():
 * on loopback the sender's next segments are then pushed out from the
 * receiver's CPU, which does both sides' TCP work at half the rate.  With
 * SO_RCVLOWAT the socket itself holds the wakeup until its mark waits,
 * and TCP acknowledges at once while fewer than that are unread (the
 * exception tcp_recvmsg's "ACK otherwise" makes for SO_RCVLOWAT), so the
 * sender's side keeps its own work and every wakeup reads a large batch.
 * A connection goes back to waking on any byte after LOWAT_IDLE_NS
 * without a completion (lowering the mark wakes it if bytes wait), so
 * the tail of a burst waits at most about that long.
 */
static void lw_drop(struct ur_eng *e, uint32_t s)
{
	uint32_t i = e->lw_pos[s] - 1, last = e->lw_slots[--e->nlw];

	e->lw_slots[i] = last;
	e->lw_pos[last] = i + 1;
	e->lw_pos[s] = 0;
}

static void ur_lowat_set(struct ur_eng *e, struct nm_rx_conn *c, int on)
{
	uint32_t s = c->slot, share = LOWAT_BUDGET / (e->nlw + 1);
	int v = !on ? 1 : share > LOWAT_MAX ? (int)LOWAT_MAX :
		share < LOWAT_MIN ? (int)LOWAT_MIN : (int)share;

	if (c->fd >= 0 && setsockopt(c->fd, SOL_SOCKET, SO_RCVLOWAT, &v, sizeof(v)) && on)
		return;	/* refused: this connection stays as it is */
	if (on) {
		e->lw_slots[e->nlw] = s;
		e->lw_pos[s] = ++e->nlw;
	} else {
		lw_drop(e, s);
	}
}

/* A completion of @res bytes on open connection @c. */
static inline void ur_lowat_seen(struct ur_eng *e, struct nm_rx_conn *c, int res)
{
	if (!e->lowat_ok)
		return;
	e->lw_last[c->slot] = e->now_ns;
	if (res < (int)LOWAT_TRIGGER)
		return;
	if (e->st_epoch[c->slot] != e->epoch) {
		e->st_epoch[c->slot] = e->epoch;
		e->streams++;
	}
	if (!e->lw_pos[c->slot])
		ur_lowat_set(e, c, 1);
}

/* Connections idle for LOWAT_IDLE_NS wake on any byte again. */
static void ur_lowat_idle(struct nm_rxq *q, struct ur_eng *e)
{
	if (!e->nlw || e->now_ns - e->lw_checked_ns < LOWAT_IDLE_NS / 2)
		return;
	e->lw_checked_ns = e->now_ns;
	for (uint32_t i = e->nlw; i-- > 0;) {
		uint32_t s = e->lw_slots[i];
		struct nm_rx_conn *c = q->conns[s];

		if (!c || c->state != CONN_OPEN)
			lw_drop(e, s);	/* gone or going: nothing to wake */
		else if (e->now_ns - e->lw_last[s] >= LOWAT_IDLE_NS)
			ur_lowat_set(e, c, 0);
	}
}

/*
 * The wait's shape: a hold when many connections stream.  One streaming
 * connection's 1 MiB mark makes a wake-up read about 1 MiB.  With many,
 * each connection gets a turn every few tens of milliseconds and no mark
 * fills; a wake-up came every 0.5 ms or so, led by the NAPI's passes on
 * the same CPU, and read about 450 KiB from a handful of sockets: 1000
 * connections slept twice as often per byte as one, and their process
 * cost 2.2-2.7x one connection's CPU per GB on the veth rig (bench rx
 * --veth).  So while HOLD_STREAMS connections or more have streamed (a
 * completion of LOWAT_TRIGGER bytes or more in this epoch of
 * HOLD_EPOCH_NS or the last), the wait holds for HOLD_US unless HOLD_NR
 * sockets are ready sooner, as a NIC's adaptive interrupt moderation
 * coalesces more under load: half
 * the wake-ups, about 1 MiB each, and 1000 connections at 1.4-1.65x one
 * connection's CPU per GB (docs/benchmarks.md).  The price is up to
 * HOLD_US more latency for the queue's connections while that many
 * stream.  With fewer, or no min-wait in the kernel, the wait is
 * urc_init's (WAIT_NR, MIN_WAIT_US).
 */
static void ur_wait_shape(struct nm_rxq *q, struct ur_eng *e)
{
	int hold;

	if (!e->min_wait_ok || !e->lowat_ok)
		return;
	if (e->now_ns - e->epoch_ns >= HOLD_EPOCH_NS) {
		/* A new epoch.  The one that ended counts however long it
		 * ran: a pass slower than an epoch (a loaded machine) must not
		 * forget the streams it saw; after an idle time this costs at
		 * most one held wait. */
		e->streams_prev = e->streams;
		e->streams = 0;
		e->epoch++;	/* slots of an old epoch count again */
		e->epoch_ns = e->now_ns;
	}
	hold = (e->streams > e->streams_prev ? e->streams : e->streams_prev) >= HOLD_STREAMS;
	if (hold)
		RXS_ADD(q, held_waits, 1);
	e->u.wait_nr = hold ? HOLD_NR : WAIT_NR;
	e->u.min_wait_us = hold ? HOLD_US : MIN_WAIT_US;
}

/* Its tables, one entry per connection slot.  Return 0 or -ENOMEM. */
static int ur_lowat_init(struct ur_eng *e, unsigned int flags, uint32_t max_conns)
{
	if (flags & NM_RX_F_NO_LOWAT)
		return 0;
	e->lw_last = nm_calloc(max_conns, sizeof(*e->lw_last));
	e->st_epoch = nm_calloc(max_conns, sizeof(*e->st_epoch));
	e->lw_slots = nm_calloc(max_conns, sizeof(*e->lw_slots));
	e->lw_pos = nm_calloc(max_conns, sizeof(*e->lw_pos));
	if (!e->lw_last || !e->st_epoch || !e->lw_slots || !e->lw_pos)
		return -ENOMEM;
	e->lowat_ok = 1;
	e->epoch = 1;	/* st_epoch starts at 0: no slot counted yet */
	return 0;
}

/* Re-arm parked connections (nm_rxq_park) once the ring holds buffers
 * again.
 *
 * A few (up to four per buffer posted): all of them, the last parked
 * first, so the connections that were busiest a moment ago get the
 * buffers first and few are hot at a time; in the order they were parked
 * the same runs cost 1.6x the CPU per GB at 16 and 64 connections.
 *
 * Many: one for every four buffers posted (at least one), the longest
 * parked first, the others in turn after later refills.  Re-arming them
 * all let every one race for a few buffers, and most earned -ENOBUFS and
 * a re-arm again: 1000 connections on 16 buffers took 5.4 to 19 re-arms a
 * completion; in turns, 0.3 (docs/benchmarks.md). */
static void ur_resume(struct nm_rxq *q, struct ur_eng *e)
{
	uint32_t posted = e->u.entries - e->u.nfree;
	struct nm_rx_conn *c, *next, *rev = NULL;

	if (!q->parked || !posted)
		return;
	if (q->starved_cnt <= 4 * posted) {
		for (c = nm_rxq_unpark_all(q); c; c = next) {	/* newest first */
			next = c->next_starved;
			c->next_starved = rev;
			rev = c;
		}
		for (c = rev; c; c = next) {
			next = c->next_starved;
			if (c->state != CONN_OPEN || c->armed)
				continue;
			if (ur_arm(q, e, c))
				nm_rxq_park(q, c);	/* no SQE now: next pass */
			else
				RXS_ADD(q, rearm, 1);
		}
		return;
	}
	for (uint32_t budget = posted / 4 ? posted / 4 : 1;
	     budget && (c = nm_rxq_unpark_first(q));) {
		if (c->state != CONN_OPEN || c->armed)
			continue;
		if (ur_arm(q, e, c)) {
			nm_rxq_park(q, c);	/* no SQE now: next pass */
			break;
		}
		RXS_ADD(q, rearm, 1);
		budget--;
	}
}

static int scratch_fit(struct ur_eng *e, unsigned int n)
{
	if (n <= e->scap)
		return 0;
	unsigned int cap = e->scap ? e->scap * 2 : 64;
	while (cap < n)
		cap *= 2;
	struct nm_buf *nb = nm_realloc(e->scratch, cap * sizeof(*nb));
	if (!nb)
		return -ENOMEM;
	e->scratch = nb;
	e->scap = cap;
	return 0;
}

/*
 * Turn the @res bytes of a completion that started at @bid into slices in
 * e->scratch; free the bids the kernel is done with.  Return the count.
 */
static unsigned int ur_take(struct nm_rxq *q, struct ur_eng *e, uint16_t bid,
			    uint32_t res, unsigned int cflags)
{
	uint16_t pos = e->bpos[bid];
	uint32_t left = res;
	unsigned int n = 0, used = 0;

	for (;;) {
		struct nm_buf *b = &e->u.bufs[bid];
		uint32_t off = e->boff[bid], avail = b->len - off;
		uint32_t take = left < avail ? left : avail;
		int last = left <= avail;
		/* Without INC the kernel consumes every buffer it touches;
		 * with INC it keeps the last one while BUF_MORE says so. */
		int kdone = !(e->inc && last && (cflags & IORING_CQE_F_BUF_MORE));

		used++;
		if (take) {
			struct nm_buf s = { b->iov, b->off + off, take };

			if (scratch_fit(e, n + 1) == 0 &&
			    (kdone || nm_buf_get(&s) == 0))
				e->scratch[n++] = s;
			else if (kdone)
				nm_buf_put(b);	/* cannot deliver: drop */
		} else if (kdone) {
			nm_buf_put(b);		/* nothing in it for anyone */
		}
		e->boff[bid] = off + take;
		if (kdone)
			e->u.free_bids[e->u.nfree++] = bid;
		left -= take;
		if (last || e->u.nfree == e->u.entries)
			break;
		pos++;
		bid = e->pos_bid[pos & e->u.mask];
	}
	if (used > 1)
		RXS_ADD(q, bundles, 1);
	if (cflags & IORING_CQE_F_BUF_MORE)
		RXS_ADD(q, inc_partial, 1);
	return n;
}

static int ur_recv_cqe(struct nm_rxq *q, struct ur_eng *e,
		       const struct io_uring_cqe *cqe)
{
	uint64_t ud = cqe->user_data;
	struct nm_rx_conn *c = nm_rxq_conn_by_key(q, ud);
	unsigned int fl = cqe->flags, nb = 0;
	int res = cqe->res, delivered = 0;

	if (fl & IORING_CQE_F_BUFFER)
		nb = ur_take(q, e, (uint16_t)(fl >> IORING_CQE_BUFFER_SHIFT),
			     res > 0 ? (uint32_t)res : 0, fl);
	if (c && !(fl & IORING_CQE_F_MORE))
		c->armed = 0;
	if (nb) {
		RXS_ADD(q, recv_calls, 1);
		if (c) {
			int r = nm_rxq_deliver(q, c, e->scratch, nb);
			if (r > 0)
				delivered = r;
		} else {
			nm_rxq_put_bufs(q, e->scratch, nb);
		}
	}
	if (!c || urc_conn_closing(q, c))
		return delivered;
	if (res > 0)
		ur_lowat_seen(e, c, res);
	if (res == 0) {
		nm_rxq_conn_end(q, c, 0);
	} else if (res == -ENOBUFS) {
		RXS_ADD(q, enobufs, 1);
		if (!c->armed)
			nm_rxq_park(q, c);
	} else if (res < 0) {
		if (!c->armed)
			nm_rxq_conn_end(q, c, res);
	} else if (!c->armed) {
		/* Multishot ended without an error (CQ overflow): again. */
		if (!ur_arm(q, e, c))
			RXS_ADD(q, rearm, 1);
	}
	return delivered;
}

static void ur_accept_cqe(struct nm_rxq *q, struct ur_eng *e,
			  const struct io_uring_cqe *cqe)
{
	if (cqe->res >= 0)
		nm_rxq_accepted(q, cqe->res);
	if (!(cqe->flags & IORING_CQE_F_MORE) &&
	    cqe->res != -ECANCELED && cqe->res != -EBADF && cqe->res != -EINVAL)
		ur_arm_accept(e, (int)(cqe->user_data >> 2));
}

static int ur_poll(struct nm_rxq *q, int timeout_ms)
{
	struct ur_eng *e = q->eng;
	struct io_uring_cqe *cqe;
	int n = 0, r;

	r = urc_enable(&e->u);
	if (r < 0)
		return r;
	ur_refill(q, e);
	ur_resume(q, e);
	/* A raised mark holds back a burst's tail: look again within 1 ms. */
	if (e->nlw && (timeout_ms < 0 || timeout_ms > 1))
		timeout_ms = 1;
	ur_wait_shape(q, e);
	r = urc_wait(&e->u, timeout_ms);
	if (e->lowat_ok)
		e->now_ns = ur_now_ns();
	if (urc_wait_failed(r))
		return r;
	for (int round = 0; round < 4; round++) {
		unsigned int head, cnt = 0;

		io_uring_for_each_cqe(&e->u.ring, head, cqe) {
			uint64_t ud = cqe->user_data;

			cnt++;
			switch (ud & 3) {
			case URC_RECV:
				n += ur_recv_cqe(q, e, cqe);
				break;
			case URC_ACCEPT:
				ur_accept_cqe(q, e, cqe);
				break;
			case URC_WAKE:
				urc_wake_cqe(&e->u, q, cqe);
				break;
			default:
				break;
			}
		}
		if (!cnt)
			break;
		io_uring_cq_advance(&e->u.ring, cnt);
		/* Give the kernel its buffers back before looking again. */
		ur_refill(q, e);
		ur_resume(q, e);
		if (!urc_again(&e->u))
			break;
	}
	ur_lowat_idle(q, e);
	return n;
}

static void ur_free(struct nm_rxq *q, struct ur_eng *e)
{
	urc_fini(&e->u);
	free(e->boff);
	free(e->bpos);
	free(e->pos_bid);
	free(e->scratch);
	free(e->lw_last);
	free(e->st_epoch);
	free(e->lw_slots);
	free(e->lw_pos);
	free(e);
}

/* The buffer ring's size, how many of it to keep posted, and the CQ's
 * size (*cqp).  Return 0, or -EINVAL for a ring_entries that takes the
 * stage's share of its pool. */
static int ur_sizes(struct nm_rxq *q, struct ur_eng *e, uint32_t *cqp)
{
	struct nm_rx *rx = q->rx;
	uint32_t cq;

	e->u.entries = rx->o.ring_entries ? rx->o.ring_entries : RING_CAP_DEFAULT;
	if (q->rx_share) {
		/* The stage draws from the pool the ring receives into too
		 * (split's headers, when staging): leave it its share.  A
		 * ring_entries given that takes it is refused: with
		 * every buffer posted, a stage waiting for one of them for a
		 * header would wait for ever (no receive can complete while
		 * it waits). */
		struct nm_area_info ai;
		uint64_t bufs;

		if (!nm_area_info(nm_pool_area(q->rx_pool), &ai, sizeof(ai))) {
			/* what the pool may hold: its area, or its cap */
			uint64_t chunks = ai.nr_chunks;

			if (q->rx_pool->max_chunks && q->rx_pool->max_chunks < chunks)
				chunks = q->rx_pool->max_chunks;
			bufs = chunks * (ai.chunk_size / q->buf_size) / q->rx_share;
			if (rx->o.ring_entries && e->u.entries > bufs)
				return -EINVAL;
			while (!rx->o.ring_entries && e->u.entries > 8 && e->u.entries > bufs)
				e->u.entries >>= 1;
		}
	}
	/*
	 * How many buffers to keep posted: a ring_entries given is posted in
	 * full; otherwise few, and as few with many connections as with one.
	 * The kernel copies into them round-robin, and a small set stays in
	 * cache (16 MiB of 64 KiB buffers did not; 8 more per connection lost
	 * to 16 in all from 4 connections to 64: docs/benchmarks.md).  A
	 * connection that finds none is parked and re-armed after the next
	 * refill.
	 */
	e->target = rx->o.ring_entries || e->u.entries < POST_TARGET ?
		    e->u.entries : POST_TARGET;
	cq = rx->o.cq_entries;
	if (!cq) {
		/* Room for a burst from every buffer and every connection:
		 * an overflowing CQ ends multishots (re-armed, but slower). */
		cq = e->u.entries * 4;
		if (cq < 2 * rx->o.max_conns)
			cq = 2 * rx->o.max_conns;
		if (cq < 4096)
			cq = 4096;
	}
	*cqp = cq;
	return 0;
}

/* Map the provided-buffer ring and register it, incremental where the
 * kernel has it and the flags allow.  Return 0 or -errno. */
static int ur_bufring(struct ur_eng *e, unsigned int fl)
{
	int r = urc_bufring_map(&e->u);

	if (r)
		return r;
	if (!(fl & NM_RX_F_NO_INC)) {
		r = urc_bufring_reg(&e->u, BGID, 1);
		if (!r)
			e->inc = 1;
		else if (fl & NM_RX_F_REQUIRE_INC)
			return -EOPNOTSUPP;
	}
	if (!e->inc) {
		r = urc_bufring_reg(&e->u, BGID, 0);
		if (r < 0)
			return r == -EINVAL ? -EOPNOTSUPP : r;
	}
	return 0;
}

/* The engine's tables, by bid and by connection slot.  0 or -ENOMEM. */
static int ur_tables(struct ur_eng *e, unsigned int fl, uint32_t max_conns)
{
	e->boff = nm_calloc(e->u.entries, sizeof(*e->boff));
	e->bpos = nm_calloc(e->u.entries, sizeof(*e->bpos));
	e->pos_bid = nm_calloc(e->u.entries, sizeof(*e->pos_bid));
	if (urc_bids(&e->u) || !e->boff || !e->bpos || !e->pos_bid ||
	    scratch_fit(e, 64) || ur_lowat_init(e, fl, max_conns))
		return -ENOMEM;
	return 0;
}

static int ur_init(struct nm_rxq *q)
{
	struct nm_rx *rx = q->rx;
	unsigned int fl = rx->o.flags;
	struct io_uring_params p;
	struct ur_eng *e;
	uint32_t cq;
	int r;

	e = nm_calloc(1, sizeof(*e));
	if (!e)
		return -ENOMEM;
	r = ur_sizes(q, e, &cq);
	if (r < 0) {
		free(e);
		return r;
	}
	r = urc_init(&e->u, SQ_ENTRIES, cq, 0, WAIT_NR, MIN_WAIT_US, &p);
	if (r < 0) {
		free(e);
		return r == -ENOSYS || r == -EPERM ? -EOPNOTSUPP : r;
	}
	e->min_wait_ok = e->u.min_wait_us != 0;
	rx->cq_entries = p.cq_entries;
	rx->ring_entries = e->u.entries;
	/* Bundles only when asked for: with loopback's 64 KiB skbs they walk
	 * more ring entries per completion for nothing (docs/benchmarks.md). */
	if (fl & NM_RX_F_REQUIRE_BUNDLE) {
		if (!(p.features & IORING_FEAT_RECVSEND_BUNDLE)) {
			r = -EOPNOTSUPP;
			goto fail;
		}
		e->bundle = 1;
	}
	r = ur_bufring(e, fl);
	if (!r)
		r = ur_tables(e, fl, rx->o.max_conns);
	if (r)
		goto fail;
	q->eng = e;
	rx->features |= NM_RX_FEAT_MULTISHOT | NM_RX_FEAT_ACCEPT_MULTI |
			(e->inc ? NM_RX_FEAT_INC : 0) |
			(e->bundle ? NM_RX_FEAT_BUNDLE : 0) |
			(e->min_wait_ok ? NM_RX_FEAT_MIN_WAIT : 0);
	urc_arm_wake(&e->u, q->evfd);
	/* The pool's owner is the thread that will run the queue; the ring
	 * is filled on its first pass, not here. */
	return 0;
fail:
	e->u.nfree = 0;	/* nothing posted yet; free_bids may be unset */
	ur_free(q, e);
	return r;
}

static void ur_fini(struct nm_rxq *q)
{
	if (q->eng)
		ur_free(q, q->eng);
	q->eng = NULL;
}

static int ur_listen(struct nm_rxq *q, int fd)
{
	return ur_arm_accept(q->eng, fd);
}

static int ur_conn_add(struct nm_rxq *q, struct nm_rx_conn *c)
{
	struct ur_eng *e = q->eng;

	if (e->lowat_ok && e->lw_pos[c->slot])
		lw_drop(e, c->slot);	/* the slot's last connection had it */
	if (e->u.nfree == e->u.entries) {
		/* Nothing posted yet: arming would only earn -ENOBUFS. */
		nm_rxq_park(q, c);
		return 0;
	}
	return ur_arm(q, e, c);
}

static void ur_conn_close(struct nm_rxq *q, struct nm_rx_conn *c)
{
	struct ur_eng *e = q->eng;

	nm_rxq_unpark(q, c);
	if (e->lowat_ok && e->lw_pos[c->slot])
		lw_drop(e, c->slot);
	if (c->armed && urc_cancel_conn(&e->u, c, ud_conn(c)))
		return;	/* freed on the recv's last completion */
	close(c->fd);
	nm_rxq_conn_free(q, c);
}

/* The queue's readiness fd for a loop the application owns (urc_queue_fd). */
static int ur_queue_fd(struct nm_rxq *q)
{
	return urc_queue_fd(&((struct ur_eng *)q->eng)->u);
}

static void ur_fd_ack(struct nm_rxq *q)
{
	urc_fd_ack(&((struct ur_eng *)q->eng)->u);
}

/* Completions ready, requests not submitted, or deferred work to run,
 * that the pass left. */
static int ur_pending(struct nm_rxq *q)
{
	return urc_pending(&((struct ur_eng *)q->eng)->u);
}

const struct nm_rx_engine nm_rx_engine_uring = {
	.name       = "uring",
	.refuse_flags = NM_RX_F_TIMESTAMP |	/* datagrams only */
			NM_RX_F_LEND,	/* streams: the application puts */
	.init       = ur_init,
	.fini       = ur_fini,
	.listen     = ur_listen,
	.conn_add   = ur_conn_add,
	.conn_close = ur_conn_close,
	.poll       = ur_poll,
	.queue_fd   = ur_queue_fd,
	.fd_ack     = ur_fd_ack,
	.pending    = ur_pending,
};

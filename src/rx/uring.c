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
 * after the next refill that posted something, so nothing is lost or
 * reordered.  A multishot that ends for any other reason without an error
 * (CQ overflow) is re-armed at once.
 *
 * Few buffers are posted by default: 16, however many connections the
 * queue has.  The kernel copies into them round-robin, and a small set
 * stays in cache; more posted buffers, per connection or in all, made
 * every connection count slower (docs/benchmarks.md).  Bundles are used
 * only when asked for.
 *
 * The ring is SINGLE_ISSUER|DEFER_TASKRUN where the kernel has them: the
 * kernel posts completions only when the queue's thread enters to wait
 * for them, and with min-wait (6.12+) that wait is for a batch, ended
 * MIN_WAIT_US after the first completion, so the sender's side does not
 * wake the receiver for every packet.  A single issuer must be the thread
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
 * liburing 2.3 predates INC, bundles and min-wait; their kernel values are
 * defined here when the headers lack them.
 */
#include "rx_int.h"
#include <errno.h>
#include <liburing.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#ifndef IOU_PBUF_RING_INC
#define IOU_PBUF_RING_INC 2
#endif
#ifndef IORING_RECVSEND_BUNDLE
#define IORING_RECVSEND_BUNDLE (1U << 4)
#endif
#ifndef IORING_FEAT_RECVSEND_BUNDLE
#define IORING_FEAT_RECVSEND_BUNDLE (1U << 14)
#endif
#ifndef IORING_CQE_F_BUF_MORE
#define IORING_CQE_F_BUF_MORE (1U << 4)
#endif
#ifndef IORING_FEAT_MIN_TIMEOUT
#define IORING_FEAT_MIN_TIMEOUT (1U << 15)
#endif

/*
 * IORING_ENTER_EXT_ARG's argument as of 6.12: liburing 2.3 calls the
 * min_wait_usec field "pad" (older kernels require it to be 0).
 */
struct ur_getevents_arg {
	uint64_t sigmask;
	uint32_t sigmask_sz;
	uint32_t min_wait_usec;
	uint64_t ts;
};

#define UD_RECV   0u
#define UD_ACCEPT 1u
#define UD_WAKE   2u
#define UD_OTHER  3u
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
	struct io_uring ring;
	int ring_up;
	struct io_uring_buf_ring *br;
	size_t br_bytes;
	uint32_t entries, mask;
	uint32_t target;            /* buffers kept posted (see ur_init) */
	uint16_t tail;              /* ring position of the next post */
	struct nm_buf *bufs;        /* by bid; one reference: the kernel's */
	uint32_t *boff;             /* INC: bytes of the bid already consumed */
	uint16_t *bpos;             /* ring position the bid was posted at */
	uint16_t *pos_bid;          /* ring position & mask -> bid */
	uint16_t *free_bids;
	uint32_t nfree;
	int inc, bundle;
	int defer;                  /* SINGLE_ISSUER|DEFER_TASKRUN, started disabled */
	int enabled;                /* the ring accepts submissions */
	int taskrun_flag;           /* IORING_SQ_TASKRUN tells of pending work */
	unsigned int wait_nr, min_wait_us; /* batching wait; 0: wait for 1 */
	struct nm_buf *scratch;
	unsigned int scap;
	/* batching by the socket, by connection slot */
	int lowat_ok;               /* off: NM_RX_F_NO_LOWAT */
	uint64_t *lw_last;          /* ns of the slot's last completion */
	uint32_t *lw_slots;         /* slots with SO_RCVLOWAT raised */
	uint32_t *lw_pos;           /* slot -> index in lw_slots + 1; 0: off */
	uint32_t nlw;
	uint64_t now_ns, lw_checked_ns;
	int app_efd;                /* nm_rx_queue_fd's eventfd; 0: none yet */
};

static inline uint64_t ud_conn(const struct nm_rx_conn *c)
{
	return nm_rxq_conn_key(c) | UD_RECV;
}

static struct io_uring_sqe *ur_sqe(struct ur_eng *e)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&e->ring);

	if (!sqe) {
		/* SQ full (many arms at once): push what is queued. */
		io_uring_submit(&e->ring);
		sqe = io_uring_get_sqe(&e->ring);
	}
	return sqe;
}

static void ur_arm_wake(struct nm_rxq *q, struct ur_eng *e)
{
	struct io_uring_sqe *sqe = ur_sqe(e);

	if (!sqe)
		return;
	io_uring_prep_poll_multishot(sqe, q->evfd, POLLIN);
	io_uring_sqe_set_data64(sqe, UD_WAKE);
}

static int ur_arm_accept(struct ur_eng *e, int lfd)
{
	struct io_uring_sqe *sqe = ur_sqe(e);

	if (!sqe)
		return -EBUSY;
	io_uring_prep_multishot_accept(sqe, lfd, NULL, NULL, SOCK_CLOEXEC);
	io_uring_sqe_set_data64(sqe, ((uint64_t)lfd << 2) | UD_ACCEPT);
	return 0;
}

static int ur_arm(struct nm_rxq *q, struct ur_eng *e, struct nm_rx_conn *c)
{
	struct io_uring_sqe *sqe = ur_sqe(e);

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

/* Post free bids up to the target, as far as the pool gives buffers; one
 * tail update. */
static void ur_refill(struct nm_rxq *q, struct ur_eng *e)
{
	uint32_t posted = e->entries - e->nfree, target = e->target;
	unsigned int n = 0;

	if (posted >= target)
		return;
	while (n < target - posted) {
		uint16_t bid = e->free_bids[e->nfree - 1];
		struct nm_buf *b = &e->bufs[bid];
		uint16_t pos = (uint16_t)(e->tail + n);
		void *addr;

		if (nm_rxq_alloc(q, b)) {
			RXS_ADD(q, pool_empty, 1);
			break;
		}
		/* Only an address from the area's CPU mapping goes to the
		 * kernel; the bid stays free otherwise. */
		addr = nm_rxq_post_addr(q, b);
		if (!addr)
			break;
		e->nfree--;
		e->boff[bid] = 0;
		e->bpos[bid] = pos;
		e->pos_bid[pos & e->mask] = bid;
		io_uring_buf_ring_add(e->br, addr, b->len, bid, (int)e->mask, (int)n);
		n++;
	}
	if (!n)
		return;
	/* release inside: the entries are visible before the new tail */
	io_uring_buf_ring_advance(e->br, (int)n);
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
	if (!e->lw_pos[c->slot] && res >= (int)LOWAT_TRIGGER)
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

/* Its tables, one entry per connection slot.  Return 0 or -ENOMEM. */
static int ur_lowat_init(struct ur_eng *e, unsigned int flags, uint32_t max_conns)
{
	if (flags & NM_RX_F_NO_LOWAT)
		return 0;
	e->lw_last = nm_calloc(max_conns, sizeof(*e->lw_last));
	e->lw_slots = nm_calloc(max_conns, sizeof(*e->lw_slots));
	e->lw_pos = nm_calloc(max_conns, sizeof(*e->lw_pos));
	if (!e->lw_last || !e->lw_slots || !e->lw_pos)
		return -ENOMEM;
	e->lowat_ok = 1;
	return 0;
}

/* Re-arm parked connections (nm_rxq_park) once the ring holds buffers
 * again. */
static void ur_resume(struct nm_rxq *q, struct ur_eng *e)
{
	if (!q->parked || e->nfree == e->entries)
		return;
	for (struct nm_rx_conn *c = nm_rxq_unpark_all(q); c; c = c->next_starved)
		if (c->state == CONN_OPEN && !c->armed && !ur_arm(q, e, c))
			RXS_ADD(q, rearm, 1);
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
		struct nm_buf *b = &e->bufs[bid];
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
			e->free_bids[e->nfree++] = bid;
		left -= take;
		if (last || e->nfree == e->entries)
			break;
		pos++;
		bid = e->pos_bid[pos & e->mask];
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
	if (!c)
		return delivered;
	if (c->state != CONN_OPEN) {
		if (c->cancelled && !c->armed) {
			c->cancelled = 0;
			nm_rxq_conn_free(q, c);
		}
		return delivered;
	}
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

/* Is there deferred task work (completions not posted yet) to run? */
static inline int ur_work_pending(const struct ur_eng *e)
{
	return e->taskrun_flag &&
	       (IO_URING_READ_ONCE(*e->ring.sq.kflags) & IORING_SQ_TASKRUN);
}

/*
 * Submit what is queued and wait up to @timeout_ms (< 0: no limit) for
 * completions.  With a min-wait kernel the wait is for e->wait_nr
 * completions, cut short e->min_wait_us after the first: a burst of
 * packets costs one wakeup instead of one each.
 */
static int ur_wait(struct ur_eng *e, int timeout_ms)
{
	struct io_uring *ring = &e->ring;
	struct __kernel_timespec ts;
	struct io_uring_cqe *cqe;
	int r;

	if (timeout_ms == 0 || io_uring_cq_ready(ring)) {
		if (!io_uring_sq_ready(ring) && !ur_work_pending(e) && io_uring_cq_ready(ring))
			return 0;	/* nothing to tell the kernel */
		return io_uring_submit_and_get_events(ring);
	}
	if (timeout_ms > 0) {
		ts.tv_sec = timeout_ms / 1000;
		ts.tv_nsec = (long long)(timeout_ms % 1000) * 1000000;
	}
	if (!e->min_wait_us) {
		if (timeout_ms < 0)
			return io_uring_submit_and_wait(ring, 1);
		return io_uring_submit_and_wait_timeout(ring, &cqe, 1, &ts, NULL);
	}
	/* Arming is rare (a new connection, a re-arm): its own enter. */
	if (io_uring_sq_ready(ring)) {
		r = io_uring_submit(ring);
		if (r < 0)
			return r;
	}
	struct ur_getevents_arg arg = {
		.min_wait_usec = e->min_wait_us,
		.ts = timeout_ms < 0 ? 0 : (uint64_t)(uintptr_t)&ts,
	};
	r = io_uring_enter2((unsigned int)ring->ring_fd, 0, e->wait_nr,
			    IORING_ENTER_GETEVENTS | IORING_ENTER_EXT_ARG,
			    (sigset_t *)&arg, sizeof(arg));
	return r;	/* liburing's syscall wrappers return -errno */
}

static int ur_poll(struct nm_rxq *q, int timeout_ms)
{
	struct ur_eng *e = q->eng;
	struct io_uring_cqe *cqe;
	int n = 0, r;

	if (!e->enabled) {
		/* SINGLE_ISSUER: the ring belongs to the task that enables it,
		 * the one that runs the queue from now on. */
		r = NM_FAULT(-ENOMEM, io_uring_register((unsigned int)e->ring.ring_fd,
				      IORING_REGISTER_ENABLE_RINGS, NULL, 0));
		if (r < 0)
			return r;
		e->enabled = 1;
	}
	ur_refill(q, e);
	ur_resume(q, e);
	/* A raised mark holds back a burst's tail: look again within 1 ms. */
	if (e->nlw && (timeout_ms < 0 || timeout_ms > 1))
		timeout_ms = 1;
	r = ur_wait(e, timeout_ms);
	if (e->lowat_ok)
		e->now_ns = ur_now_ns();
	if (r < 0 && r != -ETIME && r != -EINTR && r != -EAGAIN && r != -EBUSY)
		return r;
	for (int round = 0; round < 4; round++) {
		unsigned int head, cnt = 0;

		io_uring_for_each_cqe(&e->ring, head, cqe) {
			uint64_t ud = cqe->user_data;

			cnt++;
			switch (ud & 3) {
			case UD_RECV:
				n += ur_recv_cqe(q, e, cqe);
				break;
			case UD_ACCEPT:
				ur_accept_cqe(q, e, cqe);
				break;
			case UD_WAKE:
				nm_rxq_drain_wake(q);
				if (!(cqe->flags & IORING_CQE_F_MORE))
					ur_arm_wake(q, e);
				break;
			default:
				break;
			}
		}
		if (!cnt)
			break;
		io_uring_cq_advance(&e->ring, cnt);
		/* Give the kernel its buffers back before looking again. */
		ur_refill(q, e);
		ur_resume(q, e);
		if (e->taskrun_flag && !io_uring_sq_ready(&e->ring) &&
		    !ur_work_pending(e) && !io_uring_cq_ready(&e->ring))
			break;	/* nothing more without a syscall */
		if (io_uring_submit_and_get_events(&e->ring) < 0)
			break;
	}
	ur_lowat_idle(q, e);
	return n;
}

static void ur_free(struct nm_rxq *q, struct ur_eng *e)
{
	if (e->ring_up)
		io_uring_queue_exit(&e->ring);	/* cancels every request */
	if (e->bufs && e->free_bids) {
		/* Every bid not free is a buffer we posted: the kernel has let
		 * go of it now, and any completion for it went unread.  A free
		 * bid's entry is stale: clear it, so only posted ones remain
		 * (no allocation here: a teardown that cannot fail). */
		for (uint32_t i = 0; i < e->nfree; i++)
			e->bufs[e->free_bids[i]].iov = NULL;
		for (uint32_t i = 0; i < e->entries; i++)
			if (e->bufs[i].iov)
				nm_buf_put(&e->bufs[i]);
	}
	if (e->app_efd > 0)
		close(e->app_efd);	/* after the ring: it held it registered */
	if (e->br)
		munmap(e->br, e->br_bytes);
	free(e->bufs);
	free(e->boff);
	free(e->bpos);
	free(e->pos_bid);
	free(e->free_bids);
	free(e->scratch);
	free(e->lw_last);
	free(e->lw_slots);
	free(e->lw_pos);
	free(e);
}

static int ur_register(struct ur_eng *e, int inc)
{
	struct io_uring_buf_reg reg;

	memset(&reg, 0, sizeof(reg));
	reg.ring_addr = (uint64_t)(uintptr_t)e->br;
	reg.ring_entries = e->entries;
	reg.bgid = BGID;
	reg.pad = inc ? IOU_PBUF_RING_INC : 0;	/* the flags field, in 2.3 */
	return NM_FAULT(-ENOMEM, io_uring_register_buf_ring(&e->ring, &reg, 0));
}

/* The buffer ring's size, how many of it to keep posted, and the CQ's
 * size (returned). */
static uint32_t ur_sizes(struct nm_rxq *q, struct ur_eng *e)
{
	struct nm_rx *rx = q->rx;
	uint32_t cq;

	e->entries = rx->o.ring_entries ? rx->o.ring_entries : RING_CAP_DEFAULT;
	if (!rx->o.ring_entries && q->rx_share) {
		/* The stage draws from the pool the ring receives into too
		 * (split's headers, when staging): leave it its share. */
		struct nm_area_info ai;
		uint64_t bufs;

		if (!nm_area_info(nm_pool_area(q->rx_pool), &ai, sizeof(ai))) {
			bufs = (uint64_t)ai.nr_chunks * (ai.chunk_size / q->buf_size) /
			       q->rx_share;
			while (e->entries > 8 && e->entries > bufs)
				e->entries >>= 1;
		}
	}
	e->mask = e->entries - 1;
	/*
	 * How many buffers to keep posted: a ring_entries given is posted in
	 * full; otherwise few, and as few with many connections as with one.
	 * The kernel copies into them round-robin, and a small set stays in
	 * cache (16 MiB of 64 KiB buffers did not; 8 more per connection lost
	 * to 16 in all from 4 connections to 64: docs/benchmarks.md).  A
	 * connection that finds none is parked and re-armed after the next
	 * refill.
	 */
	e->target = rx->o.ring_entries || e->entries < POST_TARGET ?
		    e->entries : POST_TARGET;
	cq = rx->o.cq_entries;
	if (!cq) {
		/* Room for a burst from every buffer and every connection:
		 * an overflowing CQ ends multishots (re-armed, but slower). */
		cq = e->entries * 4;
		if (cq < 2 * rx->o.max_conns)
			cq = 2 * rx->o.max_conns;
		if (cq < 4096)
			cq = 4096;
	}
	return cq;
}

/* Make the ring, the best setup the kernel takes first.  Return 0 or
 * -errno (-EOPNOTSUPP: no io_uring here). */
static int ur_setup(struct ur_eng *e, uint32_t cq, struct io_uring_params *p)
{
	/*
	 * Best first: completions are posted only when the queue's thread
	 * asks for them (DEFER_TASKRUN), so a waiting thread is woken once per
	 * batch, not per packet.  That needs a single issuer, and this is not
	 * the thread that will run the queue: the ring starts disabled and is
	 * enabled, and so owned, by the queue's first pass.
	 */
	static const unsigned int setups[] = {
		IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN |
			IORING_SETUP_TASKRUN_FLAG | IORING_SETUP_R_DISABLED,
		IORING_SETUP_COOP_TASKRUN | IORING_SETUP_TASKRUN_FLAG,
		0,
	};
	int r = -EINVAL;

	for (unsigned int i = 0; i < sizeof(setups) / sizeof(setups[0]) && r == -EINVAL; i++) {
		memset(p, 0, sizeof(*p));
		p->flags = IORING_SETUP_CQSIZE | IORING_SETUP_CLAMP | setups[i];
		p->cq_entries = cq;
		r = NM_FAULT(-ENOMEM, io_uring_queue_init_params(SQ_ENTRIES, &e->ring, p));
		if (!r) {
			e->defer = !!(setups[i] & IORING_SETUP_DEFER_TASKRUN);
			e->enabled = !(setups[i] & IORING_SETUP_R_DISABLED);
			e->taskrun_flag = !!(setups[i] & IORING_SETUP_TASKRUN_FLAG);
		}
	}
	if (r < 0)
		return r == -ENOSYS || r == -EPERM ? -EOPNOTSUPP : r;
	e->ring_up = 1;
	if (e->defer && (p->features & IORING_FEAT_MIN_TIMEOUT) &&
	    (p->features & IORING_FEAT_EXT_ARG)) {
		e->wait_nr = WAIT_NR;
		e->min_wait_us = MIN_WAIT_US;
	}
	return 0;
}

/* Map the provided-buffer ring and register it, incremental where the
 * kernel has it and the flags allow.  Return 0 or -errno. */
static int ur_bufring(struct ur_eng *e, unsigned int fl)
{
	int r = -EINVAL;

	e->br_bytes = ((size_t)e->entries * sizeof(struct io_uring_buf) + 4095) & ~(size_t)4095;
	e->br = nm_mmap(NULL, e->br_bytes, PROT_READ | PROT_WRITE,
		     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (e->br == MAP_FAILED) {
		e->br = NULL;
		return -ENOMEM;
	}
	io_uring_buf_ring_init(e->br);
	if (!(fl & NM_RX_F_NO_INC)) {
		r = ur_register(e, 1);
		if (!r)
			e->inc = 1;
		else if (fl & NM_RX_F_REQUIRE_INC)
			return -EOPNOTSUPP;
	}
	if (!e->inc) {
		r = ur_register(e, 0);
		if (r < 0)
			return r == -EINVAL ? -EOPNOTSUPP : r;
	}
	return 0;
}

/* The engine's tables, by bid and by connection slot.  0 or -ENOMEM. */
static int ur_tables(struct ur_eng *e, unsigned int fl, uint32_t max_conns)
{
	e->bufs = nm_calloc(e->entries, sizeof(*e->bufs));
	e->boff = nm_calloc(e->entries, sizeof(*e->boff));
	e->bpos = nm_calloc(e->entries, sizeof(*e->bpos));
	e->pos_bid = nm_calloc(e->entries, sizeof(*e->pos_bid));
	e->free_bids = nm_malloc(e->entries * sizeof(*e->free_bids));
	if (!e->bufs || !e->boff || !e->bpos || !e->pos_bid || !e->free_bids ||
	    scratch_fit(e, 64) || ur_lowat_init(e, fl, max_conns))
		return -ENOMEM;
	for (uint32_t i = 0; i < e->entries; i++)
		e->free_bids[i] = (uint16_t)(e->entries - 1 - i);
	e->nfree = e->entries;
	return 0;
}

static int ur_init(struct nm_rxq *q)
{
	struct nm_rx *rx = q->rx;
	unsigned int fl = rx->o.flags;
	struct io_uring_params p;
	struct ur_eng *e;
	int r;

	e = nm_calloc(1, sizeof(*e));
	if (!e)
		return -ENOMEM;
	r = ur_setup(e, ur_sizes(q, e), &p);
	if (r < 0) {
		free(e);
		return r;
	}
	rx->cq_entries = p.cq_entries;
	rx->ring_entries = e->entries;
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
			(e->bundle ? NM_RX_FEAT_BUNDLE : 0);
	ur_arm_wake(q, e);
	/* The pool's owner is the thread that will run the queue; the ring
	 * is filled on its first pass, not here. */
	return 0;
fail:
	e->nfree = 0;	/* nothing posted yet; free_bids may be unset */
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
	if (e->nfree == e->entries) {
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
	if (c->armed) {
		struct io_uring_sqe *sqe = ur_sqe(e);

		if (sqe) {
			io_uring_prep_cancel64(sqe, ud_conn(c), 0);
			io_uring_sqe_set_data64(sqe, UD_OTHER);
			c->cancelled = 1;
			/* The request holds its own file reference. */
			close(c->fd);
			c->fd = -1;
			return;	/* freed on the recv's last completion */
		}
	}
	close(c->fd);
	nm_rxq_conn_free(q, c);
}

/*
 * The queue's readiness fd for a loop the application owns: an eventfd
 * the kernel signals when it posts completions (or, with DEFER_TASKRUN,
 * queues the work that will post them).  Made on first use only: the
 * signal costs a little per completion batch, which nm_rx_run()'s own
 * threads do not need.  The ring must not be owned by another thread yet
 * (SINGLE_ISSUER: the kernel answers -EEXIST).
 */
static int ur_queue_fd(struct nm_rxq *q)
{
	struct ur_eng *e = q->eng;
	int fd, r;

	if (e->app_efd > 0)
		return e->app_efd;
	fd = nm_fd_call(eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC));
	if (fd < 0)
		return -errno;
	r = io_uring_register_eventfd(&e->ring, fd);
	if (r < 0) {
		close(fd);
		return r;
	}
	e->app_efd = fd;
	/* Readable at once: the ring's first pass (enabling it, submitting
	 * what was armed before) is work the kernel cannot signal. */
	eventfd_write(fd, 1);
	return fd;
}

static void ur_fd_ack(struct nm_rxq *q)
{
	struct ur_eng *e = q->eng;
	uint64_t v;

	if (e->app_efd > 0 && read(e->app_efd, &v, sizeof(v)) < 0)
		return;	/* EAGAIN: nothing signalled */
}

/* Completions ready, requests not submitted, or deferred work to run,
 * that the pass left. */
static int ur_pending(struct nm_rxq *q)
{
	struct ur_eng *e = q->eng;

	return io_uring_cq_ready(&e->ring) || io_uring_sq_ready(&e->ring) ||
	       ur_work_pending(e);
}

const struct nm_rx_engine nm_rx_engine_uring = {
	.name       = "uring",
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

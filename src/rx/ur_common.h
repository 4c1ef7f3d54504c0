/* SPDX-License-Identifier: MIT */
/*
 * ur_common.h - the io_uring plumbing the uring and udp engines share: a
 * ring that starts disabled as a single issuer and is enabled (and so
 * owned) by the queue's first pass, the batched (min-wait) wait, one
 * provided-buffer ring with its table of bids, the eventfd behind
 * nm_rx_queue_fd, and the cancel of a connection's request.
 *
 * Each engine embeds a struct urc and keeps its own refill, completion
 * handling and arming: these are setup, wait and teardown steps, none of
 * them called per buffer.
 *
 * liburing 2.3 predates min-wait; its kernel values are defined here when
 * the headers lack them.
 */
#ifndef NM_RX_UR_COMMON_H
#define NM_RX_UR_COMMON_H

#include "rx_int.h"
#include <liburing.h>

#ifndef IORING_FEAT_MIN_TIMEOUT
#define IORING_FEAT_MIN_TIMEOUT (1U << 15)
#endif

/* user_data tags of the requests (a connection's key has these bits
 * free: NM_RXQ_KEY_TAG_BITS). */
#define URC_RECV   0u
#define URC_ACCEPT 1u
#define URC_WAKE   2u
#define URC_OTHER  3u

struct urc {
	struct io_uring ring;
	int up;                     /* the ring is made */
	int defer;                  /* SINGLE_ISSUER|DEFER_TASKRUN, started disabled */
	int enabled;                /* the ring accepts submissions */
	int taskrun_flag;           /* IORING_SQ_TASKRUN tells of pending work */
	unsigned int wait_nr, min_wait_us; /* batching wait; 0: wait for 1 */
	int app_efd;                /* nm_rx_queue_fd's eventfd; 0: none yet */
	struct io_uring_buf_ring *br;
	size_t br_bytes;
	uint32_t entries, mask;     /* of the buffer ring (set before urc_bufring) */
	struct nm_buf *bufs;        /* by bid; one reference: the kernel's */
	uint16_t *free_bids;
	uint32_t nfree;
};

/*
 * Make the ring with @sq entries and a CQ of @cq, the best setup the
 * kernel takes: SINGLE_ISSUER|DEFER_TASKRUN started disabled, then (unless
 * @need_defer) COOP_TASKRUN, then none.  Where the first is taken and the
 * kernel has min-wait, waits are for @wait_nr completions, cut short
 * once @min_wait_us have passed since the wait began and one is there.
 * Return 0 or the kernel's -errno.
 */
int urc_init(struct urc *u, unsigned int sq, uint32_t cq, int need_defer,
	     unsigned int wait_nr, unsigned int min_wait_us, struct io_uring_params *p);
/* Map the provided-buffer ring of u->entries.  Return 0 or -ENOMEM. */
int urc_bufring_map(struct urc *u);
/* Register it as group @bgid, incremental (IOU_PBUF_RING_INC) if @inc.
 * Return 0 or the kernel's -errno. */
int urc_bufring_reg(struct urc *u, uint16_t bgid, int inc);
/* The bid table, every bid free.  Return 0 or -ENOMEM. */
int urc_bids(struct urc *u);
/* On the queue's thread, its first pass: own and enable the ring.
 * Return 0 or -errno. */
int urc_enable(struct urc *u);
/* Submit what is queued and wait up to @timeout_ms (< 0: no limit) for
 * completions.  Return what io_uring_enter returned, or -errno. */
int urc_wait(struct urc *u, int timeout_ms);
/* A multishot poll of the queue's wake eventfd @evfd. */
void urc_arm_wake(struct urc *u, int evfd);
/* Cancel @c's request (user_data @key), closing its fd: the request keeps
 * its own file reference.  Return 1 when the cancel is queued (free @c on
 * the request's last completion), 0 when no SQE was to be had. */
int urc_cancel_conn(struct urc *u, struct nm_rx_conn *c, uint64_t key);
/* nm_rx_queue_fd: an eventfd the ring signals, made on first use. */
int urc_queue_fd(struct urc *u);
void urc_fd_ack(struct urc *u);
/* Tear down the ring (cancelling every request), give back the buffers
 * still posted, free the rest.  Again is a no-op. */
void urc_fini(struct urc *u);

static inline struct io_uring_sqe *urc_sqe(struct urc *u)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&u->ring);

	if (!sqe) {
		/* SQ full (many arms at once): push what is queued. */
		io_uring_submit(&u->ring);
		sqe = io_uring_get_sqe(&u->ring);
	}
	return sqe;
}

/* Is there deferred task work (completions not posted yet) to run? */
static inline int urc_work_pending(const struct urc *u)
{
	return u->taskrun_flag &&
	       (IO_URING_READ_ONCE(*u->ring.sq.kflags) & IORING_SQ_TASKRUN);
}

/* Completions ready, requests not submitted, or deferred work to run. */
static inline int urc_pending(const struct urc *u)
{
	return io_uring_cq_ready(&u->ring) || io_uring_sq_ready(&u->ring) ||
	       urc_work_pending(u);
}

/*
 * A pool buffer into @b for the kernel to write into: its CPU address, or
 * NULL when the pool is empty (counted) or the buffer may not be posted
 * (nm_rxq_post_addr).  Only an address from the area's CPU mapping goes
 * to the kernel.
 */
static inline void *urc_buf_take(struct nm_rxq *q, struct nm_buf *b)
{
	if (nm_rxq_alloc(q, b)) {
		RXS_ADD(q, pool_empty, 1);
		return NULL;
	}
	return nm_rxq_post_addr(q, b);
}

/* A wait's result after which a pass stops: not one that only says the
 * wait ended (timeout, signal, a full CQ). */
static inline int urc_wait_failed(int r)
{
	return r < 0 && r != -ETIME && r != -EINTR && r != -EAGAIN && r != -EBUSY;
}

/* The queue's wake eventfd fired: drain it; re-arm a poll that ended. */
static inline void urc_wake_cqe(struct urc *u, struct nm_rxq *q,
				const struct io_uring_cqe *cqe)
{
	nm_rxq_drain_wake(q);
	if (!(cqe->flags & IORING_CQE_F_MORE))
		urc_arm_wake(u, q->evfd);
}

/*
 * After a batch of completions was handled (and the ring refilled): is
 * another look worth it?  Submits what was queued and runs deferred work.
 * 0 when nothing more can come without waiting.
 */
static inline int urc_again(struct urc *u)
{
	if (u->taskrun_flag && !io_uring_sq_ready(&u->ring) &&
	    !urc_work_pending(u) && !io_uring_cq_ready(&u->ring))
		return 0;	/* nothing more without a syscall */
	return io_uring_submit_and_get_events(&u->ring) >= 0;
}

/* A completion for @c: when @c is closing, free it once its last request
 * has ended.  Return 1 when @c is not open (nothing more to do). */
static inline int urc_conn_closing(struct nm_rxq *q, struct nm_rx_conn *c)
{
	if (c->state == CONN_OPEN)
		return 0;
	if (c->cancelled && !c->armed) {
		c->cancelled = 0;
		nm_rxq_conn_free(q, c);
	}
	return 1;
}

#endif

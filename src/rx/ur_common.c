/* SPDX-License-Identifier: MIT */
/*
 * ur_common.c - the io_uring plumbing the uring and udp engines share
 * (see ur_common.h): ring setup and teardown, the provided-buffer ring,
 * the batched wait, the queue fd's eventfd.
 */
#include "ur_common.h"
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>

#ifndef IOU_PBUF_RING_INC
#define IOU_PBUF_RING_INC 2
#endif

/*
 * IORING_ENTER_EXT_ARG's argument as of 6.12: liburing 2.3 calls the
 * min_wait_usec field "pad" (older kernels require it to be 0).
 */
struct urc_getevents_arg {
	uint64_t sigmask;
	uint32_t sigmask_sz;
	uint32_t min_wait_usec;
	uint64_t ts;
};

int urc_init(struct urc *u, unsigned int sq, uint32_t cq, int need_defer,
	     unsigned int wait_nr, unsigned int min_wait_us, struct io_uring_params *p)
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
	unsigned int n = need_defer ? 1 : sizeof(setups) / sizeof(setups[0]);
	int r = -EINVAL;

	for (unsigned int i = 0; i < n && r == -EINVAL; i++) {
		memset(p, 0, sizeof(*p));
		p->flags = IORING_SETUP_CQSIZE | IORING_SETUP_CLAMP | setups[i];
		p->cq_entries = cq;
		r = NM_FAULT(-ENOMEM, io_uring_queue_init_params(sq, &u->ring, p));
		if (!r) {
			u->defer = !!(setups[i] & IORING_SETUP_DEFER_TASKRUN);
			u->enabled = !(setups[i] & IORING_SETUP_R_DISABLED);
			u->taskrun_flag = !!(setups[i] & IORING_SETUP_TASKRUN_FLAG);
		}
	}
	if (r < 0)
		return r;
	u->up = 1;
	if (u->defer && (p->features & IORING_FEAT_MIN_TIMEOUT) &&
	    (p->features & IORING_FEAT_EXT_ARG)) {
		u->wait_nr = wait_nr;
		u->min_wait_us = min_wait_us;
	}
	return 0;
}

int urc_bufring_map(struct urc *u)
{
	u->mask = u->entries - 1;
	u->br_bytes = ((size_t)u->entries * sizeof(struct io_uring_buf) + 4095) & ~(size_t)4095;
	u->br = nm_mmap(NULL, u->br_bytes, PROT_READ | PROT_WRITE,
			MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (u->br == MAP_FAILED) {
		u->br = NULL;
		return -ENOMEM;
	}
	io_uring_buf_ring_init(u->br);
	return 0;
}

int urc_bufring_reg(struct urc *u, uint16_t bgid, int inc)
{
	struct io_uring_buf_reg reg;

	memset(&reg, 0, sizeof(reg));
	reg.ring_addr = (uint64_t)(uintptr_t)u->br;
	reg.ring_entries = u->entries;
	reg.bgid = bgid;
	reg.pad = inc ? IOU_PBUF_RING_INC : 0;	/* the flags field, in 2.3 */
	return NM_FAULT(-ENOMEM, io_uring_register_buf_ring(&u->ring, &reg, 0));
}

int urc_bids(struct urc *u)
{
	u->bufs = nm_calloc(u->entries, sizeof(*u->bufs));
	u->free_bids = nm_malloc(u->entries * sizeof(*u->free_bids));
	if (!u->bufs || !u->free_bids)
		return -ENOMEM;
	for (uint32_t i = 0; i < u->entries; i++)
		u->free_bids[i] = (uint16_t)(u->entries - 1 - i);
	u->nfree = u->entries;
	return 0;
}

int urc_enable(struct urc *u)
{
	int r;

	if (u->enabled)
		return 0;
	/* SINGLE_ISSUER: the ring belongs to the task that enables it, the
	 * one that runs the queue from now on. */
	r = NM_FAULT(-ENOMEM, io_uring_register((unsigned int)u->ring.ring_fd,
			      IORING_REGISTER_ENABLE_RINGS, NULL, 0));
	if (r < 0)
		return r;
	u->enabled = 1;
	return 0;
}

/*
 * With a min-wait kernel the wait is for u->wait_nr completions, cut short
 * once u->min_wait_us have passed since the wait began and one is there
 * (or, if none is, when the first comes): a burst of packets costs one
 * wakeup instead of one each (with DEFER_TASKRUN the kernel wakes us only
 * then).
 */
int urc_wait(struct urc *u, int timeout_ms)
{
	struct io_uring *ring = &u->ring;
	struct __kernel_timespec ts;
	struct io_uring_cqe *cqe;
	int r;

	if (timeout_ms == 0 || io_uring_cq_ready(ring)) {
		if (!io_uring_sq_ready(ring) && !urc_work_pending(u) && io_uring_cq_ready(ring))
			return 0;	/* nothing to tell the kernel */
		return io_uring_submit_and_get_events(ring);
	}
	if (timeout_ms > 0) {
		ts.tv_sec = timeout_ms / 1000;
		ts.tv_nsec = (long long)(timeout_ms % 1000) * 1000000;
	}
	if (!u->min_wait_us) {
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
	struct urc_getevents_arg arg = {
		.min_wait_usec = u->min_wait_us,
		.ts = timeout_ms < 0 ? 0 : (uint64_t)(uintptr_t)&ts,
	};
	r = io_uring_enter2((unsigned int)ring->ring_fd, 0, u->wait_nr,
			    IORING_ENTER_GETEVENTS | IORING_ENTER_EXT_ARG,
			    (sigset_t *)&arg, sizeof(arg));
	return r;	/* liburing's syscall wrappers return -errno */
}

void urc_arm_wake(struct urc *u, int evfd)
{
	struct io_uring_sqe *sqe = urc_sqe(u);

	if (!sqe)
		return;
	io_uring_prep_poll_multishot(sqe, evfd, POLLIN);
	io_uring_sqe_set_data64(sqe, URC_WAKE);
}

int urc_cancel_conn(struct urc *u, struct nm_rx_conn *c, uint64_t key)
{
	struct io_uring_sqe *sqe = urc_sqe(u);

	if (!sqe)
		return 0;
	io_uring_prep_cancel64(sqe, key, 0);
	io_uring_sqe_set_data64(sqe, URC_OTHER);
	c->cancelled = 1;
	/* The request holds its own file reference. */
	close(c->fd);
	c->fd = -1;
	return 1;
}

/*
 * An eventfd the kernel signals when it posts completions (or, with
 * DEFER_TASKRUN, queues the work that will post them).  Made on first use
 * only: the signal costs a little per completion batch, which nm_rx_run()'s
 * own threads do not need.  The ring must not be owned by another thread
 * yet (SINGLE_ISSUER: the kernel answers -EEXIST).
 */
int urc_queue_fd(struct urc *u)
{
	int fd, r;

	if (u->app_efd > 0)
		return u->app_efd;
	fd = nm_fd_call(eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC));
	if (fd < 0)
		return -errno;
	r = io_uring_register_eventfd(&u->ring, fd);
	if (r < 0) {
		close(fd);
		return r;
	}
	u->app_efd = fd;
	/* Readable at once: the ring's first pass (enabling it, submitting
	 * what was armed before) is work the kernel cannot signal. */
	eventfd_write(fd, 1);
	return fd;
}

void urc_fd_ack(struct urc *u)
{
	uint64_t v;

	if (u->app_efd > 0 && read(u->app_efd, &v, sizeof(v)) < 0)
		return;	/* EAGAIN: nothing signalled */
}

void urc_fini(struct urc *u)
{
	if (u->up)
		io_uring_queue_exit(&u->ring);	/* cancels every request */
	if (u->bufs && u->free_bids) {
		/* Every bid not free is a buffer we posted: the kernel has let
		 * go of it now, and any completion for it went unread.  A free
		 * bid's entry is stale: clear it, so only posted ones remain
		 * (no allocation here: a teardown that cannot fail). */
		for (uint32_t i = 0; i < u->nfree; i++)
			u->bufs[u->free_bids[i]].iov = NULL;
		for (uint32_t i = 0; i < u->entries; i++)
			if (u->bufs[i].iov)
				nm_buf_put(&u->bufs[i]);
	}
	if (u->app_efd > 0)
		close(u->app_efd);	/* after the ring: it held it registered */
	if (u->br)
		munmap(u->br, u->br_bytes);
	free(u->bufs);
	free(u->free_bids);
	u->up = 0;
	u->app_efd = 0;
	u->br = NULL;
	u->bufs = NULL;
	u->free_bids = NULL;
	u->nfree = 0;
}

/* SPDX-License-Identifier: MIT */
/*
 * socket.c - the portable engine: level-triggered epoll and non-blocking
 * recv() into pool buffers.
 *
 * The queue keeps one current receive buffer and carves it: each recv()
 * lands after the previous one's bytes and is delivered as a slice holding
 * its own reference, so small messages do not each burn a 64 KiB chunk
 * (what IOU_PBUF_RING_INC does in the kernel, done here in userspace).
 * When the pool is dry a connection is taken out of epoll and parked; the
 * bytes wait in the socket, and it is put back once a buffer comes.
 */
#include "rx_int.h"
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#define EV_CONN   0u
#define EV_LISTEN 1u
#define EV_WAKE   2u
#define EV_MAX    256
/* recv()s per ready connection per pass: fairness against a connection
 * that never runs dry.  16 cost 40 % of the throughput with 4 busy
 * connections on loopback (docs/benchmarks.md); 64 is even with recv()
 * until EAGAIN. */
#define RECV_BUDGET 64
#define MIN_SPACE 2048        /* below this, start a fresh buffer */

struct sock_eng {
	int epfd;
	int lfd;
	struct nm_buf cur;        /* receive buffer being carved; one ref ours */
	char *cur_base;           /* its CPU address (nm_rxq_post_addr) */
	uint32_t used;
	int have_cur;
	struct epoll_event evs[EV_MAX];
};

static inline uint64_t ev_conn(const struct nm_rx_conn *c)
{
	return nm_rxq_conn_key(c) | EV_CONN;
}

static int sock_init(struct nm_rxq *q)
{
	struct sock_eng *e = nm_calloc(1, sizeof(*e));
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = EV_WAKE };

	if (!e)
		return -ENOMEM;
	e->lfd = -1;
	e->epfd = nm_fd_call(epoll_create1(EPOLL_CLOEXEC));
	if (e->epfd < 0 || epoll_ctl(e->epfd, EPOLL_CTL_ADD, q->evfd, &ev)) {
		int r = -errno;
		if (e->epfd >= 0)
			close(e->epfd);
		free(e);
		return r;
	}
	q->eng = e;
	return 0;
}

static void sock_fini(struct nm_rxq *q)
{
	struct sock_eng *e = q->eng;

	if (!e)
		return;
	if (e->have_cur)
		nm_pool_put(q->rx_pool, &e->cur);
	close(e->epfd);
	free(e);
	q->eng = NULL;
}

static int sock_listen(struct nm_rxq *q, int fd)
{
	struct sock_eng *e = q->eng;
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = ((uint64_t)fd << 2) | EV_LISTEN };

	if (epoll_ctl(e->epfd, EPOLL_CTL_ADD, fd, &ev))
		return -errno;
	return 0;
}

static int sock_conn_add(struct nm_rxq *q, struct nm_rx_conn *c)
{
	struct sock_eng *e = q->eng;
	struct epoll_event ev = { .events = EPOLLIN | EPOLLRDHUP, .data.u64 = ev_conn(c) };

	if (epoll_ctl(e->epfd, EPOLL_CTL_ADD, c->fd, &ev))
		return -errno;
	return 0;
}

static void sock_conn_close(struct nm_rxq *q, struct nm_rx_conn *c)
{
	nm_rxq_unpark(q, c);
	/* close() drops the fd from epoll too. */
	close(c->fd);
	nm_rxq_conn_free(q, c);
}

/* Make sure there is a current buffer with room.  Return 0 or -ENOMEM. */
static inline int cur_ready(struct nm_rxq *q, struct sock_eng *e)
{
	if (e->have_cur) {
		if (e->cur.len - e->used >= MIN_SPACE)
			return 0;
		nm_pool_put(q->rx_pool, &e->cur);
		e->have_cur = 0;
	}
	if (nm_rxq_alloc(q, &e->cur)) {
		RXS_ADD(q, pool_empty, 1);
		return -ENOMEM;
	}
	/* recv() gets only an address from the area's CPU mapping. */
	e->cur_base = nm_rxq_post_addr(q, &e->cur);
	if (!e->cur_base)
		return -EFAULT;
	RXS_ADD(q, refill, 1);
	e->used = 0;
	e->have_cur = 1;
	return 0;
}

/* No buffer for c: out of epoll (its bytes wait in the socket) until one
 * comes. */
static void park(struct nm_rxq *q, struct sock_eng *e, struct nm_rx_conn *c)
{
	struct epoll_event ev = { 0 };

	if (!nm_rxq_park(q, c))
		return;
	epoll_ctl(e->epfd, EPOLL_CTL_MOD, c->fd, &ev);
	RXS_ADD(q, enobufs, 1);
}

/* Read what c has, up to a budget.  Return messages delivered. */
static int conn_read(struct nm_rxq *q, struct sock_eng *e, struct nm_rx_conn *c)
{
	int n = 0;

	for (int b = 0; b < RECV_BUDGET && c->state == CONN_OPEN; b++) {
		struct nm_buf s;
		uint32_t room;
		ssize_t got;

		if (cur_ready(q, e)) {
			park(q, e, c);
			break;
		}
		room = e->cur.len - e->used;
		got = recv(c->fd, e->cur_base + e->used, room, 0);
		RXS_ADD(q, recv_calls, 1);
		if (got > 0) {
			s.iov = e->cur.iov;
			s.off = e->cur.off + e->used;
			s.len = (uint32_t)got;
			/* Align the next slice: fragments stay cache-line apart. */
			e->used += ((uint32_t)got + 63) & ~63u;
			if (e->used > e->cur.len)
				e->used = e->cur.len;
			if (e->cur.len - e->used < MIN_SPACE) {
				e->have_cur = 0;	/* our reference goes with s */
			} else if (nm_buf_get(&s)) {
				break;
			}
			int r = nm_rxq_deliver(q, c, &s, 1);
			if (r > 0)
				n += r;
			if ((uint32_t)got < room)
				break;	/* drained: spare the EAGAIN call */
			continue;
		}
		if (got == 0) {
			epoll_ctl(e->epfd, EPOLL_CTL_DEL, c->fd, NULL);
			nm_rxq_conn_end(q, c, 0);
			break;
		}
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN && errno != EWOULDBLOCK) {
			epoll_ctl(e->epfd, EPOLL_CTL_DEL, c->fd, NULL);
			nm_rxq_conn_end(q, c, -errno);
		}
		break;
	}
	return n;
}

static void do_accept(struct nm_rxq *q, int lfd)
{
	for (int i = 0; i < 64; i++) {
		int fd = nm_fd_call(accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC));

		if (fd < 0)
			break;
		nm_rxq_accepted(q, fd);
	}
}

static int sock_poll(struct nm_rxq *q, int timeout_ms)
{
	struct sock_eng *e = q->eng;
	int nev, n = 0;

	/* Parked connections: resume them all once a buffer is to be had. */
	if (q->parked && !cur_ready(q, e)) {
		for (struct nm_rx_conn *c = nm_rxq_unpark_all(q); c; c = c->next_starved) {
			struct epoll_event ev = { .events = EPOLLIN | EPOLLRDHUP,
						  .data.u64 = ev_conn(c) };

			epoll_ctl(e->epfd, EPOLL_CTL_MOD, c->fd, &ev);
		}
	}
	nev = epoll_wait(e->epfd, e->evs, EV_MAX, timeout_ms);
	if (nev < 0)
		return errno == EINTR ? 0 : -errno;
	for (int i = 0; i < nev; i++) {
		uint64_t d = e->evs[i].data.u64;
		struct nm_rx_conn *c;

		switch (d & 3) {
		case EV_WAKE:
			nm_rxq_drain_wake(q);
			break;
		case EV_LISTEN:
			do_accept(q, (int)(d >> 2));
			break;
		default:
			c = nm_rxq_conn_by_key(q, d);
			if (c && c->state == CONN_OPEN)
				n += conn_read(q, e, c);
		}
	}
	return n;
}

/* The epoll fd is the queue's readiness fd: it is readable while any fd
 * in it (connections, listeners, the wake eventfd) is. */
static int sock_queue_fd(struct nm_rxq *q)
{
	return ((struct sock_eng *)q->eng)->epfd;
}

const struct nm_rx_engine nm_rx_engine_socket = {
	.name       = "socket",
	.refuse_flags = NM_RX_F_TIMESTAMP |	/* datagrams only */
			NM_RX_F_LEND,	/* streams: the application puts */
	.init       = sock_init,
	.fini       = sock_fini,
	.listen     = sock_listen,
	.conn_add   = sock_conn_add,
	.conn_close = sock_conn_close,
	.poll       = sock_poll,
	.queue_fd   = sock_queue_fd,
};

/* SPDX-License-Identifier: MIT */
/*
 * udp.c - the UDP engine: datagrams into pool buffers, one datagram (or one
 * GRO batch) per buffer, each delivered as its own message with its source
 * address, receive timestamp and GRO segment size (struct nm_rx_pkt).
 *
 * A UDP socket is one connection of its queue: nm_rx_listen() binds one per
 * queue (SO_REUSEPORT when there are several), nm_rx_add_fd() takes bound
 * ones the application made, and on_conn/on_close see it come and go.
 * The engine asks the socket for timestamps, drop counts and GRO (or no
 * GRO) when it becomes a connection, on its queue's next pass: datagrams
 * queued before that come unbatched.
 *
 * Two ways to receive, the same delivery:
 *   - io_uring: one multishot recvmsg per socket over a provided-buffer
 *     ring refilled from the queue's pool.  The kernel writes each
 *     datagram as a struct io_uring_recvmsg_out, the name, the control
 *     messages, then the payload, into one buffer; the buffer's reference
 *     goes to the application with the payload's slice.  A dry ring ends
 *     the multishot with -ENOBUFS (the datagrams wait in the socket, or
 *     the kernel drops and counts them): the socket is parked and re-armed
 *     after the next refill that posts something.  Waits are batched where
 *     the kernel has min-wait.  Destroying the receiver on the thread that
 *     ran the queue cancels and reaps the requests first, so the port is
 *     free again at once.
 *   - recvmmsg(), where io_uring is refused (io_uring_disabled, seccomp, a
 *     kernel before 6.1) or NM_UDP_RECVMMSG=1 is in the environment: level-
 *     triggered epoll and up to MM_BATCH datagrams per call, into buffers
 *     laid out the same way (payload at UDP_HDR), so offsets, truncation
 *     and GRO are the same in both.
 *
 * Buffers: the first UDP_HDR bytes of each take the kernel's header (and
 * stay unused with recvmmsg), the payload follows, 64-byte aligned.  GRO
 * (UDP_GRO) is on only where a buffer holds the largest batch the kernel
 * builds (GRO_ROOM bytes after the header: 128 KiB chunks, say); else off,
 * and every datagram comes alone.  A datagram longer than the room is
 * dropped and counted (udp_truncated).  Datagrams the kernel drops at the
 * socket (receive buffer full) are counted in udp_drops: SO_RXQ_OVFL with
 * each datagram, SO_MEMINFO when a pass finds nothing and at close.
 */
#include "ur_common.h"
#include <errno.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#ifndef UDP_GRO
#define UDP_GRO 104
#endif
#ifndef SOL_UDP
#define SOL_UDP 17
#endif
#ifndef SO_RXQ_OVFL
#define SO_RXQ_OVFL 40
#endif
#ifndef SO_MEMINFO
#define SO_MEMINFO 55
#endif

/* Per-buffer layout: recvmsg_out, name, control, then the payload. */
#define UDP_NAMELEN 32          /* a sockaddr_in6 (28), padded */
#define UDP_CTRLLEN 80          /* timestamp (32) + GRO (24) + drops (24) */
#define UDP_HDR     (sizeof(struct io_uring_recvmsg_out) + UDP_NAMELEN + UDP_CTRLLEN)
_Static_assert(UDP_HDR == 128, "payload 64-byte aligned");
/* The largest GRO batch: UDP's length field bounds what the kernel builds. */
#define GRO_ROOM    65535u

/* The socket's receive buffer: the engine waits in batches (BATCH_NR or
 * BATCH_US) and re-arms after a dry ring, and the socket must hold what
 * comes meanwhile.  The kernel's default (rmem_default, about 208 KiB)
 * holds some 100 small datagrams, 300 us at 350 kpps: in bench pkt at
 * 64 B that lost a fifth of the datagrams at the socket, 4 MiB none
 * (docs/benchmarks.md).  Raised with SO_RCVBUFFORCE where the process may
 * (CAP_NET_ADMIN), else SO_RCVBUF up to rmem_max; never lowered. */
#define UDP_RCVBUF (4 << 20)

#define SQ_ENTRIES 64
#define BGID 0
#define RING_DEFAULT 256
/* Batched waits (6.12+, IORING_FEAT_MIN_TIMEOUT): a pass waits for
 * BATCH_NR datagrams, or BATCH_US from the start of the wait if one has
 * come by then (else until the first comes). */
#define BATCH_NR 32
#define BATCH_US 50
#define MM_BATCH 64             /* recvmmsg: datagrams per call */
#define MM_BUDGET 16            /* recvmmsg: calls per ready socket per pass */
#define EV_MAX 64

enum { MODE_URING, MODE_MMSG };

#define UDP_LENT 64   /* lent buffers taken back in one bulk */

struct udp_eng {
	int mode;
	int gro;                    /* UDP_GRO on: buffers hold a batch */
	uint32_t room;              /* payload bytes per buffer */
	uint32_t *drops;            /* by slot: the socket's drop count seen */
	int lend;                   /* NM_RX_F_LEND */
	unsigned int nlent;         /* delivered, to take back */
	struct nm_iov *lent[UDP_LENT];

	/* io_uring */
	struct urc u;               /* ring, buffer ring, bids, queue fd */
	uint32_t narmed;            /* recvmsg requests live in the kernel */
	struct msghdr mh;           /* what each recvmsg asks for */

	/* recvmmsg */
	int epfd;
	unsigned int nstash;        /* buffers taken for the next call */
	struct nm_buf stash[MM_BATCH];
	char *stash_addr[MM_BATCH];
	struct mmsghdr mm[MM_BATCH];
	struct iovec iov[MM_BATCH];
	struct sockaddr_storage names[MM_BATCH];
	uint64_t ctrl[MM_BATCH][UDP_CTRLLEN / 8];
	struct epoll_event evs[EV_MAX];
};

static inline uint64_t ud_conn(const struct nm_rx_conn *c)
{
	return nm_rxq_conn_key(c) | URC_RECV;
}

/* ------------------------------------------------------------------ */
/* shared: socket set-up, drops, delivery                               */
/* ------------------------------------------------------------------ */

/* The socket's drop count (sk_drops), or -1 where the kernel won't say. */
static int64_t sock_drops(int fd)
{
	uint32_t mi[SK_MEMINFO_VARS];
	socklen_t l = sizeof(mi);

	if (fd < 0 || getsockopt(fd, SOL_SOCKET, SO_MEMINFO, mi, &l) ||
	    l < (SK_MEMINFO_DROPS + 1) * sizeof(uint32_t))
		return -1;
	return mi[SK_MEMINFO_DROPS];
}

/* The socket said it has dropped @v datagrams so far: count what is new. */
static inline void drops_seen(struct nm_rxq *q, struct udp_eng *e,
			      struct nm_rx_conn *c, uint32_t v)
{
	uint32_t d = v - e->drops[c->slot];

	if ((int32_t)d > 0) {
		e->drops[c->slot] = v;
		RXS_ADD(q, udp_drops, d);
	}
}

static void drops_poll(struct nm_rxq *q, struct udp_eng *e, struct nm_rx_conn *c)
{
	int64_t v = sock_drops(c->fd);

	if (v >= 0)
		drops_seen(q, e, c, (uint32_t)v);
}

/* Room for a batched wait (UDP_RCVBUF), best effort.  The kernel reports
 * twice what was set (its bookkeeping share included). */
static void sock_room(int fd)
{
	int cur = 0, want = UDP_RCVBUF;
	socklen_t l = sizeof(cur);

	if (getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &cur, &l) || cur >= 2 * want)
		return;
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &want, sizeof(want)))
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &want, sizeof(want));
}

/* Ask the socket for what delivery reports.  Return 0 or -errno. */
static int sock_setup(struct nm_rxq *q, struct udp_eng *e, struct nm_rx_conn *c)
{
	int one = 1, gro = e->gro, type = 0;
	int ts = !!(q->rx->o.flags & NM_RX_F_TIMESTAMP);
	socklen_t tl = sizeof(type);
	int64_t d;

	if (getsockopt(c->fd, SOL_SOCKET, SO_TYPE, &type, &tl))
		return -errno;
	if (type != SOCK_DGRAM)
		return -EPROTOTYPE;
	/* Best effort: without them the metadata is 0 and drops are seen
	 * through SO_MEMINFO alone.  Timestamps only when asked for (set
	 * either way: a socket from nm_rx_add_fd may have them on). */
	setsockopt(c->fd, SOL_SOCKET, SO_TIMESTAMPNS, &ts, sizeof(ts));
	setsockopt(c->fd, SOL_SOCKET, SO_RXQ_OVFL, &one, sizeof(one));
	sock_room(c->fd);
	/* Off as well when the buffers are small: a batch would not fit. */
	setsockopt(c->fd, SOL_UDP, UDP_GRO, &gro, sizeof(gro));
	d = sock_drops(c->fd);
	e->drops[c->slot] = d > 0 ? (uint32_t)d : 0;	/* ours from now on */
	return 0;
}

/* NM_RX_F_LEND: the buffers on_data has seen go back, unchecked (the
 * engine's own), one reference each: a slice's chunk recycles with its
 * last.  At least once a pass and before every refill. */
static void ud_lent_back(struct nm_rxq *q, struct udp_eng *e)
{
	if (e->nlent) {
		nm_pool_recycle_iovs(q->rx_pool, e->lent, e->nlent);
		e->nlent = 0;
	}
}

/*
 * One datagram (or GRO batch) received into @b (payload slice; the buffer's
 * one reference) on @c, with @mh's name and control messages and the
 * kernel's msg_flags @flags.  Return 1 if delivered, else 0 or -errno.
 */
static int ud_pkt(struct nm_rxq *q, struct udp_eng *e, struct nm_rx_conn *c,
		  struct nm_buf *b, struct msghdr *mh, int flags)
{
	struct nm_rx_pkt pkt;
	int r;
	struct cmsghdr *cm;

	if (nm_unlikely(flags & MSG_TRUNC)) {
		/* Longer than the buffer: what fit is not the datagram. */
		RXS_ADD(q, udp_truncated, 1);
		nm_buf_put(b);
		return 0;
	}
	pkt.ts_ns = 0;
	pkt.seg_size = 0;
	pkt.queue_id = 0;
	pkt.reserved = 0;
	pkt.data = nm_buf_cpu(b);
	pkt.src_len = mh->msg_namelen < sizeof(pkt.src) ? mh->msg_namelen : sizeof(pkt.src);
	memcpy(&pkt.src, mh->msg_name, pkt.src_len);
	for (cm = CMSG_FIRSTHDR(mh); cm; cm = CMSG_NXTHDR(mh, cm)) {
		if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_TIMESTAMPNS) {
			struct timespec ts;

			memcpy(&ts, CMSG_DATA(cm), sizeof(ts));
			pkt.ts_ns = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
		} else if (cm->cmsg_level == SOL_UDP && cm->cmsg_type == UDP_GRO) {
			int gs;

			memcpy(&gs, CMSG_DATA(cm), sizeof(gs));
			pkt.seg_size = gs > 0 ? (uint32_t)gs : 0;
		} else if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SO_RXQ_OVFL) {
			uint32_t v;

			memcpy(&v, CMSG_DATA(cm), sizeof(v));
			drops_seen(q, e, c, v);
		}
	}
	r = nm_rxq_deliver_pkt(q, c, b, &pkt);
	/* lent: on_data saw it (0: it was put, the connection being over) */
	if (r && e->lend) {
		e->lent[e->nlent++] = b->iov;
		if (e->nlent == UDP_LENT)
			ud_lent_back(q, e);
	}
	return r;
}

/* A pass that delivered nothing: look for drops no datagram told of. */
static void drops_idle(struct nm_rxq *q, struct udp_eng *e)
{
	for (uint32_t s = 0; s < q->rx->o.max_conns; s++) {
		struct nm_rx_conn *c = q->conns[s];

		if (c && c->state == CONN_OPEN)
			drops_poll(q, e, c);
		else if (!c)
			break;	/* slots are handed out lowest first */
	}
}

/* ------------------------------------------------------------------ */
/* io_uring: multishot recvmsg over a provided-buffer ring             */
/* ------------------------------------------------------------------ */

static int ur_arm(struct udp_eng *e, struct nm_rx_conn *c)
{
	struct io_uring_sqe *sqe = urc_sqe(&e->u);

	if (!sqe)
		return -EBUSY;
	io_uring_prep_recvmsg_multishot(sqe, c->fd, &e->mh, 0);
	sqe->flags |= IOSQE_BUFFER_SELECT;
	sqe->buf_group = BGID;
	io_uring_sqe_set_data64(sqe, ud_conn(c));
	c->armed = 1;
	e->narmed++;
	return 0;
}

/* Post every free bid the pool has a buffer for; one tail update. */
static unsigned int ur_refill(struct nm_rxq *q, struct udp_eng *e)
{
	unsigned int n = 0;

	ud_lent_back(q, e);	/* what on_data saw can be posted again */
	while (e->u.nfree) {
		uint16_t bid = e->u.free_bids[e->u.nfree - 1];
		struct nm_buf *b = &e->u.bufs[bid];
		void *addr = urc_buf_take(q, b);

		if (!addr)
			break;
		e->u.nfree--;
		io_uring_buf_ring_add(e->u.br, addr, b->len, bid, (int)e->u.mask, (int)n);
		n++;
	}
	if (!n)
		return 0;
	/* release inside: the entries are visible before the new tail */
	io_uring_buf_ring_advance(e->u.br, (int)n);
	RXS_ADD(q, refill, n);
	RXS_ADD(q, refill_batches, 1);
	return n;
}

/* Re-arm parked sockets once the ring holds buffers again. */
static void ur_resume(struct nm_rxq *q, struct udp_eng *e)
{
	struct nm_rx_conn *c, *next;

	if (!q->parked || e->u.nfree == e->u.entries)
		return;
	for (c = nm_rxq_unpark_all(q); c; c = next) {
		next = c->next_starved;
		if (c->state == CONN_OPEN && !c->armed && !ur_arm(e, c))
			RXS_ADD(q, rearm, 1);
	}
}

/* Errors after which the socket is of no use: end the connection.  Others
 * (an ICMP error on a connected socket, ...) are the datagram's: re-arm. */
static int ur_fatal(int res)
{
	return res == -EBADF || res == -ENOTSOCK || res == -EINVAL ||
	       res == -EOPNOTSUPP || res == -EFAULT;
}

/* The datagram in bid @bid (@res bytes written, header included). */
static int ur_take(struct nm_rxq *q, struct udp_eng *e, struct nm_rx_conn *c,
		   uint16_t bid, int res)
{
	struct nm_buf *b = &e->u.bufs[bid], s;
	struct io_uring_recvmsg_out *o;
	struct msghdr mh;
	/* the engine's own buffer: nm_buf_data's lookup would only repeat
	 * that (NULL once the area is revoked, which validate below takes
	 * for a bad message) */
	char *base = nm_buf_cpu(b);

	e->u.free_bids[e->u.nfree++] = bid;
	o = res >= 0 ? io_uring_recvmsg_validate(base, res, &e->mh) : NULL;
	if (!o || !c) {
		nm_buf_put(b);
		return 0;
	}
	RXS_ADD(q, recv_calls, 1);
	memset(&mh, 0, sizeof(mh));
	mh.msg_name = io_uring_recvmsg_name(o);
	mh.msg_namelen = o->namelen < UDP_NAMELEN ? o->namelen : UDP_NAMELEN;
	mh.msg_control = (char *)mh.msg_name + UDP_NAMELEN;
	mh.msg_controllen = o->controllen;
	s.iov = b->iov;
	s.off = b->off + (uint32_t)UDP_HDR;
	s.len = io_uring_recvmsg_payload_length(o, res, &e->mh);
	return ud_pkt(q, e, c, &s, &mh, (int)o->flags);
}

static int ur_cqe(struct nm_rxq *q, struct udp_eng *e, const struct io_uring_cqe *cqe)
{
	struct nm_rx_conn *c = nm_rxq_conn_by_key(q, cqe->user_data);
	unsigned int fl = cqe->flags;
	int res = cqe->res, n = 0;

	if (!(fl & IORING_CQE_F_MORE)) {
		e->narmed--;
		if (c)
			c->armed = 0;
	}
	if (fl & IORING_CQE_F_BUFFER) {
		int r = ur_take(q, e, c, (uint16_t)(fl >> IORING_CQE_BUFFER_SHIFT), res);

		n = r > 0 ? r : 0;
	}
	if (!c || urc_conn_closing(q, c))
		return n;
	if (res == -ENOBUFS) {
		RXS_ADD(q, enobufs, 1);
		if (!c->armed)
			nm_rxq_park(q, c);
	} else if (res < 0 && ur_fatal(res)) {
		if (!c->armed)
			nm_rxq_conn_end(q, c, res);
	} else if (!c->armed) {
		/* Ended without a reason of its own (CQ overflow, an error
		 * that was the datagram's): again. */
		if (!ur_arm(e, c))
			RXS_ADD(q, rearm, 1);
	}
	return n;
}

static int ur_poll(struct nm_rxq *q, struct udp_eng *e, int timeout_ms)
{
	struct io_uring_cqe *cqe;
	int n = 0, r;

	r = urc_enable(&e->u);
	if (r < 0)
		return r;
	ur_refill(q, e);
	ur_resume(q, e);
	r = urc_wait(&e->u, timeout_ms);
	if (urc_wait_failed(r))
		return r;
	for (int round = 0; round < 4; round++) {
		unsigned int head, cnt = 0;

		io_uring_for_each_cqe(&e->u.ring, head, cqe) {
			cnt++;
			switch (cqe->user_data & 3) {
			case URC_RECV:
				n += ur_cqe(q, e, cqe);
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
	return n;
}

/*
 * Before the ring goes: cancel every request and reap until no recvmsg is
 * left.  A live request holds its socket, and with it the port, until the
 * ring's teardown (asynchronous in the kernel) reaches it: a receiver
 * destroyed and made again on the same port would find it taken.  Only
 * the ring's owner may do this (the queue's thread: nm_rx_poll's caller);
 * a queue thread that has exited took its requests with it.
 */
static void ur_quiesce(struct udp_eng *e)
{
	struct __kernel_timespec ts = { .tv_nsec = 10000000 };
	struct io_uring_sqe *sqe;
	struct io_uring_cqe *cqe;

	if (!e->u.up || !e->u.enabled || !e->narmed)
		return;
	sqe = urc_sqe(&e->u);
	if (!sqe)
		return;
	io_uring_prep_cancel64(sqe, 0, IORING_ASYNC_CANCEL_ANY);
	io_uring_sqe_set_data64(sqe, URC_OTHER);
	if (io_uring_submit(&e->u.ring) < 0)
		return;	/* not the owner (-EEXIST) */
	for (int tries = 0; e->narmed && tries < 100; tries++) {
		unsigned int head, cnt = 0;
		int r = io_uring_wait_cqe_timeout(&e->u.ring, &cqe, &ts);

		if (r < 0 && r != -ETIME && r != -EINTR)
			break;
		io_uring_for_each_cqe(&e->u.ring, head, cqe) {
			cnt++;
			if ((cqe->user_data & 3) != URC_RECV)
				continue;
			if (!(cqe->flags & IORING_CQE_F_MORE))
				e->narmed--;
			if (cqe->flags & IORING_CQE_F_BUFFER) {
				uint16_t bid = (uint16_t)(cqe->flags >> IORING_CQE_BUFFER_SHIFT);

				nm_buf_put(&e->u.bufs[bid]);
				e->u.free_bids[e->u.nfree++] = bid;
			}
		}
		io_uring_cq_advance(&e->u.ring, cnt);
	}
}

static void ur_free(struct udp_eng *e)
{
	if (e->u.bufs && e->u.free_bids)
		ur_quiesce(e);
	urc_fini(&e->u);
}

/* The ring, its buffer ring and tables.  Return 0, or -EOPNOTSUPP when
 * the kernel refuses what this needs (then recvmmsg), or -ENOMEM. */
static int ur_setup(struct nm_rxq *q, struct udp_eng *e)
{
	struct nm_rx *rx = q->rx;
	struct io_uring_params p;
	uint32_t cq;
	int r;

	e->u.entries = rx->o.ring_entries ? rx->o.ring_entries : RING_DEFAULT;
	cq = rx->o.cq_entries ? rx->o.cq_entries : e->u.entries * 4;
	if (!rx->o.cq_entries && cq < 1024)
		cq = 1024;
	/*
	 * Completions posted only when the queue's thread asks for them
	 * (DEFER_TASKRUN), which needs a single issuer: the thread that will
	 * run the queue, so the ring starts disabled and its first pass
	 * enables it.  A kernel without these (before 6.1) has no multishot
	 * recvmsg either: recvmmsg then.
	 */
	r = urc_init(&e->u, SQ_ENTRIES, cq, 1, BATCH_NR, BATCH_US, &p);
	if (r < 0)
		return r == -ENOMEM ? r : -EOPNOTSUPP;
	rx->cq_entries = p.cq_entries;
	rx->ring_entries = e->u.entries;
	r = urc_bufring_map(&e->u);
	if (r < 0)
		return r;
	r = urc_bufring_reg(&e->u, BGID, 0);
	if (r < 0)
		return r == -ENOMEM ? r : -EOPNOTSUPP;
	if (urc_bids(&e->u))
		return -ENOMEM;
	e->mh.msg_namelen = UDP_NAMELEN;
	e->mh.msg_controllen = UDP_CTRLLEN;
	urc_arm_wake(&e->u, q->evfd);
	rx->features |= NM_RX_FEAT_MULTISHOT;
	return 0;
}

/* ------------------------------------------------------------------ */
/* recvmmsg                                                             */
/* ------------------------------------------------------------------ */

#define EV_CONN 0u
#define EV_WAKE 1u

/* Take buffers for the next call, up to MM_BATCH.  Return how many. */
static unsigned int mm_stash(struct nm_rxq *q, struct udp_eng *e)
{
	ud_lent_back(q, e);	/* what on_data saw can be taken again */
	while (e->nstash < MM_BATCH) {
		struct nm_buf *b = &e->stash[e->nstash];
		char *a = urc_buf_take(q, b);

		if (!a)
			break;
		e->stash_addr[e->nstash++] = a;
		RXS_ADD(q, refill, 1);
	}
	return e->nstash;
}

static void mm_park(struct nm_rxq *q, struct udp_eng *e, struct nm_rx_conn *c)
{
	struct epoll_event ev = { 0 };

	epoll_ctl(e->epfd, EPOLL_CTL_MOD, c->fd, &ev);
	nm_rxq_park(q, c);
	RXS_ADD(q, enobufs, 1);
}

/* Read what @c has, up to a budget.  Return messages delivered. */
static int mm_read(struct nm_rxq *q, struct udp_eng *e, struct nm_rx_conn *c)
{
	int n = 0;

	for (int call = 0; call < MM_BUDGET && c->state == CONN_OPEN; call++) {
		unsigned int k = mm_stash(q, e);
		int got;

		if (!k) {
			mm_park(q, e, c);
			break;
		}
		/* mm[i] fills the stash from the top: what it takes is gone
		 * from the end, and the rest stays for the next call. */
		for (unsigned int i = 0; i < k; i++) {
			struct msghdr *m = &e->mm[i].msg_hdr;
			unsigned int si = e->nstash - 1 - i;

			e->iov[i].iov_base = e->stash_addr[si] + UDP_HDR;
			e->iov[i].iov_len = e->room;
			m->msg_name = &e->names[i];
			m->msg_namelen = sizeof(e->names[i]);
			m->msg_iov = &e->iov[i];
			m->msg_iovlen = 1;
			m->msg_control = e->ctrl[i];
			m->msg_controllen = sizeof(e->ctrl[i]);
			m->msg_flags = 0;
		}
		got = recvmmsg(c->fd, e->mm, k, MSG_DONTWAIT, NULL);
		RXS_ADD(q, recv_calls, 1);
		if (got < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK && ur_fatal(-errno)) {
				epoll_ctl(e->epfd, EPOLL_CTL_DEL, c->fd, NULL);
				nm_rxq_conn_end(q, c, -errno);
			}
			break;
		}
		for (int i = 0; i < got; i++) {
			struct nm_buf *b = &e->stash[e->nstash - 1 - (unsigned int)i];
			struct nm_buf s = { b->iov, b->off + (uint32_t)UDP_HDR, e->mm[i].msg_len };

			if (ud_pkt(q, e, c, &s, &e->mm[i].msg_hdr, e->mm[i].msg_hdr.msg_flags) > 0)
				n++;
		}
		e->nstash -= (unsigned int)got;
		if ((unsigned int)got < k)
			break;	/* drained: spare the EAGAIN call */
	}
	return n;
}

static int mm_poll(struct nm_rxq *q, struct udp_eng *e, int timeout_ms)
{
	int nev, n = 0;

	/* Parked sockets: all back in epoll once a buffer is to be had. */
	if (q->parked && mm_stash(q, e)) {
		struct nm_rx_conn *c, *next;

		for (c = nm_rxq_unpark_all(q); c; c = next) {
			struct epoll_event ev = { .events = EPOLLIN, .data.u64 = ud_conn(c) };

			next = c->next_starved;
			if (c->state != CONN_OPEN)
				continue;
			epoll_ctl(e->epfd, EPOLL_CTL_MOD, c->fd, &ev);
			RXS_ADD(q, rearm, 1);
		}
	}
	nev = epoll_wait(e->epfd, e->evs, EV_MAX, timeout_ms);
	if (nev < 0)
		return errno == EINTR ? 0 : -errno;
	for (int i = 0; i < nev; i++) {
		uint64_t d = e->evs[i].data.u64;
		struct nm_rx_conn *c;

		if ((d & 3) == EV_WAKE) {
			nm_rxq_drain_wake(q);
			continue;
		}
		c = nm_rxq_conn_by_key(q, d);
		if (c && c->state == CONN_OPEN)
			n += mm_read(q, e, c);
	}
	return n;
}

static int mm_setup(struct nm_rxq *q, struct udp_eng *e)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = EV_WAKE };

	e->epfd = nm_fd_call(epoll_create1(EPOLL_CLOEXEC));
	if (e->epfd < 0)
		return -errno;
	if (epoll_ctl(e->epfd, EPOLL_CTL_ADD, q->evfd, &ev))
		return -errno;
	return 0;
}

static void mm_free(struct udp_eng *e)
{
	for (unsigned int i = 0; i < e->nstash; i++)
		nm_buf_put(&e->stash[i]);
	e->nstash = 0;
	if (e->epfd >= 0)
		close(e->epfd);
	e->epfd = -1;
}

/* ------------------------------------------------------------------ */
/* the engine                                                           */
/* ------------------------------------------------------------------ */

static void udp_free(struct udp_eng *e)
{
	ur_free(e);
	mm_free(e);
	free(e->drops);
	free(e);
}

static int udp_init(struct nm_rxq *q)
{
	struct nm_rx *rx = q->rx;
	const char *env = getenv("NM_UDP_RECVMMSG");
	struct udp_eng *e;
	int r;

	/* A buffer must hold the kernel's header and a datagram after it. */
	if (q->buf_size < UDP_HDR + 64)
		return -EINVAL;
	e = nm_calloc(1, sizeof(*e));
	if (!e)
		return -ENOMEM;
	e->epfd = -1;
	e->room = q->buf_size - (uint32_t)UDP_HDR;
	e->lend = !!(rx->o.flags & NM_RX_F_LEND);
	e->gro = e->room >= GRO_ROOM;
	e->drops = nm_calloc(rx->o.max_conns, sizeof(*e->drops));
	if (!e->drops) {
		udp_free(e);
		return -ENOMEM;
	}
	e->mode = MODE_MMSG;
	r = -EOPNOTSUPP;
	if (!env || !*env || !strcmp(env, "0"))
		r = ur_setup(q, e);
	if (!r) {
		e->mode = MODE_URING;
	} else if (r == -EOPNOTSUPP) {
		ur_free(e);
		r = mm_setup(q, e);
	}
	if (r) {
		udp_free(e);
		return r;
	}
	if (e->gro)
		rx->features |= NM_RX_FEAT_UDP_GRO;
	q->eng = e;
	return 0;
}

static void udp_fini(struct nm_rxq *q)
{
	if (q->eng)
		udp_free(q->eng);
	q->eng = NULL;
}

/* Sockets come in as connections (nm_rx_listen binds them), not accepted. */
static int udp_listen(struct nm_rxq *q, int fd)
{
	(void)q;
	(void)fd;
	return -EOPNOTSUPP;
}

static int udp_conn_add(struct nm_rxq *q, struct nm_rx_conn *c)
{
	struct udp_eng *e = q->eng;
	int r = sock_setup(q, e, c);

	if (r)
		return r;
	if (e->mode == MODE_MMSG) {
		struct epoll_event ev = { .events = EPOLLIN, .data.u64 = ud_conn(c) };

		return epoll_ctl(e->epfd, EPOLL_CTL_ADD, c->fd, &ev) ? -errno : 0;
	}
	if (e->u.nfree == e->u.entries) {
		/* Nothing posted yet (before the first pass): arming would
		 * only earn -ENOBUFS. */
		nm_rxq_park(q, c);
		return 0;
	}
	return ur_arm(e, c);
}

static void udp_conn_close(struct nm_rxq *q, struct nm_rx_conn *c)
{
	struct udp_eng *e = q->eng;

	nm_rxq_unpark(q, c);
	drops_poll(q, e, c);	/* the last word on what it dropped */
	if (e->mode == MODE_URING && c->armed && urc_cancel_conn(&e->u, c, ud_conn(c)))
		return;	/* freed on the recvmsg's last completion */
	close(c->fd);	/* drops it from epoll too */
	nm_rxq_conn_free(q, c);
}

static int udp_poll(struct nm_rxq *q, int timeout_ms)
{
	struct udp_eng *e = q->eng;
	int n = e->mode == MODE_URING ? ur_poll(q, e, timeout_ms)
				      : mm_poll(q, e, timeout_ms);

	ud_lent_back(q, e);	/* nothing stays lent past the pass */
	if (n == 0)
		drops_idle(q, e);
	return n;
}

/*
 * The queue's readiness fd: with io_uring an eventfd the kernel signals
 * when it posts completions (made on first use, before the ring has an
 * owner, or on its owner's thread); with recvmmsg the epoll fd.
 */
static int udp_queue_fd(struct nm_rxq *q)
{
	struct udp_eng *e = q->eng;

	return e->mode == MODE_MMSG ? e->epfd : urc_queue_fd(&e->u);
}

static void udp_fd_ack(struct nm_rxq *q)
{
	urc_fd_ack(&((struct udp_eng *)q->eng)->u);
}

static int udp_pending(struct nm_rxq *q)
{
	struct udp_eng *e = q->eng;

	if (e->mode == MODE_MMSG)
		return 0;	/* level-triggered epoll keeps its fd ready */
	return urc_pending(&e->u);
}

const struct nm_rx_engine nm_rx_engine_udp = {
	.name       = "udp",
	.dgram      = 1,
	/* packets have no framing to split; the REQUIREs name features of
	 * the uring engine's streams */
	.refuse_flags = NM_RX_F_SPLIT | NM_RX_F_REQUIRE_INC | NM_RX_F_REQUIRE_BUNDLE,
	.init       = udp_init,
	.fini       = udp_fini,
	.listen     = udp_listen,
	.conn_add   = udp_conn_add,
	.conn_close = udp_conn_close,
	.poll       = udp_poll,
	.queue_fd   = udp_queue_fd,
	.fd_ack     = udp_fd_ack,
	.pending    = udp_pending,
};

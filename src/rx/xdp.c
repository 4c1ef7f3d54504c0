/* SPDX-License-Identifier: MIT */
/*
 * xdp.c - the AF_XDP engine: the queue's area is the UMEM, its chunks the
 * frames, and the queue's pool is the UMEM's mempool.
 *
 * One XSK socket per receiver queue, bound to (opts.ifname, opts.queue_id
 * + i).  Queues whose pools share an area share one UMEM (XDP_SHARED_UMEM:
 * each socket with its own fill ring, as the kernel wants for different
 * queues).  libxdp does the rest: xsk_umem__create, xsk_socket__create_shared
 * and its default redirect program, attached through its dispatcher and
 * detached when the last socket on the interface goes.  libxdp is loaded
 * at run time (dlopen), so neither libnetmem nor a program built against
 * it links it; without it the engine says -EOPNOTSUPP.
 *
 * Frames: the fill ring is fed from the pool in bulk (nm_pool_alloc_bulk;
 * the engine owns those chunks).  An RX descriptor becomes an nm_buf (the
 * chunk, the packet's offset in it past the XDP headroom, its length),
 * delivered as one message (nm_rxq_deliver_pkts), its first byte's
 * address in nm_rx_pkt.data; or, with opts.on_pkts, a run of them as one
 * burst (nm_rxq_deliver_burst), the array filled straight from the RX
 * ring.  The application puts it back to the pool, from any thread, with
 * every check; or, with NM_RX_F_LEND, it is only lent to the callback, and
 * the engine takes the pass's frames back in one unchecked bulk when the
 * callbacks are done, as the kernel recycles a page_pool page in its NAPI
 * loop: a frame the application took no reference on goes straight back
 * into the fill ring (nm_pool_reuse_iovs), the rest to the pool, whose
 * frames the next refill hands the kernel.  A byte per chunk (posted[])
 * says which chunks the kernel holds (in the fill ring, being written, or
 * in the RX ring): when the socket goes (revocation, the connection
 * closed, destroy) exactly those go back to the pool, so every frame is
 * accounted for.
 *
 * The socket is one connection of its queue (an fd of its own, a dup of
 * the XSK's), opened on the queue's first pass: on_conn, on_data per
 * packet (or on_pkts per run), on_close when it ends.  The kernel's drop
 * counters (XDP_STATISTICS) are read every 10 ms of passes, on an idle
 * pass and at the end, and added to the queue's stats as deltas.
 */
#include "rx_int.h"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifndef NM_HAVE_XDP

static int xdp_init_absent(struct nm_rxq *q)
{
	fprintf(stderr, "netmem: xdp engine: built without libxdp's headers "
		"(libxdp-dev, libbpf-dev): AF_XDP is not available\n");
	return -EOPNOTSUPP;
}

static void xdp_fini_absent(struct nm_rxq *q) { }
static int xdp_listen_absent(struct nm_rxq *q, int fd) { return -EOPNOTSUPP; }
static int xdp_conn_add_absent(struct nm_rxq *q, struct nm_rx_conn *c) { return -EOPNOTSUPP; }
static void xdp_conn_close_absent(struct nm_rxq *q, struct nm_rx_conn *c) { nm_rxq_conn_free(q, c); }
static int xdp_poll_absent(struct nm_rxq *q, int t) { return -EOPNOTSUPP; }
static int xdp_queue_fd_absent(struct nm_rxq *q) { return -EOPNOTSUPP; }

const struct nm_rx_engine nm_rx_engine_xdp = {
	.name       = "xdp",
	.refuse_flags = NM_RX_F_SPLIT |	/* packets, not streams */
			NM_RX_F_TIMESTAMP,	/* no XDP metadata read yet */
	.init       = xdp_init_absent,
	.fini       = xdp_fini_absent,
	.listen     = xdp_listen_absent,
	.conn_add   = xdp_conn_add_absent,
	.conn_close = xdp_conn_close_absent,
	.poll       = xdp_poll_absent,
	.queue_fd   = xdp_queue_fd_absent,
};

#else /* NM_HAVE_XDP */

#include <dlfcn.h>
#include <net/if.h>
#include <poll.h>
#include <pthread.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <linux/if_link.h>
#include <linux/if_xdp.h>
#include <xdp/xsk.h>
#include <xdp/libxdp.h>
#include <stdarg.h>

#ifndef SOL_XDP
#define SOL_XDP 283
#endif
#define XDP_MIN_FRAME    2048  /* the kernel's XDP_UMEM_MIN_CHUNK_SIZE */

#define XDP_RING_DEFAULT 4096  /* RX and fill ring: 2048 overflowed on veth
				* (/work/shared/notes/af_xdp-on-veth.md) */
#define XDP_COMP_RING    64    /* no TX: the kernel wants one all the same */
#define XDP_BATCH        64    /* descriptors per peek / refill step */
#define XDP_BUDGET       256   /* packets per pass */
#define XDP_STATS_NS     (10 * 1000 * 1000)

/* ------------------------------------------------------------------ */
/* libxdp, loaded at run time                                           */
/* ------------------------------------------------------------------ */

static struct {
	int (*umem_create)(struct xsk_umem **, void *, __u64, struct xsk_ring_prod *,
			   struct xsk_ring_cons *, const struct xsk_umem_config *);
	int (*umem_delete)(struct xsk_umem *);
	int (*sock_create_shared)(struct xsk_socket **, const char *, __u32,
				  struct xsk_umem *, struct xsk_ring_cons *,
				  struct xsk_ring_prod *, struct xsk_ring_prod *,
				  struct xsk_ring_cons *, const struct xsk_socket_config *);
	void (*sock_delete)(struct xsk_socket *);
	int (*sock_fd)(const struct xsk_socket *);
	int err;
} xl;
static pthread_once_t xl_once = PTHREAD_ONCE_INIT;

/* libxdp's (and, through it, libbpf's) messages: warnings only, less
 * libbpf's note on every load that the program's ELF has sections it
 * does not know (libxdp's own metadata), which says nothing to a user. */
static int xl_print(enum libxdp_print_level level, const char *fmt, va_list ap)
{
	char line[512];

	if (level != LIBXDP_WARN)
		return 0;
	vsnprintf(line, sizeof(line), fmt, ap);
	if (strstr(line, "unrecognized data section"))
		return 0;
	return fputs(line, stderr);
}

static void xl_load(void)
{
	void *h = dlopen("libxdp.so.1", RTLD_NOW | RTLD_LOCAL);
	libxdp_print_fn_t (*set_print)(libxdp_print_fn_t);

	if (!h) {
		fprintf(stderr, "netmem: xdp engine: cannot load libxdp (%s): "
			"install libxdp1\n", dlerror());
		xl.err = -EOPNOTSUPP;
		return;
	}
	*(void **)&xl.umem_create = dlsym(h, "xsk_umem__create");
	*(void **)&xl.umem_delete = dlsym(h, "xsk_umem__delete");
	*(void **)&xl.sock_create_shared = dlsym(h, "xsk_socket__create_shared");
	*(void **)&xl.sock_delete = dlsym(h, "xsk_socket__delete");
	*(void **)&xl.sock_fd = dlsym(h, "xsk_socket__fd");
	*(void **)&set_print = dlsym(h, "libxdp_set_print");
	if (!xl.umem_create || !xl.umem_delete || !xl.sock_create_shared ||
	    !xl.sock_delete || !xl.sock_fd) {
		fprintf(stderr, "netmem: xdp engine: libxdp lacks the xsk API\n");
		xl.err = -EOPNOTSUPP;
	}
	if (set_print)
		set_print(xl_print);
	/* the handle stays: the functions are used to the process's end */
}

/* ------------------------------------------------------------------ */
/* UMEMs: one per area, shared by the queues (of any receiver) over it  */
/* ------------------------------------------------------------------ */

struct xdp_umem {
	struct xdp_umem *next;
	struct nm_area *area;
	struct xsk_umem *umem;
	/* The UMEM's own fill/completion rings (libxdp makes them with the
	 * UMEM): the first socket's.  Later sockets bring their own. */
	struct xsk_ring_prod fq0;
	struct xsk_ring_cons cq0;
	int fq0_used;
	int refs;                     /* queues using it */
	/* The first socket's fd is the UMEM's: it stays bound until the UMEM
	 * goes, so the chunks its queue had posted are given back only then
	 * (the kernel may still write them until that close). */
	struct nm_pool *orphan_pool;
	uint8_t *orphan;
};

static pthread_mutex_t umem_lock = PTHREAD_MUTEX_INITIALIZER;
static struct xdp_umem *umems;

/* Per queue. */
struct xdp_q {
	struct xdp_umem *u;
	struct xsk_socket *xsk;       /* NULL once down */
	struct xsk_ring_cons rx;
	struct xsk_ring_prod fq_own;  /* this socket's own rings (shared UMEM) */
	struct xsk_ring_cons cq_own;
	struct xsk_ring_prod *fq;
	int fd;                       /* the XSK's fd (libxdp's) */
	int epfd;                     /* queue_fd: xsk fd + q->evfd; -1 */
	int opened;                   /* the connection was made */
	int opening;                  /* making it: conn_add takes it */
	struct nm_rx_conn *c;         /* the socket's connection, while open */
	struct nm_area *area;
	const struct nm_iov *iovs;
	uint32_t nr_chunks, shift, ring;
	uint8_t *base;                /* the area's CPU mapping */
	int lend;                     /* NM_RX_F_LEND */
	int burst;                    /* opts.on_pkts: pb[] per peek */
	uint32_t qid;                 /* the NIC queue (pkt queue_id) */
	uint8_t *posted;              /* per chunk: the kernel holds it */
	uint32_t nposted;
	struct xdp_statistics last;
	int64_t stats_ns;
	struct nm_buf tmp[XDP_BATCH];
	struct nm_iov *fill[XDP_BATCH];	/* refill's chunks */
	struct nm_iov *lent[XDP_BUDGET];	/* NM_RX_F_LEND: to take back */
	const void *data[XDP_BATCH];	/* tmp[i]'s first byte */
	struct nm_rx_pktbuf pb[XDP_BATCH];	/* on_pkts: the burst */
	/* on_data's packet metadata: made once (a sockaddr_storage to
	 * clear), its data pointer set per packet */
	struct nm_rx_pkt pkt;
};

static int64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Give back every chunk marked in @posted to @pool. */
static void posted_put(struct nm_pool *pool, const struct nm_iov *iovs,
		       uint8_t *posted, uint32_t nr, uint32_t chunk)
{
	struct nm_buf b[XDP_BATCH];
	unsigned int n = 0;

	for (uint32_t i = 0; i < nr; i++) {
		if (!posted[i])
			continue;
		posted[i] = 0;
		b[n].iov = (struct nm_iov *)&iovs[i];
		b[n].off = 0;
		b[n].len = chunk;
		if (++n == XDP_BATCH) {
			nm_pool_put_bulk(pool, b, n);
			n = 0;
		}
	}
	nm_pool_put_bulk(pool, b, n);
}

/* Find or make the UMEM of @area (umem_lock held).  Return it or NULL
 * with *err. */
static struct xdp_umem *umem_get(struct nm_area *area, const struct nm_area_info *ai,
				 unsigned int ring, int *err)
{
	struct xsk_umem_config cfg = {
		.fill_size = ring, .comp_size = XDP_COMP_RING,
		.frame_size = ai->chunk_size, .frame_headroom = 0, .flags = 0,
	};
	struct xdp_umem *u;
	int r;

	for (u = umems; u; u = u->next)
		if (u->area == area) {
			u->refs++;
			return u;
		}
	u = nm_calloc(1, sizeof(*u));
	if (!u) {
		*err = -ENOMEM;
		return NULL;
	}
	r = xl.umem_create(&u->umem, ai->cpu_base, (__u64)ai->nr_chunks * ai->chunk_size,
			   &u->fq0, &u->cq0, &cfg);
	if (r) {
		fprintf(stderr, "netmem: xdp engine: registering area \"%s\" as the UMEM "
			"(%u frames of %u bytes): %s\n", ai->name ? ai->name : "",
			ai->nr_chunks, ai->chunk_size, strerror(-r));
		free(u);
		*err = r;
		return NULL;
	}
	nm_area_ref(area);
	u->area = area;
	u->refs = 1;
	u->next = umems;
	umems = u;
	return u;
}

/* Drop a queue's use of @u (umem_lock held); the last one deletes it,
 * which closes the first socket too, and gives back what it held. */
static void umem_put(struct xdp_umem *u)
{
	struct xdp_umem **pp;

	if (--u->refs)
		return;
	for (pp = &umems; *pp != u; pp = &(*pp)->next)
		;
	*pp = u->next;
	xl.umem_delete(u->umem);
	if (u->orphan) {
		posted_put(u->orphan_pool, u->area->iovs, u->orphan, u->area->nr_chunks,
			   1u << u->area->shift);
		free(u->orphan);
	}
	nm_area_unref(u->area);
	free(u);
}

/* ------------------------------------------------------------------ */
/* stats                                                                */
/* ------------------------------------------------------------------ */

/* Add what XDP_STATISTICS counted since the last read. */
static void stats_read(struct nm_rxq *q, struct xdp_q *e)
{
	struct xdp_statistics s;
	socklen_t len = sizeof(s);

	memset(&s, 0, sizeof(s));
	if (e->fd < 0 || getsockopt(e->fd, SOL_XDP, XDP_STATISTICS, &s, &len))
		return;
	RXS_ADD(q, xdp_rx_dropped, s.rx_dropped - e->last.rx_dropped);
	RXS_ADD(q, xdp_rx_invalid, s.rx_invalid_descs - e->last.rx_invalid_descs);
	RXS_ADD(q, xdp_rx_ring_full, s.rx_ring_full - e->last.rx_ring_full);
	RXS_ADD(q, xdp_fill_empty, s.rx_fill_ring_empty_descs -
				   e->last.rx_fill_ring_empty_descs);
	e->last = s;
	e->stats_ns = mono_ns();
}

/* ------------------------------------------------------------------ */
/* socket up and down                                                   */
/* ------------------------------------------------------------------ */

/* The frame size the kernel takes in aligned mode: a power of 2 from
 * 2048 to the page size (a chunk is 4 KiB << order, so: order 0). */
static int frame_ok(uint32_t chunk)
{
	long page = sysconf(_SC_PAGESIZE);

	return chunk >= XDP_MIN_FRAME && page > 0 && chunk <= (uint32_t)page &&
	       !(chunk & (chunk - 1));
}

static int check_opts(struct nm_rxq *q, const struct nm_area_info *ai)
{
	const struct nm_rx_opts *o = &q->rx->o;

	if (!o->ifname || !o->ifname[0]) {
		fprintf(stderr, "netmem: xdp engine: no interface (opts.ifname)\n");
		return -EINVAL;
	}
	if (!ai->cpu_base) {
		fprintf(stderr, "netmem: xdp engine: area \"%s\" has no CPU mapping: "
			"AF_XDP copy mode needs memory the kernel can write\n",
			ai->name ? ai->name : "");
		return -EINVAL;
	}
	if (!frame_ok(ai->chunk_size)) {
		fprintf(stderr, "netmem: xdp engine: chunk size %u cannot be an XDP frame "
			"(a power of 2 from %u to the page size, %ld: area order 0)\n",
			ai->chunk_size, XDP_MIN_FRAME, sysconf(_SC_PAGESIZE));
		return -EINVAL;
	}
	if (q->buf_size != ai->chunk_size) {
		fprintf(stderr, "netmem: xdp engine: a frame is a whole chunk: "
			"opts.buf_size must be 0 or %u\n", ai->chunk_size);
		return -EINVAL;
	}
	return 0;
}

static void sock_config(const struct nm_rx_opts *o, unsigned int ring,
			struct xsk_socket_config *sc)
{
	memset(sc, 0, sizeof(*sc));
	sc->rx_size = ring;
	sc->tx_size = 0;
	sc->libxdp_flags = 0;   /* libxdp loads its redirect program */
	sc->xdp_flags = (o->xdp_flags & NM_RX_XDP_SKB) ? XDP_FLAGS_SKB_MODE : 0;
	sc->bind_flags = XDP_USE_NEED_WAKEUP;
	if (o->xdp_flags & NM_RX_XDP_COPY)
		sc->bind_flags |= XDP_COPY;
	if (o->xdp_flags & NM_RX_XDP_ZEROCOPY)
		sc->bind_flags |= XDP_ZEROCOPY;
}

/* Make q's socket on @u (umem_lock held).  A queue just released by a
 * socket that closed can be busy for a while: retried for ~2 s. */
static int sock_create(struct nm_rxq *q, struct xdp_q *e, const char *ifname,
		       unsigned int qid)
{
	struct xsk_socket_config sc;
	struct xsk_ring_cons *cq;
	int r, delay_ms = 10;

	sock_config(&q->rx->o, e->ring, &sc);
	if (!e->u->fq0_used) {
		e->fq = &e->u->fq0;
		cq = &e->u->cq0;
	} else {
		e->fq = &e->fq_own;
		cq = &e->cq_own;
	}
	for (;;) {
		r = xl.sock_create_shared(&e->xsk, ifname, qid, e->u->umem, &e->rx, NULL,
					  e->fq, cq, &sc);
		if (r != -EBUSY || delay_ms > 1280)
			break;
		usleep((useconds_t)delay_ms * 1000);
		delay_ms *= 2;
	}
	if (r) {
		e->xsk = NULL;
		return r;
	}
	if (e->fq == &e->u->fq0)
		e->u->fq0_used = 1;
	e->fd = xl.sock_fd(e->xsk);
	return 0;
}

/* Say why the socket could not be made, in the words the errno has here. */
static void sock_err(const struct nm_rx_opts *o, unsigned int qid, int r)
{
	const char *why = "";

	if (r == -ENODEV)
		why = ": no such interface";
	else if (r == -EINVAL)
		why = ": no such queue on the interface, or a frame size it refuses";
	else if (r == -EOPNOTSUPP && (o->xdp_flags & NM_RX_XDP_ZEROCOPY))
		why = ": zero-copy asked for (NM_RX_XDP_ZEROCOPY) and the driver refused it";
	else if (r == -EBUSY)
		why = ": the queue is bound by another AF_XDP socket";
	fprintf(stderr, "netmem: xdp engine: socket on %s queue %u: %s%s\n",
		o->ifname, qid, strerror(-r), why);
}

/*
 * Take q's socket down: the connection's fd closed first (the socket is
 * released, and the kernel stops writing frames, only once its last fd
 * closes), the last counters read, the socket deleted (libxdp detaches
 * the program with the last socket of the interface), and every chunk
 * the kernel held given back.
 */
static void sock_down(struct nm_rxq *q, struct xdp_q *e)
{
	struct xdp_umem *u = e->u;
	int handed = 0;

	if (!u)
		return;
	if (e->c && e->c->fd >= 0) {
		close(e->c->fd);
		e->c->fd = -1;
	}
	if (e->xsk)
		stats_read(q, e);
	if (e->epfd >= 0 && e->fd >= 0)
		epoll_ctl(e->epfd, EPOLL_CTL_DEL, e->fd, NULL);
	pthread_mutex_lock(&umem_lock);
	if (e->xsk) {
		xl.sock_delete(e->xsk);
		e->xsk = NULL;
	}
	if (e->fq == &u->fq0 && u->refs > 1 && e->nposted) {
		/* The UMEM's fd (this socket's) stays open: its frames wait
		 * for the UMEM to go. */
		u->orphan = e->posted;
		u->orphan_pool = q->rx_pool;
		e->posted = NULL;
		handed = 1;
	}
	umem_put(u);
	pthread_mutex_unlock(&umem_lock);
	e->u = NULL;
	e->fd = -1;
	if (!handed && e->posted)
		posted_put(q->rx_pool, e->iovs, e->posted, e->nr_chunks, 1u << e->shift);
	e->nposted = 0;
}

/* ------------------------------------------------------------------ */
/* engine slots                                                         */
/* ------------------------------------------------------------------ */

static int xdp_init(struct nm_rxq *q)
{
	const struct nm_rx_opts *o = &q->rx->o;
	struct nm_area_info ai;
	struct xdp_q *e;
	unsigned int qid = o->queue_id + q->id;
	int r;

	pthread_once(&xl_once, xl_load);
	if (xl.err)
		return xl.err;
	if (nm_area_info(nm_pool_area(q->rx_pool), &ai, sizeof(ai)))
		return -EINVAL;
	r = check_opts(q, &ai);
	if (r)
		return r;
	if (!if_nametoindex(o->ifname)) {
		sock_err(o, qid, -ENODEV);
		return -ENODEV;
	}
	e = nm_calloc(1, sizeof(*e));
	if (!e)
		return -ENOMEM;
	e->fd = e->epfd = -1;
	e->area = nm_pool_area(q->rx_pool);
	e->iovs = e->area->iovs;
	e->base = e->area->mem.cpu_base;	/* readable: checked above */
	e->lend = !!(q->rx->o.flags & NM_RX_F_LEND);
	e->burst = q->rx->o.on_pkts != NULL;
	e->qid = qid;
	e->pkt.queue_id = qid;
	e->nr_chunks = e->area->nr_chunks;
	e->shift = e->area->shift;
	e->ring = o->ring_entries ? o->ring_entries : XDP_RING_DEFAULT;
	e->posted = nm_calloc(e->nr_chunks, 1);
	if (!e->posted) {
		free(e);
		return -ENOMEM;
	}
	pthread_mutex_lock(&umem_lock);
	e->u = umem_get(e->area, &ai, e->ring, &r);
	if (e->u) {
		r = sock_create(q, e, o->ifname, qid);
		if (r) {
			sock_err(o, qid, r);
			umem_put(e->u);
			e->u = NULL;
		}
	}
	pthread_mutex_unlock(&umem_lock);
	if (r) {
		free(e->posted);
		free(e);
		return r;
	}
	q->rx->ring_entries = e->ring;
	q->eng = e;
	return 0;
}

static void xdp_fini(struct nm_rxq *q)
{
	struct xdp_q *e = q->eng;

	if (!e)
		return;
	/* The connection's fd, if it was open, the core has closed. */
	e->c = NULL;
	sock_down(q, e);
	if (e->epfd >= 0)
		close(e->epfd);
	free(e->posted);
	free(e);
	q->eng = NULL;
}

static int xdp_listen(struct nm_rxq *q, int fd)
{
	return -EOPNOTSUPP;	/* packets: no listening socket */
}

static int xdp_conn_add(struct nm_rxq *q, struct nm_rx_conn *c)
{
	struct xdp_q *e = q->eng;

	/* Only the socket's own connection: a stream fd handed in
	 * (nm_rx_add_fd) ends at once with this error. */
	if (!e->opening)
		return -EOPNOTSUPP;
	e->c = c;
	return 0;
}

/* The connection ended (the application closed it, or revocation): the
 * socket goes with it; there is no other to receive on. */
static void xdp_conn_close(struct nm_rxq *q, struct nm_rx_conn *c)
{
	struct xdp_q *e = q->eng;

	if (e->c == c) {
		sock_down(q, e);
		e->c = NULL;
	}
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	nm_rxq_conn_free(q, c);
}

/* need-wakeup: the driver sleeps until told there are frames */
static void fq_kick(struct xdp_q *e)
{
	if (xsk_ring_prod__needs_wakeup(e->fq))
		recvfrom(e->fd, NULL, 0, MSG_DONTWAIT, NULL, NULL);
}

/*
 * NM_RX_F_LEND: the pass's @n lent frames (e->lent) back, once the
 * callbacks have returned.  Those the application took no reference on
 * go straight back into the fill ring, as the reference receiver reuses a
 * frame (no trip through the pool's cache); one it kept a reference on
 * loses the engine's; what the ring has no room for goes to the pool.
 */
static void take_back(struct nm_rxq *q, struct xdp_q *e, unsigned int n)
{
	uint32_t room = e->xsk ? xsk_prod_nb_free(e->fq, n) : 0, idx = 0;
	unsigned int k = nm_pool_reuse_iovs(q->rx_pool, e->lent, n, room < n ? room : n);

	if (!k)
		return;
	/* room was counted free: the reservation cannot fall short */
	xsk_ring_prod__reserve(e->fq, k, &idx);
	/* in locals: the ring's stores could alias e's fields */
	struct nm_iov *const *lent = e->lent;
	const struct nm_iov *iovs = e->iovs;
	uint64_t *fill = e->fq->ring;
	uint8_t *posted = e->posted;
	const uint32_t mask = e->fq->mask, shift = e->shift;

	for (unsigned int i = 0; i < k; i++) {
		/* the frame's index from where its descriptor sits (the UMEM's
		 * own array): no load of the descriptor */
		uint32_t ci = (uint32_t)(lent[i] - iovs);

		posted[ci] = 1;
		fill[(idx + i) & mask] = (uint64_t)ci << shift;
	}
	xsk_ring_prod__submit(e->fq, k);
	e->nposted += k;
	RXS_ADD(q, refill, k);
	RXS_ADD(q, refill_batches, 1);
	fq_kick(e);
}

/* Hand the kernel as many frames as the fill ring has room for. */
static void refill(struct nm_rxq *q, struct xdp_q *e)
{
	/* the fill ring's own size: the UMEM's, set by its first queue */
	uint32_t room = xsk_prod_nb_free(e->fq, e->fq->size), idx = 0;
	unsigned int batches = 0;

	/* Whole steps only, while the kernel still has frames to fill: a
	 * pass that took a few packets leaves their slots for a later one,
	 * so the pool is called for XDP_BATCH frames at a time. */
	if (room < XDP_BATCH && e->nposted >= XDP_BATCH)
		return;

	while (room) {
		int got = nm_pool_alloc_iovs(q->rx_pool, e->fill,
					     room < XDP_BATCH ? room : XDP_BATCH);

		if (got <= 0) {
			if (!got || got == -ENOMEM)
				RXS_ADD(q, pool_empty, 1);
			break;
		}
		/* room was counted free: the reservation cannot fall short */
		xsk_ring_prod__reserve(e->fq, (uint32_t)got, &idx);
		for (int i = 0; i < got; i++) {
			uint32_t ci = (uint32_t)(e->fill[i] - e->iovs);

			e->posted[ci] = 1;
			*xsk_ring_prod__fill_addr(e->fq, idx + (uint32_t)i) =
				(uint64_t)ci << e->shift;
		}
		xsk_ring_prod__submit(e->fq, (uint32_t)got);
		e->nposted += (uint32_t)got;
		room -= (uint32_t)got;
		RXS_ADD(q, refill, (uint64_t)got);
		batches++;
	}
	if (batches) {
		RXS_ADD(q, refill_batches, batches);
		fq_kick(e);
	}
}

/* Deliver up to @budget packets from the RX ring.  Return how many. */
static int rx_drain(struct nm_rxq *q, struct xdp_q *e, int budget)
{
	unsigned int nlent = 0;	/* up to budget (XDP_BUDGET) */
	int n = 0;

	while (n < budget && e->xsk) {
		uint32_t idx = 0, got, ok = 0;

		got = xsk_ring_cons__peek(&e->rx, (uint32_t)(budget - n < XDP_BATCH ?
						     budget - n : XDP_BATCH), &idx);
		if (!got)
			break;
		for (uint32_t i = 0; i < got; i++) {
			const struct xdp_desc *d = xsk_ring_cons__rx_desc(&e->rx, idx + i);
			uint64_t ci = d->addr >> e->shift;
			uint32_t off = (uint32_t)(d->addr & ((1u << e->shift) - 1));

			if (nm_unlikely(ci >= e->nr_chunks || !e->posted[ci] ||
					off + d->len > (1u << e->shift))) {
				RXS_ADD(q, xdp_rx_invalid, 1);	/* not a frame we gave */
				continue;
			}
			e->posted[ci] = 0;
			e->tmp[ok].iov = (struct nm_iov *)&e->iovs[ci];
			e->tmp[ok].off = off;
			e->tmp[ok].len = d->len;
			ok++;
		}
		/* The descriptors are copied: the kernel may reuse the slots. */
		xsk_ring_cons__release(&e->rx, got);
		e->nposted -= ok;
		RXS_ADD(q, recv_calls, got);
		n += (int)got;
		/* nm_buf_data's answer: none once the area is revoked */
		uint8_t *base = nm_area_live(e->area) ? e->base : NULL;
		unsigned int seen;

		if (!e->c) {
			nm_rxq_put_bufs(q, e->tmp, ok);
			continue;
		}
		for (uint32_t i = 0; i < ok; i++)
			e->data[i] = base ? base + ((size_t)(e->tmp[i].iov - e->iovs) << e->shift) +
					    e->tmp[i].off : NULL;
		/* the rest (the connection ended on the way) were put */
		seen = nm_rxq_deliver_pkts(q, e->c, e->tmp, ok, e->data, &e->pkt);
		if (e->lend)
			for (uint32_t i = 0; i < seen; i++)
				e->lent[nlent++] = e->tmp[i].iov;
	}
	/* Lent: back once on_data returned, in one unchecked bulk a pass */
	if (nlent)
		take_back(q, e, nlent);
	return n;
}

/*
 * The same with opts.on_pkts: each peek's descriptors straight into the
 * burst array, one on_pkts call for them (nm_rxq_deliver_burst), nothing
 * else per packet but the frame's check and its posted[] byte.
 */
static int rx_drain_burst(struct nm_rxq *q, struct xdp_q *e, int budget)
{
	const uint32_t frame = 1u << e->shift;
	unsigned int nlent = 0;	/* up to budget (XDP_BUDGET) */
	int n = 0;

	while (n < budget && e->xsk) {
		uint32_t idx = 0, got, ok = 0;
		uint64_t bytes = 0;

		got = xsk_ring_cons__peek(&e->rx, (uint32_t)(budget - n < XDP_BATCH ?
						     budget - n : XDP_BATCH), &idx);
		if (!got)
			break;
		/* nm_buf_data's answer: none once the area is revoked */
		uint8_t *base = nm_area_live(e->area) ? e->base : NULL;
		/* in locals: the stores into pb[] could alias e's fields, and
		 * the compiler would load each of them again per packet */
		const struct xdp_desc *ring = e->rx.ring;
		const uint32_t mask = e->rx.mask, shift = e->shift, qid = e->qid;
		const uint64_t nr = e->nr_chunks;
		struct nm_iov *iovs = (struct nm_iov *)e->iovs;
		uint8_t *posted = e->posted;
		struct nm_rx_pktbuf *pb = e->pb;

		for (uint32_t i = 0; i < got; i++) {
			const struct xdp_desc *d = &ring[(idx + i) & mask];
			uint64_t addr = d->addr, ci = addr >> shift;
			uint32_t off = (uint32_t)(addr & (frame - 1)), len = d->len;
			struct nm_rx_pktbuf *p = &pb[ok];

			if (nm_unlikely(ci >= nr || !posted[ci] || off + len > frame)) {
				RXS_ADD(q, xdp_rx_invalid, 1);	/* not a frame we gave */
				continue;
			}
			posted[ci] = 0;
			p->buf.iov = &iovs[ci];
			p->buf.off = off;
			p->buf.len = len;
			/* aligned mode: addr is the frame's offset plus off */
			p->data = base ? base + addr : NULL;
			p->queue_id = qid;
			p->flags = 0;
			bytes += len;
			ok++;
		}
		/* The descriptors are copied: the kernel may reuse the slots. */
		xsk_ring_cons__release(&e->rx, got);
		e->nposted -= ok;
		RXS_ADD(q, recv_calls, got);
		n += (int)got;
		if (!ok)
			continue;
		if (!e->c) {
			for (uint32_t i = 0; i < ok; i++)
				nm_buf_put(&e->pb[i].buf);
			continue;
		}
		/* 0: the connection had ended, the frames were put */
		if (nm_rxq_deliver_burst(q, e->c, pb, ok, bytes) && e->lend) {
			struct nm_iov **lent = e->lent + nlent;

			for (uint32_t i = 0; i < ok; i++)
				lent[i] = pb[i].buf.iov;
			nlent += ok;
		}
	}
	if (nlent)
		take_back(q, e, nlent);
	return n;
}

static int drain(struct nm_rxq *q, struct xdp_q *e)
{
	return e->burst ? rx_drain_burst(q, e, XDP_BUDGET) : rx_drain(q, e, XDP_BUDGET);
}

/* The area was revoked: the socket goes, its frames back, and the
 * connection ends with -ENODEV. */
static void revoked(struct nm_rxq *q, struct xdp_q *e)
{
	struct nm_rx_conn *c = e->c;

	sock_down(q, e);
	if (c && c->state == CONN_OPEN)
		nm_rxq_conn_end(q, c, -ENODEV);
}

static int wait_ready(struct nm_rxq *q, struct xdp_q *e, int timeout_ms)
{
	struct pollfd p[2] = {
		{ .fd = q->evfd, .events = POLLIN },
		{ .fd = e->xsk ? e->fd : -1, .events = POLLIN },
	};
	int r = poll(p, 2, timeout_ms);

	if (r < 0)
		return errno == EINTR ? 0 : -errno;
	if (p[0].revents & POLLIN)
		nm_rxq_drain_wake(q);
	return 0;
}

static int xdp_poll(struct nm_rxq *q, int timeout_ms)
{
	struct xdp_q *e = q->eng;
	int n = 0, r;

	if (!e->opened) {
		/* The socket becomes the queue's connection: on_conn here,
		 * on the queue's thread. */
		int fd = dup(e->fd);

		e->opened = 1;
		if (fd < 0)
			return -errno;
		e->opening = 1;
		r = nm_rxq_conn_open(q, fd);
		e->opening = 0;
		if (r < 0)
			return r;
	}
	if (e->xsk && nm_unlikely(!nm_area_live(e->area)))
		revoked(q, e);
	if (e->xsk) {
		refill(q, e);
		n = drain(q, e);
	}
	if (!n && timeout_ms) {
		/* A starved fill ring gets no wake-up: look again soon. */
		if (e->xsk && !e->nposted && (timeout_ms < 0 || timeout_ms > 1))
			timeout_ms = 1;
		r = wait_ready(q, e, timeout_ms);
		if (r)
			return r;
		if (e->xsk && nm_unlikely(!nm_area_live(e->area)))
			revoked(q, e);
		if (e->xsk)
			n = drain(q, e);
	}
	if (e->xsk) {
		refill(q, e);
		if (!n || mono_ns() - e->stats_ns >= XDP_STATS_NS)
			stats_read(q, e);
	}
	return n;
}

static int xdp_queue_fd(struct nm_rxq *q)
{
	struct xdp_q *e = q->eng;
	struct epoll_event ev = { .events = EPOLLIN };

	if (e->epfd >= 0)
		return e->epfd;
	e->epfd = nm_fd_call(epoll_create1(EPOLL_CLOEXEC));
	if (e->epfd < 0)
		return -errno;
	if (epoll_ctl(e->epfd, EPOLL_CTL_ADD, q->evfd, &ev) ||
	    (e->xsk && epoll_ctl(e->epfd, EPOLL_CTL_ADD, e->fd, &ev))) {
		int r = -errno;

		close(e->epfd);
		e->epfd = -1;
		return r;
	}
	if (!e->opened)
		/* Readable at once: the first pass opens the connection and
		 * fills the fill ring, before which no packet can come. */
		nm_rxq_wake(q);
	return e->epfd;
}

/* An application-driven pass: what made the queue's fd readable through
 * q->evfd (a stop, work a pass left) is being seen to now; a pass with
 * no wake written since the last makes no system call here. */
static void xdp_fd_ack(struct nm_rxq *q)
{
	nm_rxq_ack_wake(q);
}

/* Work a pass left that no fd of the queue signals: the connection not
 * yet opened, or a fill ring with no frame (the pool to try again).
 * Packets left in the RX ring are not: the socket's fd is readable while
 * there are any (it is in the queue's fd set and in wait_ready's poll),
 * and a pass drains the ring before it waits; a wake for them would
 * cost every busy pass a write and a read. */
static int xdp_pending(struct nm_rxq *q)
{
	struct xdp_q *e = q->eng;

	if (!e->opened)
		return 1;
	if (!e->xsk)
		return 0;
	return !e->nposted;
}

const struct nm_rx_engine nm_rx_engine_xdp = {
	.name       = "xdp",
	.refuse_flags = NM_RX_F_SPLIT |	/* packets, not streams */
			NM_RX_F_TIMESTAMP,	/* no XDP metadata read yet */
	.burst      = 1,
	.init       = xdp_init,
	.fini       = xdp_fini,
	.listen     = xdp_listen,
	.conn_add   = xdp_conn_add,
	.conn_close = xdp_conn_close,
	.poll       = xdp_poll,
	.queue_fd   = xdp_queue_fd,
	.fd_ack     = xdp_fd_ack,
	.pending    = xdp_pending,
};

#endif /* NM_HAVE_XDP */

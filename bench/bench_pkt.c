/* SPDX-License-Identifier: MIT */
/*
 * bench_pkt.c - `netmem bench pkt [--json] [--reps N] [--seconds S]
 *                                 [--size 64,1472] [--impl LIST] [--no-napi]
 *                                 [--no-pin] [--sender udp|raw] [--verbose]
 *                                 [--plot FILE.svg]`
 *
 * UDP packet receive rate and receiver CPU per packet over the veth rig
 * (tests/netns_rig.h: two network namespaces, a veth pair between them,
 * one queue), netmem's packet engines against baselines in the same run:
 *
 *   xdp       the "xdp" engine through nm_rx (copy mode: all veth has),
 *             a host area of 4 KiB chunks as the UMEM, frames lent to the
 *             callback (NM_RX_F_LEND: the engine takes each back when the
 *             callback returns, as the reference reuses a frame once it
 *             has read it); --put: the callback keeps each frame and
 *             puts it back to the pool in bulks of 32, every put checked;
 *             the packets in bursts (opts.on_pkts: one call per run of
 *             up to 64), or with --per-pkt one on_data call per packet
 *   xsk_ref   the reference: a receiver written directly on libxdp's xsk
 *             API the way its samples do it (xdp-tutorial's AF_XDP
 *             example): a UMEM of 4 KiB frames, free frames on a plain
 *             array stack, the fill ring topped up from it after each
 *             batch, the same ring sizes (4096) and bind flags (copy,
 *             need-wakeup) and frame count as the engine, poll() to wait
 *   udp       the "udp" engine through nm_rx (nm_rx_listen), a host area
 *             of 4 KiB chunks (so no UDP GRO: one datagram per buffer),
 *             buffers lent as xdp's are (recvmmsg reuses its own once
 *             read); --put as for xdp
 *   recvmmsg  plain blocking recvmmsg(), batches of 64, 2 KiB buffers
 *
 * Each run also says what the kernel counted as dropped over the whole run
 * (the receiver's XDP_STATISTICS, both veths' drops, the receiving
 * namespace's UDP InErrors), beside the share of sent packets the receiver
 * did not get in the measured window.
 *
 * Every receiver reads each packet's rig header (magic, length: the
 * payload's first line) and counts it; the figures are the receive path.
 * The sender is the rig's (sendmmsg, batches of 64, flat out, one flow to
 * port 9000), on a thread in the other namespace: by default through a UDP
 * socket; --sender raw sends the same datagrams as frames on an AF_PACKET
 * socket with the qdisc bypassed (about 1.7x the rate: no UDP/IP output
 * path), fast enough that the receiving CPU, not the sender, is the limit
 * of an AF_XDP receiver.  A send refused because the receiving veth's ring
 * was full is sent again and counted ("refused", per 1000 packets): the
 * receiver's side held the sender back, so the pair is not sender-limited.  Each case runs --reps
 * times (default 3) per payload size, interleaved (xdp, xsk_ref, udp,
 * recvmmsg, xdp, ...); each run sends for a warm-up (0.3 s) and then
 * measures --seconds (default 2).  Engines not in this build (or refused
 * here) print "engine not available" and the rest still run.
 *
 * Setup (default): the receiver on the first CPU of the affinity mask,
 * the sender on the second; GRO on the receiving veth and TSO off on the
 * sending one, and the receiving veth's NAPI threaded and pinned to the
 * receiver's CPU, so the kernel's receive work (the XDP program and its
 * copy, or the UDP stack) runs on the receiver's CPU and the receiver is
 * the limit (docs/benchmarks.md, "bench pkt").  --no-napi leaves veth's
 * default: that work runs in softirq on the sender's CPU, and the sender
 * is the limit.  --no-pin pins nothing (and implies --no-napi).
 *
 * Metrics, per run (the window after the warm-up):
 *   kpps          packets received per second (10^3)
 *   offered_kpps  packets the sender sent per second
 *   cpu_ns_per_pkt  busy time of the receiver's CPU (/proc/stat: user,
 *                 system, irq, softirq; not steal) per packet: the receiving thread
 *                 and the kernel's work on its CPU (NAPI thread, softirq);
 *                 only meaningful pinned, on an otherwise idle machine
 *   thread_ns_per_pkt  the receiving thread's own CPU time per packet
 * A run in which other programs took a tenth of a core or more (the
 * machine's CPU time less this process's, the NAPI and ksoftirqd threads',
 * irq and softirq) is repeated once; if it happens again, stderr says the figures
 * are not reliable.
 * and the ratios xdp/xsk_ref, xdp/recvmmsg, udp/recvmmsg (kpps: higher is
 * better; CPU per packet: lower is better).
 *
 * JSON lines (--json): the setup, medians, each rep, and the ratios:
 *   {"bench":"pkt_setup","impl":"veth","metric":"napi_threaded_on_rx_cpu|rx_cpu|tx_cpu",
 *    "value":N}     (1/0; CPU numbers, -1: not pinned)
 *   {"bench":"pkt_setup","impl":"engines","metric":"lend","value":1|0}  (0: --put)
 *   {"bench":"pkt_setup","impl":"xdp","metric":"burst","value":1|0}  (0: --per-pkt)
 *   {"bench":"pkt_setup","impl":"sender","metric":"raw","value":1|0}  (1: --sender raw)
 *   {"bench":"pkt_SIZE","impl":"xdp|xsk_ref|udp|recvmmsg",
 *    "metric":"kpps|offered_kpps|cpu_ns_per_pkt|thread_ns_per_pkt|
 *              sends_refused_per_kpkt","value":N}
 *   {"bench":"pkt_SIZE","impl":"xdp","metric":"kpps_rep1","value":N} ...
 *   {"bench":"pkt_SIZE","impl":"xdp/xsk_ref","metric":"kpps_ratio","value":N}
 *   (and cpu_ratio)
 * Needs root (namespaces, veth, XDP); without it, says so and exits 1.
 */
#include <errno.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <unistd.h>
#include <netmem/netmem.h>
#include <netmem/rx.h>
#include "bench_plot.h"
#include "bench_util.h"
#include "cmds.h"
#include "txrx.h"
#include "../tests/netns_rig.h"

#ifdef NM_HAVE_XDP
#include <dlfcn.h>
#include <linux/if_link.h>
#include <xdp/libxdp.h>
#include <xdp/xsk.h>
#endif

enum { IMPL_XDP, IMPL_REF, IMPL_UDP, IMPL_MMSG, NR_IMPL };
static const char *const impl_name[NR_IMPL] = { "xdp", "xsk_ref", "udp", "recvmmsg" };

#define MAX_REPS	15
#define MAX_SIZES	4
#define FRAME		4096u		/* UMEM frame / pool chunk */
#define NFRAMES		16384u		/* 64 MiB: fill ring + RX ring + slack */
#define RING		4096u		/* RX and fill ring (2048 overflowed on veth) */
#define ETH_IP_UDP	42u		/* Ethernet + IPv4 (no options) + UDP */
#define MMSG_BUF	2048u
#define WARM_S		0.3
/* The veth NAPI's coalescing by default (--napi-defer): without it each
 * packet the sender's veth hands over finds the NAPI idle and wakes its
 * thread on the receiver's CPU, an IPI per few packets, and the sender
 * offered only ~300 kpps (docs/benchmarks.md, "bench pkt"). */
#define NAPI_DEFER_US	20
#define PUT_BATCH	32u		/* the engines' app returns buffers in bulks */

struct pcfg {
	double seconds;
	unsigned int reps, nsizes;
	unsigned int sizes[MAX_SIZES];
	bool json, verbose, napi, pin;
	unsigned int napi_defer_us;	/* --napi-defer: the NAPI's coalescing, 0: none */
	bool put;		/* --put: the engines' callback puts, no NM_RX_F_LEND */
	bool per_pkt;		/* --per-pkt: xdp through on_data, not on_pkts */
	bool raw;		/* --sender raw: AF_PACKET frames, not UDP sockets */
	const char *plot;	/* --plot FILE.svg */
	bool run[NR_IMPL];
	int rx_cpu, tx_cpu;
	struct rig rig;
};

/* One receiver run, shared between its thread and the harness. */
struct rcv {
	const struct pcfg *cfg;
	int impl;
	_Atomic uint64_t pkts;	/* written by the receiving thread only */
	_Atomic uint64_t bad;
	_Atomic int tid;
	atomic_int state;	/* 0 starting, 1 receiving, < 0 -errno: failed */
	atomic_int stop;
	struct nm_rx *_Atomic rx;	/* the engines': for nm_rx_stop */
	atomic_int run_over;	/* the receiving loop returned */
	atomic_int stopped;	/* the harness is done calling nm_rx_stop */
	struct nm_pool *pool;
	uint64_t kdrops;	/* XDP_STATISTICS drops (xdp, xsk_ref) over the run */
	char note[200];
	/* the engines': buffers looked at and not yet given back, returned
	 * in one nm_pool_put_bulk when PUT_BATCH gather or a pass ends */
	unsigned int nheld;
	struct nm_buf held[PUT_BATCH];
	bool lend;	/* NM_RX_F_LEND: nothing to put */
};

static inline void count(struct rcv *r, uint64_t n)
{
	/* one writer: a plain add, no locked instruction on the hot path */
	atomic_store_explicit(&r->pkts, atomic_load_explicit(&r->pkts, memory_order_relaxed) + n,
			      memory_order_relaxed);
}

static inline void check(struct rcv *r, const uint8_t *p, size_t len)
{
	if (rig_check_hdr(p, len, NULL))
		atomic_fetch_add_explicit(&r->bad, 1, memory_order_relaxed);
}

static void fail(struct rcv *r, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void fail(struct rcv *r, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(r->note, sizeof(r->note), fmt, ap);
	va_end(ap);
	atomic_store(&r->state, err < 0 ? err : -EIO);
}

/* ---------------------------------------------------------------- */
/* (a), (c): netmem's engines through nm_rx                          */

static void put_held(struct rcv *r)
{
	if (r->nheld && nm_pool_put_bulk(r->pool, r->held, r->nheld) != (int)r->nheld)
		atomic_fetch_add_explicit(&r->bad, 1, memory_order_relaxed);
	r->nheld = 0;
}

static int eng_data(struct nm_rx *rx, struct nm_rx_conn *c, const struct nm_rx_msg *m, void *user)
{
	struct rcv *r = user;
	uint64_t n = 0;

	for (unsigned int i = 0; i < m->nr; i++) {
		/* a packet engine's message: one buffer, its address given */
		const uint8_t *d = m->pkt && m->pkt->data ? m->pkt->data
							  : nm_buf_data(&m->bufs[i]);
		size_t len = m->bufs[i].len;
		uint32_t seg = m->pkt ? m->pkt->seg_size : 0;

		if (r->impl == IMPL_XDP) {	/* the whole frame: skip to the payload */
			d += ETH_IP_UDP;
			len = len >= ETH_IP_UDP ? len - ETH_IP_UDP : 0;
		}
		if (seg && len > seg) {	/* a GRO batch: datagrams of seg bytes */
			n += (len + seg - 1) / seg;
			len = seg;
		} else {
			n++;
		}
		check(r, d, len);
		if (r->lend)
			continue;	/* lent: the engine takes it back */
		/* Looked at: back to the pool, in bulk (a put per packet
		 * would pay the call and its checks' setup each time). */
		r->held[r->nheld++] = m->bufs[i];
		if (r->nheld == PUT_BATCH)
			put_held(r);
	}
	count(r, n);
	return 0;
}

/* xdp's bursts (opts.on_pkts): eng_data's work, a call per run */
static int eng_pkts(struct nm_rx *rx, struct nm_rx_conn *c, const struct nm_rx_pktbuf *p,
		    unsigned int n, void *user)
{
	struct rcv *r = user;

	for (unsigned int i = 0; i < n; i++) {
		/* the whole frame: skip to the payload */
		size_t len = p[i].buf.len >= ETH_IP_UDP ? p[i].buf.len - ETH_IP_UDP : 0;

		check(r, (const uint8_t *)p[i].data + ETH_IP_UDP, len);
		if (r->lend)
			continue;	/* lent: the engine takes it back */
		r->held[r->nheld++] = p[i].buf;
		if (r->nheld == PUT_BATCH)
			put_held(r);
	}
	count(r, n);
	return 0;
}

/* The port may still be bound a moment after the receiver before let go
 * of it (a socket io_uring held is released when the ring's exit work
 * runs): retry for up to ~3 s. */
static int listen_retry(struct nm_rx *rx, const char *ip)
{
	int e = nm_rx_listen(rx, ip, RIG_PORT);

	for (int i = 0; e == -EADDRINUSE && i < 60; i++) {
		usleep(50000);
		e = nm_rx_listen(rx, ip, RIG_PORT);
	}
	return e;
}

static int bind_retry(int fd, const struct sockaddr_in *a)
{
	int e = bind(fd, (const struct sockaddr *)a, sizeof(*a));

	for (int i = 0; e && errno == EADDRINUSE && i < 60; i++) {
		usleep(50000);
		e = bind(fd, (const struct sockaddr *)a, sizeof(*a));
	}
	return e;
}

static void run_engine(struct rcv *r, const char *engine)
{
	const struct rig *g = &r->cfg->rig;
	NM_OPTS(nm_area_opts, ao, .size = (size_t)NFRAMES * FRAME, .order = 0, .name = "bench-pkt");
	struct nm_area *area = nm_area_create("host", &ao);
	struct nm_rx_stats st;
	struct nm_rx *rx;
	int e;

	if (!area) {
		fail(r, -errno, "host area: %s", strerror(errno));
		return;
	}
	r->pool = nm_pool_create(area, NULL);
	if (!r->pool) {
		fail(r, -errno, "pool: %s", strerror(errno));
		nm_area_destroy(area);
		return;
	}
	NM_OPTS(nm_rx_opts, o, .engine = engine, .pool = r->pool, .on_data = eng_data, .user = r);
	if (r->impl == IMPL_XDP) {
		o.ifname = g->ifname[RIG_RX];
		o.xdp_flags = NM_RX_XDP_COPY;
		if (!r->cfg->per_pkt)
			o.on_pkts = eng_pkts;
	}
	/* lent, as the baselines reuse their buffers once read; --put: the
	 * callback puts each, every put checked */
	if (!r->cfg->put)
		o.flags |= NM_RX_F_LEND;
	r->lend = !r->cfg->put;
	rx = nm_rx_create(&o);
	if (!rx) {
		e = errno;
		fail(r, -e, e == ENOENT ? "engine not available (not in this build)" :
		     "engine not available: nm_rx_create: %s", strerror(e));
		goto out;
	}
	if (r->impl == IMPL_UDP && (e = listen_retry(rx, g->ip[RIG_RX])) < 0) {
		fail(r, e, "nm_rx_listen %s:%d: %s", g->ip[RIG_RX], RIG_PORT, strerror(-e));
		nm_rx_destroy(rx);
		goto out;
	}
	atomic_store(&r->rx, rx);
	atomic_store(&r->state, 1);
	/* The application's own loop (nm_rx_queue_poll), so that it gives
	 * back what it held at the end of every pass. */
	e = 0;
	while (!atomic_load_explicit(&r->stop, memory_order_relaxed)) {
		e = nm_rx_queue_poll(rx, 0, 100);
		put_held(r);
		if (e < 0)
			break;
	}
	put_held(r);
	if (e < 0)
		snprintf(r->note, sizeof(r->note), "nm_rx_queue_poll: %s", strerror(-e));
	if (nm_rx_stats(rx, &st, sizeof(st)) == 0)
		r->kdrops = st.xdp_rx_dropped + st.xdp_rx_ring_full + st.xdp_fill_empty +
			    st.udp_truncated;
	/* the harness may be inside nm_rx_stop(rx) right now: destroy (here,
	 * in the receiving namespace, where the XDP program is detached)
	 * only once it is done with it */
	atomic_store(&r->run_over, 1);
	while (!atomic_load(&r->stopped))
		usleep(1000);
	nm_rx_destroy(rx);
out:
	nm_pool_destroy(r->pool);
	nm_area_destroy(area);
}

/* ---------------------------------------------------------------- */
/* (b): the reference receiver, straight on libxdp's xsk API          */

#ifdef NM_HAVE_XDP
static struct {
	bool tried, ok;
	int (*umem_create)(struct xsk_umem **, void *, __u64, struct xsk_ring_prod *,
			   struct xsk_ring_cons *, const struct xsk_umem_config *);
	int (*umem_delete)(struct xsk_umem *);
	int (*sock_create)(struct xsk_socket **, const char *, __u32, struct xsk_umem *,
			   struct xsk_ring_cons *, struct xsk_ring_prod *,
			   const struct xsk_socket_config *);
	void (*sock_delete)(struct xsk_socket *);
	int (*sock_fd)(const struct xsk_socket *);
	char why[160];
} xl;

static int xl_quiet(enum libxdp_print_level level, const char *fmt, va_list ap)
{
	return 0;
}

static int bpf_quiet(int level, const char *fmt, va_list ap)
{
	return 0;
}

/* libxdp is loaded at run time, as the engine does: the command does not
 * link it.  Its notes (no bpffs, no dispatcher, falling back to a single
 * program) would come once per run: silenced unless --verbose. */
static bool xl_load(bool verbose)
{
	libxdp_print_fn_t (*set_print)(libxdp_print_fn_t);
	void *h;

	if (xl.tried)
		return xl.ok;
	xl.tried = true;
	h = dlopen("libxdp.so.1", RTLD_NOW | RTLD_LOCAL);
	if (!h) {
		snprintf(xl.why, sizeof(xl.why), "cannot load libxdp: %s", dlerror());
		return false;
	}
	*(void **)&xl.umem_create = dlsym(h, "xsk_umem__create");
	*(void **)&xl.umem_delete = dlsym(h, "xsk_umem__delete");
	*(void **)&xl.sock_create = dlsym(h, "xsk_socket__create");
	*(void **)&xl.sock_delete = dlsym(h, "xsk_socket__delete");
	*(void **)&xl.sock_fd = dlsym(h, "xsk_socket__fd");
	*(void **)&set_print = dlsym(h, "libxdp_set_print");
	if (set_print && !verbose)
		set_print(xl_quiet);
	{	/* and libbpf's (libxdp's dependency, found through it) */
		int (*(*bpf_print)(int (*)(int, const char *, va_list)))(int, const char *, va_list);

		*(void **)&bpf_print = dlsym(h, "libbpf_set_print");
		if (bpf_print && !verbose)
			bpf_print(bpf_quiet);
	}
	xl.ok = xl.umem_create && xl.umem_delete && xl.sock_create && xl.sock_delete && xl.sock_fd;
	if (!xl.ok)
		snprintf(xl.why, sizeof(xl.why), "libxdp lacks the xsk API");
	return xl.ok;
}

struct ref {
	void *area;
	struct xsk_umem *umem;
	struct xsk_ring_prod fq;
	struct xsk_ring_cons cq;
	struct xsk_socket *xsk;
	struct xsk_ring_cons rx;
	uint64_t stack[NFRAMES];	/* free frames */
	uint32_t nfree;
};

static void ref_refill(struct ref *x)
{
	uint32_t idx, n = xsk_prod_nb_free(&x->fq, x->nfree);

	if (n > x->nfree)
		n = x->nfree;
	if (!n || xsk_ring_prod__reserve(&x->fq, n, &idx) != n)
		return;
	for (uint32_t i = 0; i < n; i++)
		*xsk_ring_prod__fill_addr(&x->fq, idx++) = x->stack[--x->nfree];
	xsk_ring_prod__submit(&x->fq, n);
}

static void run_ref(struct rcv *r)
{
	const struct rig *g = &r->cfg->rig;
	struct xsk_umem_config uc = { .fill_size = RING, .comp_size = 64, .frame_size = FRAME,
				      .frame_headroom = 0, .flags = 0 };
	struct xsk_socket_config sc = { .rx_size = RING, .tx_size = 0, .libxdp_flags = 0,
					.xdp_flags = 0,
					.bind_flags = XDP_USE_NEED_WAKEUP | XDP_COPY };
	struct xdp_statistics xs;
	socklen_t xl_len = sizeof(xs);
	struct ref *x;
	int e, fd;

	if (!xl_load(r->cfg->verbose)) {
		fail(r, -EOPNOTSUPP, "%s", xl.why);
		return;
	}
	x = calloc(1, sizeof(*x));
	if (!x) {
		fail(r, -ENOMEM, "no memory");
		return;
	}
	x->area = mmap(NULL, (size_t)NFRAMES * FRAME, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	if (x->area == MAP_FAILED) {
		fail(r, -errno, "mmap: %s", strerror(errno));
		free(x);
		return;
	}
	e = xl.umem_create(&x->umem, x->area, (__u64)NFRAMES * FRAME, &x->fq, &x->cq, &uc);
	if (e) {
		fail(r, e, "xsk_umem__create: %s", strerror(-e));
		goto out_area;
	}
	e = xl.sock_create(&x->xsk, g->ifname[RIG_RX], 0, x->umem, &x->rx, NULL, &sc);
	for (int tries = 0; e == -EBUSY && tries < 20 && !atomic_load(&r->stop); tries++) {
		usleep(100000u << (tries < 4 ? tries : 4));	/* the queue was just let go */
		e = xl.sock_create(&x->xsk, g->ifname[RIG_RX], 0, x->umem, &x->rx, NULL, &sc);
	}
	if (e) {
		fail(r, e, "xsk_socket__create on %s: %s", g->ifname[RIG_RX], strerror(-e));
		goto out_umem;
	}
	fd = xl.sock_fd(x->xsk);
	for (uint32_t i = 0; i < NFRAMES; i++)
		x->stack[x->nfree++] = (uint64_t)i * FRAME;
	ref_refill(x);
	atomic_store(&r->state, 1);
	while (!atomic_load_explicit(&r->stop, memory_order_relaxed)) {
		uint32_t idx, n = xsk_ring_cons__peek(&x->rx, 64, &idx);

		if (!n) {
			struct pollfd p = { .fd = fd, .events = POLLIN };

			if (xsk_ring_prod__needs_wakeup(&x->fq))
				recvfrom(fd, NULL, 0, MSG_DONTWAIT, NULL, NULL);
			poll(&p, 1, 100);
			continue;
		}
		for (uint32_t i = 0; i < n; i++) {
			const struct xdp_desc *d = xsk_ring_cons__rx_desc(&x->rx, idx + i);
			const uint8_t *pkt = xsk_umem__get_data(x->area, d->addr);

			check(r, pkt + ETH_IP_UDP, d->len >= ETH_IP_UDP ? d->len - ETH_IP_UDP : 0);
			x->stack[x->nfree++] = xsk_umem__extract_addr(d->addr) & ~(uint64_t)(FRAME - 1);
		}
		xsk_ring_cons__release(&x->rx, n);
		ref_refill(x);
		if (xsk_ring_prod__needs_wakeup(&x->fq))
			recvfrom(fd, NULL, 0, MSG_DONTWAIT, NULL, NULL);
		count(r, n);
	}
	if (getsockopt(fd, SOL_XDP, XDP_STATISTICS, &xs, &xl_len) == 0)
		r->kdrops = xs.rx_dropped + xs.rx_ring_full + xs.rx_fill_ring_empty_descs;
	xl.sock_delete(x->xsk);
out_umem:
	xl.umem_delete(x->umem);
out_area:
	munmap(x->area, (size_t)NFRAMES * FRAME);
	free(x);
}
#else
static void run_ref(struct rcv *r)
{
	fail(r, -EOPNOTSUPP, "not built: no libxdp headers (apt-get install libxdp-dev libbpf-dev)");
}
#endif

/* ---------------------------------------------------------------- */
/* (d): plain blocking recvmmsg                                      */

static void run_mmsg(struct rcv *r)
{
	const struct rig *g = &r->cfg->rig;
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(RIG_PORT),
				 .sin_addr = g->addr[RIG_RX] };
	struct timeval tv = { .tv_usec = 100000 };
	struct mmsghdr mm[RIG_BATCH];
	struct iovec iov[RIG_BATCH];
	uint8_t *bufs = malloc((size_t)RIG_BATCH * MMSG_BUF);
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	if (!bufs || fd < 0 || setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) ||
	    bind_retry(fd, &a)) {
		fail(r, -errno, "recvmmsg socket: %s", strerror(errno));
		goto out;
	}
	memset(mm, 0, sizeof(mm));
	for (int i = 0; i < RIG_BATCH; i++) {
		iov[i] = (struct iovec){ bufs + (size_t)i * MMSG_BUF, MMSG_BUF };
		mm[i].msg_hdr.msg_iov = &iov[i];
		mm[i].msg_hdr.msg_iovlen = 1;
	}
	atomic_store(&r->state, 1);
	while (!atomic_load_explicit(&r->stop, memory_order_relaxed)) {
		int n = recvmmsg(fd, mm, RIG_BATCH, MSG_WAITFORONE, NULL);

		if (n <= 0)
			continue;	/* the timeout (to look at stop), EINTR */
		for (int i = 0; i < n; i++)
			check(r, iov[i].iov_base, mm[i].msg_len);
		count(r, (uint64_t)n);
	}
out:
	if (fd >= 0)
		close(fd);
	free(bufs);
}

static void *rcv_main(void *p)
{
	struct rcv *r = p;

	if (r->cfg->rx_cpu >= 0)
		bu_pin(r->cfg->rx_cpu);	/* nm_rx_run's queue 0 is this thread */
	atomic_store(&r->tid, rig_gettid());
	switch (r->impl) {
	case IMPL_XDP:  run_engine(r, "xdp"); break;
	case IMPL_REF:  run_ref(r); break;
	case IMPL_UDP:  run_engine(r, "udp"); break;
	case IMPL_MMSG: run_mmsg(r); break;
	}
	if (atomic_load(&r->state) == 0)
		fail(r, -EIO, "receiver ended before it started");
	return NULL;
}

/* ---------------------------------------------------------------- */
/* the harness                                                        */

struct result {
	bool ok;
	double kpps, offered_kpps, cpu_ns, thread_ns, loss;
	double others;		/* other programs' CPU, in cores, over the window */
	uint64_t bad;
	uint64_t total;		/* packets the receiver took over the whole run */
	uint64_t kdrops;	/* XDP_STATISTICS, veth and UDP MIB drops, whole run */
	uint64_t retries;	/* sends refused (ENOBUFS: veth's ring full) and sent again */
	double refused;		/* those per 1000 packets sent, over the whole run */
	double pkts_per_sleep;	/* packets received per sleep of the receiving thread */
	char note[320];
};

struct snap {
	double t;
	uint64_t pkts, sent, thread_ns, cpu_ticks;
	uint64_t sleeps;	/* the receiving thread's voluntary context switches */
	double others;	/* machine's CPU s less ours, NAPI's, irq and softirq */
};

/* How often thread @tid has gone to sleep (voluntary_ctxt_switches). */
static uint64_t thread_sleeps(pid_t tid)
{
	char path[64], line[128];
	unsigned long long v = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/task/%d/status", (int)tid);
	f = fopen(path, "r");
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "voluntary_ctxt_switches: %llu", &v) == 1)
			break;
	fclose(f);
	return v;
}

/*
 * CPU seconds the whole machine spent, less what this run accounts for:
 * this process (sender and receiver threads), the veth's NAPI kthreads,
 * the ksoftirqd threads, and irq and softirq time (which the kernel may charge to no task).  What
 * is left is other programs: on a 2-core machine a run beside someone
 * else's build measures that build (as bench rx does, the run is repeated
 * once and a warning printed).
 */
static double others_cpu_s(const struct rig *g)
{
	unsigned long long v[8] = { 0 };
	struct rusage ru;
	double machine, ours;
	FILE *f = fopen("/proc/stat", "r");
	int n = f ? fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2],
			   &v[3], &v[4], &v[5], &v[6], &v[7]) : 0;

	if (f)
		fclose(f);
	if (n < 7)
		return 0;
	machine = (double)(v[0] + v[1] + v[2] + v[7]) / (double)sysconf(_SC_CLK_TCK);
	getrusage(RUSAGE_SELF, &ru);
	ours = (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec * 1e-6 +
	       (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec * 1e-6;
	return machine - ours - rig_kthreads_cpu_s(g);
}

static void take(struct snap *s, struct rcv *r, const struct rig_tx *tx, int cpu)
{
	s->t = bu_now();
	s->pkts = atomic_load_explicit(&r->pkts, memory_order_relaxed);
	s->sent = rig_tx_sent(tx);
	s->thread_ns = rig_thread_cpu_ns(atomic_load(&r->tid));
	s->sleeps = thread_sleeps(atomic_load(&r->tid));
	s->cpu_ticks = cpu >= 0 ? rig_cpu_busy_ticks(cpu) : 0;
	s->others = others_cpu_s(&r->cfg->rig);
}

static void sleep_s(double s)
{
	struct timespec ts = { (time_t)s, (long)((s - (double)(time_t)s) * 1e9) };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

static void run_case(struct pcfg *cfg, int impl, unsigned int size, struct result *res)
{
	struct rcv *r = calloc(1, sizeof(*r));
	struct rig_tx tx = { .rig = &cfg->rig, .size = size, .pin = cfg->tx_cpu >= 0,
			     .cpu = cfg->tx_cpu, .raw = cfg->raw };
	struct rig_drops d0, d1;
	struct snap a, b;
	pthread_t th;
	double end;
	int e;

	memset(res, 0, sizeof(*res));
	if (!r) {
		snprintf(res->note, sizeof(res->note), "no memory");
		return;
	}
	r->cfg = cfg;
	r->impl = impl;
	e = rig_thread(&cfg->rig, RIG_RX, rcv_main, r, &th);
	if (e) {
		snprintf(res->note, sizeof(res->note), "receiver thread: %s", strerror(-e));
		free(r);
		return;
	}
	for (end = bu_now() + 30; atomic_load(&r->state) == 0 && bu_now() < end;)
		sleep_s(0.005);
	if (atomic_load(&r->state) != 1) {
		atomic_store(&r->stop, 1);
		pthread_join(th, NULL);
		snprintf(res->note, sizeof(res->note), "%s", r->note[0] ? r->note : "did not start");
		free(r);
		return;
	}
	if (rig_drops(&cfg->rig, &d0))
		memset(&d0, 0, sizeof(d0));
	e = rig_tx_start(&tx);
	if (e) {
		snprintf(res->note, sizeof(res->note), "sender: %s", strerror(-e));
	} else {
		sleep_s(WARM_S);
		take(&a, r, &tx, cfg->rx_cpu);
		sleep_s(cfg->seconds);
		take(&b, r, &tx, cfg->rx_cpu);
		e = rig_tx_stop(&tx);
		if (e)
			snprintf(res->note, sizeof(res->note), "sender: %s", strerror(-e));
	}
	atomic_store(&r->stop, 1);
	{
		struct nm_rx *rx = atomic_load(&r->rx);

		/* again until the run is over: a stop before nm_rx_run began
		 * might not end it */
		for (int i = 0; rx && i < 3000 && !atomic_load(&r->run_over); i++) {
			nm_rx_stop(rx);
			sleep_s(0.01);
		}
		atomic_store(&r->stopped, 1);
	}
	pthread_join(th, NULL);
	if ((impl == IMPL_XDP || impl == IMPL_REF) && !rig_xdp_gone(&cfg->rig, 5.0) && !e) {
		snprintf(res->note, sizeof(res->note), "an XDP program stayed on %s after the "
			 "receiver ended", cfg->rig.ifname[RIG_RX]);
		e = -EBUSY;
	}
	if (rig_drops(&cfg->rig, &d1))
		d1 = d0;
	if (!e) {
		double dt = b.t - a.t, dp = (double)(b.pkts - a.pkts);

		res->kpps = dp / dt / 1e3;
		res->offered_kpps = (double)(b.sent - a.sent) / dt / 1e3;
		res->loss = b.sent > a.sent ? 1.0 - dp / (double)(b.sent - a.sent) : 0;
		res->others = (b.others - a.others) / dt;
		res->thread_ns = dp > 0 ? (double)(b.thread_ns - a.thread_ns) / dp : 0;
		res->pkts_per_sleep = b.sleeps > a.sleeps ? dp / (double)(b.sleeps - a.sleeps) : dp;
		res->cpu_ns = dp > 0 && cfg->rx_cpu >= 0 ?
			(double)(b.cpu_ticks - a.cpu_ticks) * 1e9 / (double)sysconf(_SC_CLK_TCK) / dp : 0;
		res->bad = atomic_load(&r->bad);
		res->retries = tx.retries;
		res->refused = tx.sent ? (double)tx.retries * 1e3 / (double)tx.sent : 0;
		res->total = atomic_load(&r->pkts);
		res->kdrops = r->kdrops + (d1.tx_dropped - d0.tx_dropped) +
			      (d1.rx_dropped - d0.rx_dropped) + (d1.udp_in_errors - d0.udp_in_errors);
		res->ok = dp > 0;
		if (!res->ok)
			snprintf(res->note, sizeof(res->note), "nothing received (offered %.1f kpps, "
				 "%llu sends retried, kernel drop counters %llu)%s%s", res->offered_kpps,
				 (unsigned long long)tx.retries, (unsigned long long)res->kdrops,
				 r->note[0] ? ": " : "", r->note);
		else if (res->bad)
			snprintf(res->note, sizeof(res->note), "%llu packets with a bad rig header",
				 (unsigned long long)res->bad);
	}
	free(r);
}

static double median(double *v, int n)
{
	double c[MAX_REPS];

	if (n <= 0)
		return 0;
	memcpy(c, v, sizeof(double) * (size_t)n);
	return bu_median(c, (unsigned int)n);
}

static double min_of(const double *v, int n)
{
	double m = n ? v[0] : 0;

	for (int i = 1; i < n; i++)
		m = v[i] < m ? v[i] : m;
	return m;
}

static double max_of(const double *v, int n)
{
	double m = n ? v[0] : 0;

	for (int i = 1; i < n; i++)
		m = v[i] > m ? v[i] : m;
	return m;
}

static int usage(void)
{
	fprintf(stderr,
		"usage: netmem bench pkt [--json] [--reps N] [--seconds S] [--size 64,1472]\n"
		"                        [--impl xdp,xsk_ref,udp,recvmmsg] [--no-napi] [--no-pin]\n"
		"                        [--napi-defer US] [--put] [--per-pkt] [--sender udp|raw]\n"
		"                        [--verbose] [--plot FILE.svg]\n");
	return 2;
}

static int parse_args(struct pcfg *cfg, int argc, char **argv)
{
	uint64_t v;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *next = i + 1 < argc ? argv[i + 1] : NULL;

		if (!strcmp(a, "--json")) {
			cfg->json = true;
		} else if (!strcmp(a, "--verbose") || !strcmp(a, "-v")) {
			cfg->verbose = true;
		} else if (!strcmp(a, "--plot") && next && *next) {
			cfg->plot = next;
			i++;
		} else if (!strcmp(a, "--no-napi")) {
			cfg->napi = false;
		} else if (!strcmp(a, "--napi-defer") && next) {
			if (nm_parse_uint(next, 0, 1000, &v)) {
				fprintf(stderr, "netmem bench pkt: --napi-defer '%s': expected 0 to "
					"1000 (microseconds)\n", next);
				return 2;
			}
			cfg->napi_defer_us = (unsigned int)v;
			i++;
		} else if (!strcmp(a, "--put")) {
			cfg->put = true;
		} else if (!strcmp(a, "--per-pkt")) {
			cfg->per_pkt = true;
		} else if (!strcmp(a, "--sender") && next) {
			if (strcmp(next, "udp") && strcmp(next, "raw")) {
				fprintf(stderr, "netmem bench pkt: --sender '%s': expected udp or raw\n",
					next);
				return 2;
			}
			cfg->raw = !strcmp(next, "raw");
			i++;
		} else if (!strcmp(a, "--no-pin")) {
			cfg->pin = false;
			cfg->napi = false;
		} else if (!strcmp(a, "--seconds") && next) {
			if (nm_parse_secs(next, &cfg->seconds) || cfg->seconds > 60) {
				fprintf(stderr, "netmem bench pkt: --seconds '%s': expected 0 < S <= 60\n", next);
				return 2;
			}
			i++;
		} else if (!strcmp(a, "--reps") && next) {
			if (nm_parse_uint(next, 1, MAX_REPS, &v)) {
				fprintf(stderr, "netmem bench pkt: --reps '%s': expected 1 to %d\n", next, MAX_REPS);
				return 2;
			}
			cfg->reps = (unsigned int)v;
			i++;
		} else if (!strcmp(a, "--size") && next) {
			char *list = strdup(next), *save, *t;

			cfg->nsizes = 0;
			for (t = strtok_r(list, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
				if (cfg->nsizes == MAX_SIZES || nm_parse_uint(t, RIG_HDR_LEN, 1472, &v)) {
					fprintf(stderr, "netmem bench pkt: --size '%s': expected up to %d "
						"sizes from %u to 1472 (one MTU)\n", next, MAX_SIZES, RIG_HDR_LEN);
					free(list);
					return 2;
				}
				cfg->sizes[cfg->nsizes++] = (unsigned int)v;
			}
			free(list);
			if (!cfg->nsizes)
				return usage();
			i++;
		} else if (!strcmp(a, "--impl") && next) {
			char *list = strdup(next), *save, *t;

			memset(cfg->run, 0, sizeof(cfg->run));
			for (t = strtok_r(list, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
				int k;

				for (k = 0; k < NR_IMPL && strcmp(t, impl_name[k]); k++)
					;
				if (k == NR_IMPL) {
					fprintf(stderr, "netmem bench pkt: --impl: unknown '%s'\n", t);
					free(list);
					return 2;
				}
				cfg->run[k] = true;
			}
			free(list);
			i++;
		} else {
			fprintf(stderr, "netmem bench pkt: unknown or incomplete option '%s'\n", a);
			return usage();
		}
	}
	return 0;
}

static void json(const char *bench, const char *impl, const char *metric, double v)
{
	printf("{\"bench\":\"%s\",\"impl\":\"%s\",\"metric\":\"%s\",\"value\":%.3f}\n",
	       bench, impl, metric, v);
}

static const int ratio_pairs[][2] = {
	{ IMPL_XDP, IMPL_REF }, { IMPL_XDP, IMPL_MMSG }, { IMPL_UDP, IMPL_MMSG },
};

/*
 * --plot: per payload size a panel of packets per second and one of CPU
 * per packet, a bar per receiver (median, min-max whisker), xdp's and
 * udp's bars with their ratios to the baselines.
 */
static int write_plot(const struct pcfg *cfg, struct result res[][NR_IMPL][MAX_REPS],
		      int nok[][NR_IMPL], char note[][NR_IMPL][320])
{
	static char titles[2 * MAX_SIZES][64];
	struct bp_panel p[2 * MAX_SIZES];
	char sub[256];
	int np = 0, r;

	memset(p, 0, sizeof(p));
	for (unsigned int s = 0; s < cfg->nsizes; s++) {
		for (int m = 0; m < 2; m++) {
			struct bp_panel *q = &p[np];
			double med[NR_IMPL];

			snprintf(titles[np], sizeof(titles[np]), "%u-byte payloads: %s", cfg->sizes[s],
				 m ? "receiver CPU per packet" : "packets received per second");
			q->title = titles[np++];
			q->unit = m ? "ns/pkt" : "kpps";
			q->higher_better = m == 0;
			for (int k = 0; k < NR_IMPL; k++) {
				double v[MAX_REPS];

				for (int i = 0; i < nok[s][k]; i++)
					v[i] = m ? res[s][k][i].cpu_ns : res[s][k][i].kpps;
				med[k] = median(v, nok[s][k]);
			}
			for (int k = 0; k < NR_IMPL; k++) {
				struct bp_bar *b = &q->bar[q->nbar++];
				double v[MAX_REPS];
				int len;

				b->name = impl_name[k];
				b->have = nok[s][k] > 0;
				if (!b->have) {
					snprintf(b->note, sizeof(b->note), "not measured%s%.70s",
						 note[s][k][0] ? ": " : "", note[s][k]);
					continue;
				}
				for (int i = 0; i < nok[s][k]; i++)
					v[i] = m ? res[s][k][i].cpu_ns : res[s][k][i].kpps;
				b->med = med[k];
				b->lo = min_of(v, nok[s][k]);
				b->hi = max_of(v, nok[s][k]);
				len = snprintf(b->note, sizeof(b->note), "%.0f", b->med);
				for (size_t i = 0; i < sizeof(ratio_pairs) / sizeof(ratio_pairs[0]); i++) {
					int a = ratio_pairs[i][0], d = ratio_pairs[i][1];

					if (a != k || !nok[s][d] || med[d] <= 0 || len >= (int)sizeof(b->note))
						continue;
					len += snprintf(b->note + len, sizeof(b->note) - (size_t)len,
							"   /%s %.2f", impl_name[d], med[k] / med[d]);
				}
			}
		}
	}
	snprintf(sub, sizeof(sub), "UDP over veth between two namespaces, sendmmsg sender flat "
		 "out; %s; %.1f s x %u reps per case, interleaved; median (bar), min-max (whisker); "
		 "netmem %s", cfg->napi ? "veth NAPI threaded on the receiver's CPU" :
		 "veth's receive work on the sender's CPU", cfg->seconds, cfg->reps, nm_version());
	r = bp_svg(cfg->plot, "netmem bench pkt: the packet engines against libxdp and recvmmsg",
		   sub, p, np);
	if (r)
		fprintf(stderr, "netmem bench pkt: --plot %s: %s\n", cfg->plot, strerror(-r));
	return r;
}

/* Whether a receiver's rate was its sender's: it took (nearly) all the
 * sender offered, and the sender was not held back by the receiving side
 * (a send refused because the receiving veth's ring was full: the NAPI on
 * the receiver's CPU had fallen behind).  A ratio of two such is no
 * comparison of the receivers.  @refused: sends refused per 1000 packets. */
#define REFUSED_HELD	0.1
static bool took_all(double kpps, double offered, double refused)
{
	return offered > 0 && kpps >= 0.98 * offered && refused < REFUSED_HELD;
}

/* Print one payload size's figures. */
static void report(const struct pcfg *cfg, unsigned int size, struct result res[][MAX_REPS],
		   const int *nok, char note[][320])
{
	double kpps[NR_IMPL][MAX_REPS], cpu[NR_IMPL][MAX_REPS], thr[NR_IMPL][MAX_REPS],
	       off[NR_IMPL][MAX_REPS], ref[NR_IMPL][MAX_REPS], mk[NR_IMPL], mc[NR_IMPL],
	       mt[NR_IMPL], mo[NR_IMPL], mr[NR_IMPL];
	char bench[32];

	snprintf(bench, sizeof(bench), "pkt_%u", size);
	for (int k = 0; k < NR_IMPL; k++) {
		for (int i = 0; i < nok[k]; i++) {
			kpps[k][i] = res[k][i].kpps;
			cpu[k][i] = res[k][i].cpu_ns;
			thr[k][i] = res[k][i].thread_ns;
			off[k][i] = res[k][i].offered_kpps;
			ref[k][i] = res[k][i].refused;
		}
		mk[k] = median(kpps[k], nok[k]);
		mc[k] = median(cpu[k], nok[k]);
		mt[k] = median(thr[k], nok[k]);
		mo[k] = median(off[k], nok[k]);
		mr[k] = median(ref[k], nok[k]);
	}
	if (cfg->json) {
		for (int k = 0; k < NR_IMPL; k++) {
			char m[32];

			if (!nok[k])
				continue;
			json(bench, impl_name[k], "kpps", mk[k]);
			json(bench, impl_name[k], "offered_kpps", mo[k]);
			if (cfg->rx_cpu >= 0)
				json(bench, impl_name[k], "cpu_ns_per_pkt", mc[k]);
			json(bench, impl_name[k], "thread_ns_per_pkt", mt[k]);
			json(bench, impl_name[k], "sends_refused_per_kpkt", mr[k]);
			for (int i = 0; i < nok[k]; i++) {
				snprintf(m, sizeof(m), "kpps_rep%d", i + 1);
				json(bench, impl_name[k], m, kpps[k][i]);
			}
		}
		for (size_t p = 0; p < sizeof(ratio_pairs) / sizeof(ratio_pairs[0]); p++) {
			int a = ratio_pairs[p][0], b = ratio_pairs[p][1];
			char name[32];

			if (!nok[a] || !nok[b] || mk[b] <= 0)
				continue;
			snprintf(name, sizeof(name), "%s/%s", impl_name[a], impl_name[b]);
			json(bench, name, "kpps_ratio", mk[a] / mk[b]);
			if (cfg->rx_cpu >= 0 && mc[b] > 0)
				json(bench, name, "cpu_ratio", mc[a] / mc[b]);
			json(bench, name, "sender_limited",
			     took_all(mk[a], mo[a], mr[a]) && took_all(mk[b], mo[b], mr[b]));
		}
		return;
	}
	printf("\n%u-byte payloads\n", size);
	printf("%-9s %9s %17s %9s %10s %10s %9s %5s\n", "impl", "kpps", "(min-max)", "offered",
	       "CPU ns/pkt", "thread ns", "refused", "runs");
	for (int k = 0; k < NR_IMPL; k++) {
		char spread[40];

		if (!nok[k]) {
			if (cfg->run[k])
				printf("%-9s %9s %17s %9s %10s %10s %9s %5d   %s\n", impl_name[k], "-",
				       "", "", "-", "-", "-", 0, note[k][0] ? note[k] : "not run");
			continue;
		}
		snprintf(spread, sizeof(spread), "(%.0f-%.0f)", min_of(kpps[k], nok[k]),
			 max_of(kpps[k], nok[k]));
		printf("%-9s %9.1f %17s %9.1f %10.0f %10.0f %9.2f %5d\n", impl_name[k], mk[k],
		       spread, mo[k], mc[k], mt[k], mr[k], nok[k]);
	}
	printf("(refused: the sender's sends refused per 1000 packets, the receiving veth's "
	       "ring full: the receiver's side the limit)\n");
	printf("ratios (kpps: higher is better; CPU per packet: lower is better)\n");
	for (size_t p = 0; p < sizeof(ratio_pairs) / sizeof(ratio_pairs[0]); p++) {
		int a = ratio_pairs[p][0], b = ratio_pairs[p][1];

		if (!nok[a] || !nok[b] || mk[b] <= 0) {
			printf("  %s/%s: n/a (%s not measured)\n", impl_name[a], impl_name[b],
			       nok[a] ? impl_name[b] : impl_name[a]);
			continue;
		}
		printf("  %s/%-9s kpps %.3f   CPU per packet %.3f%s\n", impl_name[a], impl_name[b],
		       mk[a] / mk[b], mc[b] > 0 ? mc[a] / mc[b] : 0,
		       took_all(mk[a], mo[a], mr[a]) && took_all(mk[b], mo[b], mr[b]) ?
		       "   (sender-limited: both took all it offered, unhindered, so the kpps "
		       "ratio is the sender's; compare CPU per packet)" : "");
	}
}

int cmd_bench_pkt(int argc, char **argv)
{
	static struct result res[MAX_SIZES][NR_IMPL][MAX_REPS];
	struct pcfg *cfg = calloc(1, sizeof(*cfg));
	int nok[MAX_SIZES][NR_IMPL] = { { 0 } }, any = 0, e;
	char note[MAX_SIZES][NR_IMPL][320];
	const char *why;
	char setup[256];
	double busy_worst = 0;
	unsigned int retried = 0;

	if (!cfg)
		return 1;
	memset(note, 0, sizeof(note));
	cfg->seconds = 2;
	cfg->reps = 3;
	cfg->nsizes = 2;
	cfg->sizes[0] = 64;
	cfg->sizes[1] = 1472;
	cfg->napi = cfg->pin = true;
	cfg->napi_defer_us = NAPI_DEFER_US;
	cfg->rx_cpu = cfg->tx_cpu = -1;
	for (int k = 0; k < NR_IMPL; k++)
		cfg->run[k] = true;
	e = parse_args(cfg, argc, argv);
	if (e) {
		free(cfg);
		return e;
	}
	why = rig_unavailable();
	if (why) {
		fprintf(stderr, "netmem bench pkt: the veth rig cannot run here: %s\n", why);
		free(cfg);
		return 1;
	}
	if (cfg->pin) {
		int cpus[2];

		if (bu_cpus(cpus, 2) == 2) {
			cfg->rx_cpu = cpus[0];
			cfg->tx_cpu = cpus[1];
		} else {
			fprintf(stderr, "netmem bench pkt: fewer than 2 CPUs to pin to: receiver and "
				"sender left to the scheduler, veth's NAPI not threaded\n");
			cfg->napi = false;
		}
	}
	{
		struct rig_opts o = { .tag = "bench", .queues = 1, .gro = cfg->napi,
				      .tso_off = cfg->napi, .napi_threaded = cfg->napi,
				      .napi_pin = cfg->napi, .napi_cpu = cfg->rx_cpu,
				      .napi_defer_us = cfg->napi ? cfg->napi_defer_us : 0 };

		e = rig_up(&cfg->rig, &o);
		if (e && cfg->napi) {
			fprintf(stderr, "netmem bench pkt: threaded NAPI refused (%s): the veth's "
				"receive work stays on the sender's CPU\n", cfg->rig.why);
			cfg->napi = false;
			o.gro = o.tso_off = o.napi_threaded = o.napi_pin = 0;
			o.napi_defer_us = 0;
			e = rig_up(&cfg->rig, &o);
		}
		if (e) {
			fprintf(stderr, "netmem bench pkt: rig: %s (%s)\n", cfg->rig.why, strerror(-e));
			free(cfg);
			return 1;
		}
	}
	if (!cfg->napi)
		cfg->napi_defer_us = 0;
	if (cfg->rx_cpu >= 0 && cfg->napi)
		snprintf(setup, sizeof(setup), "receiver on CPU %d, sender on CPU %d, veth NAPI "
			 "threaded on the receiver's CPU (GRO on the receiving veth, TSO off on the "
			 "sender's; the NAPI deferred %u us)", cfg->rx_cpu, cfg->tx_cpu,
			 cfg->napi_defer_us);
	else if (cfg->rx_cpu >= 0)
		snprintf(setup, sizeof(setup), "receiver on CPU %d, sender on CPU %d, veth's "
			 "receive work in softirq on the sender's CPU", cfg->rx_cpu, cfg->tx_cpu);
	else
		snprintf(setup, sizeof(setup), "not pinned, veth's receive work in softirq on the "
			 "sender's CPU");
	if (cfg->json) {
		json("pkt_setup", "veth", "napi_threaded_on_rx_cpu", cfg->napi);
		json("pkt_setup", "veth", "napi_defer_us", cfg->napi_defer_us);
		json("pkt_setup", "engines", "lend", !cfg->put);
		json("pkt_setup", "xdp", "burst", !cfg->per_pkt);
		json("pkt_setup", "sender", "raw", cfg->raw);
		json("pkt_setup", "veth", "rx_cpu", cfg->rx_cpu);
		json("pkt_setup", "veth", "tx_cpu", cfg->tx_cpu);
	} else
		printf("bench pkt: UDP over a veth pair between two namespaces, sendmmsg sender "
		       "(%s, batches of %d, flat out); %s; %.1f s (after %.1f s warm-up) x %u reps "
		       "per case, interleaved; medians\n", cfg->raw ?
		       "AF_PACKET frames, qdisc bypassed" : "UDP socket", RIG_BATCH, setup,
		       cfg->seconds, WARM_S, cfg->reps);
	if (!cfg->json && (cfg->run[IMPL_XDP] || cfg->run[IMPL_UDP]))
		printf("xdp, udp: %s\n", cfg->put ?
		       "the callback puts each buffer back (bulks of 32, every put checked)" :
		       "buffers lent to the callback (NM_RX_F_LEND), taken back when it returns");
	if (!cfg->json && cfg->run[IMPL_XDP])
		printf("xdp: %s\n", cfg->per_pkt ? "on_data, a call per packet (--per-pkt)" :
		       "on_pkts, a call per burst of up to 64 packets");
	for (unsigned int s = 0; s < cfg->nsizes; s++) {
		for (unsigned int rep = 0; rep < cfg->reps; rep++) {
			for (int k = 0; k < NR_IMPL; k++) {
				struct result r;
				int tries = 0;

				if (!cfg->run[k] || (rep && !nok[s][k] && note[s][k][0]))
					continue;	/* not there the first time: not again */
again:
				run_case(cfg, k, cfg->sizes[s], &r);
				if (r.ok && cfg->verbose)	/* e.g. for instructions per packet */
					fprintf(cfg->json ? stderr : stdout,
						"      %llu packets received in all (warm-up and "
						"drain included), %llu sends refused and sent again, "
						"%.1f packets a sleep of the receiving thread, "
						"others' CPU %.2f cores\n", (unsigned long long)r.total,
						(unsigned long long)r.retries, r.pkts_per_sleep, r.others);
				/* others took a tenth of a core or more: one more chance */
				if (r.ok && r.others > 0.1 && tries++ < 1) {
					retried++;
					goto again;
				}
				if (r.ok && r.others > busy_worst)
					busy_worst = r.others;
				/* every rep on stdout; with --json on stderr, failures always */
				if (cfg->verbose || !cfg->json || !r.ok) {
					if (r.ok)
						fprintf(cfg->json ? stderr : stdout,
							"  %4u B rep %u %-9s %8.1f kpps (offered %.1f, "
							"%.2f%% not received, kernel drop counters %llu)"
							"  CPU %.0f ns/pkt  thread %.0f ns/pkt\n",
							cfg->sizes[s], rep + 1, impl_name[k], r.kpps,
							r.offered_kpps, 100 * r.loss,
							(unsigned long long)r.kdrops, r.cpu_ns, r.thread_ns);
					else
						fprintf(cfg->json ? stderr : stdout,
							"  %4u B rep %u %-9s %s\n", cfg->sizes[s], rep + 1,
							impl_name[k], r.note);

				}
				if (!r.ok) {
					snprintf(note[s][k], sizeof(note[s][k]), "%s", r.note);
					continue;
				}
				res[s][k][nok[s][k]++] = r;
				any = 1;
			}
		}
		fflush(stdout);
	}
	for (unsigned int s = 0; s < cfg->nsizes; s++)
		report(cfg, cfg->sizes[s], res[s], nok[s], note[s]);
	if (busy_worst > 0.1)
		fprintf(stderr, "netmem bench pkt: warning: other programs used up to %.0f%% of a "
			"core during a run (%u run%s repeated for that); the figures are not "
			"reliable, run it again on an idle machine\n", 100 * busy_worst, retried,
			retried == 1 ? "" : "s");
	rig_down(&cfg->rig);
	if (cfg->plot && write_plot(cfg, res, nok, note))
		any = 0;
	free(cfg);
	return any ? 0 : 1;
}

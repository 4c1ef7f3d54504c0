/* SPDX-License-Identifier: MIT */
/*
 * test_xdp_util.h - what the xdp engine's tests share: the veth rig
 * (netns_rig.h) with an "xdp" receiver on its receiving side, a receiver
 * that checks every packet (Ethernet, IPv4, UDP, then the rig's payload:
 * magic, seq, checksum), and the accounting that says where every packet
 * sent went: delivered, or counted as dropped by the kernel (the socket's
 * XDP_STATISTICS in the receiver's stats, the veths' own drop counters).
 * With xt.burst the receiver takes bursts (opts.on_pkts, no on_data) and
 * checks each packet of a burst as on_data's are checked.
 */
#ifndef NM_TEST_XDP_UTIL_H
#define NM_TEST_XDP_UTIL_H
#include "harness.h"
#include "netns_rig.h"
#include <netmem/rx.h>
#include <stdatomic.h>

#define XT_MAX_HELD 8192

struct xt {
	struct rig rig;
	struct nm_area *area;
	struct nm_pool *pools[2];
	unsigned int nq;
	struct nm_rx *rx;
	struct rig_track track;	/* (re)made and read by payloads under track_lock */
	pthread_mutex_t track_lock;
	_Atomic uint64_t pkts, foreign, bad_queue, bad_off, unreadable;
	_Atomic uint64_t per_q[2];
	_Atomic int conns, closes, close_err, conn_fd_ok;
	/* hold: keep what arrives instead of putting it back (with
	 * NM_RX_F_LEND: take a reference on it) */
	_Atomic int hold;
	unsigned int rx_flags;	/* nm_rx_opts.flags: 0 or NM_RX_F_LEND */
	_Atomic uint64_t bad_data;	/* pkt->data was not nm_buf_data()'s */
	uint64_t fail_at;	/* on_data says -EIO from this packet on; 0: never */
	/* bursts (opts.on_pkts instead of on_data) */
	int burst;
	_Atomic uint64_t bursts, burst_pkts;	/* on_pkts calls, packets in them */
	_Atomic uint64_t after_err;	/* on_pkts calls after one said -EIO */
	_Atomic int failed;
	uint64_t hold_every;	/* hold every Nth packet (with hold) */
	_Atomic uint64_t nseen;
	uint64_t last_seq;	/* one queue: the last seq seen + 1, under track_lock */
	_Atomic uint64_t out_of_order;
	pthread_mutex_t held_lock;
	struct nm_buf held[XT_MAX_HELD];
	unsigned int nheld;
	pthread_t runner;
	int running;
	_Atomic int run_ret;
	struct rig_drops d0;	/* the veths' counters before sending */
	uint64_t xd0;		/* and the sockets' drops */
	_Alignas(8) uint8_t scratch[2][2048];	/* per queue: an aligned copy */
};

static inline int xt_on_conn(struct nm_rx *rx, struct nm_rx_conn *c, void *user)
{
	struct xt *t = user;

	if (nm_rx_conn_fd(c) >= 0)
		atomic_fetch_add(&t->conn_fd_ok, 1);
	atomic_fetch_add(&t->conns, 1);
	return 0;
}

static inline void xt_on_close(struct nm_rx *rx, struct nm_rx_conn *c, int err, void *user)
{
	struct xt *t = user;

	atomic_store(&t->close_err, err);
	atomic_fetch_add(&t->closes, 1);
}

/* The UDP payload of an Ethernet/IPv4/UDP frame, or NULL. */
static inline const uint8_t *xt_payload(const uint8_t *f, uint32_t len, uint32_t *plen)
{
	uint32_t ihl, ulen;

	if (len < 14 + 20 + 8 || f[12] != 0x08 || f[13] != 0x00)
		return NULL;
	ihl = (uint32_t)(f[14] & 0xf) * 4;
	if (f[23] != 17 || ihl < 20 || len < 14 + ihl + 8)
		return NULL;
	ulen = (uint32_t)f[14 + ihl + 4] << 8 | f[14 + ihl + 5];
	if (ulen < 8 || 14 + ihl + ulen > len)
		return NULL;
	*plen = ulen - 8;
	return f + 14 + ihl + 8;
}

/* One packet, as on_data or on_pkts gives it: checked, counted, tracked;
 * kept (hold) or put back (unless lent).  0, or -EIO from fail_at on. */
static inline int xt_pkt(struct xt *t, struct nm_rx_conn *c, const struct nm_buf *b,
			 const void *data, uint32_t queue_id)
{
	const uint8_t *f = nm_buf_data(b), *p;
	uint32_t plen = 0;
	int q = nm_rx_conn_queue(c);

	if (t->fail_at && atomic_fetch_add(&t->pkts, 1) + 1 >= t->fail_at) {
		/* the buffer is ours whatever we return */
		if (!(t->rx_flags & NM_RX_F_LEND))
			CHECK_EQ(nm_buf_put(b), 0);
		return -EIO;
	}
	if (!t->fail_at)
		atomic_fetch_add(&t->pkts, 1);
	if (data != f)
		atomic_fetch_add(&t->bad_data, 1);
	if (!f) {
		/* only once the area is revoked (from another thread, at any
		 * time: a packet drained just before is delivered after) */
		struct nm_area_info ai;

		REQUIRE(!nm_area_info(t->area, &ai, sizeof(ai)) && ai.state != NM_AREA_LIVE);
		atomic_fetch_add(&t->unreadable, 1);
		if (!(t->rx_flags & NM_RX_F_LEND))
			CHECK_EQ(nm_buf_put(b), 0);
		return 0;
	}
	if (q >= 0 && q < 2)
		atomic_fetch_add(&t->per_q[q], 1);
	if (queue_id != (uint32_t)q)	/* rig queues: queue_id 0 + q */
		atomic_fetch_add(&t->bad_queue, 1);
	/* the packet lies past the XDP headroom, inside its frame */
	if (b->off < 256 || (uint64_t)b->off + b->len > nm_pool_chunk_size(t->pools[q]))
		atomic_fetch_add(&t->bad_off, 1);
	p = xt_payload(f, b->len, &plen);
	if (!p || plen > sizeof(t->scratch[0])) {
		if (atomic_fetch_add(&t->foreign, 1) < 4)
			fprintf(stderr, "foreign frame: %u bytes, ethertype 0x%02x%02x, "
				"ip proto %u\n", b->len, f[12], f[13], b->len > 23 ? f[23] : 0);
	} else {
		/* the rig reads its header as a struct: 8-byte aligned, which a
		 * UDP payload 42 bytes into a frame is not */
		uint64_t seq;

		pthread_mutex_lock(&t->track_lock);
		if (t->track.bits) {
			rig_track(&t->track, memcpy(t->scratch[q], p, plen), plen);
			/* one queue, one flow: seqs only go up */
			if (t->nq == 1 && !rig_check_payload(t->scratch[q], plen, &seq, NULL)) {
				if (seq + 1 <= t->last_seq)
					atomic_fetch_add(&t->out_of_order, 1);
				t->last_seq = seq + 1;
			}
		}
		pthread_mutex_unlock(&t->track_lock);
	}
	if (atomic_load(&t->hold) &&
	    (!t->hold_every || atomic_fetch_add(&t->nseen, 1) % t->hold_every == 0)) {
		pthread_mutex_lock(&t->held_lock);
		if (t->nheld < XT_MAX_HELD) {
			/* lent: kept only with a reference of our own */
			if (t->rx_flags & NM_RX_F_LEND)
				CHECK_EQ(nm_buf_get(b), 0);
			t->held[t->nheld++] = *b;
			pthread_mutex_unlock(&t->held_lock);
			return 0;
		}
		pthread_mutex_unlock(&t->held_lock);
	}
	if (!(t->rx_flags & NM_RX_F_LEND))
		CHECK_EQ(nm_buf_put(b), 0);
	return 0;
}

static inline int xt_on_data(struct nm_rx *rx, struct nm_rx_conn *c, const struct nm_rx_msg *m,
		      void *user)
{
	REQUIRE(m->nr == 1 && (m->flags & NM_RX_MSG_PKT) && m->pkt);
	return xt_pkt(user, c, &m->bufs[0], m->pkt->data, m->pkt->queue_id);
}

/* on_pkts: each packet as on_data's; at the first that fails, the rest of
 * the burst is the application's too (put, unless lent), unlooked at. */
static inline int xt_on_pkts(struct nm_rx *rx, struct nm_rx_conn *c,
			     const struct nm_rx_pktbuf *p, unsigned int n, void *user)
{
	struct xt *t = user;
	int r = 0;

	CHECK(n >= 1 && p != NULL);
	if (atomic_load(&t->failed))
		atomic_fetch_add(&t->after_err, 1);
	atomic_fetch_add(&t->bursts, 1);
	atomic_fetch_add(&t->burst_pkts, n);
	for (unsigned int i = 0; i < n; i++) {
		CHECK_EQ(p[i].flags, 0);
		if (!r) {
			r = xt_pkt(t, c, &p[i].buf, p[i].data, p[i].queue_id);
			continue;
		}
		if (!(t->rx_flags & NM_RX_F_LEND))
			CHECK_EQ(nm_buf_put(&p[i].buf), 0);
	}
	if (r)
		atomic_store(&t->failed, 1);
	return r;
}

/* Put back every held buffer (this thread is not the pool's owner). */
static inline unsigned int xt_release_held(struct xt *t)
{
	unsigned int n;

	pthread_mutex_lock(&t->held_lock);
	n = t->nheld;
	for (unsigned int i = 0; i < n; i++)
		CHECK_EQ(nm_buf_put(&t->held[i]), 0);
	t->nheld = 0;
	pthread_mutex_unlock(&t->held_lock);
	return n;
}

/* A tracker for the seqs 0 .. n-1 of the next send, while the receiver
 * runs (its queues' threads check payloads against it). */
static inline void xt_track_init(struct xt *t, uint64_t n)
{
	pthread_mutex_lock(&t->track_lock);
	REQUIRE(!rig_track_init(&t->track, n));
	t->last_seq = 0;
	pthread_mutex_unlock(&t->track_lock);
}

static inline void xt_track_fini(struct xt *t)
{
	pthread_mutex_lock(&t->track_lock);
	rig_track_fini(&t->track);
	pthread_mutex_unlock(&t->track_lock);
}

/* The provider of the area xt_setup makes. */
static const char *xt_provider = "host";

/* Bring the rig up (or skip), enter its receiving namespace, make an area
 * of @chunks 4 KiB chunks and @nq pools over it. */
static inline void xt_setup(struct xt *t, const char *tag, unsigned int nq, unsigned int chunks)
{
	struct rig_opts ro = { .tag = tag, .queues = nq };
	NM_OPTS(nm_area_opts, ao, .size = (size_t)chunks * 4096, .order = 0, .name = tag);

	memset(t, 0, sizeof(*t));
	pthread_mutex_init(&t->held_lock, NULL);
	pthread_mutex_init(&t->track_lock, NULL);
	t->nq = nq;
	RIG_UP_OR_SKIP(&t->rig, &ro);
	REQUIRE(!rig_enter(&t->rig, RIG_RX));
	t->area = nm_area_create(xt_provider, &ao);
	REQUIRE(t->area);
	for (unsigned int i = 0; i < nq; i++) {
		NM_OPTS(nm_pool_opts, po, .max_chunks = chunks / nq, .name = tag);

		t->pools[i] = nm_pool_create(t->area, &po);
		REQUIRE(t->pools[i]);
	}
}

/* The receiver: "xdp" on the rig's receiving veth, queues 0 .. nq-1. */
static inline struct nm_rx *xt_rx_create(struct xt *t, unsigned int xdp_flags, unsigned int ring)
{
	NM_OPTS(nm_rx_opts, o, .engine = "xdp", .ifname = t->rig.ifname[RIG_RX],
		.xdp_flags = xdp_flags, .ring_entries = ring, .nr_queues = t->nq,
		.flags = t->rx_flags,
		.on_data = xt_on_data, .on_conn = xt_on_conn, .on_close = xt_on_close,
		.user = t);

	if (t->burst) {	/* bursts only: on_data is not needed */
		o.on_data = NULL;
		o.on_pkts = xt_on_pkts;
	}
	if (t->nq == 1)
		o.pool = t->pools[0];
	else
		o.pools = t->pools;
	return nm_rx_create(&o);
}

/* Make the receiver or skip when this host has no AF_XDP. */
static inline void xt_rx_or_skip(struct xt *t, unsigned int xdp_flags, unsigned int ring)
{
	t->rx = xt_rx_create(t, xdp_flags, ring);
	if (!t->rx && errno == EOPNOTSUPP)
		SKIP("AF_XDP (or libxdp) not available: %s", nm_strerror(-EOPNOTSUPP));
	if (!t->rx)
		fprintf(stderr, "nm_rx_create(xdp): %s\n", strerror(errno));
	REQUIRE(t->rx);
}

/* t->rx_flags are refused (EINVAL) by nm_rx_create, or skip when this
 * host has no AF_XDP. */
static inline void xt_rx_refused_or_skip(struct xt *t, unsigned int ring)
{
	t->rx = xt_rx_create(t, 0, ring);
	if (!t->rx && errno == EOPNOTSUPP)
		SKIP("AF_XDP (or libxdp) not available: %s", nm_strerror(-EOPNOTSUPP));
	CHECK(!t->rx && errno == EINVAL);
	if (t->rx)
		nm_rx_destroy(t->rx);
	t->rx = NULL;
}

/* 300 packets into the RX ring while nobody reads it, then ten passes. */
static inline void xt_burst_then_passes(struct xt *t)
{
	struct rig_tx tx = { .rig = &t->rig, .size = 64, .count = 300, .pps = 100000 };

	REQUIRE(!rig_tx_start(&tx));
	REQUIRE(!rig_tx_wait(&tx));
	usleep(100000);
	for (int i = 0; i < 10; i++)
		CHECK(nm_rx_poll(t->rx, 0) >= 0);
}

static inline void *xt_run_main(void *p)
{
	struct xt *t = p;

	atomic_store(&t->run_ret, nm_rx_run(t->rx, -1));
	return NULL;
}

/* nm_rx_run on a thread of its own (in the receiving namespace). */
static inline void xt_run_start(struct xt *t)
{
	REQUIRE(!pthread_create(&t->runner, NULL, xt_run_main, t));
	t->running = 1;
}

static inline void xt_run_stop(struct xt *t)
{
	if (!t->running)
		return;
	nm_rx_stop(t->rx);
	pthread_join(t->runner, NULL);
	t->running = 0;
	CHECK_EQ(atomic_load(&t->run_ret), 0);
}

/* Whether the interface has an XDP program attached. */
static inline int xt_prog_attached(const struct xt *t)
{
	return rig_sh("ip -n %s -d link show %s | grep -q ' xdp'", t->rig.ns[RIG_RX],
		      t->rig.ifname[RIG_RX]) == 0;
}

/*
 * Packets the kernel counted as dropped since xt_drops_mark().  Every
 * packet the rig sends is counted by the sending veth (tx_dropped: its
 * peer's ring full) or reaches the receiving veth's XDP program, whose
 * redirect to the socket either lands or fails; a failed redirect counts
 * in the veth's rx_dropped *and* in the socket's XDP_STATISTICS
 * (rx_dropped, which includes an empty fill ring, or rx_ring_full): the
 * same packet twice.  So: lost = the veths' drops, and the socket's
 * counters, in the receiver's stats, are part of the receiving veth's.
 */
static inline void xt_drops_mark(struct xt *t)
{
	struct nm_rx_stats st;

	REQUIRE(!rig_drops(&t->rig, &t->d0));
	REQUIRE(!nm_rx_stats(t->rx, &st, sizeof(st)));
	t->xd0 = st.xdp_rx_dropped + st.xdp_rx_ring_full;
}

/* The veths' drops since the mark. */
static inline uint64_t xt_drops(struct xt *t)
{
	struct rig_drops d;

	REQUIRE(!rig_drops(&t->rig, &d));
	return (d.tx_dropped - t->d0.tx_dropped) + (d.rx_dropped - t->d0.rx_dropped);
}

/* The receiving veth's drops since the mark. */
static inline uint64_t xt_rx_drops(struct xt *t)
{
	struct rig_drops d;

	REQUIRE(!rig_drops(&t->rig, &d));
	return d.rx_dropped - t->d0.rx_dropped;
}

/* The sockets' drops since the mark (the receiver's xdp_* stats). */
static inline uint64_t xt_xsk_drops(struct xt *t)
{
	struct nm_rx_stats st;

	REQUIRE(!nm_rx_stats(t->rx, &st, sizeof(st)));
	return st.xdp_rx_dropped + st.xdp_rx_ring_full - t->xd0;
}

/* Wait until every packet of @sent (this phase's rig_track) is delivered
 * or counted as dropped (the drop counters are read every 10 ms of
 * passes), up to @ms, then a while longer for anything late.  Return
 * delivered + dropped. */
static inline uint64_t xt_settle(struct xt *t, uint64_t sent, int ms)
{
	for (int i = 0; i < ms / 10; i++) {
		if (atomic_load(&t->track.good) + xt_drops(t) >= sent &&
		    xt_xsk_drops(t) >= xt_rx_drops(t))
			break;
		usleep(10000);
	}
	usleep(50000);
	return atomic_load(&t->track.good) + xt_drops(t);
}
/* Send @count packets (64 B, 50 kpps) and wait for them: every one
 * delivered or counted dropped, none bad or twice; what was delivered,
 * dropped, and dropped by the socket in *good, *drops, *xsk. */
static inline void xt_phase(struct xt *t, uint64_t count, const char *what, uint64_t *good,
		  uint64_t *drops, uint64_t *xsk)
{
	struct rig_tx tx = { .rig = &t->rig, .size = 64, .count = count, .pps = 50000 };
	struct nm_rx_stats st;
	uint64_t got;

	xt_track_init(t, count);
	xt_drops_mark(t);
	REQUIRE(!rig_tx_start(&tx));
	REQUIRE(!rig_tx_wait(&tx));
	CHECK_EQ(tx.err, 0);
	CHECK_EQ(tx.sent, count);
	got = xt_settle(t, tx.sent, 10000);
	*drops = xt_drops(t);
	*xsk = xt_xsk_drops(t);
	REQUIRE(!nm_rx_stats(t->rx, &st, sizeof(st)));
	*good = atomic_load(&t->track.good);
	printf("%s: sent %llu, delivered %llu, dropped %llu (the socket counted %llu; "
	       "fill ring empty %llu so far)\n", what, (unsigned long long)tx.sent,
	       (unsigned long long)*good, (unsigned long long)*drops, (unsigned long long)*xsk,
	       (unsigned long long)st.xdp_fill_empty);
	CHECK(*xsk <= xt_rx_drops(t));
	CHECK_EQ(got, tx.sent);		/* sent == delivered + dropped */
	CHECK_EQ(atomic_load(&t->track.bad), 0);
	CHECK_EQ(atomic_load(&t->track.dup), 0);
	xt_track_fini(t);
}

/* The application holds every frame while 4000 packets are sent through
 * @frames of them (xt_on_data keeps each; lent ones with a reference of
 * its own): at most @frames delivered, the rest dropped and the kernel
 * says why (the fill ring dry: xdp_fill_empty, rx_dropped; nothing lost
 * silently).  Then it lets go, from this thread (not the queue's), and
 * receive resumes: packets sent after arrive. */
static inline void xt_starve_resume(struct xt *t, unsigned int frames)
{
	struct nm_rx_stats st;
	uint64_t good, drops, xsk, fill_empty;
	unsigned int held;

	atomic_store(&t->hold, 1);
	xt_phase(t, 4000, "holding every frame", &good, &drops, &xsk);
	CHECK(good <= frames);		/* no frame twice while held */
	CHECK(good > 0);
	CHECK(drops >= 4000 - frames);
	/* the socket said so, for those that reached it (under load the
	 * sending veth may drop some first, its peer's ring full) */
	CHECK(xsk > 0);
	REQUIRE(!nm_rx_stats(t->rx, &st, sizeof(st)));
	CHECK(st.xdp_fill_empty > 0);	/* the kernel saw the fill ring dry */
	CHECK(st.xdp_rx_dropped > 0);
	fill_empty = st.xdp_fill_empty;
	pthread_mutex_lock(&t->held_lock);
	held = t->nheld;
	pthread_mutex_unlock(&t->held_lock);
	CHECK_EQ(held, good);
	CHECK(nm_pool_inflight(t->pools[0]) >= held);

	/* let go, from this thread: the queue's refill finds them */
	atomic_store(&t->hold, 0);
	CHECK_EQ(xt_release_held(t), held);
	xt_phase(t, 4000, "after letting go", &good, &drops, &xsk);
	CHECK(good > 0);		/* receive resumed */
	REQUIRE(!nm_rx_stats(t->rx, &st, sizeof(st)));
	printf("fill ring empty: %llu while held, %llu after\n",
	       (unsigned long long)fill_empty,
	       (unsigned long long)(st.xdp_fill_empty - fill_empty));
}

/* The end of a one-queue test: the receiver stopped and destroyed, its
 * program gone from the interface, every frame back, all torn down.
 * Return main's exit code. */
static inline int xt_finish(struct xt *t)
{
	xt_run_stop(t);
	CHECK_EQ(nm_rx_destroy(t->rx), 0);
	CHECK(!xt_prog_attached(t));
	CHECK_EQ(nm_pool_inflight(t->pools[0]), 0);
	CHECK_EQ(nm_pool_destroy(t->pools[0]), 0);
	CHECK_EQ(nm_area_destroy(t->area), 0);
	rig_down(&t->rig);
	return nm_test_failures ? 1 : 0;
}

#endif

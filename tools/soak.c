/* SPDX-License-Identifier: MIT */
/*
 * soak.c - `netmem soak`: many connections on loopback for a long time,
 * with the events that break things in production happening under load,
 * and a verdict on whether anything leaked, grew or was corrupted.
 *
 *   netmem soak [--seconds S] [--conns N] [--shards K] [--revoke-every S]
 *               [--reset-pct P] [--slow-pct P] [--hold-bufs N] [--hold-ms MS]
 *               [--max-stream BYTES] [--engine E] [--seed N] [--json]
 *               [--quiet]
 *
 * Receivers.  An nm_rx cannot change a queue's pool, and a pool over a
 * revoked area stays dry for good (its allocations fail -ENODEV, which
 * the engines treat as a dry pool: the queue's connections park and never
 * resume).  So the receiving side is K shards, each a thread running its
 * own receiver (one queue) over its own host area and pool, listening on
 * a port of its own.  Every --revoke-every seconds one shard's area is
 * revoked from the main thread while it receives; the shard's thread then
 * destroys its receiver (its connections end), keeps the old pool until
 * the buffers still held from it come back, and builds a new area, pool
 * and receiver on a new port.  Bytes that land in a revoked area are
 * unreadable (nm_buf_data() is NULL): a connection that gets one is closed
 * with -ENODEV.  Connections of a revoked shard are "cut", not checked
 * for completeness; everything they delivered readably is still checked.
 *
 * Senders.  Two threads keep --conns connections open between them, each
 * sending one stream: a 16-byte header (magic, stream id), then payload
 * bytes from tx's random pattern (txrx.h) starting at an offset given by
 * the id.  The stream's length, whether it is reset and where, and
 * whether its receiver holds its buffers are functions of the id, so the
 * receiver knows what to expect without being told.  A stream ends with a
 * FIN after its last byte, or --reset-pct of them with an RST (SO_LINGER
 * 0) at a point inside; either way a new connection replaces it.
 *
 * Receiving.  Every byte is compared with the pattern at its stream
 * offset as it is delivered.  --slow-pct of the streams are "slow": their
 * buffers go to a consumer thread that keeps the last --hold-bufs of them
 * (each at least --hold-ms, none over a second) and checks each again
 * before putting it (a chunk handed out twice while held
 * shows as a changed byte).  A stream that ends with a FIN must have
 * arrived whole; a reset one must end with an error and never overrun.
 *
 * Figures, each second: RSS, the chunks in flight over all pools (live
 * and retired), buffers held by the slow consumer, open connections and
 * bytes.  Flat means the mean of the last 10 s is within 5 % of the mean
 * of the first 10 s; a run shorter than 30 s prints its first and last
 * thirds but is not judged on them (a second or two of samples says
 * nothing about growth).  At
 * the end the senders finish their streams, the receivers stop, and every
 * pool must have nothing in flight and destroy with 0.
 *
 * Exit status: 0 when every check passed, 1 when one failed (or setup
 * did), 2 for bad arguments.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <netmem/netmem.h>
#include <netmem/rx.h>
#include "txrx.h"
#include "cmds.h"

#define SOAK_MAGIC     0x314b414f534d4e00ull /* "\0NMSOAK1" */
#define SOAK_HDR       16u
#define SOAK_WRITE     (64u << 10)  /* most bytes per send() */
#define SOAK_MAX_SHARDS 16
#define SOAK_TX_THREADS 2
#define SOAK_MAX_SAMPLES 100000

struct soak_cfg {
	double seconds, revoke_every;
	unsigned int conns, shards, reset_pct, slow_pct, hold_ms, hold_bufs, order, chunks;
	uint64_t max_stream, seed;
	const char *engine;
	bool json, quiet;
};

/* What a stream id implies; both ends compute it. */
struct soak_plan {
	uint64_t len;       /* payload bytes */
	uint64_t reset_at;  /* RST once this many payload bytes are sent, or
			     * UINT64_MAX */
	uint64_t pat_off;   /* pattern offset of payload byte 0 */
	bool slow;          /* the receiver holds its buffers */
};

static uint64_t mix64(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ull;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

static void soak_plan(const struct soak_cfg *cfg, uint64_t sid, struct soak_plan *p)
{
	uint64_t h = mix64(cfg->seed ^ mix64(sid)), h2 = mix64(h);
	uint64_t span = cfg->max_stream > 4096 ? cfg->max_stream - 4096 : 1;

	p->len = 4096 + h % span;
	p->pat_off = (h >> 7) % NM_PAT_PERIOD;
	p->reset_at = UINT64_MAX;
	if (h2 % 100 < cfg->reset_pct)
		p->reset_at = 1 + (h2 >> 8) % (p->len - 1);
	p->slow = (h2 >> 40) % 100 < cfg->slow_pct;
}

/* ---------------------------------------------------------------- */
/* Shared state                                                      */
/* ---------------------------------------------------------------- */

/* One receiver over one area: a shard's current instance. */
struct soak_inst {
	struct soak *sk;
	struct nm_area *area;
	struct nm_pool *pool;
	struct nm_rx *rx;
	atomic_bool revoked;
};

struct soak_shard {
	struct soak *sk;
	int idx;
	pthread_t th;
	pthread_mutex_t lock;        /* inst swaps vs. main's revoke/sampling */
	struct soak_inst *inst;
	atomic_int port;             /* 0 while being replaced */
	atomic_bool revoke_pending;  /* set by main, cleared when replaced */
	int err;                     /* a fatal receiver error */
};

/* A pool given up by its receiver, kept until what is held from it is back. */
struct soak_retired {
	struct nm_area *area;
	struct nm_pool *pool;
	struct soak_retired *next;
};

/* A buffer the slow consumer holds. */
struct soak_hold {
	struct nm_buf b;
	uint64_t pat_off;   /* pattern offset of the checked bytes */
	uint32_t skip;      /* header bytes at the buffer's start */
	double since;
	struct soak_hold *next;
};

struct soak_sample {
	double t;
	uint64_t rss, inflight, held, open, bytes;
};

struct soak {
	struct soak_cfg cfg;
	struct nm_pat pat;
	struct soak_shard shards[SOAK_MAX_SHARDS];
	atomic_bool stop_rx, drain_tx, stop_hold;

	pthread_mutex_t ret_lock;
	struct soak_retired *retired;

	pthread_mutex_t hold_lock;
	struct soak_hold *hold_head, *hold_tail;
	/* held by the slow consumer while it puts: a retired pool's only
	 * buffers are the held ones, so under this lock its in-flight count
	 * is exact and no put races its destroy */
	pthread_mutex_t put_lock;
	atomic_uint_fast64_t held_now;

	/* sender side */
	atomic_uint_fast64_t tx_streams, tx_done, tx_reset, tx_cut, tx_connfail;
	atomic_uint_fast64_t next_sid;

	/* receiver side */
	atomic_uint_fast64_t bytes, opened, closed;
	atomic_uint_fast64_t ok, reset, cut, early;
	atomic_uint_fast64_t held_total, held_unreadable;
	atomic_uint_fast64_t corrupt, held_corrupt, broken, bad_reset, put_errs;
	atomic_uint_fast64_t null_live, overrun, bad_hdr;
	atomic_uint_fast64_t revokes, replaced, retired_ok, retired_bad;
	atomic_uint reports;

	struct soak_sample *samples;
	size_t nsamples;
};

static void soak_report(struct soak *sk, const char *fmt, ...)
{
	va_list ap;

	/* the first few failures in detail, the rest counted */
	if (atomic_fetch_add(&sk->reports, 1) >= 20)
		return;
	va_start(ap, fmt);
	fprintf(stderr, "netmem soak: ");
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

/* ---------------------------------------------------------------- */
/* Slow consumer                                                     */
/* ---------------------------------------------------------------- */

static void hold_release(struct soak *sk, struct soak_hold *h)
{
	const uint8_t *p = nm_buf_data(&h->b);
	int rc;

	if (!p) {
		atomic_fetch_add(&sk->held_unreadable, 1);
	} else if (h->b.len > h->skip &&
		   nm_pat_check(&sk->pat, h->pat_off, p + h->skip, h->b.len - h->skip) >= 0) {
		atomic_fetch_add(&sk->held_corrupt, 1);
		soak_report(sk, "a held buffer changed while held (chunk %d)",
			    nm_buf_chunk_index(&h->b));
	}
	rc = nm_buf_put(&h->b);
	if (rc) {
		atomic_fetch_add(&sk->put_errs, 1);
		soak_report(sk, "put of a held buffer: %s", nm_strerror(rc));
	}
	free(h);
}

/*
 * Release rule: the oldest buffer goes once more than --hold-bufs are held
 * and it has been held --hold-ms, or once it has been held a second.  So
 * in steady flow the consumer sits on a fixed number of buffers (what a
 * consumer with a fixed-depth queue does), and the chunks in flight stay
 * level however the throughput of the moment varies.
 */
static void *hold_main(void *arg)
{
	struct soak *sk = arg;

	for (;;) {
		bool stop = atomic_load(&sk->stop_hold);
		double now = nm_now(), min_age = sk->cfg.hold_ms / 1000.0;
		bool deep = atomic_load(&sk->held_now) > sk->cfg.hold_bufs;
		struct soak_hold *h;

		pthread_mutex_lock(&sk->hold_lock);
		h = sk->hold_head;
		if (h && (stop || now - h->since >= 1.0 ||
			  (deep && now - h->since >= min_age))) {
			sk->hold_head = h->next;
			if (!sk->hold_head)
				sk->hold_tail = NULL;
		} else {
			h = NULL;
		}
		pthread_mutex_unlock(&sk->hold_lock);
		if (h) {
			pthread_mutex_lock(&sk->put_lock);
			hold_release(sk, h);
			pthread_mutex_unlock(&sk->put_lock);
			atomic_fetch_sub(&sk->held_now, 1);
			continue;
		}
		if (stop)
			break;
		usleep(1000);
	}
	return NULL;
}

static int hold_add(struct soak *sk, const struct nm_buf *b, uint64_t pat_off,
		    uint32_t skip)
{
	struct soak_hold *h = malloc(sizeof(*h));

	if (!h)
		return -ENOMEM;
	h->b = *b;
	h->pat_off = pat_off;
	h->skip = skip;
	h->since = nm_now();
	h->next = NULL;
	pthread_mutex_lock(&sk->hold_lock);
	if (sk->hold_tail)
		sk->hold_tail->next = h;
	else
		sk->hold_head = h;
	sk->hold_tail = h;
	pthread_mutex_unlock(&sk->hold_lock);
	atomic_fetch_add(&sk->held_now, 1);
	atomic_fetch_add(&sk->held_total, 1);
	return 0;
}

/* ---------------------------------------------------------------- */
/* Receivers                                                         */
/* ---------------------------------------------------------------- */

struct soak_conn {
	uint8_t hdr[SOAK_HDR];
	unsigned int hgot;
	uint64_t sid, off;
	struct soak_plan plan;
	bool bad, unreadable;
};

static int on_conn(struct nm_rx *rx, struct nm_rx_conn *c, void *user)
{
	struct soak_inst *in = user;
	struct soak_conn *sc = calloc(1, sizeof(*sc));

	if (!sc)
		return -ENOMEM;
	nm_rx_conn_set_user(c, sc);
	atomic_fetch_add(&in->sk->opened, 1);
	return 0;
}

/* Take what is left of the header from @p; return the bytes taken. */
static uint32_t take_hdr(struct soak *sk, struct soak_conn *sc, const uint8_t *p,
			 uint32_t len)
{
	uint32_t n = SOAK_HDR - sc->hgot;
	uint64_t magic;

	if (n > len)
		n = len;
	memcpy(sc->hdr + sc->hgot, p, n);
	sc->hgot += n;
	if (sc->hgot == SOAK_HDR) {
		memcpy(&magic, sc->hdr, 8);
		memcpy(&sc->sid, sc->hdr + 8, 8);
		if (magic != SOAK_MAGIC) {
			atomic_fetch_add(&sk->bad_hdr, 1);
			soak_report(sk, "a stream header with a wrong magic");
			sc->bad = true;
		}
		soak_plan(&sk->cfg, sc->sid, &sc->plan);
	}
	return n;
}

/* Check one delivered buffer; hand it to the slow consumer or put it. */
static int check_buf(struct soak_inst *in, struct soak_conn *sc, const struct nm_buf *b)
{
	struct soak *sk = in->sk;
	const uint8_t *p = nm_buf_data(b);
	uint32_t skip = 0, n;
	uint64_t pat_off;
	long at;
	int rc;

	if (!p) {
		/* only a revoked area makes host memory unreadable */
		if (!atomic_load(&in->revoked)) {
			atomic_fetch_add(&sk->null_live, 1);
			soak_report(sk, "a buffer of a live area without a CPU address");
		}
		sc->unreadable = true;
		goto put;
	}
	if (sc->hgot < SOAK_HDR)
		skip = take_hdr(sk, sc, p, b->len);
	n = b->len - skip;
	pat_off = sc->plan.pat_off + sc->off;
	if (n && sc->hgot == SOAK_HDR && !sc->bad) {
		if (sc->off + n > sc->plan.len) {
			atomic_fetch_add(&sk->overrun, 1);
			soak_report(sk, "stream %llx: %llu bytes past its length %llu",
				    (unsigned long long)sc->sid,
				    (unsigned long long)(sc->off + n - sc->plan.len),
				    (unsigned long long)sc->plan.len);
			sc->bad = true;
		} else if ((at = nm_pat_check(&sk->pat, pat_off, p + skip, n)) >= 0) {
			atomic_fetch_add(&sk->corrupt, 1);
			soak_report(sk, "stream %llx: byte %llu differs from what was sent",
				    (unsigned long long)sc->sid,
				    (unsigned long long)(sc->off + at));
			sc->bad = true;
		}
	}
	sc->off += n;
	atomic_fetch_add(&sk->bytes, n);
	if (sc->plan.slow && !sc->bad && hold_add(sk, b, pat_off, skip) == 0)
		return 0;
put:
	rc = nm_buf_put(b);
	if (rc) {
		atomic_fetch_add(&sk->put_errs, 1);
		soak_report(sk, "put: %s", nm_strerror(rc));
	}
	return 0;
}

static int on_data(struct nm_rx *rx, struct nm_rx_conn *c,
		   const struct nm_rx_msg *m, void *user)
{
	struct soak_inst *in = user;
	struct soak_conn *sc = nm_rx_conn_user(c);

	for (unsigned int i = 0; i < m->nr; i++)
		check_buf(in, sc, &m->bufs[i]);
	/* the rest of the stream would land in memory that is gone */
	return sc->unreadable ? -ENODEV : 0;
}

static void on_close(struct nm_rx *rx, struct nm_rx_conn *c, int err, void *user)
{
	struct soak_inst *in = user;
	struct soak *sk = in->sk;
	struct soak_conn *sc = nm_rx_conn_user(c);
	bool whole = sc->hgot == SOAK_HDR && sc->off == sc->plan.len && !sc->bad;

	atomic_fetch_add(&sk->closed, 1);
	if (err == 0 && whole) {
		atomic_fetch_add(&sk->ok, 1);
	} else if (atomic_load(&in->revoked)) {
		/* its shard was revoked: cut, whatever it got so far */
		atomic_fetch_add(&sk->cut, 1);
	} else if (sc->hgot < SOAK_HDR && err == -ECONNRESET) {
		/* reset before its header was read */
		atomic_fetch_add(&sk->early, 1);
	} else if (sc->hgot == SOAK_HDR && sc->plan.reset_at != UINT64_MAX) {
		if (err == 0 || sc->off > sc->plan.len) {
			atomic_fetch_add(&sk->bad_reset, 1);
			soak_report(sk, "stream %llx: meant to be reset, ended with %d after %llu of %llu bytes",
				    (unsigned long long)sc->sid, err,
				    (unsigned long long)sc->off,
				    (unsigned long long)sc->plan.len);
		} else {
			atomic_fetch_add(&sk->reset, 1);
		}
	} else if (!sc->bad) {
		atomic_fetch_add(&sk->broken, 1);
		soak_report(sk, "stream %llx: ended (%s) after %llu of %llu bytes, header %u/%u",
			    (unsigned long long)sc->sid, err ? nm_strerror(err) : "end of stream",
			    (unsigned long long)sc->off, (unsigned long long)sc->plan.len,
			    sc->hgot, SOAK_HDR);
	}
	free(sc);
}

static int inst_create(struct soak_shard *s)
{
	struct soak *sk = s->sk;
	struct soak_inst *in = calloc(1, sizeof(*in));
	NM_OPTS(nm_area_opts, ao, .order = sk->cfg.order,
		.size = (size_t)sk->cfg.chunks << (NM_PAGE_SHIFT + sk->cfg.order),
		.flags = NM_AREA_F_POPULATE, .name = "soak");
	int port, err;

	if (!in)
		return -ENOMEM;
	in->sk = sk;
	in->area = nm_area_create("host", &ao);
	if (!in->area) {
		err = -errno;
		goto fail;
	}
	in->pool = nm_pool_create(in->area, NULL);
	if (!in->pool) {
		err = -errno;
		goto fail;
	}
	NM_OPTS(nm_rx_opts, o, .engine = sk->cfg.engine, .pool = in->pool,
		.on_data = on_data, .on_conn = on_conn, .on_close = on_close,
		.max_conns = 2 * sk->cfg.conns + 64, .user = in);
	in->rx = nm_rx_create(&o);
	if (!in->rx) {
		err = -errno;
		goto fail;
	}
	port = nm_rx_listen(in->rx, "127.0.0.1", 0);
	if (port < 0) {
		err = port;
		goto fail;
	}
	pthread_mutex_lock(&s->lock);
	s->inst = in;
	pthread_mutex_unlock(&s->lock);
	atomic_store(&s->port, port);
	return 0;
fail:
	if (in->rx)
		nm_rx_destroy(in->rx);
	if (in->pool)
		nm_pool_destroy(in->pool);
	if (in->area)
		nm_area_destroy(in->area);
	free(in);
	return err;
}

/* Tear the shard's receiver down; its pool waits in the retired list. */
static void inst_retire(struct soak_shard *s)
{
	struct soak *sk = s->sk;
	struct soak_inst *in = s->inst;
	struct soak_retired *r = malloc(sizeof(*r));
	int rc;

	atomic_store(&s->port, 0);
	pthread_mutex_lock(&s->lock);
	s->inst = NULL;
	pthread_mutex_unlock(&s->lock);
	rc = nm_rx_destroy(in->rx);
	if (rc)
		soak_report(sk, "nm_rx_destroy: %s", nm_strerror(rc));
	if (!r) {
		/* cannot wait for it: give it up now (it frees itself) */
		nm_pool_destroy(in->pool);
		nm_area_destroy(in->area);
	} else {
		r->area = in->area;
		r->pool = in->pool;
		pthread_mutex_lock(&sk->ret_lock);
		r->next = sk->retired;
		sk->retired = r;
		pthread_mutex_unlock(&sk->ret_lock);
	}
	free(in);
}

static void *shard_main(void *arg)
{
	struct soak_shard *s = arg;
	struct soak *sk = s->sk;
	int rc;

	while (!atomic_load(&sk->stop_rx)) {
		if (!s->inst) {
			rc = inst_create(s);
			if (rc) {
				s->err = rc;
				soak_report(sk, "shard %d: receiver setup: %s", s->idx,
					    nm_strerror(rc));
				break;
			}
			atomic_store(&s->revoke_pending, false);
		}
		rc = nm_rx_run(s->inst->rx, 100);
		if (rc < 0) {
			s->err = rc;
			soak_report(sk, "shard %d: nm_rx_run: %s", s->idx, nm_strerror(rc));
			break;
		}
		if (atomic_load(&s->inst->revoked)) {
			inst_retire(s);
			atomic_fetch_add(&sk->replaced, 1);
		}
	}
	if (s->inst)
		inst_retire(s);
	return NULL;
}

/* Main thread: revoke shard @s's area while it receives. */
static void shard_revoke(struct soak *sk, struct soak_shard *s)
{
	int rc = 0;

	pthread_mutex_lock(&s->lock);
	if (s->inst && !atomic_load(&s->inst->revoked)) {
		atomic_store(&s->revoke_pending, true);
		atomic_store(&s->inst->revoked, true);
		rc = nm_area_revoke(s->inst->area, 0);
		nm_rx_stop(s->inst->rx);
		if (rc < 0)
			soak_report(sk, "nm_area_revoke: %s", nm_strerror(rc));
		else
			atomic_fetch_add(&sk->revokes, 1);
	}
	pthread_mutex_unlock(&s->lock);
}

/* Destroy retired pools with nothing left in flight (all when @all). */
static void reap_retired(struct soak *sk, bool all)
{
	struct soak_retired **pp, *r;

	pthread_mutex_lock(&sk->put_lock);
	pthread_mutex_lock(&sk->ret_lock);
	for (pp = &sk->retired; (r = *pp);) {
		long held = nm_pool_inflight(r->pool);
		int rc;

		if (held > 0 && !all) {
			pp = &r->next;
			continue;
		}
		*pp = r->next;
		rc = nm_pool_destroy(r->pool);
		if (rc != 0 || held != 0) {
			atomic_fetch_add(&sk->retired_bad, 1);
			soak_report(sk, "a retired pool destroyed with %d chunks in flight", rc);
		} else {
			atomic_fetch_add(&sk->retired_ok, 1);
		}
		nm_area_destroy(r->area);
		free(r);
	}
	pthread_mutex_unlock(&sk->ret_lock);
	pthread_mutex_unlock(&sk->put_lock);
}

/* ---------------------------------------------------------------- */
/* Senders                                                           */
/* ---------------------------------------------------------------- */

struct tx_conn {
	int fd;
	bool connecting;
	uint64_t sid, sent;  /* sent: header and payload bytes */
	struct soak_plan plan;
};

struct soak_tx {
	struct soak *sk;
	pthread_t th;
	unsigned int n, open;
	struct tx_conn *c;
	int ep;
	uint64_t rnd;
};

static int pick_port(struct soak_tx *t)
{
	struct soak *sk = t->sk;
	unsigned int k = sk->cfg.shards;

	t->rnd = mix64(t->rnd);
	for (unsigned int i = 0; i < k; i++) {
		int port = atomic_load(&sk->shards[(t->rnd + i) % k].port);
		if (port > 0)
			return port;
	}
	return 0;
}

/* Open connection slot @i with a new stream; false when no shard is up. */
static bool tx_open(struct soak_tx *t, unsigned int i)
{
	struct soak *sk = t->sk;
	struct tx_conn *c = &t->c[i];
	struct sockaddr_in a = { .sin_family = AF_INET,
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	struct epoll_event ev = { .events = EPOLLOUT, .data.u32 = i };
	int port = pick_port(t), fd, one = 1;

	if (!port)
		return false;
	fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return false;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	a.sin_port = htons((uint16_t)port);
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) && errno != EINPROGRESS) {
		atomic_fetch_add(&sk->tx_connfail, 1);
		close(fd);
		return false;
	}
	c->fd = fd;
	c->connecting = true;
	c->sid = atomic_fetch_add(&sk->next_sid, 1);
	c->sent = 0;
	soak_plan(&sk->cfg, c->sid, &c->plan);
	if (epoll_ctl(t->ep, EPOLL_CTL_ADD, fd, &ev)) {
		close(fd);
		c->fd = -1;
		return false;
	}
	t->open++;
	atomic_fetch_add(&sk->tx_streams, 1);
	return true;
}

static void tx_end(struct soak_tx *t, unsigned int i, bool rst)
{
	struct tx_conn *c = &t->c[i];

	if (rst) {
		struct linger l = { .l_onoff = 1, .l_linger = 0 };
		setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
	}
	epoll_ctl(t->ep, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	c->fd = -1;
	t->open--;
}

/* One writable event on slot @i. */
static void tx_step(struct soak_tx *t, unsigned int i)
{
	struct soak *sk = t->sk;
	struct tx_conn *c = &t->c[i];
	uint64_t end = c->plan.reset_at != UINT64_MAX ? c->plan.reset_at : c->plan.len;
	ssize_t n;

	if (c->connecting) {
		int e = 0;
		socklen_t el = sizeof(e);

		getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &e, &el);
		if (e) {
			atomic_fetch_add(&sk->tx_connfail, 1);
			tx_end(t, i, false);
			return;
		}
		c->connecting = false;
	}
	for (int k = 0; k < 4; k++) {
		if (c->sent < SOAK_HDR) {
			uint64_t hdr[2] = { SOAK_MAGIC, c->sid };
			n = send(c->fd, (uint8_t *)hdr + c->sent, SOAK_HDR - c->sent,
				 MSG_NOSIGNAL);
		} else {
			uint64_t off = c->sent - SOAK_HDR, left = end - off;
			n = send(c->fd, nm_pat_at(&sk->pat, c->plan.pat_off + off),
				 left < SOAK_WRITE ? left : SOAK_WRITE, MSG_NOSIGNAL);
		}
		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR)
				return;
			/* the receiver went away: its shard was revoked */
			atomic_fetch_add(&sk->tx_cut, 1);
			tx_end(t, i, false);
			return;
		}
		c->sent += n;
		if (c->sent >= SOAK_HDR && c->sent - SOAK_HDR >= end) {
			bool rst = c->plan.reset_at != UINT64_MAX;

			atomic_fetch_add(rst ? &sk->tx_reset : &sk->tx_done, 1);
			tx_end(t, i, rst);
			return;
		}
	}
}

static void *tx_main(void *arg)
{
	struct soak_tx *t = arg;
	struct soak *sk = t->sk;
	struct epoll_event ev[256];
	double drain_end = 0;

	for (;;) {
		bool drain = atomic_load(&sk->drain_tx);
		int n;

		if (drain && !drain_end)
			drain_end = nm_now() + 60;
		if (!drain) {
			for (unsigned int i = 0; i < t->n; i++)
				if (t->c[i].fd < 0 && !tx_open(t, i))
					break;
		} else if (!t->open || nm_now() > drain_end) {
			break;
		}
		n = epoll_wait(t->ep, ev, 256, 50);
		for (int k = 0; k < n; k++)
			tx_step(t, ev[k].data.u32);
	}
	for (unsigned int i = 0; i < t->n; i++) {
		if (t->c[i].fd >= 0) {
			soak_report(sk, "a stream still open after the drain");
			tx_end(t, i, true);
		}
	}
	return NULL;
}

/* ---------------------------------------------------------------- */
/* Figures                                                           */
/* ---------------------------------------------------------------- */

static uint64_t rss_bytes(void)
{
	FILE *f = fopen("/proc/self/statm", "r");
	unsigned long size = 0, res = 0;

	if (f) {
		if (fscanf(f, "%lu %lu", &size, &res) != 2)
			res = 0;
		fclose(f);
	}
	return (uint64_t)res * (uint64_t)sysconf(_SC_PAGESIZE);
}

static uint64_t inflight_now(struct soak *sk)
{
	uint64_t sum = 0;

	for (unsigned int i = 0; i < sk->cfg.shards; i++) {
		struct soak_shard *s = &sk->shards[i];
		long n;

		pthread_mutex_lock(&s->lock);
		n = s->inst ? nm_pool_inflight(s->inst->pool) : 0;
		pthread_mutex_unlock(&s->lock);
		sum += n > 0 ? (uint64_t)n : 0;
	}
	pthread_mutex_lock(&sk->ret_lock);
	for (struct soak_retired *r = sk->retired; r; r = r->next) {
		long n = nm_pool_inflight(r->pool);
		sum += n > 0 ? (uint64_t)n : 0;
	}
	pthread_mutex_unlock(&sk->ret_lock);
	return sum;
}

static void sample(struct soak *sk, double t0)
{
	struct soak_sample *s;

	if (sk->nsamples >= SOAK_MAX_SAMPLES)
		return;
	s = &sk->samples[sk->nsamples++];
	s->t = nm_now() - t0;
	s->rss = rss_bytes();
	s->inflight = inflight_now(sk);
	s->held = atomic_load(&sk->held_now);
	s->open = atomic_load(&sk->opened) - atomic_load(&sk->closed);
	s->bytes = atomic_load(&sk->bytes);
}

static void debug_shards(struct soak *sk)
{
	for (unsigned int i = 0; i < sk->cfg.shards; i++) {
		struct soak_shard *s = &sk->shards[i];
		struct nm_rx_stats st;
		struct nm_pool_stats ps;

		pthread_mutex_lock(&s->lock);
		if (s->inst && !nm_rx_stats(s->inst->rx, &st, sizeof(st)) &&
		    !nm_pool_get_stats(s->inst->pool, &ps, sizeof(ps)))
			fprintf(stderr, "   shard %u: active %llu msgs %llu enobufs %llu rearm %llu refill %llu pool_empty %llu inflight %llu\n",
				i, (unsigned long long)st.conns_active, (unsigned long long)st.msgs,
				(unsigned long long)st.enobufs, (unsigned long long)st.rearm,
				(unsigned long long)st.refill, (unsigned long long)st.pool_empty,
				(unsigned long long)ps.inflight);
		pthread_mutex_unlock(&s->lock);
	}
}

struct soak_flat {
	double first, last, change; /* means, and (last - first) / first */
	bool judged, ok;            /* judged: the run had two 10 s windows */
};

/* Mean of the first and last @w samples of field @off. */
static struct soak_flat flat(const struct soak *sk, size_t w, size_t off)
{
	struct soak_flat f = { 0 };
	size_t n = sk->nsamples;

	for (size_t i = 0; i < w && i < n; i++) {
		f.first += *(const uint64_t *)((const char *)&sk->samples[i] + off);
		f.last += *(const uint64_t *)((const char *)&sk->samples[n - 1 - i] + off);
	}
	f.first /= w;
	f.last /= w;
	f.change = f.first > 0 ? (f.last - f.first) / f.first : (f.last > 0 ? 1 : 0);
	f.judged = w >= 10;
	f.ok = !f.judged || (f.change <= 0.05 && f.change >= -0.05);
	return f;
}

/* ---------------------------------------------------------------- */
/* Command                                                           */
/* ---------------------------------------------------------------- */

static const char *flat_word(struct soak_flat f, bool json)
{
	if (!f.judged)
		return json ? "null" : "(not judged: run under 30 s)";
	if (json)
		return f.ok ? "true" : "false";
	return f.ok ? "flat" : "NOT FLAT";
}

static int usage(void)
{
	fprintf(stderr,
		"usage: netmem soak [--seconds S] [--conns N] [--shards K] [--revoke-every S]\n"
		"                   [--reset-pct P] [--slow-pct P] [--hold-bufs N] [--hold-ms MS]\n"
		"                   [--max-stream BYTES]\n"
		"                   [--engine uring|socket] [--seed N] [--json] [--quiet]\n"
		"  --seconds S       how long to run under load (default 60)\n"
		"  --conns N         connections kept open (default 1000)\n"
		"  --shards K        receivers, each with its own area and pool (default 4)\n"
		"  --revoke-every S  revoke one shard's area and replace it every S s (default 3)\n"
		"  --reset-pct P     streams ended by an RST mid-stream (default 10)\n"
		"  --slow-pct P      streams whose buffers a slow consumer holds (default 10)\n"
		"  --hold-bufs N     the slow consumer keeps the last N buffers (default 256)...\n"
		"  --hold-ms MS      ...each for at least MS ms (default 20), none over 1 s\n"
		"  --max-stream B    longest stream (default 2M)\n"
		"  --engine E        receive engine (default: uring where the kernel has it)\n"
		"  --seed N          the streams' seed (default 1)\n");
	return 2;
}

static int parse_args(int argc, char **argv, struct soak_cfg *cfg)
{
	static const char *const flags[] = { "--json", "--quiet", "-q", "-h", "--help", NULL };
	static const char *const valued[] = {
		"--seconds", "--conns", "--shards", "--revoke-every", "--reset-pct",
		"--slow-pct", "--hold-ms", "--hold-bufs", "--max-stream", "--engine", "--seed", NULL,
	};
	uint64_t v;

	for (int i = 1; i < argc; i++) {
		const char *a, *next;
		int k = nm_opt_next("soak", argc, argv, &i, flags, valued, &a, &next);
		bool bad = false;

		if (k < 0)
			return k;
		if (!strcmp(a, "--json")) {
			cfg->json = true;
		} else if (!strcmp(a, "--quiet") || !strcmp(a, "-q")) {
			cfg->quiet = true;
		} else if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			usage();
			exit(0);
		}
		if (!k)
			continue;
		if (!strcmp(a, "--seconds")) {
			bad = nm_parse_secs(next, &cfg->seconds);
		} else if (!strcmp(a, "--revoke-every")) {
			bad = nm_parse_secs(next, &cfg->revoke_every);
		} else if (!strcmp(a, "--conns")) {
			bad = nm_parse_uint(next, 1, 100000, &v);
			cfg->conns = v;
		} else if (!strcmp(a, "--shards")) {
			bad = nm_parse_uint(next, 2, SOAK_MAX_SHARDS, &v);
			cfg->shards = v;
		} else if (!strcmp(a, "--reset-pct")) {
			bad = nm_parse_uint(next, 0, 100, &v);
			cfg->reset_pct = v;
		} else if (!strcmp(a, "--slow-pct")) {
			bad = nm_parse_uint(next, 0, 100, &v);
			cfg->slow_pct = v;
		} else if (!strcmp(a, "--hold-ms")) {
			bad = nm_parse_uint(next, 0, 1000, &v);
			cfg->hold_ms = v;
		} else if (!strcmp(a, "--hold-bufs")) {
			bad = nm_parse_uint(next, 0, 1u << 20, &v);
			cfg->hold_bufs = v;
		} else if (!strcmp(a, "--max-stream")) {
			bad = nm_parse_size(next, &v) || v < 8192 || v > (1ull << 40);
			cfg->max_stream = v;
		} else if (!strcmp(a, "--seed")) {
			bad = nm_parse_uint(next, 0, UINT64_MAX, &v);
			cfg->seed = v;
		} else if (!strcmp(a, "--engine")) {
			cfg->engine = next;
		}
		if (bad) {
			fprintf(stderr, "netmem soak: %s '%s': out of range (see --help)\n", a, next);
			return -EINVAL;
		}
	}
	return 0;
}

/* Failures of every kind, summed (print_figures lists them by kind). */
static uint64_t soak_fails(struct soak *sk)
{
	return atomic_load(&sk->corrupt) + atomic_load(&sk->held_corrupt) +
	       atomic_load(&sk->broken) + atomic_load(&sk->bad_reset) +
	       atomic_load(&sk->put_errs) + atomic_load(&sk->null_live) +
	       atomic_load(&sk->overrun) + atomic_load(&sk->bad_hdr) +
	       atomic_load(&sk->retired_bad);
}

/* Append @what to the reasons in @why (comma separated). */
static void why_add(char *why, size_t len, bool bad, const char *what)
{
	size_t n = strlen(why);

	if (bad)
		snprintf(why + n, len - n, "%s%s", n ? ", " : "", what);
}

/* The run's verdict: true when nothing failed; else @why says what did. */
static bool verdict(struct soak *sk, bool shards_ok, struct soak_flat rss,
		    struct soak_flat inf, int pools_left, char *why, size_t len)
{
	why[0] = 0;
	why_add(why, len, !shards_ok, "a receiver failed");
	why_add(why, len, !sk->nsamples, "no sample taken");
	why_add(why, len, !rss.ok, "rss grew");
	why_add(why, len, !inf.ok, "chunks in flight grew");
	why_add(why, len, pools_left, "pools with chunks in flight at the end");
	why_add(why, len, atomic_load(&sk->held_now), "buffers held at the end");
	why_add(why, len, soak_fails(sk), "failures (above)");
	why_add(why, len, !atomic_load(&sk->ok), "no stream arrived intact");
	why_add(why, len, atomic_load(&sk->closed) != atomic_load(&sk->opened),
		"connections accepted but not closed");
	return !why[0];
}

static void print_figures(struct soak *sk, double secs, struct soak_flat rss,
			  struct soak_flat inf, size_t w, int pools_left,
			  uint64_t held_left, bool pass, const char *why)
{
	uint64_t bytes = atomic_load(&sk->bytes);
	uint64_t fails = soak_fails(sk);
#define F(x) ((unsigned long long)atomic_load(&sk->x))
	if (sk->cfg.json) {
		printf("{\"seconds\":%.1f,\"conns\":%u,\"shards\":%u,\"engine\":\"%s\","
		       "\"bytes\":%llu,\"gbit\":%.2f,"
		       "\"streams\":{\"sent\":%llu,\"tx_done\":%llu,\"tx_reset\":%llu,\"tx_cut\":%llu,"
		       "\"tx_connfail\":%llu,\"accepted\":%llu,\"closed\":%llu,\"intact\":%llu,"
		       "\"reset\":%llu,\"reset_before_header\":%llu,\"cut_by_revoke\":%llu},"
		       "\"failures\":{\"corrupt\":%llu,\"held_corrupt\":%llu,\"incomplete\":%llu,"
		       "\"bad_reset\":%llu,\"overrun\":%llu,\"bad_header\":%llu,\"put_errors\":%llu,"
		       "\"unreadable_live\":%llu,\"retired_pools_held\":%llu,\"total\":%llu},"
		       "\"revocations\":%llu,\"replaced\":%llu,\"retired_pools\":%llu,"
		       "\"held\":{\"buffers\":%llu,\"unreadable_after_revoke\":%llu},"
		       "\"window_s\":%zu,"
		       "\"rss\":{\"first\":%.0f,\"last\":%.0f,\"change\":%.4f,\"flat\":%s},"
		       "\"inflight\":{\"first\":%.1f,\"last\":%.1f,\"change\":%.4f,\"flat\":%s},"
		       "\"end\":{\"pools_with_inflight\":%d,\"held_buffers\":%llu},"
		       "\"pass\":%s,\"why\":\"%s\"}\n",
		       secs, sk->cfg.conns, sk->cfg.shards, sk->cfg.engine ? sk->cfg.engine : "default",
		       (unsigned long long)bytes, nm_gbit(bytes, secs),
		       F(tx_streams), F(tx_done), F(tx_reset), F(tx_cut), F(tx_connfail),
		       F(opened), F(closed), F(ok), F(reset), F(early), F(cut),
		       F(corrupt), F(held_corrupt), F(broken), F(bad_reset), F(overrun),
		       F(bad_hdr), F(put_errs), F(null_live), F(retired_bad),
		       (unsigned long long)fails,
		       F(revokes), F(replaced), F(retired_ok),
		       F(held_total), F(held_unreadable), w,
		       rss.first, rss.last, rss.change, flat_word(rss, true),
		       inf.first, inf.last, inf.change, flat_word(inf, true),
		       pools_left, (unsigned long long)held_left, pass ? "true" : "false", why);
		return;
	}
	printf("netmem soak: %.1f s, %u connections over %u shards (engine %s), %.2f Gbit/s, %llu MB verified\n",
	       secs, sk->cfg.conns, sk->cfg.shards, sk->cfg.engine ? sk->cfg.engine : "default",
	       nm_gbit(bytes, secs), (unsigned long long)(bytes / 1000000));
	printf("  streams: %llu sent (%llu finished, %llu reset, %llu cut, %llu connects refused)\n",
	       F(tx_streams), F(tx_done), F(tx_reset), F(tx_cut), F(tx_connfail));
	printf("  received: %llu accepted, %llu intact, %llu reset mid-stream (+%llu before the header), %llu cut by revocation\n",
	       F(opened), F(ok), F(reset), F(early), F(cut));
	printf("  revocations: %llu under load, %llu receivers replaced, %llu retired pools drained to 0\n",
	       F(revokes), F(replaced), F(retired_ok));
	printf("  slow consumer: %llu buffers held (the last %u, each >= %u ms; %llu unreadable after a revoke)\n",
	       F(held_total), sk->cfg.hold_bufs, sk->cfg.hold_ms, F(held_unreadable));
	printf("  rss (MiB, first/last %zu s): %.1f -> %.1f (%+.1f%%) %s\n", w,
	       rss.first / 1048576, rss.last / 1048576, rss.change * 100, flat_word(rss, false));
	printf("  in flight (chunks, first/last %zu s): %.1f -> %.1f (%+.1f%%) %s\n", w,
	       inf.first, inf.last, inf.change * 100, flat_word(inf, false));
	printf("  at the end: %d pools with chunks in flight, %llu buffers held\n",
	       pools_left, (unsigned long long)held_left);
	printf("  failures: %llu (corrupt %llu, changed while held %llu, incomplete %llu, bad reset %llu, "
	       "overrun %llu, bad header %llu, put errors %llu, unreadable live %llu, retired held %llu)\n",
	       (unsigned long long)fails, F(corrupt), F(held_corrupt), F(broken), F(bad_reset),
	       F(overrun), F(bad_hdr), F(put_errs), F(null_live), F(retired_bad));
	if (pass)
		printf("  PASS\n");
	else
		printf("  FAIL: %s\n", why);
#undef F
}

static int soak_setup(struct soak *sk)
{
	/* both ends of every connection, the replacements in flight, and
	 * the receivers' own files */
	int rc = nm_raise_nofile(4ul * sk->cfg.conns + 256);

	if (rc) {
		fprintf(stderr, "netmem soak: RLIMIT_NOFILE too low for %u connections: %s\n",
			sk->cfg.conns, strerror(-rc));
		return rc;
	}
	if (nm_pat_parse(&sk->pat, "random", "1") || nm_pat_init(&sk->pat, SOAK_WRITE))
		return -ENOMEM;
	sk->samples = calloc(SOAK_MAX_SAMPLES, sizeof(*sk->samples));
	if (!sk->samples)
		return -ENOMEM;
	pthread_mutex_init(&sk->ret_lock, NULL);
	pthread_mutex_init(&sk->hold_lock, NULL);
	pthread_mutex_init(&sk->put_lock, NULL);
	return 0;
}

int cmd_soak(int argc, char **argv)
{
	static struct soak sk0;
	struct soak *sk = &sk0;
	struct soak_tx tx[SOAK_TX_THREADS] = { 0 };
	pthread_t hold_th;
	double t0, t_end, next_revoke, next_sample, secs;
	unsigned int rr = 0, per;
	struct soak_flat rss, inf;
	size_t w;
	int pools_left = 0, rc;
	bool pass, shards_ok = true;
	char why[256];

	sk->cfg = (struct soak_cfg){ .seconds = 60, .revoke_every = 3, .conns = 1000,
		.shards = 4, .reset_pct = 10, .slow_pct = 10, .hold_ms = 20, .hold_bufs = 256,
		.order = 4, .max_stream = 2u << 20, .seed = 1 };
	if (parse_args(argc, argv, &sk->cfg))
		return usage();
	/* each shard's area: room for its share of the connections' data in
	 * flight and the held buffers, without being large enough to hide a
	 * leak */
	sk->cfg.chunks = 256;
	if (soak_setup(sk))
		return 1;

	pthread_create(&hold_th, NULL, hold_main, sk);
	for (unsigned int i = 0; i < sk->cfg.shards; i++) {
		struct soak_shard *s = &sk->shards[i];

		s->sk = sk;
		s->idx = (int)i;
		pthread_mutex_init(&s->lock, NULL);
		pthread_create(&s->th, NULL, shard_main, s);
	}
	for (double until = nm_now() + 10; nm_now() < until;) {
		unsigned int up = 0;
		for (unsigned int i = 0; i < sk->cfg.shards; i++)
			up += atomic_load(&sk->shards[i].port) > 0 || sk->shards[i].err;
		if (up == sk->cfg.shards)
			break;
		usleep(1000);
	}
	for (unsigned int i = 0; i < sk->cfg.shards; i++)
		if (sk->shards[i].err || !atomic_load(&sk->shards[i].port))
			shards_ok = false;

	per = (sk->cfg.conns + SOAK_TX_THREADS - 1) / SOAK_TX_THREADS;
	for (unsigned int i = 0, left = sk->cfg.conns; i < SOAK_TX_THREADS && shards_ok; i++) {
		tx[i].sk = sk;
		tx[i].n = left < per ? left : per;
		left -= tx[i].n;
		tx[i].rnd = sk->cfg.seed + i;
		tx[i].ep = epoll_create1(EPOLL_CLOEXEC);
		tx[i].c = calloc(tx[i].n ? tx[i].n : 1, sizeof(*tx[i].c));
		if (tx[i].ep < 0 || !tx[i].c) {
			shards_ok = false;
			break;
		}
		for (unsigned int k = 0; k < tx[i].n; k++)
			tx[i].c[k].fd = -1;
		pthread_create(&tx[i].th, NULL, tx_main, &tx[i]);
	}

	t0 = nm_now();
	t_end = t0 + sk->cfg.seconds;
	next_revoke = t0 + sk->cfg.revoke_every;
	next_sample = t0 + 1;
	while (shards_ok && nm_now() < t_end) {
		double now = nm_now();

		if (now >= next_revoke) {
			struct soak_shard *s = &sk->shards[rr++ % sk->cfg.shards];
			if (!atomic_load(&s->revoke_pending))
				shard_revoke(sk, s);
			next_revoke += sk->cfg.revoke_every;
		}
		if (now >= next_sample) {
			reap_retired(sk, false);
			sample(sk, t0);
			if (!sk->cfg.quiet) {
				const struct soak_sample *s = &sk->samples[sk->nsamples - 1];
				const struct soak_sample *p = sk->nsamples > 1 ? s - 1 : NULL;
				fprintf(stderr, "%5.1f s  rss %6.1f MiB  in flight %5llu  held %5llu  open %5llu  %6.2f Gbit/s\n",
					s->t, s->rss / 1048576.0, (unsigned long long)s->inflight,
					(unsigned long long)s->held, (unsigned long long)s->open,
					nm_gbit(s->bytes - (p ? p->bytes : 0), s->t - (p ? p->t : 0)));
			}
			if (getenv("NM_SOAK_DEBUG"))
				debug_shards(sk);
			next_sample += 1;
		}
		for (unsigned int i = 0; i < sk->cfg.shards; i++)
			if (sk->shards[i].err)
				shards_ok = false;
		usleep(5000);
	}
	/* a run shorter than the first 1 s sample is sampled at its end */
	if (shards_ok && !sk->nsamples)
		sample(sk, t0);
	secs = nm_now() - t0;

	/* the end: senders finish their streams, receivers see them close */
	atomic_store(&sk->drain_tx, true);
	for (unsigned int i = 0; i < SOAK_TX_THREADS; i++)
		if (tx[i].c && tx[i].ep >= 0 && tx[i].n)
			pthread_join(tx[i].th, NULL);
	for (double until = nm_now() + 30; nm_now() < until;) {
		if (atomic_load(&sk->closed) == atomic_load(&sk->opened))
			break;
		usleep(10000);
	}
	atomic_store(&sk->stop_rx, true);
	for (unsigned int i = 0; i < sk->cfg.shards; i++) {
		struct soak_shard *s = &sk->shards[i];
		pthread_mutex_lock(&s->lock);
		if (s->inst)
			nm_rx_stop(s->inst->rx);
		pthread_mutex_unlock(&s->lock);
		pthread_join(s->th, NULL);
	}
	/* the slow consumer gives everything back; then no pool holds any */
	atomic_store(&sk->stop_hold, true);
	pthread_join(hold_th, NULL);
	pthread_mutex_lock(&sk->ret_lock);
	for (struct soak_retired *r = sk->retired; r; r = r->next)
		pools_left += nm_pool_inflight(r->pool) != 0;
	pthread_mutex_unlock(&sk->ret_lock);
	reap_retired(sk, true);

	w = sk->nsamples >= 30 ? 10 : sk->nsamples / 3 ? sk->nsamples / 3 : 1;
	rss = flat(sk, w, offsetof(struct soak_sample, rss));
	inf = flat(sk, w, offsetof(struct soak_sample, inflight));
	for (unsigned int i = 0; i < sk->cfg.shards; i++)
		shards_ok = shards_ok && !sk->shards[i].err;
	pass = verdict(sk, shards_ok, rss, inf, pools_left, why, sizeof(why));
	print_figures(sk, secs, rss, inf, w, pools_left, atomic_load(&sk->held_now), pass, why);
	rc = pass ? 0 : 1;
	for (unsigned int i = 0; i < SOAK_TX_THREADS; i++) {
		if (tx[i].ep >= 0 && tx[i].c)
			close(tx[i].ep);
		free(tx[i].c);
	}
	nm_pat_fini(&sk->pat);
	free(sk->samples);
	return rc;
}

/* SPDX-License-Identifier: MIT */
/*
 * statsrv.c - live stats over a unix socket (nm_stats_srv_*, netmem.h):
 * what `netmem stat` reads from a running receiver.
 *
 * One thread polls the listening socket and up to max_clients clients,
 * every socket non-blocking.  A client sends one short request line
 * ("text", "json", "prom"; empty means text), gets one document and is
 * closed.  What a hostile client can do is bounded: a request longer than
 * NM_STATS_REQ_MAX bytes is answered with an error and dropped (the rest
 * is never read), a client that sends nothing or never reads its answer is
 * dropped at its deadline, and while every slot is taken new clients wait
 * in the listen backlog instead of costing memory.  A peer of another uid
 * is refused at accept (SO_PEERCRED); the socket file is 0600 before
 * listen(), so no one else can connect to it in the first place.
 *
 * The figures come from the public readers (nm_pool_get_stats,
 * nm_area_info, nm_rx_stats), which read counters racily and take no lock
 * of the fast path (alloc cache, put, receive); only nm_area_info's free
 * count takes the area allocator's lock for an instant, as a pool's
 * refill from its area does on the slow path.  The registry lock here is
 * taken only by registration and by the server thread while it formats a
 * document, never while it waits on a socket.  This file only reads the layers below
 * through their public calls; none of them calls back into it.
 */
#include "core.h"
#include <netmem/rx.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#define NM_STATS_MAX_OBJS     256
#define NM_STATS_MAX_CLIENTS  64
#define NM_STATS_REQ_MAX      64
#define NM_STATS_LABEL        32

enum obj_kind { OBJ_POOL, OBJ_AREA, OBJ_RX };

struct st_obj {
	enum obj_kind kind;
	void *obj;
	int queue;
	char label[NM_STATS_LABEL];
};

struct st_client {
	int fd;                      /* -1: free slot */
	double deadline;
	size_t rlen;
	char req[NM_STATS_REQ_MAX];
	char *out;                   /* the answer, once the request is in */
	size_t olen, ooff;
};

struct nm_stats_srv {
	int lfd, wake_fd;
	pthread_t thr;
	pthread_mutex_t lock;        /* objs, nobj */
	struct st_obj objs[NM_STATS_MAX_OBJS];
	unsigned int nobj;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path) + 1];
	bool abstract;
	unsigned int timeout_ms, max_clients;
	double t0;
	struct st_client *cl;
};

/* A growing string; on allocation failure it stops growing and says so. */
struct sbuf {
	char *p;
	size_t len, cap;
	bool oom;
};

static void sb_add(struct sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void sb_add(struct sbuf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (b->oom)
		return;
	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(b->p ? b->p + b->len : NULL, b->p ? b->cap - b->len : 0, fmt, ap);
		va_end(ap);
		if (n < 0) {
			b->oom = true;
			return;
		}
		if (b->p && b->len + n < b->cap) {
			b->len += n;
			return;
		}
		size_t cap = b->cap ? b->cap * 2 : 4096;
		while (cap < b->len + n + 1)
			cap *= 2;
		char *q = realloc(b->p, cap);
		if (!q) {
			b->oom = true;
			return;
		}
		b->p = q;
		b->cap = cap;
	}
}

/* A label as a JSON or Prometheus string body: printable ASCII only, the
 * quote and backslash escaped. */
static const char *esc(const char *s, char *buf, size_t len)
{
	size_t o = 0;

	for (; *s && o + 3 < len; s++) {
		unsigned char c = *s;
		if (c == '"' || c == '\\')
			buf[o++] = '\\';
		buf[o++] = c >= 0x20 && c < 0x7f ? c : '?';
	}
	buf[o] = 0;
	return buf;
}

static double mono_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static const char *state_name(enum nm_area_state s)
{
	return s == NM_AREA_LIVE ? "live" : s == NM_AREA_REVOKING ? "revoking" : "dead";
}

/* The pool counters, one list for every format: name, help, field. */
#define POOL_COUNTERS(X) \
	X(alloc_fast, "allocations served from the alloc cache") \
	X(alloc_slow, "allocations that went past the cache to the ring or area") \
	X(alloc_empty, "allocations that found nothing anywhere") \
	X(alloc_refill, "alloc cache refills from the return ring") \
	X(alloc_area, "chunks taken from the area allocator") \
	X(alloc_frag, "fragments carved") \
	X(recycle_cached, "puts straight into the alloc cache") \
	X(recycle_ring, "puts into the return ring") \
	X(recycle_ring_full, "puts that found the ring full: chunk released") \
	X(recycle_released, "chunks given back to the area") \
	X(err_double_put, "double puts refused") \
	X(err_foreign, "puts of another pool's buffer refused") \
	X(err_not_buf, "puts of something not a buffer refused") \
	X(err_range, "puts with offset or length outside the chunk") \
	X(err_inval, "calls with invalid arguments") \
	X(err_revoked, "calls refused because the area was revoked") \
	X(err_sync, "chunks the provider could not sync for the device") \
	X(hold, "chunks taken from the area, ever") \
	X(release, "chunks returned to the area, ever")

#define RX_COUNTERS(X) \
	X(bytes) X(bufs) X(msgs) X(frames) X(hdr_bytes) X(conns_opened) \
	X(conns_closed) X(conns_err) X(recv_calls) X(enobufs) X(rearm) \
	X(refill) X(refill_batches) X(pool_empty) X(bundles) X(inc_partial) \
	X(places) X(place_errors) X(frame_too_big) X(tok_rejected) X(tok_full) \
	X(held_waits)

struct pool_fig {
	struct nm_pool_stats s;
	struct nm_area_info ai;
	uint64_t inflight_bytes, held;
	bool revoked;
};

static int pool_fig(struct nm_pool *p, struct pool_fig *f)
{
	memset(f, 0, sizeof(*f));
	if (nm_pool_get_stats(p, &f->s, sizeof(f->s)) ||
	    nm_area_info(nm_pool_area(p), &f->ai, sizeof(f->ai)))
		return -1;
	f->inflight_bytes = f->s.inflight * f->ai.chunk_size;
	/* chunks the pool has from its area now: cached, in its ring, in
	 * flight (hold and release only grow, so read release first) */
	f->held = f->s.hold >= f->s.release ? f->s.hold - f->s.release : 0;
	f->revoked = f->ai.state != NM_AREA_LIVE;
	return 0;
}

static void fmt_text(struct nm_stats_srv *s, struct sbuf *b)
{
	sb_add(b, "netmem stats: pid %d, up %.1f s\n", (int)getpid(), mono_now() - s->t0);
	for (unsigned int i = 0; i < s->nobj; i++) {
		struct st_obj *o = &s->objs[i];

		if (o->kind == OBJ_POOL) {
			struct pool_fig f;
			if (pool_fig(o->obj, &f))
				continue;
			sb_add(b, "pool %s", o->label);
			if (o->queue >= 0)
				sb_add(b, " queue %d", o->queue);
			sb_add(b, " (area %s%s): alloc fast %llu slow %llu empty %llu refill %llu "
			       "area %llu; recycled cached %llu ring %llu, ring full %llu, "
			       "released %llu; in flight %llu (%llu bytes), held %llu; "
			       "errors %llu%s\n",
			       f.ai.name ? f.ai.name : "?", f.revoked ? ", REVOKED" : "",
			       (unsigned long long)f.s.alloc_fast, (unsigned long long)f.s.alloc_slow,
			       (unsigned long long)f.s.alloc_empty, (unsigned long long)f.s.alloc_refill,
			       (unsigned long long)f.s.alloc_area, (unsigned long long)f.s.recycle_cached,
			       (unsigned long long)f.s.recycle_ring,
			       (unsigned long long)f.s.recycle_ring_full,
			       (unsigned long long)f.s.recycle_released,
			       (unsigned long long)f.s.inflight, (unsigned long long)f.inflight_bytes,
			       (unsigned long long)f.held,
			       (unsigned long long)(f.s.err_double_put + f.s.err_foreign +
						    f.s.err_not_buf + f.s.err_range + f.s.err_inval +
						    f.s.err_revoked + f.s.err_sync),
			       f.revoked ? "; revoked" : "");
		} else if (o->kind == OBJ_AREA) {
			struct nm_area_info ai;
			if (nm_area_info(o->obj, &ai, sizeof(ai)))
				continue;
			sb_add(b, "area %s: provider %s (%s), %llu bytes in %u chunks of %u bytes; "
			       "%u free, %u outstanding; %s\n", o->label, ai.provider,
			       ai.detail[0] ? ai.detail : "-", (unsigned long long)ai.size,
			       ai.nr_chunks, ai.chunk_size, ai.nr_free, ai.nr_outstanding,
			       state_name(ai.state));
		} else {
			struct nm_rx_stats rs;
			struct nm_rx_info ri;
			if (nm_rx_stats(o->obj, &rs, sizeof(rs)) ||
			    nm_rx_info(o->obj, &ri, sizeof(ri)))
				continue;
			sb_add(b, "rx %s: engine %s, %u queue%s; %llu bytes in %llu buffers; "
			       "connections: %llu open, %llu opened, %llu with errors; "
			       "%llu enobufs, %llu pool empty, %llu refills\n", o->label,
			       ri.engine, ri.nr_queues, ri.nr_queues == 1 ? "" : "s",
			       (unsigned long long)rs.bytes, (unsigned long long)rs.bufs,
			       (unsigned long long)rs.conns_active,
			       (unsigned long long)rs.conns_opened, (unsigned long long)rs.conns_err,
			       (unsigned long long)rs.enobufs, (unsigned long long)rs.pool_empty,
			       (unsigned long long)rs.refill);
		}
	}
}

static void fmt_json(struct nm_stats_srv *s, struct sbuf *b)
{
	const char *sep;
	char e1[2 * NM_STATS_LABEL], e2[2 * NM_STATS_LABEL], e3[200];

	sb_add(b, "{\"pid\":%d,\"uptime_s\":%.3f", (int)getpid(), mono_now() - s->t0);
	sb_add(b, ",\"pools\":[");
	sep = "";
	for (unsigned int i = 0; i < s->nobj; i++) {
		struct st_obj *o = &s->objs[i];
		struct pool_fig f;

		if (o->kind != OBJ_POOL || pool_fig(o->obj, &f))
			continue;
		sb_add(b, "%s{\"label\":\"%s\",\"queue\":%d,\"area\":\"%s\"", sep,
		       esc(o->label, e1, sizeof(e1)), o->queue,
		       esc(f.ai.name ? f.ai.name : "", e2, sizeof(e2)));
#define X(f_, h) sb_add(b, ",\"" #f_ "\":%llu", (unsigned long long)f.s.f_);
		POOL_COUNTERS(X)
#undef X
		sb_add(b, ",\"inflight\":%llu,\"inflight_bytes\":%llu,\"held\":%llu,"
		       "\"revoked\":%s}", (unsigned long long)f.s.inflight,
		       (unsigned long long)f.inflight_bytes, (unsigned long long)f.held,
		       f.revoked ? "true" : "false");
		sep = ",";
	}
	sb_add(b, "],\"areas\":[");
	sep = "";
	for (unsigned int i = 0; i < s->nobj; i++) {
		struct st_obj *o = &s->objs[i];
		struct nm_area_info ai;

		if (o->kind != OBJ_AREA || nm_area_info(o->obj, &ai, sizeof(ai)))
			continue;
		sb_add(b, "%s{\"label\":\"%s\",\"name\":\"%s\",\"provider\":\"%s\","
		       "\"detail\":\"%s\",\"size\":%llu,\"chunk_size\":%u,\"chunks\":%u,"
		       "\"free\":%u,\"outstanding\":%u,\"state\":\"%s\",\"revoked\":%s}", sep,
		       esc(o->label, e1, sizeof(e1)), esc(ai.name ? ai.name : "", e2, sizeof(e2)),
		       ai.provider, esc(ai.detail, e3, sizeof(e3)), (unsigned long long)ai.size,
		       ai.chunk_size, ai.nr_chunks, ai.nr_free, ai.nr_outstanding,
		       state_name(ai.state), ai.state != NM_AREA_LIVE ? "true" : "false");
		sep = ",";
	}
	sb_add(b, "],\"rx\":[");
	sep = "";
	for (unsigned int i = 0; i < s->nobj; i++) {
		struct st_obj *o = &s->objs[i];
		struct nm_rx_stats rs;
		struct nm_rx_info ri;

		if (o->kind != OBJ_RX || nm_rx_stats(o->obj, &rs, sizeof(rs)) ||
		    nm_rx_info(o->obj, &ri, sizeof(ri)))
			continue;
		sb_add(b, "%s{\"label\":\"%s\",\"engine\":\"%s\",\"queues\":%u,"
		       "\"conns_active\":%llu", sep, esc(o->label, e1, sizeof(e1)),
		       ri.engine, ri.nr_queues, (unsigned long long)rs.conns_active);
#define X(f_) sb_add(b, ",\"" #f_ "\":%llu", (unsigned long long)rs.f_);
		RX_COUNTERS(X)
#undef X
		sb_add(b, "}");
		sep = ",";
	}
	sb_add(b, "]}\n");
}

/* Prometheus: each metric family's HELP and TYPE once, then its samples. */
static void prom_pool(struct nm_stats_srv *s, struct sbuf *b, const char *name,
		      const char *help, const char *type, size_t off, int which)
{
	char e1[2 * NM_STATS_LABEL], e2[2 * NM_STATS_LABEL];
	bool head = false;

	for (unsigned int i = 0; i < s->nobj; i++) {
		struct st_obj *o = &s->objs[i];
		struct pool_fig f;
		uint64_t v;

		if (o->kind != OBJ_POOL || pool_fig(o->obj, &f))
			continue;
		if (!head) {
			sb_add(b, "# HELP netmem_pool_%s %s.\n# TYPE netmem_pool_%s %s\n",
			       name, help, name, type);
			head = true;
		}
		v = which == 0 ? *(uint64_t *)((char *)&f.s + off) :
		    which == 1 ? f.inflight_bytes : which == 2 ? f.held : f.revoked;
		sb_add(b, "netmem_pool_%s{pool=\"%s\",queue=\"%d\",area=\"%s\"} %llu\n", name,
		       esc(o->label, e1, sizeof(e1)), o->queue,
		       esc(f.ai.name ? f.ai.name : "", e2, sizeof(e2)), (unsigned long long)v);
	}
}

static void fmt_prom(struct nm_stats_srv *s, struct sbuf *b)
{
	char e1[2 * NM_STATS_LABEL], e2[200];

#define X(f_, h) prom_pool(s, b, #f_ "_total", h, "counter", \
			   offsetof(struct nm_pool_stats, f_), 0);
	POOL_COUNTERS(X)
#undef X
	prom_pool(s, b, "inflight", "chunks held outside the pool now", "gauge",
		  offsetof(struct nm_pool_stats, inflight), 0);
	prom_pool(s, b, "inflight_bytes", "bytes of the chunks held outside the pool now",
		  "gauge", 0, 1);
	prom_pool(s, b, "held", "chunks the pool has from its area now", "gauge", 0, 2);
	prom_pool(s, b, "revoked", "1 when the pool's area is revoked", "gauge", 0, 3);

	static const struct { const char *name, *help; } afam[] = {
		{ "size_bytes", "bytes of the area" },
		{ "chunks", "chunks of the area" },
		{ "free_chunks", "chunks in the area's allocator" },
		{ "outstanding_chunks", "chunks taken by pools, not yet returned" },
		{ "revoked", "1 when the area is revoked" },
	};
	for (size_t k = 0; k < sizeof(afam) / sizeof(afam[0]); k++) {
		bool head = false;
		for (unsigned int i = 0; i < s->nobj; i++) {
			struct st_obj *o = &s->objs[i];
			struct nm_area_info ai;
			uint64_t v;

			if (o->kind != OBJ_AREA || nm_area_info(o->obj, &ai, sizeof(ai)))
				continue;
			if (!head) {
				sb_add(b, "# HELP netmem_area_%s %s.\n# TYPE netmem_area_%s gauge\n",
				       afam[k].name, afam[k].help, afam[k].name);
				head = true;
			}
			v = k == 0 ? ai.size : k == 1 ? ai.nr_chunks : k == 2 ? ai.nr_free :
			    k == 3 ? ai.nr_outstanding : ai.state != NM_AREA_LIVE;
			sb_add(b, "netmem_area_%s{area=\"%s\",provider=\"%s\",detail=\"%s\"} %llu\n",
			       afam[k].name, esc(o->label, e1, sizeof(e1)), ai.provider,
			       esc(ai.detail, e2, sizeof(e2)), (unsigned long long)v);
		}
	}
#define X(f_) { \
	bool head = false; \
	for (unsigned int i = 0; i < s->nobj; i++) { \
		struct nm_rx_stats rs; \
		if (s->objs[i].kind != OBJ_RX || nm_rx_stats(s->objs[i].obj, &rs, sizeof(rs))) \
			continue; \
		if (!head) \
			sb_add(b, "# TYPE netmem_rx_" #f_ "_total counter\n"); \
		head = true; \
		sb_add(b, "netmem_rx_" #f_ "_total{rx=\"%s\"} %llu\n", \
		       esc(s->objs[i].label, e1, sizeof(e1)), (unsigned long long)rs.f_); \
	} }
	RX_COUNTERS(X)
#undef X
}

static char *format_doc(struct nm_stats_srv *s, enum nm_stats_fmt fmt, size_t *len)
{
	struct sbuf b = { 0 };

	pthread_mutex_lock(&s->lock);
	if (fmt == NM_STATS_JSON)
		fmt_json(s, &b);
	else if (fmt == NM_STATS_PROM)
		fmt_prom(s, &b);
	else
		fmt_text(s, &b);
	pthread_mutex_unlock(&s->lock);
	if (b.oom || !b.p) {
		free(b.p);
		return NULL;
	}
	*len = b.len;
	return b.p;
}

NM_API long nm_stats_srv_format(struct nm_stats_srv *s, enum nm_stats_fmt fmt,
				char *buf, size_t len)
{
	size_t n;
	char *doc;

	if (!s || (!buf && len) || (unsigned int)fmt > NM_STATS_PROM)
		return -EINVAL;
	doc = format_doc(s, fmt, &n);
	if (!doc)
		return -ENOMEM;
	if (len) {
		size_t c = n < len - 1 ? n : len - 1;
		memcpy(buf, doc, c);
		buf[c] = 0;
	}
	free(doc);
	return (long)n;
}

/* ---- the server thread ---------------------------------------------- */

static void client_close(struct st_client *c)
{
	close(c->fd);
	free(c->out);
	memset(c, 0, sizeof(*c));
	c->fd = -1;
}

/* What a request line asks for; the answer in c->out. */
static void client_answer(struct nm_stats_srv *s, struct st_client *c, const char *line)
{
	static const char *const bad = "error: unknown request (send text, json or prom)\n";
	enum nm_stats_fmt fmt;
	size_t n = 0;

	if (!*line || !strcmp(line, "text"))
		fmt = NM_STATS_TEXT;
	else if (!strcmp(line, "json"))
		fmt = NM_STATS_JSON;
	else if (!strcmp(line, "prom"))
		fmt = NM_STATS_PROM;
	else
		fmt = (enum nm_stats_fmt)-1;
	c->out = (int)fmt >= 0 ? format_doc(s, fmt, &n) : NULL;
	if (!c->out) {
		const char *msg = (int)fmt >= 0 ? "error: out of memory\n" : bad;
		c->out = strdup(msg);
		n = c->out ? strlen(msg) : 0;
	}
	c->olen = n;
	c->ooff = 0;
}

/* Read what the client sent; once a line (or EOF) is in, prepare the answer.
 * Return false when the client is to be dropped. */
static bool client_read(struct nm_stats_srv *s, struct st_client *c)
{
	for (;;) {
		ssize_t n = recv(c->fd, c->req + c->rlen, sizeof(c->req) - c->rlen, 0);
		char *nl;

		if (n < 0)
			return errno == EAGAIN || errno == EINTR;
		if (n == 0) {
			if (!c->rlen)
				return false;
			c->req[c->rlen < sizeof(c->req) ? c->rlen : sizeof(c->req) - 1] = 0;
			client_answer(s, c, c->req);
			return true;
		}
		c->rlen += n;
		nl = memchr(c->req, '\n', c->rlen);
		if (nl) {
			*nl = 0;
			if (nl > c->req && nl[-1] == '\r')
				nl[-1] = 0;
			client_answer(s, c, c->req);
			return true;
		}
		if (c->rlen == sizeof(c->req)) {
			c->out = strdup("error: request too long\n");
			c->olen = c->out ? strlen(c->out) : 0;
			return c->out != NULL;
		}
	}
}

/* Send what the socket takes.  Return false when done or failed (drop). */
static bool client_write(struct st_client *c)
{
	while (c->ooff < c->olen) {
		ssize_t n = send(c->fd, c->out + c->ooff, c->olen - c->ooff,
				 MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0)
			return errno == EAGAIN || errno == EINTR;
		c->ooff += n;
	}
	return false;
}

static bool peer_ok(int fd)
{
	struct ucred cr;
	socklen_t len = sizeof(cr);

	return !getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &len) && len == sizeof(cr) &&
	       cr.uid == geteuid();
}

static void accept_some(struct nm_stats_srv *s)
{
	for (unsigned int i = 0; i < s->max_clients; i++) {
		struct st_client *c = &s->cl[i];
		int fd;

		if (c->fd >= 0)
			continue;
		fd = accept4(s->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0)
			return;
		if (!peer_ok(fd)) {
			static const char msg[] = "error: permission denied\n";
			if (send(fd, msg, sizeof(msg) - 1, MSG_NOSIGNAL | MSG_DONTWAIT) < 0) {
				/* nothing to do: the peer is dropped either way */
			}
			close(fd);
			continue;
		}
		c->fd = fd;
		c->deadline = mono_now() + s->timeout_ms / 1000.0;
	}
}

static void *serve(void *arg)
{
	struct nm_stats_srv *s = arg;
	struct pollfd *pfd = calloc(s->max_clients + 2, sizeof(*pfd));
	int *idx = calloc(s->max_clients + 2, sizeof(*idx));

	if (!pfd || !idx) {
		free(pfd);
		free(idx);
		return NULL;
	}
	for (;;) {
		double now = mono_now(), next = now + 3600;
		unsigned int n = 0, busy = 0;
		int wait_ms;

		pfd[n].fd = s->wake_fd;
		pfd[n++].events = POLLIN;
		for (unsigned int i = 0; i < s->max_clients; i++) {
			struct st_client *c = &s->cl[i];

			if (c->fd < 0)
				continue;
			if (now >= c->deadline) {
				client_close(c);
				continue;
			}
			busy++;
			if (c->deadline < next)
				next = c->deadline;
			idx[n] = i;
			pfd[n].fd = c->fd;
			pfd[n++].events = c->out ? POLLOUT : POLLIN;
		}
		if (busy < s->max_clients) {
			idx[n] = -1;
			pfd[n].fd = s->lfd;
			pfd[n++].events = POLLIN;
		}
		wait_ms = (int)((next - now) * 1000) + 1;
		if (poll(pfd, n, wait_ms) < 0 && errno != EINTR)
			break;
		if (pfd[0].revents)
			break;
		for (unsigned int k = 1; k < n; k++) {
			struct st_client *c;

			if (!pfd[k].revents)
				continue;
			if (idx[k] < 0) {
				accept_some(s);
				continue;
			}
			c = &s->cl[idx[k]];
			if (!c->out && !client_read(s, c)) {
				client_close(c);
				continue;
			}
			if (c->out && !client_write(c))
				client_close(c);
		}
	}
	free(pfd);
	free(idx);
	return NULL;
}

/* ---- set-up ----------------------------------------------------------- */

static int default_path(char *buf, size_t len)
{
	const char *dir = getenv("XDG_RUNTIME_DIR");
	struct stat st;
	int n;

	if (!dir || dir[0] != '/' || stat(dir, &st) || !S_ISDIR(st.st_mode) ||
	    st.st_uid != geteuid())
		dir = "/tmp";
	n = snprintf(buf, len, "%s/netmem-%d.sock", dir, (int)getpid());
	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

/* Something is at @path: take it over only if it is our own socket with
 * no one listening (its process gone). */
static int clear_stale(const struct sockaddr_un *sa, socklen_t salen)
{
	struct stat st;
	int fd, err;

	if (lstat(sa->sun_path, &st))
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISSOCK(st.st_mode) || st.st_uid != geteuid())
		return -EEXIST;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	err = connect(fd, (const struct sockaddr *)sa, salen) ? errno : 0;
	close(fd);
	if (!err || err == EAGAIN)
		return -EADDRINUSE;
	if (err != ECONNREFUSED)
		return -EEXIST;
	return unlink(sa->sun_path) && errno != ENOENT ? -errno : 0;
}

static int open_socket(struct nm_stats_srv *s)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	size_t plen = strlen(s->path);
	socklen_t salen;
	int err;

	if (plen > sizeof(sa.sun_path) - (s->abstract ? 0 : 1))
		return -ENAMETOOLONG;
	if (s->abstract) {
		/* sun_path[0] = 0, then the name without its '@' */
		memcpy(sa.sun_path + 1, s->path + 1, plen - 1);
		salen = offsetof(struct sockaddr_un, sun_path) + plen;
	} else {
		memcpy(sa.sun_path, s->path, plen);
		salen = sizeof(sa);
		err = clear_stale(&sa, salen);
		if (err)
			return err;
	}
	s->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (s->lfd < 0)
		return -errno;
	if (bind(s->lfd, (struct sockaddr *)&sa, salen))
		return -errno;
	/* Owner-only before listen(): until then no one can connect. */
	if (!s->abstract && chmod(s->path, 0600)) {
		err = -errno;
		unlink(s->path);
		return err;
	}
	if (listen(s->lfd, 16)) {
		err = -errno;
		if (!s->abstract)
			unlink(s->path);
		return err;
	}
	return 0;
}

static void srv_free(struct nm_stats_srv *s)
{
	if (s->lfd >= 0)
		close(s->lfd);
	if (s->wake_fd >= 0)
		close(s->wake_fd);
	for (unsigned int i = 0; s->cl && i < s->max_clients; i++)
		if (s->cl[i].fd >= 0)
			client_close(&s->cl[i]);
	free(s->cl);
	pthread_mutex_destroy(&s->lock);
	free(s);
}

NM_API struct nm_stats_srv *nm_stats_srv_create(const struct nm_stats_srv_opts *uopts)
{
	struct nm_stats_srv_opts o;
	struct nm_stats_srv *s;
	int err;

	err = nm_opts_copy(&o, sizeof(o), uopts);
	if (!err && (o.flags || o.max_clients > NM_STATS_MAX_CLIENTS ||
		     (o.path && (!o.path[0] || !strcmp(o.path, "@")))))
		err = -EINVAL;
	if (!err && o.path && strlen(o.path) >= sizeof(s->path))
		err = -ENAMETOOLONG;
	if (err) {
		errno = -err;
		return NULL;
	}
	s = calloc(1, sizeof(*s));
	if (!s) {
		errno = ENOMEM;
		return NULL;
	}
	s->lfd = s->wake_fd = -1;
	pthread_mutex_init(&s->lock, NULL);
	s->timeout_ms = o.timeout_ms ? o.timeout_ms : 2000;
	s->max_clients = o.max_clients ? o.max_clients : 8;
	s->t0 = mono_now();
	if (o.path)
		snprintf(s->path, sizeof(s->path), "%s", o.path);
	else
		err = default_path(s->path, sizeof(s->path));
	s->abstract = s->path[0] == '@';
	s->cl = calloc(s->max_clients, sizeof(*s->cl));
	if (!err && !s->cl)
		err = -ENOMEM;
	for (unsigned int i = 0; s->cl && i < s->max_clients; i++)
		s->cl[i].fd = -1;
	if (!err) {
		s->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (s->wake_fd < 0)
			err = -errno;
	}
	if (!err)
		err = open_socket(s);
	if (!err) {
		err = -pthread_create(&s->thr, NULL, serve, s);
		if (err && !s->abstract)
			unlink(s->path);
	}
	if (err) {
		srv_free(s);
		errno = -err;
		return NULL;
	}
	return s;
}

static int add_obj(struct nm_stats_srv *s, enum obj_kind kind, void *obj,
		   const char *label, int queue, const char *dflt)
{
	int err = 0;

	if (!s || !obj || queue < -1)
		return -EINVAL;
	pthread_mutex_lock(&s->lock);
	for (unsigned int i = 0; i < s->nobj; i++)
		if (s->objs[i].obj == obj)
			err = -EEXIST;
	if (!err && s->nobj == NM_STATS_MAX_OBJS)
		err = -ENOSPC;
	if (!err) {
		struct st_obj *o = &s->objs[s->nobj++];
		o->kind = kind;
		o->obj = obj;
		o->queue = queue;
		snprintf(o->label, sizeof(o->label), "%s", label ? label : dflt);
	}
	pthread_mutex_unlock(&s->lock);
	return err;
}

NM_API int nm_stats_srv_add_pool(struct nm_stats_srv *s, struct nm_pool *pool,
				 const char *label, int queue)
{
	return add_obj(s, OBJ_POOL, pool, label, queue, "pool");
}

NM_API int nm_stats_srv_add_area(struct nm_stats_srv *s, struct nm_area *area,
				 const char *label)
{
	return add_obj(s, OBJ_AREA, area, label, -1, "area");
}

NM_API int nm_stats_srv_add_rx(struct nm_stats_srv *s, struct nm_rx *rx, const char *label)
{
	return add_obj(s, OBJ_RX, rx, label, -1, "rx");
}

NM_API int nm_stats_srv_remove(struct nm_stats_srv *s, const void *obj)
{
	int err = -ENOENT;

	if (!s || !obj)
		return -EINVAL;
	pthread_mutex_lock(&s->lock);
	for (unsigned int i = 0; i < s->nobj; i++) {
		if (s->objs[i].obj != obj)
			continue;
		memmove(&s->objs[i], &s->objs[i + 1], (s->nobj - i - 1) * sizeof(s->objs[0]));
		s->nobj--;
		err = 0;
		break;
	}
	pthread_mutex_unlock(&s->lock);
	return err;
}

NM_API const char *nm_stats_srv_path(const struct nm_stats_srv *s)
{
	return s ? s->path : NULL;
}

NM_API int nm_stats_srv_destroy(struct nm_stats_srv *s)
{
	uint64_t one = 1;

	if (!s)
		return -EINVAL;
	if (write(s->wake_fd, &one, sizeof(one)) != sizeof(one)) {
		/* an eventfd write of 1 cannot fail short of overflow */
	}
	pthread_join(s->thr, NULL);
	if (!s->abstract)
		unlink(s->path);
	srv_free(s);
	return 0;
}

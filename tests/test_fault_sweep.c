/* SPDX-License-Identifier: MIT */
/*
 * Fault injection sweep (src/util/fault.h): for each scenario (an area and
 * pool over each built-in provider, a pool that syncs for the device, a
 * token table, a receiver on each engine, a split receiver placing into
 * unreadable memory, and receivers whose slow consumer runs small pools
 * dry), count the library's fallible calls, then for every
 * N make the Nth of them fail and run the scenario again.  Each run must
 * end either in success with every byte intact, or in a clear -errno (the
 * injected one, or the peer's reset it caused); never a crash, a hang, a
 * wrong byte or a connection closed cleanly short of its data.  After
 * each, the same scenario un-armed must succeed in full (the library is
 * still usable), and nothing may be left behind: no fd, no mapping, no
 * buffer held (pools destroy with 0 out), no heap block (ASan's leak check
 * at exit in the sanitizer build).
 */
#include "harness.h"
#include "cuda_mock.h"
#include "util/fault.h"
#include <netmem/cuda.h>
#include <netmem/dmabuf.h>
#include <netmem/provider.h>
#include <netmem/rx.h>
#include <arpa/inet.h>
#include <dirent.h>
#include <malloc.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* ------------------------------------------------------------------ */
/* what a scenario leaves behind                                        */
/* ------------------------------------------------------------------ */

struct snap {
	int fds;
	uint64_t map_bytes;	/* anonymous, memfd and io_uring mappings */
};

static int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0;

	REQUIRE(d);
	while ((e = readdir(d)))
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

static uint64_t map_bytes(void)
{
	FILE *f = fopen("/proc/self/maps", "r");
	char line[512];
	uint64_t total = 0;

	REQUIRE(f);
	while (fgets(line, sizeof(line), f)) {
		unsigned long lo, hi;
		char path[256] = "";

		if (sscanf(line, "%lx-%lx %*s %*s %*s %*s %255s", &lo, &hi, path) < 2)
			continue;
		if (!path[0] || !strncmp(path, "/memfd:", 7) ||
		    !strncmp(path, "anon_inode:", 11))
			total += hi - lo;
	}
	fclose(f);
	return total;
}

static struct snap snap_take(void)
{
	struct snap s = { count_fds(), map_bytes() };
	return s;
}

/* ------------------------------------------------------------------ */
/* providers the scenarios register                                     */
/* ------------------------------------------------------------------ */

static int fsync_init(struct nm_area_mem *m, const struct nm_area_opts *o)
{
	return t_anon_init(m);
}

static int fsync_sync(struct nm_area_mem *m, uint64_t off, uint64_t len,
		      enum nm_sync_dir dir)
{
	return 0;	/* coherent: the hook is here to be called */
}

static const struct nm_provider_ops fsync_ops = {
	.name       = "fault-sync",
	.area_init  = fsync_init,
	.area_fini  = t_anon_fini,
	.alloc_bulk = nm_genpool_alloc_bulk,
	.release    = nm_genpool_release,
	.sync       = fsync_sync,
};

/* Unreadable "device" memory with a synchronous place: split receives
 * into the header pool and places payloads here. */
static uint8_t *dev_backing;

static int dev_init(struct nm_area_mem *m, const struct nm_area_opts *o)
{
	dev_backing = calloc(1, m->size);
	if (!dev_backing)
		return -ENOMEM;
	m->cpu_base = NULL;
	m->priv = dev_backing;
	return 0;
}

static void dev_fini(struct nm_area_mem *m)
{
	free(m->priv);
	dev_backing = NULL;
}

static int dev_place(struct nm_area_mem *m, uint64_t off, const void *src,
		     size_t len, void (*done)(void *, int), void *arg)
{
	if (off + len > m->size)
		return -ERANGE;
	memcpy((uint8_t *)m->priv + off, src, len);
	if (done)
		done(arg, 0);
	return 0;
}

static const struct nm_provider_ops dev_ops = {
	.name       = "fault-dev",
	.flags      = NM_PROV_F_DEVICE,
	.area_init  = dev_init,
	.area_fini  = dev_fini,
	.alloc_bulk = nm_genpool_alloc_bulk,
	.release    = nm_genpool_release,
	.place      = dev_place,
};

/* ------------------------------------------------------------------ */
/* scenarios: 0 on full success, or the -errno they ended with          */
/* ------------------------------------------------------------------ */

/* An area and a pool: whole chunks in bulk, a fragment, a sync of each
 * (a no-op without a sync hook), all put back, both destroyed. */
static int area_pool_opts(const char *prov, const struct nm_area_opts *ao,
			  unsigned int pflags)
{
	NM_OPTS(nm_pool_opts, po, .flags = pflags);
	struct nm_buf b[40], fr;
	struct nm_area *a;
	struct nm_pool *p;
	int n, r = 0, have_frag = 0;

	a = nm_area_create(prov, ao);
	if (!a)
		return -errno;
	p = nm_pool_create(a, &po);
	if (!p) {
		r = -errno;
		CHECK_EQ(nm_area_destroy(a), 0);
		return r;
	}
	n = nm_pool_alloc_bulk(p, b, 40);
	if (n < 0) {
		r = n;
		n = 0;
	} else if (n < 40) {
		r = -ENOMEM;	/* the pool said: no more memory */
	}
	if (!r) {
		r = nm_pool_alloc_frag(p, &fr, 100, 0);
		have_frag = !r;
	}
	for (int i = 0; i < n; i++) {
		int s = nm_buf_sync(&b[i], NM_SYNC_FOR_CPU);

		if (s && !r)
			r = s;
		CHECK_EQ(nm_pool_put(p, &b[i]), 0);
	}
	if (have_frag)
		CHECK_EQ(nm_pool_put(p, &fr), 0);
	CHECK_EQ(nm_pool_destroy(p), 0);
	CHECK_EQ(nm_area_destroy(a), 0);
	return r;
}

static int area_pool(const char *prov, size_t size, unsigned int pflags)
{
	NM_OPTS(nm_area_opts, ao, .size = size);

	return area_pool_opts(prov, &ao, pflags);
}

/* A sealed memfd the import scenarios share (made once, outside them). */
static int shared_memfd = -1;

static int sc_memfd_import(void)
{
	NM_OPTS(nm_area_opts, ao, .size = 64 << 12, .fd = shared_memfd,
		.flags = NM_AREA_F_IMPORT_FD);

	return area_pool_opts("memfd", &ao, 0);
}

/* The dmabuf provider over a memfd standing in for a dmabuf, mapped. */
static int sc_dmabuf(void)
{
	NM_OPTS(nm_dmabuf_args, da, .flags = NM_DMABUF_F_CPU_MAP);
	NM_OPTS(nm_area_opts, ao, .size = 64 << 12, .fd = shared_memfd,
		.flags = NM_AREA_F_ALLOW_ANY_FD, .provider_arg = &da);

	return area_pool_opts("dmabuf", &ao, 0);
}

static int sc_host(void)
{
	return area_pool("host", 64 << 12, 0);
}

static int sc_memfd(void)
{
	return area_pool("memfd", 64 << 12, 0);
}

static int sc_hugepage(void)
{
	return area_pool("hugepage", 2 << 20, 0);
}

static int sc_sync(void)
{
	return area_pool("fault-sync", 64 << 12, NM_POOL_F_SYNC_FOR_DEVICE);
}

/* A token table: tokens for a pool's buffers, some released by token,
 * the rest by release_all. */
static int sc_tokens(void)
{
	NM_OPTS(nm_area_opts, ao, .size = 64 << 12);
	struct nm_token_table *t;
	struct nm_area *a;
	struct nm_pool *p;
	struct nm_buf b[16];
	uint32_t tok[16];
	int n, r = 0, added = 0;

	a = nm_area_create("host", &ao);
	if (!a)
		return -errno;
	p = nm_pool_create(a, NULL);
	if (!p) {
		r = -errno;
		CHECK_EQ(nm_area_destroy(a), 0);
		return r;
	}
	t = nm_token_table_create(64);
	if (!t)
		r = -errno;
	n = r ? 0 : nm_pool_alloc_bulk(p, b, 16);
	if (n < 0) {
		r = n;
		n = 0;
	} else if (!r && n < 16) {
		r = -ENOMEM;
	}
	for (int i = 0; i < n; i++) {
		if (t && !nm_token_add(t, &b[i], &tok[added])) {
			added++;
			continue;
		}
		CHECK_EQ(nm_pool_put(p, &b[i]), 0);
	}
	if (t) {
		CHECK_EQ(added, n);
		CHECK_EQ(nm_token_release(t, tok, (unsigned int)added / 2),
			 added / 2);
		CHECK_EQ(nm_token_release_all(t), added - added / 2);
		CHECK_EQ(nm_token_count(t), 0);
		nm_token_table_destroy(t);
	}
	CHECK_EQ(nm_pool_destroy(p), 0);
	CHECK_EQ(nm_area_destroy(a), 0);
	return r;
}

/* The cuda provider over the stand-in driver (tests/cuda_mock.h): copies
 * placed into device memory and buffers put after GPU work, the copies
 * still in flight at teardown (area_fini must complete each once). */
static void (*mock_busy)(unsigned long long), (*mock_now)(unsigned long long);
static int (*mock_live_events)(void), (*mock_live_mem)(void);

static void cu_done(void *arg, int status)
{
	(*(int *)arg)++;
}

static int sc_cuda(void)
{
	NM_OPTS(nm_area_opts, ao, .size = 16 << 16, .order = 4);
	static uint8_t src[3000];
	struct nm_area *a;
	struct nm_pool *p;
	struct nm_buf b[8];
	int n, r = 0, calls = 0, placed = 0;

	a = nm_area_create("cuda", &ao);
	if (!a)
		return -errno;
	p = nm_pool_create(a, NULL);
	if (!p) {
		r = -errno;
		CHECK_EQ(nm_area_destroy(a), 0);
		return r;
	}
	n = nm_pool_alloc_bulk(p, b, 8);
	if (n < 0) {
		r = n;
		n = 0;
	} else if (n < 8) {
		r = -ENOMEM;
	}
	mock_now(0);
	mock_busy(500);			/* GPU work the puts wait for */
	for (int i = n / 2; i < n; i++) {
		int e = nm_cuda_put_after(&b[i], (void *)0x1000);

		if (e) {
			r = r ? r : e;
			CHECK_EQ(nm_pool_put(p, &b[i]), 0);
		}
	}
	mock_busy(1000);		/* copies that outlast the area */
	for (int i = 0; i < n / 2; i++) {
		int e = nm_buf_place(&b[i], src, sizeof(src), cu_done, &calls);

		if (!e)
			placed++;
		else
			r = r ? r : e;
	}
	mock_now(500);
	nm_area_poll(a);		/* the deferred puts land */
	for (int i = 0; i < n / 2; i++)
		CHECK_EQ(nm_pool_put(p, &b[i]), 0);
	CHECK_EQ(nm_pool_destroy(p), 0);
	CHECK_EQ(nm_area_destroy(a), 0);
	CHECK_EQ(calls, placed);	/* every completion ran, once */
	CHECK_EQ(mock_live_events(), 0);
	CHECK_EQ(mock_live_mem(), 0);
	return r;
}

/* --- receivers ---------------------------------------------------- */

#define MAXC 4
#define DEV_ORDER 0	/* 4 KiB chunks: a frame spans several (>8 tokens) */

static inline uint8_t pat(uint32_t seed, uint64_t i)
{
	return (uint8_t)(seed * 131u + i * 7u + (i >> 9) * 13u);
}

struct cstate {
	uint8_t sb[4];
	unsigned int sn;
	uint32_t seed;
	uint64_t off;
};

/* The receiving side of one scenario run. */
#define HOLD_MAX 512

struct rxs {
	struct nm_rx *rx;
	int tokens, unreadable;
	uint64_t total;			/* pattern bytes per connection */
	_Atomic int opened, closed, full, bad, short_clean, first_err;
	/* A slow consumer (hold): buffers and tokens are kept until the
	 * nm_rx_run() call that delivered them returned. */
	int hold;
	pthread_mutex_t lock;
	struct nm_buf held[HOLD_MAX];
	uint32_t held_tok[HOLD_MAX];
	unsigned int nheld, nheld_tok;
};

/* Give a delivered buffer (or its token, when tok is not NO_TOKEN) back,
 * now or, for a slow consumer, later. */
static void give(struct rxs *x, const struct nm_buf *b, uint32_t tok)
{
	pthread_mutex_lock(&x->lock);
	if (tok != NM_RX_NO_TOKEN) {
		if (x->hold && x->nheld_tok < HOLD_MAX)
			x->held_tok[x->nheld_tok++] = tok;
		else
			CHECK_EQ(nm_rx_release_tokens(x->rx, &tok, 1), 1);
	} else if (x->hold && x->nheld < HOLD_MAX) {
		x->held[x->nheld++] = *b;
	} else {
		CHECK_EQ(nm_buf_put(b), 0);
	}
	pthread_mutex_unlock(&x->lock);
}

static void release_held(struct rxs *x)
{
	pthread_mutex_lock(&x->lock);
	for (unsigned int i = 0; i < x->nheld; i++)
		CHECK_EQ(nm_buf_put(&x->held[i]), 0);
	if (x->nheld_tok)
		CHECK_EQ(nm_rx_release_tokens(x->rx, x->held_tok, x->nheld_tok),
			 (int)x->nheld_tok);
	x->nheld = x->nheld_tok = 0;
	pthread_mutex_unlock(&x->lock);
}

/* The sending side: MAXC connections at most, each the seed then total
 * pattern bytes (framed as 4-byte BE length + payload when split); then
 * it waits for the receiver's FIN (0) or reset (-errno). */
struct snd {
	int port, nconn, framed;
	uint32_t seed0;
	uint64_t total;
	int tmo_ms;
	_Atomic int fds[MAXC];
	int res[MAXC];
	_Atomic int done, abort;
	pthread_t th;
};

static void check_bytes(struct rxs *x, struct cstate *s, const uint8_t *p, uint32_t n)
{
	uint32_t i = 0;

	while (s->sn < 4 && i < n)
		s->sb[s->sn++] = p[i++];
	if (s->sn == 4 && !s->seed)
		s->seed = s->sb[0] | s->sb[1] << 8 | s->sb[2] << 16 |
			  (uint32_t)s->sb[3] << 24;
	for (; i < n; i++, s->off++)
		if (p[i] != pat(s->seed, s->off)) {
			atomic_fetch_add(&x->bad, 1);
			return;
		}
}

static int on_conn(struct nm_rx *rx, struct nm_rx_conn *c, void *user)
{
	struct rxs *x = user;
	struct cstate *s = calloc(1, sizeof(*s));

	REQUIRE(s);
	nm_rx_conn_set_user(c, s);
	atomic_fetch_add(&x->opened, 1);
	return 0;
}

static void on_close(struct nm_rx *rx, struct nm_rx_conn *c, int err, void *user)
{
	struct rxs *x = user;
	struct cstate *s = nm_rx_conn_user(c);
	int zero = 0;

	if (err < 0)
		atomic_compare_exchange_strong(&x->first_err, &zero, err);
	else if (s && s->sn == 4 && s->off == x->total)
		atomic_fetch_add(&x->full, 1);
	else
		atomic_fetch_add(&x->short_clean, 1);	/* silent loss */
	atomic_fetch_add(&x->closed, 1);
	free(s);
}

static int on_data(struct nm_rx *rx, struct nm_rx_conn *c,
		   const struct nm_rx_msg *m, void *user)
{
	struct rxs *x = user;
	struct cstate *s = nm_rx_conn_user(c);

	for (unsigned int i = 0; i < m->nr; i++) {
		const struct nm_buf *b = &m->bufs[i];
		const uint8_t *p = nm_buf_data(b);

		if (x->unreadable) {
			int idx = nm_buf_chunk_index(b);

			REQUIRE(idx >= 0 && dev_backing);
			p = dev_backing + ((size_t)idx << (12 + DEV_ORDER)) + b->off;
		}
		if (!p)
			atomic_fetch_add(&x->bad, 1);
		else
			check_bytes(x, s, p, b->len);
		give(x, b, m->tokens ? m->tokens[i] : NM_RX_NO_TOKEN);
	}
	if (m->hdr)
		give(x, m->hdr, m->tokens ? m->hdr_token : NM_RX_NO_TOKEN);
	return 0;
}

static int send_all(int fd, const uint8_t *p, size_t n)
{
	while (n) {
		ssize_t r = send(fd, p, n, MSG_NOSIGNAL);

		if (r < 0) {
			if (errno == EINTR)
				continue;
			return errno == EAGAIN ? -ETIMEDOUT : -errno;
		}
		p += r;
		n -= (size_t)r;
	}
	return 0;
}

/* One connection: connect, send, half-close, wait for the receiver. */
static int send_one(struct snd *s, int i)
{
	struct sockaddr_in a = { .sin_family = AF_INET,
				 .sin_port = htons((uint16_t)s->port) };
	struct timeval tv = { s->tmo_ms / 1000, (s->tmo_ms % 1000) * 1000 };
	uint32_t seed = s->seed0 + (uint32_t)i;
	uint8_t buf[48 << 10], *pl = s->framed ? buf + 4 : buf;
	uint64_t off = 0, k = 0;
	int fd, r;
	char c;

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	REQUIRE(fd >= 0);
	atomic_store(&s->fds[i], fd);
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)))
		return -errno;
	/* the seed: the first 4 payload bytes */
	pl[0] = (uint8_t)seed, pl[1] = (uint8_t)(seed >> 8);
	pl[2] = (uint8_t)(seed >> 16), pl[3] = (uint8_t)(seed >> 24);
	for (uint64_t n = 4, first = 1; first || off < s->total; first = 0) {
		if (!first) {
			n = k++ % 2 ? 36000 : 3000 + 500 * k;
			if (n > s->total - off)
				n = s->total - off;
			for (uint64_t j = 0; j < n; j++)
				pl[j] = pat(seed, off + j);
			off += n;
		}
		if (s->framed) {
			buf[0] = 0, buf[1] = (uint8_t)(n >> 16);
			buf[2] = (uint8_t)(n >> 8), buf[3] = (uint8_t)n;
		}
		r = send_all(fd, buf, n + (s->framed ? 4 : 0));
		if (r)
			return r;
	}
	shutdown(fd, SHUT_WR);
	for (;;) {
		ssize_t g = recv(fd, &c, 1, 0);

		if (g == 0)
			return atomic_load(&s->abort) ? -ECANCELED : 0;
		if (g < 0 && errno == EINTR)
			continue;
		if (g < 0)
			return errno == EAGAIN ? -ETIMEDOUT : -errno;
	}
}

static void *sender(void *arg)
{
	struct snd *s = arg;

	for (int i = 0; i < s->nconn; i++)
		s->res[i] = atomic_load(&s->abort) ? -ECANCELED : send_one(s, i);
	atomic_store(&s->done, 1);
	return NULL;
}

struct rx_sc {
	const char *engine;
	unsigned int nq;
	unsigned int flags;	/* NM_RX_F_SPLIT, NM_RX_F_TOKENS */
	int nconn;
	int hold;		/* slow consumer, small pools */
};

static int errno_clear(int r)
{
	return r == -ENOMEM || r == -EMFILE || r == -EIO || r == -EAGAIN ||
	       r == -ECONNRESET || r == -EPIPE;
}

static int rx_scenario(const struct rx_sc *sc)
{
	/* a slow consumer gets small pools: they run dry, and the engines
	 * and split park connections and hold bytes back */
	NM_OPTS(nm_area_opts, ao, .size = (sc->hold ? 8 * sc->nq : 256) << 14, .order = 2);
	NM_OPTS(nm_area_opts, dao, .size = (size_t)(sc->hold ? 16 : 128) << (12 + DEV_ORDER),
		.order = DEV_ORDER);
	NM_OPTS(nm_area_opts, hao, .size = (sc->hold ? 16 : 64) << 14, .order = 2);
	int split = !!(sc->flags & NM_RX_F_SPLIT);
	struct nm_pool *pools[2] = { 0 }, *hpool = NULL;
	struct nm_area *a = NULL, *ha = NULL;
	struct rxs x = { .tokens = !!(sc->flags & NM_RX_F_TOKENS), .unreadable = split,
			 .hold = sc->hold, .lock = PTHREAD_MUTEX_INITIALIZER };
	struct snd s = { .nconn = sc->nconn, .framed = split, .seed0 = 7000 };
	NM_OPTS(nm_rx_opts, o, .engine = sc->engine, .flags = sc->flags,
		.nr_queues = sc->nq, .on_data = on_data, .on_conn = on_conn,
		.on_close = on_close, .user = &x, .max_conns = 16,
		.tok_capacity = 256);
	int r = 0, fins = 0, started = 0;
	uint64_t end;

	x.total = s.total = 64 << 10;	/* small: sanitizers slow it little */
	s.tmo_ms = t_sanitized() ? 8000 : 4000;
	for (int i = 0; i < MAXC; i++)
		atomic_init(&s.fds[i], -1);
	a = nm_area_create(split ? "fault-dev" : "host", split ? &dao : &ao);
	if (!a)
		return -errno;
	for (unsigned int i = 0; i < sc->nq && !r; i++)
		if (!(pools[i] = nm_pool_create(a, NULL)))
			r = -errno;
	if (!r && split) {
		ha = nm_area_create("host", &hao);
		if (!ha || !(hpool = nm_pool_create(ha, NULL)))
			r = -errno;
		o.hdr_pool = hpool;
	}
	if (sc->nq > 1)
		o.pools = pools;
	else
		o.pool = pools[0];
	if (!r && !(x.rx = nm_rx_create(&o)))
		r = -errno;
	if (!r) {
		s.port = nm_rx_listen(x.rx, "127.0.0.1", 0);
		if (s.port < 0)
			r = s.port;
	}
	if (!r) {
		REQUIRE(!pthread_create(&s.th, NULL, sender, &s));
		started = 1;
		end = now_ms() + (uint64_t)s.tmo_ms * (uint64_t)(sc->nconn + 1);
		while (!atomic_load(&s.done) && now_ms() < end) {
			int rr = nm_rx_run(x.rx, 10);

			release_held(&x);
			if (rr < 0) {
				r = rr;
				break;
			}
		}
		if (!atomic_load(&s.done)) {
			/* the receiver failed (or hangs): unblock the sender */
			atomic_store(&s.abort, 1);
			for (int i = 0; i < MAXC; i++)
				shutdown(atomic_load(&s.fds[i]), SHUT_RDWR);
		}
		pthread_join(s.th, NULL);
		for (int i = 0; i < MAXC; i++)
			if (atomic_load(&s.fds[i]) >= 0)
				close(atomic_load(&s.fds[i]));
		if (!r) {
			for (int i = 0; i < sc->nconn; i++) {
				if (s.res[i] == 0)
					fins++;
				else if (s.res[i] == -ETIMEDOUT || s.res[i] == -ECANCELED) {
					struct nm_rx_stats st;

					nm_rx_stats(x.rx, &st, sizeof(st));
					fprintf(stderr, "connection %d hangs (%s): opened %d "
						"closed %d, rx conns opened %llu closed %llu "
						"active %llu, enobufs %llu, pool_empty %llu\n",
						i, nm_fault_site() ? nm_fault_site() : "no fault",
						atomic_load(&x.opened), atomic_load(&x.closed),
						(unsigned long long)st.conns_opened,
						(unsigned long long)st.conns_closed,
						(unsigned long long)st.conns_active,
						(unsigned long long)st.enobufs,
						(unsigned long long)st.pool_empty);
					CHECK(!"a connection hangs");
				} else if (!r) {
					r = s.res[i];	/* reset by the receiver */
				}
			}
		}
	}
	release_held(&x);
	if (x.rx)
		CHECK_EQ(nm_rx_destroy(x.rx), 0);
	if (started) {
		/* every connection the application saw was closed, and every
		 * one the peer saw end cleanly arrived whole */
		CHECK_EQ(atomic_load(&x.closed), atomic_load(&x.opened));
		CHECK_EQ(atomic_load(&x.bad), 0);
		CHECK_EQ(atomic_load(&x.short_clean), 0);
		/* no error anywhere: every connection arrived whole */
		if (!r && !atomic_load(&x.first_err))
			CHECK_EQ(atomic_load(&x.full), sc->nconn);
		CHECK(atomic_load(&x.closed) >= fins);
		/* the receiver's own error says more than the peer's reset */
		if (atomic_load(&x.first_err) &&
		    (!r || r == -ECONNRESET || r == -EPIPE))
			r = atomic_load(&x.first_err);
	}
	for (unsigned int i = 0; i < 2; i++)
		if (pools[i])
			CHECK_EQ(nm_pool_destroy(pools[i]), 0);
	if (hpool)
		CHECK_EQ(nm_pool_destroy(hpool), 0);
	if (ha)
		CHECK_EQ(nm_area_destroy(ha), 0);
	CHECK_EQ(nm_area_destroy(a), 0);
	return r;
}

static const struct rx_sc rx_uring = { "uring", 2, NM_RX_F_TOKENS, 3, 0 };
static const struct rx_sc rx_socket = { "socket", 2, 0, 3, 0 };
static const struct rx_sc rx_split = { "uring", 1, NM_RX_F_SPLIT, 2, 0 };
static const struct rx_sc rx_split_sock = { "socket", 1, NM_RX_F_SPLIT | NM_RX_F_TOKENS, 2, 0 };
static const struct rx_sc rx_uring_slow = { "uring", 1, NM_RX_F_TOKENS, 2, 1 };
static const struct rx_sc rx_split_slow = { "uring", 1, NM_RX_F_SPLIT, 2, 1 };
static const struct rx_sc rx_sock_slow = { "socket", 1, NM_RX_F_SPLIT | NM_RX_F_TOKENS, 2, 1 };

static int sc_rx_uring(void) { return rx_scenario(&rx_uring); }
static int sc_rx_socket(void) { return rx_scenario(&rx_socket); }
static int sc_rx_split(void) { return rx_scenario(&rx_split); }
static int sc_rx_split_sock(void) { return rx_scenario(&rx_split_sock); }
static int sc_rx_uring_slow(void) { return rx_scenario(&rx_uring_slow); }
static int sc_rx_split_slow(void) { return rx_scenario(&rx_split_slow); }
static int sc_rx_sock_slow(void) { return rx_scenario(&rx_sock_slow); }

/* ------------------------------------------------------------------ */
/* the sweep                                                            */
/* ------------------------------------------------------------------ */

static int uring_ok;

/* Load the stand-in CUDA driver once; 0 where it cannot be built. */
static int cuda_mock(void)
{
	static struct t_cuda_mock m;
	static int state;	/* 0 unknown, 1 loaded, -1 not here */

	if (state)
		return state > 0;
	state = -1;
	if (system("command -v cc >/dev/null 2>&1")) {
		printf("no C compiler for the stand-in CUDA driver: cuda scenario skipped\n");
		return 0;
	}
	t_cuda_mock_load(&m);
	*(void **)&mock_busy = dlsym(m.h, "mock_busy");
	*(void **)&mock_now = dlsym(m.h, "mock_now");
	*(void **)&mock_live_events = dlsym(m.h, "mock_live_events");
	*(void **)&mock_live_mem = dlsym(m.h, "mock_live_mem");
	REQUIRE(mock_busy && mock_now && mock_live_events && mock_live_mem);
	t_cuda_mock_unlink(&m);
	state = 1;
	return 1;
}

static void sweep(const char *name, int (*fn)(void))
{
	unsigned long count;
	unsigned int failed = 0, absorbed = 0, before = (unsigned int)nm_test_failures;
	struct snap base, now;
	uint64_t t0 = now_ms();
	int r;

	/* once to warm up (lazy allocations of libc and the harness), once
	 * counting */
	r = fn();
	if (r) {
		fprintf(stderr, "%s: fails without a fault: %s\n", name, strerror(-r));
		CHECK(!"scenario runs clean");
		return;
	}
	base = snap_take();
	nm_fault_arm(0);
	r = fn();
	count = nm_fault_count();
	nm_fault_off();
	CHECK_EQ(r, 0);
	for (unsigned long n = 1; n <= count; n++) {
		const char *site;
		int again;

		nm_fault_arm(n);
		r = fn();
		site = nm_fault_site();
		nm_fault_off();
		if (r > 0 || (r < 0 && !errno_clear(r)) || (r < 0 && !site)) {
			fprintf(stderr, "%s: fault %lu (%s): ended with %d (%s)\n",
				name, n, site ? site : "not reached", r,
				r < 0 ? strerror(-r) : "?");
			CHECK(!"a clear error or success");
		}
		if (getenv("NM_FAULT_VERBOSE"))
			printf("%s: fault %lu at %s: %s\n", name, n,
			       site ? site : "(not reached)", r ? strerror(-r) : "ok");
		if (r < 0)
			failed++;
		else
			absorbed++;
		again = fn();
		if (again) {
			fprintf(stderr, "%s: after fault %lu (%s) the library fails: %s\n",
				name, n, site ? site : "not reached", strerror(-again));
			CHECK(!"usable after a fault");
		}
		now = snap_take();
		if (now.fds != base.fds || (!T_ASAN && !T_TSAN && now.map_bytes != base.map_bytes)) {
			fprintf(stderr, "%s: fault %lu (%s) leaked: fds %d -> %d, "
				"mapped %llu -> %llu bytes\n", name, n,
				site ? site : "not reached", base.fds, now.fds,
				(unsigned long long)base.map_bytes,
				(unsigned long long)now.map_bytes);
			CHECK(!"nothing leaked");
			base = now;	/* report each leak once */
		}
		if (nm_test_failures - (int)before > 5)	/* enough to see */
			break;
	}
	printf("%-12s %3lu fallible calls: %u failed cleanly, %u absorbed (%.1f s)\n",
	       name, count, failed, absorbed, (double)(now_ms() - t0) / 1000);
	fflush(stdout);
}

int main(int argc, char **argv)
{
	const char *only = argc > 1 ? argv[1] : NULL;
	struct {
		const char *name;
		int (*fn)(void);
		int uring;
	} sc[] = {
		{ "host", sc_host, 0 },
		{ "memfd", sc_memfd, 0 },
		{ "hugepage", sc_hugepage, 0 },
		{ "memfd-import", sc_memfd_import, 0 },
		{ "dmabuf", sc_dmabuf, 0 },
		{ "sync", sc_sync, 0 },
		{ "tokens", sc_tokens, 0 },
		{ "cuda-mock", sc_cuda, 2 },
		{ "rx-uring", sc_rx_uring, 1 },
		{ "rx-socket", sc_rx_socket, 0 },
		{ "rx-split", sc_rx_split, 1 },
		{ "rx-split-socket", sc_rx_split_sock, 0 },
		{ "rx-uring-slow", sc_rx_uring_slow, 1 },
		{ "rx-split-slow", sc_rx_split_slow, 1 },
		{ "rx-split-socket-slow", sc_rx_sock_slow, 0 },
	};
	NM_OPTS(nm_rx_opts, probe, .engine = "uring");
	struct nm_area *pa;
	struct nm_pool *pp;
	struct nm_rx *prx;

	shared_memfd = memfd_create("fault-sweep", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	REQUIRE(shared_memfd >= 0);
	REQUIRE(!ftruncate(shared_memfd, 64 << 12));
	REQUIRE(!fcntl(shared_memfd, F_ADD_SEALS, F_SEAL_SHRINK));
	/* One malloc arena: a thread arena made under contention would read
	 * as 64 MiB more mapped, not as a leak of the library's. */
	mallopt(M_ARENA_MAX, 1);
	REQUIRE(!nm_provider_register(&fsync_ops));
	REQUIRE(!nm_provider_register(&dev_ops));
	/* Is io_uring here?  (A sandbox may refuse it: the uring scenarios
	 * are skipped then, loudly.) */
	pa = t_host_area(16, 0);
	pp = nm_pool_create(pa, NULL);
	REQUIRE(pp);
	probe.pool = pp;
	probe.on_data = on_data;
	prx = nm_rx_create(&probe);
	uring_ok = prx != NULL;
	if (prx)
		nm_rx_destroy(prx);
	else
		printf("io_uring refused (%s): uring scenarios skipped\n", strerror(errno));
	nm_pool_destroy(pp);
	nm_area_destroy(pa);

	for (size_t i = 0; i < sizeof(sc) / sizeof(sc[0]); i++) {
		if (only && strcmp(only, sc[i].name))
			continue;
		if (sc[i].uring == 1 && !uring_ok)
			continue;
		if (sc[i].uring == 2 && !cuda_mock())
			continue;
		sweep(sc[i].name, sc[i].fn);
	}
	close(shared_memfd);
	return t_done();
}

/* SPDX-License-Identifier: MIT */
/*
 * test_rx_util.h - loopback helpers for the receive tests: a pattern that
 * identifies every byte of every connection, sender threads, and a checker
 * that verifies what arrives in order and puts the buffers back.
 *
 * Each connection's stream starts with a 4-byte seed (little endian), then
 * byte i of the rest is pat(seed, i).  The checker keeps, per connection,
 * how far it got; any wrong, missing or reordered byte shows.
 */
#ifndef NM_TEST_RX_UTIL_H
#define NM_TEST_RX_UTIL_H
#include "harness.h"
#include <netmem/rx.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static inline uint8_t pat(uint32_t seed, uint64_t i)
{
	return (uint8_t)(seed * 131u + i * 7u + (i >> 9) * 13u);
}

static inline uint64_t t_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static inline uint32_t t_rand(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return (uint32_t)(*s >> 11);
}

/* Sizes from 1 B to 1 MiB, skewed small (log-uniform). */
static inline uint32_t t_msg_size(uint64_t *s)
{
	uint32_t bits = t_rand(s) % 21;	/* 2^0 .. 2^20 */
	uint32_t v = 1u << bits;
	uint32_t n = v + t_rand(s) % v;

	return n > (1u << 20) ? (1u << 20) : n;
}

static inline int t_connect(int port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0)
		return -1;
	for (int i = 0; i < 200; i++) {
		if (!connect(fd, (struct sockaddr *)&a, sizeof(a)))
			return fd;
		if (errno != ECONNREFUSED && errno != EAGAIN)
			break;
		usleep(5000);
	}
	close(fd);
	return -1;
}

static inline int t_send_all(int fd, const void *p, size_t n)
{
	const char *c = p;
	while (n) {
		ssize_t r = send(fd, c, n, MSG_NOSIGNAL);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		c += r;
		n -= (size_t)r;
	}
	return 0;
}

/* A connected TCP pair on loopback: sv[0] the accepted end (to hand to
 * nm_rx_add_fd), sv[1] the connecting one.  Both blocking. */
static inline void t_tcp_pair(int sv[2])
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t al = sizeof(a);
	int l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	REQUIRE(l >= 0);
	REQUIRE(!bind(l, (struct sockaddr *)&a, sizeof(a)) && !listen(l, 1));
	REQUIRE(!getsockname(l, (struct sockaddr *)&a, &al));
	sv[1] = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	REQUIRE(sv[1] >= 0);
	REQUIRE(!connect(sv[1], (struct sockaddr *)&a, sizeof(a)));
	sv[0] = accept4(l, NULL, NULL, SOCK_CLOEXEC);
	REQUIRE(sv[0] >= 0);
	close(l);
}

/* Send seed then @total pattern bytes in messages of random sizes. */
static inline int t_send_stream(int fd, uint32_t seed, uint64_t total, uint64_t rs)
{
	static _Thread_local uint8_t buf[1 << 20];
	uint8_t s4[4] = { seed, seed >> 8, seed >> 16, seed >> 24 };
	uint64_t off = 0;

	if (t_send_all(fd, s4, 4))
		return -1;
	while (off < total) {
		uint64_t n = t_msg_size(&rs);
		if (n > total - off)
			n = total - off;
		for (uint64_t i = 0; i < n; i++)
			buf[i] = pat(seed, off + i);
		if (t_send_all(fd, buf, n))
			return -1;
		off += n;
	}
	return 0;
}

/* Receiver side: one of these per connection (conn user pointer). */
struct t_conn_state {
	uint8_t seedb[4];
	uint32_t seed_n;
	uint32_t seed;
	uint64_t off;        /* pattern bytes verified */
	int bad;
	int closed, close_err;
};

struct t_rx {
	_Atomic uint64_t bytes;   /* pattern bytes verified, all conns */
	_Atomic int bad;
	_Atomic int closed, close_errs, opened;
	int hold;                 /* keep buffers instead of putting them */
	struct nm_buf *held;
	unsigned int nheld, held_cap;
	pthread_mutex_t lock;
};

/* Verify n bytes at p for connection state s. */
static inline void t_check_bytes(struct t_rx *t, struct t_conn_state *s,
				 const uint8_t *p, uint32_t n)
{
	uint32_t i = 0;
	uint64_t before = s->off;

	while (s->seed_n < 4 && i < n)
		s->seedb[s->seed_n++] = p[i++];
	if (s->seed_n == 4 && !s->seed)
		s->seed = s->seedb[0] | s->seedb[1] << 8 | s->seedb[2] << 16 |
			  (uint32_t)s->seedb[3] << 24;
	for (; i < n; i++) {
		if (p[i] != pat(s->seed, s->off)) {
			if (!s->bad)
				fprintf(stderr, "conn seed %u: byte %llu is %u, expected %u\n",
					s->seed, (unsigned long long)s->off, p[i],
					pat(s->seed, s->off));
			s->bad = 1;
			atomic_fetch_add(&t->bad, 1);
			return;
		}
		s->off++;
	}
	atomic_fetch_add(&t->bytes, s->off - before);
}

static inline int t_on_conn(struct nm_rx *rx, struct nm_rx_conn *c, void *user)
{
	struct t_rx *t = user;
	struct t_conn_state *s = calloc(1, sizeof(*s));

	if (!s)
		return -ENOMEM;
	nm_rx_conn_set_user(c, s);
	atomic_fetch_add(&t->opened, 1);
	return 0;
}

static inline void t_on_close(struct nm_rx *rx, struct nm_rx_conn *c, int err, void *user)
{
	struct t_rx *t = user;
	struct t_conn_state *s = nm_rx_conn_user(c);

	if (err) {
		fprintf(stderr, "connection %llu closed: %s\n",
			(unsigned long long)nm_rx_conn_id(c), nm_strerror(err));
		atomic_fetch_add(&t->close_errs, 1);
	}
	atomic_fetch_add(&t->closed, 1);
	free(s);
}

static inline void t_hold(struct t_rx *t, const struct nm_buf *b)
{
	pthread_mutex_lock(&t->lock);
	if (t->nheld == t->held_cap) {
		t->held_cap = t->held_cap ? t->held_cap * 2 : 256;
		t->held = realloc(t->held, t->held_cap * sizeof(*t->held));
		REQUIRE(t->held);
	}
	t->held[t->nheld++] = *b;
	pthread_mutex_unlock(&t->lock);
}

static inline void t_release_held(struct t_rx *t)
{
	pthread_mutex_lock(&t->lock);
	for (unsigned int i = 0; i < t->nheld; i++)
		CHECK_EQ(nm_buf_put(&t->held[i]), 0);
	t->nheld = 0;
	pthread_mutex_unlock(&t->lock);
}

static inline int t_on_data(struct nm_rx *rx, struct nm_rx_conn *c,
			    const struct nm_rx_msg *m, void *user)
{
	struct t_rx *t = user;
	struct t_conn_state *s = nm_rx_conn_user(c);

	for (unsigned int i = 0; i < m->nr; i++) {
		const uint8_t *p = nm_buf_data(&m->bufs[i]);
		if (!p) {
			atomic_fetch_add(&t->bad, 1);
			continue;
		}
		t_check_bytes(t, s, p, m->bufs[i].len);
		if (t->hold)
			t_hold(t, &m->bufs[i]);
		else
			CHECK_EQ(nm_buf_put(&m->bufs[i]), 0);
	}
	return 0;
}

/* How long a test waits for what it sent before it calls the receive
 * failed (so that a receive bug fails the test instead of hanging it):
 * generous, as the bound is for a bug, not for speed; a slow sanitizer
 * build on a loaded machine must never reach it (the runner's timeout,
 * 300 s, stays above it). */
static inline unsigned int t_recv_ms(void)
{
	return t_sanitized() ? 150000 : 60000;
}

/* The same for a few kilobytes on one or two connections: shorter, so
 * that a bug that loses them fails the test soon. */
static inline unsigned int t_small_ms(void)
{
	return t_sanitized() ? 30000 : 10000;
}

/* Run rx (nm_rx_poll) until cond() or the deadline; return 0 or -ETIME. */
#define T_RUN_UNTIL(rx, cond, ms) ({ \
	uint64_t _end = t_now_ms() + (ms); int _r = 0; \
	while (!(cond)) { \
		int _p = nm_rx_poll((rx), 10); \
		if (_p < 0) { fprintf(stderr, "poll: %s\n", strerror(-_p)); _r = _p; break; } \
		if (t_now_ms() > _end) { _r = -ETIME; break; } \
	} _r; })

static inline void t_raise_nofile(rlim_t want)
{
	struct rlimit r;

	if (getrlimit(RLIMIT_NOFILE, &r))
		return;
	if (r.rlim_cur >= want)
		return;
	r.rlim_cur = want < r.rlim_max ? want : r.rlim_max;
	if (r.rlim_cur < want && t_is_root())
		r.rlim_cur = r.rlim_max = want;
	setrlimit(RLIMIT_NOFILE, &r);
}

/* A pool over a fresh host area of @chunks chunks of 4K << @order. */
static inline struct nm_pool *t_pool(size_t chunks, unsigned int order)
{
	struct nm_area *a = t_host_area(chunks, order);
	struct nm_pool *p = nm_pool_create(a, NULL);

	REQUIRE(p);
	return p;
}

/* Destroy a t_pool() pool and its area; return the chunks still out. */
static inline int t_pool_done(struct nm_pool *p)
{
	struct nm_area *a = nm_pool_area(p);
	int left = nm_pool_destroy(p);

	nm_area_destroy(a);
	return left;
}

/* A sender thread: @nconn connections, each seed then @per_conn pattern
 * bytes in messages of random sizes up to @maxmsg, interleaved; framed
 * (4-byte BE length) when @framed, the seed its first frame.
 *
 * The receiver may fail (a bug, a timeout) and stop reading while the
 * sender is blocked in send() on a full socket: t_sender_join() first
 * tells the sender to give up, which it does within a send timeout
 * (100 ms): it closes its sockets and ends with an error.  So a join never
 * hangs, and a receive failure fails the test instead of hanging the
 * suite.  (After a receive that succeeded the sender has sent everything
 * and closed already: giving up changes nothing.) */
struct t_sender {
	int port, nconn, framed;
	uint32_t seed0;
	uint64_t per_conn;
	uint32_t maxmsg;
	unsigned int recv_ms;     /* t_send_and_receive's bound; 0: default */
	pthread_t th;
	int err;
	_Atomic int abort;
};

/* Send all of @p unless the sender is aborted; 0 or -1. */
static inline int t_sender_send(struct t_sender *s, int fd, const void *p, size_t n)
{
	const char *c = p;

	while (n) {
		ssize_t r = send(fd, c, n, MSG_NOSIGNAL);

		if (r < 0) {
			if (errno == EINTR)
				continue;
			if ((errno == EAGAIN || errno == EWOULDBLOCK) &&
			    !atomic_load(&s->abort))
				continue;	/* the send timeout: look again */
			return -1;
		}
		c += r;
		n -= (size_t)r;
	}
	return 0;
}

static inline void *t_sender_main(void *arg)
{
	struct t_sender *s = arg;
	static _Thread_local uint8_t buf[(1 << 20) + 4];
	int *fds = calloc((size_t)s->nconn, sizeof(int));
	uint64_t *off = calloc((size_t)s->nconn, sizeof(uint64_t));
	uint64_t rs = 0x2545f4914f6cdd1dull ^ s->seed0;
	struct timeval tmo = { .tv_usec = 100000 };
	int left = s->nconn, err = 0;

	REQUIRE(fds && off);
	for (int i = 0; i < s->nconn; i++)
		fds[i] = -1;
	for (int i = 0; i < s->nconn && !err; i++) {
		uint32_t seed = s->seed0 + (uint32_t)i;
		uint8_t hs[8] = { 0, 0, 0, 4, seed, seed >> 8, seed >> 16, seed >> 24 };

		fds[i] = t_connect(s->port);
		if (fds[i] < 0) {
			err = -1;
			break;
		}
		setsockopt(fds[i], SOL_SOCKET, SO_SNDTIMEO, &tmo, sizeof(tmo));
		if (t_sender_send(s, fds[i], s->framed ? hs : hs + 4, s->framed ? 8 : 4))
			err = -1;
	}
	while (left && !err) {
		for (int i = 0; i < s->nconn && !err; i++) {
			uint32_t seed = s->seed0 + (uint32_t)i;
			uint64_t n;
			uint8_t *p = s->framed ? buf + 4 : buf;

			if (fds[i] < 0)
				continue;
			n = t_msg_size(&rs);
			if (n > s->maxmsg)
				n = 1 + n % s->maxmsg;
			if (n > s->per_conn - off[i])
				n = s->per_conn - off[i];
			for (uint64_t k = 0; k < n; k++)
				p[k] = pat(seed, off[i] + k);
			if (s->framed) {
				buf[0] = (uint8_t)(n >> 24); buf[1] = (uint8_t)(n >> 16);
				buf[2] = (uint8_t)(n >> 8); buf[3] = (uint8_t)n;
			}
			if (n && t_sender_send(s, fds[i], buf, n + (s->framed ? 4 : 0)))
				err = -1;
			off[i] += n;
			if (off[i] == s->per_conn) {
				close(fds[i]);
				fds[i] = -1;
				left--;
			}
		}
	}
	for (int i = 0; i < s->nconn; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	free(fds);
	free(off);
	s->err = err;
	return NULL;
}

static inline void t_sender_start(struct t_sender *s)
{
	atomic_store(&s->abort, 0);
	REQUIRE(!pthread_create(&s->th, NULL, t_sender_main, s));
}

/* Stop the sender if it still sends (see struct t_sender), wait for it,
 * and check it sent everything. */
static inline void t_sender_join(struct t_sender *s)
{
	atomic_store(&s->abort, 1);
	pthread_join(s->th, NULL);
	CHECK_EQ(s->err, 0);
}

/* The common run: listen on loopback, send from s->nconn connections,
 * run @rx until all of them closed (or a byte came wrong, or the bound:
 * s->recv_ms, default t_recv_ms()), and check every byte
 * arrived and none was wrong.  A receive that fails does not hang on the
 * sender (t_sender_join). */
static inline void t_send_and_receive(struct nm_rx *rx, struct t_sender *s, struct t_rx *t)
{
	unsigned int ms = s->recv_ms ? s->recv_ms : t_recv_ms();
	int r;

	s->port = nm_rx_listen(rx, "127.0.0.1", 0);
	REQUIRE(s->port > 0);
	t_sender_start(s);
	r = T_RUN_UNTIL(rx, atomic_load(&t->closed) == s->nconn ||
			    atomic_load(&t->bad), ms);
	CHECK_EQ(r, 0);
	t_sender_join(s);
	CHECK_EQ(atomic_load(&t->bad), 0);
	CHECK_EQ(atomic_load(&t->bytes), s->per_conn * (uint64_t)s->nconn);
}

#endif

/* SPDX-License-Identifier: MIT */
/*
 * test_udp_util.h - the udp engine's tests: datagrams that identify and
 * check themselves, a receiver state that verifies every one delivered
 * (sequence, checksum, source address, timestamp, GRO segments), and the
 * two ways the engine receives (io_uring, or recvmmsg forced by
 * NM_UDP_RECVMMSG=1).
 *
 * A datagram: {seq, len, csum, magic} then len - 16 body bytes that depend
 * on seq; csum covers seq and body.
 */
#ifndef NM_TEST_UDP_UTIL_H
#define NM_TEST_UDP_UTIL_H
#include "test_rx_util.h"
#include <netinet/udp.h>

#ifndef UDP_SEGMENT
#define UDP_SEGMENT 103
#endif

#define U_MAGIC 0x7564706bu
#define U_HDR   16u
#define U_MAXSEQ 65536

struct u_hdr {
	uint32_t seq, len, csum, magic;
};

static inline uint8_t u_body(uint32_t seq, uint32_t i)
{
	return (uint8_t)(seq * 7u + i * 13u + (i >> 8));
}

static inline uint32_t u_csum(uint32_t seq, const uint8_t *body, uint32_t n)
{
	uint32_t h = 2166136261u ^ seq;

	for (uint32_t i = 0; i < n; i++)
		h = (h ^ body[i]) * 16777619u;
	return h;
}

/* Datagram @seq of @len bytes (>= U_HDR) into @p. */
static inline void u_fill(uint8_t *p, uint32_t seq, uint32_t len)
{
	struct u_hdr h = { seq, len, 0, U_MAGIC };

	for (uint32_t i = 0; i < len - U_HDR; i++)
		p[U_HDR + i] = u_body(seq, i);
	h.csum = u_csum(seq, p + U_HDR, len - U_HDR);
	memcpy(p, &h, sizeof(h));
}

/* Check one datagram of @n bytes; return its seq or -1. */
static inline int64_t u_check(const uint8_t *p, uint32_t n)
{
	struct u_hdr h;

	if (n < U_HDR)
		return -1;
	memcpy(&h, p, sizeof(h));
	if (h.magic != U_MAGIC || h.len != n || h.seq >= U_MAXSEQ ||
	    h.csum != u_csum(h.seq, p + U_HDR, n - U_HDR))
		return -1;
	return h.seq;
}

static inline uint64_t u_real_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* What the receiver saw. */
struct u_rx {
	uint8_t seen[U_MAXSEQ];     /* times each seq arrived */
	uint64_t dgrams, msgs, bad, dup, batches;
	uint64_t t0_ns;             /* timestamps must not be before this */
	struct sockaddr_in src;     /* expected source; port 0: any */
	int check_src, check_ts;    /* check_ts: 1 a time, -1 none, 0 no check */
	uint32_t max_seg;           /* largest seg_size seen */
	int hold;                   /* keep buffers (lent ones: by a reference) */
	int lend;                   /* NM_RX_F_LEND: nothing to put; 2: put
				     * all the same (a careless program) */
	struct nm_buf *held;
	unsigned int nheld, held_cap;
	int opened, closed, close_err;
	unsigned int conns_per_queue[4];
};

static inline int u_on_conn(struct nm_rx *rx, struct nm_rx_conn *c, void *user)
{
	struct u_rx *u = user;
	int q = nm_rx_conn_queue(c);

	u->opened++;
	if (q >= 0 && q < 4)
		u->conns_per_queue[q]++;
	return 0;
}

static inline void u_on_close(struct nm_rx *rx, struct nm_rx_conn *c, int err, void *user)
{
	struct u_rx *u = user;

	u->closed++;
	u->close_err = err;
}

static inline void u_bad(struct u_rx *u, const char *why, uint64_t v)
{
	if (u->bad++ < 5)
		fprintf(stderr, "bad delivery: %s (%llu)\n", why, (unsigned long long)v);
}

/* One datagram's checks; return 1 if it was good. */
static inline int u_one(struct u_rx *u, const uint8_t *p, uint32_t n)
{
	int64_t s = u_check(p, n);

	if (s < 0) {
		u_bad(u, "checksum or header", n);
		return 0;
	}
	if (u->seen[s]++)
		u->dup++;
	u->dgrams++;
	return 1;
}

static inline int u_on_data(struct nm_rx *rx, struct nm_rx_conn *c,
			    const struct nm_rx_msg *m, void *user)
{
	struct u_rx *u = user;
	const struct nm_rx_pkt *k = m->pkt;
	const uint8_t *p;
	uint32_t len;

	u->msgs++;
	if (!(m->flags & NM_RX_MSG_PKT) || !k || m->nr != 1) {
		u_bad(u, "not a packet message", m->nr);
		for (unsigned int i = 0; i < m->nr && !u->lend; i++)
			nm_buf_put(&m->bufs[i]);
		return 0;
	}
	p = nm_buf_data(&m->bufs[0]);
	len = m->bufs[0].len;
	if (!p || ((uintptr_t)p & 63))
		u_bad(u, "payload address", (uintptr_t)p);
	if (k->data != p)	/* the engine's address is nm_buf_data's */
		u_bad(u, "pkt->data", (uintptr_t)k->data);
	if (u->check_src) {
		const struct sockaddr_in *s = (const struct sockaddr_in *)&k->src;

		if (k->src_len != sizeof(*s) || s->sin_family != AF_INET ||
		    s->sin_addr.s_addr != u->src.sin_addr.s_addr ||
		    (u->src.sin_port && s->sin_port != u->src.sin_port))
			u_bad(u, "source address", k->src_len);
	}
	/* check_ts 1: asked for (NM_RX_F_TIMESTAMP), so a time of this run;
	 * -1: not asked for, so none */
	if (u->check_ts > 0 && (k->ts_ns < u->t0_ns || k->ts_ns > u_real_ns() + 1000000000ull))
		u_bad(u, "timestamp", k->ts_ns);
	if (u->check_ts < 0 && k->ts_ns)
		u_bad(u, "timestamp not asked for", k->ts_ns);
	if (p && k->seg_size) {
		u->batches++;
		if (k->seg_size > u->max_seg)
			u->max_seg = k->seg_size;
		for (uint32_t off = 0; off < len; off += k->seg_size)
			u_one(u, p + off, len - off < k->seg_size ? len - off : k->seg_size);
	} else if (p) {
		u_one(u, p, len);
	}
	if (u->hold) {
		if (u->nheld == u->held_cap) {
			u->held_cap = u->held_cap ? 2 * u->held_cap : 1024;
			u->held = realloc(u->held, u->held_cap * sizeof(*u->held));
			REQUIRE(u->held);
		}
		if (u->lend)	/* kept past the callback: a reference of ours */
			CHECK_EQ(nm_buf_get(&m->bufs[0]), 0);
		u->held[u->nheld++] = m->bufs[0];
	} else if (u->lend != 1) {
		CHECK_EQ(nm_buf_put(&m->bufs[0]), 0);
	}
	return 0;
}

static inline void u_release(struct u_rx *u)
{
	for (unsigned int i = 0; i < u->nheld; i++)
		CHECK_EQ(nm_buf_put(&u->held[i]), 0);
	u->nheld = 0;
}

/* The engine's two ways: 0 io_uring (where allowed), 1 recvmmsg. */
static inline void u_mode(int mmsg)
{
	if (mmsg)
		setenv("NM_UDP_RECVMMSG", "1", 1);
	else
		unsetenv("NM_UDP_RECVMMSG");
}

/* A UDP socket connected to 127.0.0.1:@port; its address into @self. */
static inline int u_client(int port, struct sockaddr_in *self)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	socklen_t sl = sizeof(*self);
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	REQUIRE(fd >= 0);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	REQUIRE(!connect(fd, (struct sockaddr *)&a, sizeof(a)));
	if (self)
		REQUIRE(!getsockname(fd, (struct sockaddr *)self, &sl));
	return fd;
}

static inline uint64_t u_stat_pkts(struct nm_rx *rx)
{
	struct nm_rx_stats st;

	REQUIRE(!nm_rx_stats(rx, &st, sizeof(st)));
	return st.pkts;
}

#endif /* NM_TEST_UDP_UTIL_H */

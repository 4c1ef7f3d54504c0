/* SPDX-License-Identifier: MIT */
/*
 * rx_sink.c - the main job in one page: receive TCP streams into pooled
 * buffers from a memory provider, look at the bytes, give the buffers back.
 *
 *   ./rx_sink [PORT [PROVIDER [CONNS]]]
 *
 * listens on 127.0.0.1:PORT (0: any free port, printed), takes CONNS
 * connections (default 1) and, when they have all closed, prints what
 * arrived: bytes, a checksum of them, the rate, and where the pool's
 * buffers went.  Build: cc rx_sink.c $(pkg-config --cflags --libs netmem).
 * Try: ./rx_sink 5555 & head -c 1G /dev/zero | nc -q0 127.0.0.1 5555
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <netmem/netmem.h>
#include <netmem/rx.h>

struct sink {
	unsigned int want, opened, closed;
	uint64_t bytes, sum;
	double first, last;	/* first connection in, last one closed */
	int err;
};

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static int on_conn(struct nm_rx *rx, struct nm_rx_conn *c, void *user)
{
	struct sink *s = user;

	(void)rx;
	(void)c;
	if (!s->opened++)
		s->first = now();
	return 0;
}

/* Every buffer handed over is ours: read it, give it back. */
static int on_data(struct nm_rx *rx, struct nm_rx_conn *c,
		   const struct nm_rx_msg *m, void *user)
{
	struct sink *s = user;

	(void)rx;
	(void)c;
	for (unsigned int i = 0; i < m->nr; i++) {
		const unsigned char *p = nm_buf_data(&m->bufs[i]);

		for (uint32_t k = 0; p && k < m->bufs[i].len; k++)
			s->sum += p[k];
		s->bytes += m->bufs[i].len;
		nm_buf_put(&m->bufs[i]);
	}
	return 0;
}

static void on_close(struct nm_rx *rx, struct nm_rx_conn *c, int err, void *user)
{
	struct sink *s = user;

	(void)c;
	if (err && !s->err)
		s->err = err;
	s->last = now();
	if (++s->closed >= s->want)
		nm_rx_stop(rx);
}

int main(int argc, char **argv)
{
	int port = argc > 1 ? atoi(argv[1]) : 0;
	const char *provider = argc > 2 ? argv[2] : "host";
	struct sink s = { .want = argc > 3 ? (unsigned int)atoi(argv[3]) : 1 };
	NM_OPTS(nm_area_opts, ao, .size = 16 << 20, .order = 4);	/* 64 KiB chunks */
	struct nm_area_info ai;
	struct nm_rx_info ri;
	struct nm_pool_stats st;
	struct nm_area *area;
	struct nm_pool *pool;
	struct nm_rx *rx;
	double secs;
	int r;

	if (port < 0 || port > 65535 || !s.want) {
		fprintf(stderr, "usage: %s [PORT [PROVIDER [CONNS]]]\n", argv[0]);
		return 2;
	}
	area = nm_area_create(provider, &ao);
	if (!area) {
		fprintf(stderr, "area from %s: %s\n", provider, nm_strerror(errno));
		return 1;
	}
	pool = nm_pool_create(area, NULL);
	if (!pool) {
		fprintf(stderr, "pool: %s\n", nm_strerror(errno));
		return 1;
	}
	NM_OPTS(nm_rx_opts, ro, .pool = pool, .on_data = on_data, .on_conn = on_conn,
		.on_close = on_close, .user = &s);
	rx = nm_rx_create(&ro);		/* uring where the kernel allows it */
	if (!rx) {
		fprintf(stderr, "receiver: %s\n", nm_strerror(errno));
		return 1;
	}
	port = nm_rx_listen(rx, "127.0.0.1", port);
	if (port < 0) {
		fprintf(stderr, "listen: %s\n", nm_strerror(port));
		return 1;
	}
	nm_area_info(area, &ai, sizeof(ai));
	nm_rx_info(rx, &ri, sizeof(ri));
	printf("listening on 127.0.0.1:%d (engine %s, provider %s: %s)\n", port,
	       ri.engine, ai.provider, ai.detail);
	fflush(stdout);

	r = nm_rx_run(rx, -1);		/* until the last connection closed */
	secs = s.last - s.first;
	nm_rx_destroy(rx);
	nm_pool_get_stats(pool, &st, sizeof(st));
	printf("received %llu bytes on %u connection(s), checksum %llu, %.2f Gbit/s%s%s\n",
	       (unsigned long long)s.bytes, s.closed, (unsigned long long)s.sum,
	       secs > 0 ? s.bytes * 8 / secs / 1e9 : 0.0,
	       s.err ? ", a connection ended with: " : "",
	       s.err ? nm_strerror(s.err) : "");
	printf("pool: %llu buffers taken (%llu chunks from the area), %llu put back, "
	       "%llu still held\n",
	       (unsigned long long)(st.alloc_fast + st.alloc_slow),
	       (unsigned long long)st.alloc_area,
	       (unsigned long long)(st.recycle_cached + st.recycle_ring),
	       (unsigned long long)st.inflight);
	nm_pool_destroy(pool);
	nm_area_destroy(area);
	return r || s.err ? 1 : 0;
}

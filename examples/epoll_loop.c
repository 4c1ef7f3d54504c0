/* SPDX-License-Identifier: MIT */
/*
 * epoll_loop.c - netmem inside a loop the program owns: one thread, one
 * epoll set holding two netmem queues and a timer of the program's own.
 *
 *   ./epoll_loop [PORT [CONNS]]
 *
 * listens on 127.0.0.1:PORT (0: any free port, printed) with two queues,
 * a pool each; connections are spread over the queues.  Each queue's
 * nm_rx_queue_fd() is in the program's epoll set beside a timerfd; when a
 * queue's fd is readable the loop runs one bounded pass of that queue
 * (nm_rx_queue_poll), when the timer fires it prints each queue's stats.
 * No thread of netmem's: the callbacks run here, in this loop.  When CONNS
 * connections (default 2) have closed it prints what arrived (bytes, a
 * checksum, per queue) and exits 0.
 * Build: cc epoll_loop.c $(pkg-config --cflags --libs netmem).
 * Try: ./epoll_loop 5555 1 & head -c 1G /dev/zero | nc -q0 127.0.0.1 5555
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <unistd.h>
#include <netmem/netmem.h>
#include <netmem/rx.h>

#define NQ 2

struct app {
	unsigned int want, closed;
	uint64_t bytes, sum;
	int err;
};

/* Every buffer handed over is ours: read it, give it back. */
static int on_data(struct nm_rx *rx, struct nm_rx_conn *c,
		   const struct nm_rx_msg *m, void *user)
{
	struct app *a = user;

	(void)rx;
	(void)c;
	for (unsigned int i = 0; i < m->nr; i++) {
		const unsigned char *p = nm_buf_data(&m->bufs[i]);

		for (uint32_t k = 0; p && k < m->bufs[i].len; k++)
			a->sum += p[k];
		a->bytes += m->bufs[i].len;
		nm_buf_put(&m->bufs[i]);
	}
	return 0;
}

static void on_close(struct nm_rx *rx, struct nm_rx_conn *c, int err, void *user)
{
	struct app *a = user;

	(void)rx;
	(void)c;
	if (err && !a->err)
		a->err = err;
	a->closed++;
}

static void print_queues(struct nm_rx *rx, const char *what)
{
	for (unsigned int q = 0; q < NQ; q++) {
		struct nm_rx_stats st;

		if (nm_rx_queue_stats(rx, q, &st, sizeof(st)) == 0)
			printf("%s queue %u: %llu bytes, %llu connection(s)\n", what, q,
			       (unsigned long long)st.bytes,
			       (unsigned long long)st.conns_opened);
	}
	fflush(stdout);
}

/* The program's loop: netmem's queues are two fds among its own. */
static int loop(struct nm_rx *rx, struct app *a, int ep, int tfd)
{
	struct epoll_event evs[8];
	unsigned long long ticks = 0;

	while (a->closed < a->want) {
		int n = epoll_wait(ep, evs, 8, -1);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		for (int i = 0; i < n; i++) {
			int r;

			if (evs[i].data.u32 == NQ) {	/* our timer */
				uint64_t exp;

				if (read(tfd, &exp, sizeof(exp)) > 0 &&
				    (ticks += exp) % 10 < exp)
					print_queues(rx, "tick:");	/* each second */
				continue;
			}
			r = nm_rx_queue_poll(rx, evs[i].data.u32, 0);
			if (r < 0) {
				fprintf(stderr, "queue %u: %s\n", evs[i].data.u32,
					nm_strerror(r));
				return r;
			}
		}
	}
	printf("timer fired %llu time(s)\n", ticks);
	return 0;
}

static struct nm_pool *make_pool(struct nm_area **area)
{
	NM_OPTS(nm_area_opts, ao, .size = 8 << 20, .order = 4);	/* 64 KiB chunks */

	*area = nm_area_create("host", &ao);
	return *area ? nm_pool_create(*area, NULL) : NULL;
}

static int add_fd(int ep, int fd, uint32_t tag)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.u32 = tag };

	return epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) ? -errno : 0;
}

int main(int argc, char **argv)
{
	int port = argc > 1 ? atoi(argv[1]) : 0;
	struct app a = { .want = argc > 2 ? (unsigned int)atoi(argv[2]) : 2 };
	struct itimerspec its = { .it_interval = { 0, 100000000 }, .it_value = { 0, 100000000 } };
	struct nm_area *areas[NQ];
	struct nm_pool *pools[NQ];
	struct nm_rx *rx;
	int ep, tfd, r = 0;

	if (port < 0 || port > 65535 || !a.want) {
		fprintf(stderr, "usage: %s [PORT [CONNS]]\n", argv[0]);
		return 2;
	}
	for (int q = 0; q < NQ; q++)
		if (!(pools[q] = make_pool(&areas[q]))) {
			fprintf(stderr, "pool: %s\n", nm_strerror(errno));
			return 1;
		}
	NM_OPTS(nm_rx_opts, ro, .pools = pools, .nr_queues = NQ, .on_data = on_data,
		.on_close = on_close, .user = &a);
	rx = nm_rx_create(&ro);
	if (!rx) {
		fprintf(stderr, "receiver: %s\n", nm_strerror(errno));
		return 1;
	}
	ep = epoll_create1(EPOLL_CLOEXEC);
	tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (ep < 0 || tfd < 0 || timerfd_settime(tfd, 0, &its, NULL)) {
		perror("epoll/timerfd");
		return 1;
	}
	/* Tags: a queue's index for its fd, NQ for our timer. */
	r = add_fd(ep, tfd, NQ);
	for (uint32_t q = 0; q < NQ && !r; q++) {
		int fd = nm_rx_queue_fd(rx, q);	/* before the queue's first pass */

		r = fd < 0 ? fd : add_fd(ep, fd, q);
	}
	if (r) {
		fprintf(stderr, "epoll set: %s\n", nm_strerror(r));
		return 1;
	}
	port = nm_rx_listen(rx, "127.0.0.1", port);
	if (port < 0) {
		fprintf(stderr, "listen: %s\n", nm_strerror(port));
		return 1;
	}
	printf("listening on 127.0.0.1:%d\n", port);
	fflush(stdout);

	r = loop(rx, &a, ep, tfd);
	print_queues(rx, "end:");
	nm_rx_destroy(rx);
	printf("received %llu bytes on %u connection(s), checksum %llu%s%s\n",
	       (unsigned long long)a.bytes, a.closed, (unsigned long long)a.sum,
	       a.err ? ", a connection ended with: " : "",
	       a.err ? nm_strerror(a.err) : "");
	for (int q = 0; q < NQ; q++) {
		struct nm_pool_stats st;

		nm_pool_get_stats(pools[q], &st, sizeof(st));
		printf("pool %d: %llu still held\n", q, (unsigned long long)st.inflight);
		nm_pool_destroy(pools[q]);
		nm_area_destroy(areas[q]);
	}
	close(tfd);
	close(ep);
	return r || a.err ? 1 : 0;
}

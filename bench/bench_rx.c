/* SPDX-License-Identifier: MIT */
/*
 * bench_rx.c - `netmem bench rx [--json] [--seconds S] [--reps N]
 *                               [--conns C] [--msg-size S] [--impl LIST]
 *                               [--veth | --veth-rps]`
 *
 * TCP receive throughput and receiver CPU cost, over loopback or (--veth)
 * between two network namespaces, netmem's engines against baselines
 * measured in the same run:
 *
 *   uring   the io_uring engine receiving into host pool buffers, with
 *           the engine's defaults (16 buffers posted, INC, no bundles,
 *           DEFER_TASKRUN with a batching wait where the kernel has
 *           them; src/rx/uring.c)
 *   socket  the socket engine receiving into host pool buffers
 *   plain   recv() into one 64 KiB buffer, blocking (epoll for C > 1):
 *           the cheapest way a program can take the bytes, and the bar
 *           DESIGN.md sets ("not slower than the plain socket read")
 *   iperf3  `iperf3 -s -1` receiving from `iperf3 -c -J`, for a figure
 *           people know; its own sender, so it is a reference, not a
 *           like-for-like case
 *
 * uring, socket and plain get the same sender: `netmem tx` in a child
 * process (--seconds S, 64 KiB writes, C connections, the seq pattern
 * straight out of its table).  No receiver reads the bytes in userspace:
 * the figure is the receive path, not a checksum.  Every case runs --reps
 * times (default 3), interleaved (uring, socket, plain, iperf3, uring, ...)
 * so that drift in the machine's state hits them alike; the figures are
 * medians.  Defaults: 2 s runs, 1 connection: about 30 s in all.
 *
 * Pinning (default where the process may run on 2 CPUs or more; --no-pin
 * to leave it to the scheduler): the receiver on the first CPU of the
 * affinity mask (this thread, and the queue threads it starts), the sender
 * on the second; for iperf3 its server and its client the same way.
 * Unpinned, where the scheduler puts the two on a 2-core VM decides the
 * figure: the same uring build gave 14, 20 and 34 Gbit/s in three
 * runs in a row, and 34-36 pinned.
 *
 * The kernel's TCP metrics cache (cwnd, ssthresh, reordering of earlier
 * connections to 127.0.0.1, given to new ones) is flushed before every
 * run with `ip tcp_metrics delete 127.0.0.1`, so that every run starts
 * from the same state, not from what the case before it left.  Without
 * root or iproute2 stderr says it could not.  --verbose prints every
 * run's figures, not only the medians.
 *
 * Other programs on the machine spoil the figures (two cores: sender and
 * receiver already fill them).  Each run compares the machine's CPU time
 * (/proc/stat) with this process's and its children's; a run in which
 * others took more than a tenth of a core is repeated once, and if that
 * still happens the benchmark says so on stderr.
 *
 * Metrics: Gbit/s (10^9 bits) from the first connection to the last close,
 * and receiver CPU seconds per GB (10^9 bytes): perf's task clock over
 * the receiver's threads (nm_cpuclock_open; the sender is a child and not
 * counted) over the run, getrusage's user + sys where perf events are not
 * allowed (getrusage under-counts a receiver that its NAPI thread
 * preempts: cpu_mark below), and for iperf3 its server's
 * cpu_utilization_percent
 * (remote_total) times the run's seconds.  Ratios: uring/plain,
 * uring/iperf3 and socket/plain for throughput (higher is better) and CPU
 * per GB (lower is better).
 *
 * --veth: on loopback the receiver's CPU also runs the sender's TCP work
 * (each window update the reader sends is taken by the sender's socket in
 * the same softirq, which then transmits what it held), a fifth to a
 * third of the receiver's CPU at 1000 connections (docs/benchmarks.md).
 * --veth puts the sender in one network namespace and the receiver in
 * another, joined by a veth pair set up as two hosts' links
 * (tests/netns_rig.h, rig_opts.tcp: GRO and threaded NAPI on both veths,
 * TSO off on both so that TCP packets take the peer's NAPI, each side's
 * NAPI kthread pinned to its side's CPU): the data's receive work then
 * runs on the receiver's CPU and the ACKs' on the sender's.  The receiver
 * also gets a second CPU figure there, the receiving CPU's busy time per
 * GB (/proc/stat: its NAPI kthread's GRO and TCP work as well as the
 * process), and the sending CPU's busy share is printed: near 100% the
 * sender set the rate, and throughput ratios say little.  Needs root.
 *
 * --veth-rps: the same namespaces, but no NAPI threads: TSO stays on, and
 * RPS takes each side's packets to its own CPU (rig_opts.tcp_rps).  A
 * 64 KiB packet reaches the receiver as one skb, as a NIC's LRO gives it,
 * and the sender's transmits stay on the sending CPU.  On --veth a
 * receiving NAPI thread that waits 0.4 ms for its CPU lets the sender's
 * queue stop, and its qdisc and GSO then run on the receiving CPU
 * (docs/benchmarks.md); --veth-rps has no such state.  Softirq work lands
 * on whichever task an IPI interrupts there, so compare the receiving
 * CPU's figure, not the process's.
 *
 * JSON lines (--json), one per figure, medians:
 *   {"bench":"rx_tcp","impl":"uring|socket|plain|iperf3",
 *    "metric":"gbit_per_s|cpu_s_per_gb","value":N}
 * ("cpu_s_per_gb_getrusage" too, for all but iperf3), and with --veth
 * also "metric":"rx_cpu_s_per_gb" (the receiving CPU's busy time per GB),
 * "tx_cpu_busy" (the sending CPU's busy share),
 * "rx_backlog_max_mb" (the most the receiver's sockets held unread, MB)
 * and "rx_acks_per_mb" (segments the receiver sent per MB received).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <netmem/netmem.h>
#include <netmem/rx.h>
#include "bench_plot.h"
#include "bench_util.h"
#include "txrx.h"
#include "cmds.h"
#include "../tests/netns_rig.h"

enum { IMPL_URING, IMPL_SOCKET, IMPL_PLAIN, IMPL_IPERF3, NR_IMPL };
static const char *const impl_name[NR_IMPL] = { "uring", "socket", "plain", "iperf3" };

#define MAX_REPS 15
#define PLAIN_BUF (64u << 10)
#define MAX_CONNS 1024	/* netmem tx's limit */

struct bcfg {
	double seconds;
	unsigned int reps, conns;
	uint64_t msg;
	bool json, verbose;
	const char *plot;	/* --plot FILE.svg */
	int rx_cpu, tx_cpu;	/* -1: not pinned */
	bool run[NR_IMPL];
	char self[4096];
	bool veth;		/* --veth: the rig below; else loopback */
	bool veth_rps;		/* --veth-rps: that rig with TSO and RPS, no NAPI threads */
	struct rig rig;
	const char *host;	/* the receiver's address: 127.0.0.1 or the rig's */
};

struct result {
	bool ok;
	double gbit, cpu_per_gb;
	double ru_cpu_per_gb; /* the same by getrusage (nm_cpu), which under-counts */
	double rearm;         /* engines: re-arms per recv completion; else -1 */
	double rx_cpu_per_gb; /* --veth: the receiving CPU's busy time per GB */
	double tx_busy;       /* --veth: the sending CPU's busy share */
	double retrans;       /* --veth: segments the sender retransmitted, per 1000 */
	double backlog_mb;    /* --veth: most bytes seen unread in the receiver's sockets, MB */
	double acks_per_mb;   /* --veth: segments the receiver sent (ACKs) per MB received */
	uint64_t bytes;
	double other_cpu;     /* CPU seconds of other programs during the run */
	double steal;         /* CPU seconds the hypervisor took (steal) */
	double wall;
	char note[160];
};

/*
 * What the whole machine and what this process and its reaped children
 * (tx, iperf3) have spent on the CPUs, in seconds.  Their difference over a
 * run is what other programs took: on a 2-core machine a benchmark that
 * shares the CPUs with someone else's build measures nothing, and it
 * should say so rather than print a ratio.  Interrupt and softirq time are
 * left out of both: the kernel may not charge them to any task.
 */
static void cpu_totals(const struct bcfg *cfg, double *machine, double *ours, double *steal)
{
	unsigned long long us, ni, sy, id, io, irq, sirq, st;
	struct rusage self, kids;
	FILE *f = fopen("/proc/stat", "r");

	*machine = *steal = 0;
	if (f && fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &us, &ni, &sy, &id, &io,
			&irq, &sirq, &st) == 8) {
		*machine = (double)(us + ni + sy) / sysconf(_SC_CLK_TCK);
		/* a VM's CPUs taken by the hypervisor: no program here, but the
		 * run's figures carry it (a slow rep with much of it is noise) */
		*steal = (double)st / sysconf(_SC_CLK_TCK);
	}
	if (f)
		fclose(f);
	getrusage(RUSAGE_SELF, &self);
	getrusage(RUSAGE_CHILDREN, &kids);
	*ours = self.ru_utime.tv_sec + self.ru_utime.tv_usec * 1e-6 +
		self.ru_stime.tv_sec + self.ru_stime.tv_usec * 1e-6 +
		kids.ru_utime.tv_sec + kids.ru_utime.tv_usec * 1e-6 +
		kids.ru_stime.tv_sec + kids.ru_stime.tv_usec * 1e-6;
	if (cfg->veth)	/* the rig's NAPI threads and ksoftirqd: this run's work */
		*ours += rig_kthreads_cpu_s(&cfg->rig);
}

/* The receiving and the sending CPU's busy ticks (--veth, pinned), and
 * when: a run's bytes, rx_cpu_per_gb and tx_busy come from two of these
 * (ticks_result). */
struct ticks {
	uint64_t rx, tx;
	double t;
};

static void ticks_take(const struct bcfg *cfg, struct ticks *k)
{
	k->t = nm_now();
	k->rx = cfg->veth && cfg->rx_cpu >= 0 ? rig_cpu_busy_ticks(cfg->rx_cpu) : 0;
	k->tx = cfg->veth && cfg->tx_cpu >= 0 ? rig_cpu_busy_ticks(cfg->tx_cpu) : 0;
}

static void ticks_result(const struct bcfg *cfg, const struct ticks *a, const struct ticks *b,
			 uint64_t bytes, struct result *r)
{
	double hz = (double)sysconf(_SC_CLK_TCK);

	r->bytes = bytes;
	if (!cfg->veth || cfg->rx_cpu < 0 || !bytes || b->t <= a->t)
		return;
	r->rx_cpu_per_gb = (double)(b->rx - a->rx) / hz / ((double)bytes / 1e9);
	r->tx_busy = (double)(b->tx - a->tx) / hz / (b->t - a->t);
}

/*
 * --veth: what waits unread in the receiving namespace's TCP sockets
 * (rig_tcp_unread: the sum of their rx_queue), sampled
 * every BACKLOG_MS by a thread of the receiving namespace pinned to the
 * sending CPU.  A receiver that keeps up holds little; one that falls
 * behind holds more and more while TCP's autotuning lets the windows grow
 * (hundreds of MB at 1000 connections: docs/benchmarks.md), and its copies
 * then come from memory, not from cache.  The thread's own CPU time is
 * taken off the process's (backlog_stop).
 */
#define BACKLOG_MS 500
struct backlog {
	pthread_t th;
	_Atomic int stop;
	int cpu, running;
	uint64_t max;
	double cpu_s;
};

static void *backlog_main(void *arg)
{
	struct backlog *b = arg;
	struct timespec ts;

	rig_pin_self(b->cpu);
	while (!atomic_load(&b->stop)) {
		uint64_t u = rig_tcp_unread();

		if (u > b->max)
			b->max = u;
		for (int i = 0; i < BACKLOG_MS / 10 && !atomic_load(&b->stop); i++)
			usleep(10000);
	}
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	b->cpu_s = (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
	return NULL;
}

/* From the calling thread, which is in the receiving namespace. */
static void backlog_start(const struct bcfg *cfg, struct backlog *b)
{
	*b = (struct backlog){ .cpu = cfg->tx_cpu };
	b->running = cfg->veth && !pthread_create(&b->th, NULL, backlog_main, b);
}

/* Stop the sampler; the CPU seconds it used (0 when it did not run). */
static double backlog_stop(struct backlog *b, struct result *r)
{
	if (!b->running)
		return 0;
	atomic_store(&b->stop, 1);
	pthread_join(b->th, NULL);
	b->running = 0;
	r->backlog_mb = (double)b->max / 1e6;
	return b->cpu_s;
}

/*
 * The receiving process's CPU over a run.  The figure is perf's task
 * clock (nm_cpuclock_open), opened after the sampler thread starts so that
 * it counts only the receiver's threads; getrusage's figure is kept beside
 * it (--verbose) because it under-counts: the kernel hands part of the
 * receiver's time to the NAPI thread whose wake-ups preempt it
 * (docs/benchmarks.md).  Where perf events are not allowed the figure is
 * getrusage's, less the sampler's time, and the table says so.
 */
struct cpumark {
	int fd;
	struct nm_cpumark m;
};

static int cpuclock_missing;	/* a run had to fall back to getrusage */

/* A run's start (@start NULL: the counter is opened) or its end. */
static void cpu_mark(struct cpumark *m, const struct cpumark *start)
{
	m->fd = start ? start->fd : nm_cpuclock_open();
	nm_cpumark_take(m->fd, &m->m);
}

static void cpu_result(const struct cpumark *a, const struct cpumark *b, double bl_cpu,
		       uint64_t bytes, struct result *r)
{
	struct nm_cpuspan sp;

	nm_cpu_spent(&a->m, &b->m, &sp);
	/* the sampler's time is in getrusage's, not in the task clock's */
	r->ru_cpu_per_gb = nm_cpu_per_gb(sp.u + sp.s - bl_cpu, bytes);
	if (sp.task) {
		r->cpu_per_gb = nm_cpu_per_gb(sp.cpu, bytes);
	} else {
		r->cpu_per_gb = r->ru_cpu_per_gb;
		cpuclock_missing = 1;
	}
}

static void cpu_done(struct cpumark *m)
{
	if (m->fd >= 0)
		close(m->fd);
	m->fd = -1;
}

/* Bytes the rig's receiving veth has taken in (64-bit, /proc/net/dev of
 * this thread's namespace: the receiving one); 0 when it cannot be read. */
static uint64_t veth_rx_bytes(const struct bcfg *cfg)
{
	char line[512], want[IFNAMSIZ + 2];
	unsigned long long v = 0;
	FILE *f = fopen("/proc/thread-self/net/dev", "r");
	size_t wl;

	if (!f)
		return 0;
	wl = (size_t)snprintf(want, sizeof(want), "%s:", cfg->rig.ifname[RIG_RX]);
	while (fgets(line, sizeof(line), f)) {
		const char *p = line + strspn(line, " ");

		if (!strncmp(p, want, wl) && sscanf(p + wl, "%llu", &v) == 1)
			break;
	}
	fclose(f);
	return v;
}

/* ---------------------------------------------------------------- */
/* the sender: `netmem tx` in a child                                */

static pid_t start_tx(const struct bcfg *cfg, int port)
{
	char addr[32], secs[32], msg[32], conns[16];
	pid_t pid;

	snprintf(addr, sizeof(addr), "%s:%d", cfg->host, port);
	snprintf(secs, sizeof(secs), "%.3f", cfg->seconds);
	snprintf(msg, sizeof(msg), "%llu", (unsigned long long)cfg->msg);
	snprintf(conns, sizeof(conns), "%u", cfg->conns);
	fflush(NULL);
	pid = fork();
	if (pid == 0) {
		if (cfg->tx_cpu >= 0)
			bu_pin(cfg->tx_cpu);	/* exec keeps the mask */
		if (cfg->veth && rig_enter(&cfg->rig, RIG_TX))
			_exit(126);
		execl(cfg->self, "netmem", "tx", "--connect", addr, "--seconds", secs,
		      "--msg-size", msg, "--conns", conns, "--wait", "5", "--quiet",
		      (char *)NULL);
		fprintf(stderr, "netmem bench rx: exec %s: %s\n", cfg->self, strerror(errno));
		_exit(127);
	}
	return pid;
}

/* In a child before exec: stdout to @out (-1: /dev/null), stderr to
 * /dev/null, and pinned to @cpu unless it is -1 (exec keeps the mask). */
static void child_setup(int out, int cpu)
{
	int dn = open("/dev/null", O_RDWR);

	dup2(out >= 0 ? out : dn, 1);
	dup2(dn, 2);
	if (cpu >= 0)
		bu_pin(cpu);
}

/* Forget what earlier connections to @addr taught the kernel (cached
 * cwnd, ssthresh, reordering), in this thread's namespace or (@tx) the
 * rig's sending one.  True if `ip` did it (or there was none). */
static bool flush_metrics_of(const struct bcfg *cfg, const char *addr, bool tx)
{
	pid_t pid;

	fflush(NULL);
	pid = fork();
	if (pid == 0) {
		child_setup(-1, -1);
		if (tx && rig_enter(&cfg->rig, RIG_TX))
			_exit(126);
		execlp("ip", "ip", "tcp_metrics", "delete", addr, (char *)NULL);
		_exit(127);
	}
	/* "ip" exits 2 when there is no entry to delete: that is fine too */
	if (pid < 0)
		return false;
	int status;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	return WIFEXITED(status) && (WEXITSTATUS(status) == 0 ||
				     (WEXITSTATUS(status) == 2 && geteuid() == 0));
}

/* On loopback one cache holds both ends; on the rig each namespace has
 * its own: the receiver's of the sender and the sender's of the receiver. */
static bool flush_tcp_metrics(const struct bcfg *cfg)
{
	if (!cfg->veth)
		return flush_metrics_of(cfg, "127.0.0.1", false);
	bool a = flush_metrics_of(cfg, cfg->rig.ip[RIG_TX], false);

	return flush_metrics_of(cfg, cfg->rig.ip[RIG_RX], true) && a;
}

/* ---------------------------------------------------------------- */
/* plain recv() baseline                                             */

/* A listening socket on @host, any free port (*port). */
static int listen_on(const char *host, int *port)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t len = sizeof(a);
	int fd;

	if (inet_pton(AF_INET, host, &a.sin_addr) != 1)
		return -EINVAL;
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) || listen(fd, MAX_CONNS) ||
	    getsockname(fd, (struct sockaddr *)&a, &len)) {
		int e = -errno;
		close(fd);
		return e;
	}
	*port = ntohs(a.sin_port);
	return fd;
}

static void run_plain(const struct bcfg *cfg, struct result *r)
{
	static char buf[PLAIN_BUF];
	int lfd, port, ep = -1, *fds, open_conns;
	uint64_t bytes = 0;
	double t0 = 0, t1, deadline, bl_cpu;
	struct cpumark c0 = { .fd = -1 }, c1;
	struct ticks k0, k1;
	struct backlog bl = { .running = 0 };
	pid_t tx;

	fds = calloc(cfg->conns, sizeof(*fds));
	lfd = listen_on(cfg->host, &port);
	if (lfd < 0 || !fds) {
		snprintf(r->note, sizeof(r->note), "listen: %s", strerror(lfd < 0 ? -lfd : ENOMEM));
		free(fds);
		return;
	}
	for (unsigned int i = 0; i < cfg->conns; i++)
		fds[i] = -1;
	ticks_take(cfg, &k0);
	backlog_start(cfg, &bl);
	cpu_mark(&c0, NULL);	/* after the sampler starts: its thread is not counted */
	tx = start_tx(cfg, port);
	deadline = nm_now() + cfg->seconds + 15;
	/* a receive that cannot finish must not hang the benchmark */
	struct timeval tv = { .tv_sec = (time_t)cfg->seconds + 15 };
	setsockopt(lfd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	for (unsigned int i = 0; i < cfg->conns; i++) {
		do
			fds[i] = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
		while (fds[i] < 0 && errno == EINTR);
		if (fds[i] < 0) {
			snprintf(r->note, sizeof(r->note), "accept: %s", strerror(errno));
			goto out;
		}
		if (!i)
			t0 = nm_now();
		setsockopt(fds[i], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	}
	if (cfg->conns == 1) {
		for (;;) {
			ssize_t n = recv(fds[0], buf, sizeof(buf), 0);
			if (n > 0) {
				bytes += n;
				continue;
			}
			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0) {
				snprintf(r->note, sizeof(r->note), "recv: %s", strerror(errno));
				goto out;
			}
			break;
		}
	} else {
		ep = epoll_create1(EPOLL_CLOEXEC);
		for (unsigned int i = 0; i < cfg->conns; i++) {
			struct epoll_event ev = { .events = EPOLLIN, .data.u32 = i };
			fcntl(fds[i], F_SETFL, fcntl(fds[i], F_GETFL) | O_NONBLOCK);
			epoll_ctl(ep, EPOLL_CTL_ADD, fds[i], &ev);
		}
		open_conns = cfg->conns;
		while (open_conns) {
			struct epoll_event evs[64];
			int n = epoll_wait(ep, evs, 64, 1000);

			if (nm_now() > deadline) {
				snprintf(r->note, sizeof(r->note), "timed out");
				goto out;
			}
			for (int k = 0; k < n; k++) {
				int fd = fds[evs[k].data.u32];
				for (;;) {
					ssize_t m = recv(fd, buf, sizeof(buf), 0);
					if (m > 0) {
						bytes += m;
						continue;
					}
					if (m < 0 && errno == EAGAIN)
						break;
					epoll_ctl(ep, EPOLL_CTL_DEL, fd, NULL);
					open_conns--;
					break;
				}
			}
		}
	}
	t1 = nm_now();
	bl_cpu = backlog_stop(&bl, r);
	cpu_mark(&c1, &c0);
	ticks_take(cfg, &k1);
	ticks_result(cfg, &k0, &k1, bytes, r);
	r->gbit = nm_gbit(bytes, t1 - t0);
	cpu_result(&c0, &c1, bl_cpu, bytes, r);
	r->ok = bytes > 0;
out:
	backlog_stop(&bl, r);
	cpu_done(&c0);
	if (!nm_reap(tx, 15) && r->ok) {
		r->ok = false;
		snprintf(r->note, sizeof(r->note), "the sender failed");
	}
	for (unsigned int i = 0; i < cfg->conns; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	if (ep >= 0)
		close(ep);
	close(lfd);
	free(fds);
}

/* ---------------------------------------------------------------- */
/* netmem engines                                                    */

struct eng_state {
	struct nm_pool *pool;
	unsigned int expect;
	atomic_uint opened, closed, errs;
	atomic_uint_fast64_t bytes;
	_Atomic double t_first, t_last;
	atomic_bool done;
};

static int eng_conn(struct nm_rx *rx, struct nm_rx_conn *c, void *user)
{
	struct eng_state *st = user;
	double zero = 0;

	atomic_compare_exchange_strong(&st->t_first, &zero, nm_now());
	atomic_fetch_add(&st->opened, 1);
	return 0;
}

static int eng_data(struct nm_rx *rx, struct nm_rx_conn *c, const struct nm_rx_msg *msg,
		    void *user)
{
	struct eng_state *st = user;

	/* the same work as the plain receiver: count, do not read */
	atomic_fetch_add_explicit(&st->bytes, msg->bytes, memory_order_relaxed);
	if (msg->nr)
		nm_pool_put_bulk(st->pool, msg->bufs, msg->nr);
	return 0;
}

static void eng_close(struct nm_rx *rx, struct nm_rx_conn *c, int err, void *user)
{
	struct eng_state *st = user;

	if (err)
		atomic_fetch_add(&st->errs, 1);
	atomic_store(&st->t_last, nm_now());
	if (atomic_fetch_add(&st->closed, 1) + 1 >= st->expect) {
		atomic_store(&st->done, true);
		nm_rx_stop(rx);
	}
}

static void run_engine(const struct bcfg *cfg, const char *engine, struct result *r,
		       struct nm_rx_info *info)
{
	NM_OPTS(nm_area_opts, ao, .size = 64u << 20, .order = 4, .name = "bench-rx");
	struct eng_state st = { .expect = cfg->conns };
	struct nm_area *area;
	struct nm_rx *rx = NULL;
	double deadline, bl_cpu;
	struct cpumark c0 = { .fd = -1 }, c1;
	struct ticks k0, k1;
	struct backlog bl = { .running = 0 };
	pid_t tx = -1;
	int port;

	area = nm_area_create("host", &ao);
	st.pool = area ? nm_pool_create(area, NULL) : NULL;
	if (!st.pool) {
		snprintf(r->note, sizeof(r->note), "pool: %s", nm_strerror(-errno));
		goto out;
	}
	NM_OPTS(nm_rx_opts, ro, .engine = engine, .pool = st.pool, .on_data = eng_data,
		.on_conn = eng_conn, .on_close = eng_close, .user = &st);
	rx = nm_rx_create(&ro);
	if (!rx) {
		snprintf(r->note, sizeof(r->note), "engine: %s", nm_strerror(-errno));
		goto out;
	}
	nm_rx_info(rx, info, sizeof(*info));
	port = nm_rx_listen(rx, cfg->host, 0);
	if (port < 0) {
		snprintf(r->note, sizeof(r->note), "listen: %s", nm_strerror(port));
		goto out;
	}
	ticks_take(cfg, &k0);
	backlog_start(cfg, &bl);
	cpu_mark(&c0, NULL);	/* after the sampler starts: its thread is not counted */
	tx = start_tx(cfg, port);
	deadline = nm_now() + cfg->seconds + 15;
	while (!atomic_load(&st.done) && nm_now() < deadline) {
		int rc = nm_rx_run(rx, 250);
		if (rc < 0) {
			snprintf(r->note, sizeof(r->note), "run: %s", nm_strerror(rc));
			goto out;
		}
	}
	bl_cpu = backlog_stop(&bl, r);
	cpu_mark(&c1, &c0);
	ticks_take(cfg, &k1);
	if (!atomic_load(&st.done)) {
		snprintf(r->note, sizeof(r->note), "timed out");
		goto out;
	}
	if (atomic_load(&st.errs)) {
		snprintf(r->note, sizeof(r->note), "%u connection(s) ended with an error",
			 atomic_load(&st.errs));
		goto out;
	}
	uint64_t bytes = atomic_load(&st.bytes);
	struct nm_rx_stats rs;

	if (nm_rx_stats(rx, &rs, sizeof(rs)) == 0)
		r->rearm = rs.recv_calls ? (double)rs.rearm / (double)rs.recv_calls : 0;
	r->gbit = nm_gbit(bytes, atomic_load(&st.t_last) - atomic_load(&st.t_first));
	cpu_result(&c0, &c1, bl_cpu, bytes, r);
	ticks_result(cfg, &k0, &k1, bytes, r);
	r->ok = bytes > 0;
out:
	backlog_stop(&bl, r);
	cpu_done(&c0);
	if (tx > 0 && !nm_reap(tx, 15) && r->ok) {
		r->ok = false;
		snprintf(r->note, sizeof(r->note), "the sender failed");
	}
	if (rx)
		nm_rx_destroy(rx);
	if (st.pool)
		nm_pool_destroy(st.pool);
	if (area)
		nm_area_destroy(area);
}

/* ---------------------------------------------------------------- */
/* iperf3                                                            */

static bool have_iperf3(char *path, size_t len)
{
	const char *env = getenv("PATH");
	char *dirs, *save, *d;

	if (!env)
		env = "/usr/bin:/bin:/usr/local/bin";
	dirs = strdup(env);
	for (d = strtok_r(dirs, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
		snprintf(path, len, "%s/iperf3", d);
		if (!access(path, X_OK)) {
			free(dirs);
			return true;
		}
	}
	free(dirs);
	return false;
}

/* Is something listening on 127.0.0.1:@port (or [::]:@port)? */
static bool port_listening(int port)
{
	static const char *const files[] = { "/proc/net/tcp", "/proc/net/tcp6" };
	char line[512];

	for (int f = 0; f < 2; f++) {
		FILE *fp = fopen(files[f], "r");
		if (!fp)
			continue;
		while (fgets(line, sizeof(line), fp)) {
			char local[128];
			unsigned int st, p;
			char *colon;

			if (sscanf(line, " %*d: %127s %*s %x", local, &st) != 2 || st != 0x0a)
				continue;
			colon = strrchr(local, ':');
			if (colon && sscanf(colon + 1, "%x", &p) == 1 && (int)p == port) {
				fclose(fp);
				return true;
			}
		}
		fclose(fp);
	}
	return false;
}

/* The number after the first "@key": in @s, or -1 when it is not there. */
static double json_num(const char *s, const char *key)
{
	char k[64];
	const char *p;

	snprintf(k, sizeof(k), "\"%s\":", key);
	p = s ? strstr(s, k) : NULL;
	return p ? strtod(p + strlen(k), NULL) : -1;
}

static void run_iperf3(const struct bcfg *cfg, const char *bin, struct result *r)
{
	char port_s[16], secs[32], len_s[32], par[16], *out = NULL;
	size_t cap = 1 << 16, len = 0;
	int port, lfd, pfd[2], status;
	pid_t srv, cli;
	struct ticks k0, k1;
	struct backlog bl;
	double end;

	/* a free port: bind port 0, take the number, let it go */
	lfd = listen_on(cfg->host, &port);
	if (lfd < 0) {
		snprintf(r->note, sizeof(r->note), "no free port");
		return;
	}
	close(lfd);
	snprintf(port_s, sizeof(port_s), "%d", port);
	snprintf(secs, sizeof(secs), "%.0f", cfg->seconds < 1 ? 1 : cfg->seconds + 0.5);
	snprintf(len_s, sizeof(len_s), "%llu", (unsigned long long)cfg->msg);
	snprintf(par, sizeof(par), "%u", cfg->conns);
	fflush(NULL);
	srv = fork();
	if (srv == 0) {
		child_setup(-1, cfg->rx_cpu);	/* as -A would, before it starts */
		execl(bin, "iperf3", "-s", "-1", "-B", cfg->host, "-p", port_s, (char *)NULL);
		_exit(127);
	}
	end = nm_now() + 5;
	while (!port_listening(port) && nm_now() < end)
		usleep(10000);
	if (pipe2(pfd, O_CLOEXEC)) {
		kill(srv, SIGKILL);
		waitpid(srv, &status, 0);
		return;
	}
	ticks_take(cfg, &k0);	/* the server's start is in it: a little low */
	backlog_start(cfg, &bl);	/* iperf3's CPU is its own: nothing to take off */
	cli = fork();
	if (cli == 0) {
		child_setup(pfd[1], cfg->tx_cpu);
		if (cfg->veth && rig_enter(&cfg->rig, RIG_TX))
			_exit(126);
		execl(bin, "iperf3", "-c", cfg->host, "-p", port_s, "-t", secs, "-l", len_s,
		      "-P", par, "-J", (char *)NULL);
		_exit(127);
	}
	close(pfd[1]);
	out = malloc(cap);
	for (;;) {
		ssize_t n;
		if (len + 1 >= cap)
			out = realloc(out, cap *= 2);
		n = read(pfd[0], out + len, cap - 1 - len);
		if (n <= 0)
			break;
		len += n;
	}
	out[len] = 0;
	close(pfd[0]);
	nm_reap(cli, 15);
	backlog_stop(&bl, r);
	ticks_take(cfg, &k1);
	/* -1 makes the server exit after one test; reap kills a leftover */
	nm_reap(srv, 5);

	const char *sum = strstr(out, "\"sum_received\"");
	const char *cpu = strstr(out, "\"cpu_utilization_percent\"");
	double bps = json_num(sum, "bits_per_second");
	double bytes = json_num(sum, "bytes");
	double rsecs = json_num(sum, "seconds");
	double remote = json_num(cpu, "remote_total");

	if (bps <= 0 || bytes <= 0 || rsecs <= 0 || remote < 0) {
		const char *e = strstr(out, "\"error\":");
		snprintf(r->note, sizeof(r->note), "no figures in iperf3's output%s%.80s",
			 e ? ": " : "", e ? e + 8 : "");
		free(out);
		return;
	}
	r->gbit = bps / 1e9;
	r->cpu_per_gb = nm_cpu_per_gb(remote / 100.0 * rsecs, (uint64_t)bytes);
	ticks_result(cfg, &k0, &k1, (uint64_t)bytes, r);
	r->ok = true;
	free(out);
}

/* ---------------------------------------------------------------- */

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

/* The median of v[0..n); v keeps its run order (the slow-rep list needs it). */
static double median(const double *v, int n)
{
	double s[MAX_REPS];

	if (!n)
		return 0;
	memcpy(s, v, (size_t)n * sizeof(*v));
	qsort(s, n, sizeof(*s), cmp_double);
	return n & 1 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
}

static double min_of(const double *v, int n)
{
	double m = v[0];

	for (int i = 1; i < n; i++)
		m = v[i] < m ? v[i] : m;
	return m;
}

static double max_of(const double *v, int n)
{
	double m = v[0];

	for (int i = 1; i < n; i++)
		m = v[i] > m ? v[i] : m;
	return m;
}

/*
 * A netmem engine's rep below plain recv()'s median is a slow mode to find
 * (plain, measured in the same minutes, is the baseline): name every one.
 * Reps are stored in run order, so index i is rep i + 1.
 */
static void flag_slow_reps(double gbit[][MAX_REPS], double cpu[][MAX_REPS],
			   double steal[][MAX_REPS], const int *nok, double plain_med)
{
	static const int engines[] = { IMPL_URING, IMPL_SOCKET };
	unsigned int flagged = 0;

	if (!nok[IMPL_PLAIN])
		return;
	for (size_t e = 0; e < sizeof(engines) / sizeof(engines[0]); e++) {
		int k = engines[e];

		for (int i = 0; i < nok[k]; i++) {
			if (gbit[k][i] >= plain_med)
				continue;
			if (!flagged++)
				printf("\nslow reps (below plain's median of %.2f Gbit/s):\n", plain_med);
			printf("  %s, its run %d: %.2f Gbit/s (%.2fx plain), %.4f CPU s/GB, steal %.0f%% "
			       "of a CPU\n", impl_name[k], i + 1, gbit[k][i], gbit[k][i] / plain_med,
			       cpu[k][i], 100 * steal[k][i]);
		}
	}
	if (!flagged)
		printf("\nslow reps: none (every engine run at or above plain's median)\n");
}

/*
 * --plot: throughput and CPU per GB, a bar per case (median, min-max
 * whisker), each engine's bar with its ratio to plain recv(), plain's and
 * iperf3's with uring's ratio to them.
 */
static int write_plot(const struct bcfg *cfg, double v[2][NR_IMPL][MAX_REPS],
		      const double med[2][NR_IMPL], const int *nok, char note[][160])
{
	const char *title[2] = { cfg->veth ? "TCP receive throughput over veth" :
				 "loopback TCP receive throughput",
				 "receiver CPU per GB received" };
	static const char *const unit[2] = { "Gbit/s", "CPU s/GB" };
	struct bp_panel p[2];
	char sub[256];
	int r;

	memset(p, 0, sizeof(p));
	for (int m = 0; m < 2; m++) {
		p[m].title = title[m];
		p[m].unit = unit[m];
		p[m].higher_better = m == 0;
		for (int k = 0; k < NR_IMPL; k++) {
			struct bp_bar *b = &p[m].bar[p[m].nbar++];
			int base = k == IMPL_URING || k == IMPL_SOCKET ? IMPL_PLAIN : IMPL_URING;
			int num = k == IMPL_URING || k == IMPL_SOCKET ? k : IMPL_URING;
			int den = k == IMPL_URING || k == IMPL_SOCKET ? base : k;
			const char *fmt = m ? "%.4f" : "%.2f";
			int len;

			b->name = impl_name[k];
			b->have = nok[k] > 0;
			if (!b->have) {
				snprintf(b->note, sizeof(b->note), "not measured%s%.80s",
					 note[k][0] ? ": " : "", note[k]);
				continue;
			}
			b->med = med[m][k];
			b->lo = min_of(v[m][k], nok[k]);
			b->hi = max_of(v[m][k], nok[k]);
			len = snprintf(b->note, sizeof(b->note), fmt, b->med);
			if (num != den && nok[num] && nok[den] && med[m][den] > 0)
				snprintf(b->note + len, sizeof(b->note) - len, "   %s/%s %.2f",
					 impl_name[num], impl_name[den], med[m][num] / med[m][den]);
		}
	}
	snprintf(sub, sizeof(sub), "%u connection%s, %llu-byte writes, %.1f s x %u reps per case, "
		 "interleaved; median (bar), min-max (whisker); netmem %s", cfg->conns,
		 cfg->conns > 1 ? "s" : "", (unsigned long long)cfg->msg, cfg->seconds, cfg->reps,
		 nm_version());
	r = bp_svg(cfg->plot, "netmem bench rx: netmem's engines against recv() and iperf3",
		   sub, p, 2);
	if (r)
		fprintf(stderr, "netmem bench rx: --plot %s: %s\n", cfg->plot, strerror(-r));
	return r;
}

static int usage(void)
{
	fprintf(stderr,
		"usage: netmem bench rx [--json] [--seconds S] [--reps N] [--conns C]\n"
		"                       [--msg-size S] [--impl uring,socket,plain,iperf3] [--no-pin]\n"
		"                       [--veth | --veth-rps] [--verbose] [--plot FILE.svg]\n");
	return 2;
}

int cmd_bench_rx(int argc, char **argv)
{
	struct bcfg cfg = { .seconds = 2, .reps = 3, .conns = 1, .msg = 64 << 10,
			    .rx_cpu = -1, .tx_cpu = -1 };
	bool pin = true;
	double gbit[NR_IMPL][MAX_REPS], cpu[NR_IMPL][MAX_REPS], med_g[NR_IMPL], med_c[NR_IMPL];
	/* the engines' re-arms per recv completion, per run and median */
	double rearm[NR_IMPL][MAX_REPS], med_r[NR_IMPL];
	/* --veth: the receiving CPU's busy time per GB, the sending CPU's share */
	double rxc[NR_IMPL][MAX_REPS], txb[NR_IMPL][MAX_REPS], med_x[NR_IMPL], med_t[NR_IMPL];
	double bkl[NR_IMPL][MAX_REPS], med_b[NR_IMPL], acks[NR_IMPL][MAX_REPS], med_a[NR_IMPL];
	double rucpu[NR_IMPL][MAX_REPS], med_u[NR_IMPL];
	/* the hypervisor's steal over each run, a share of one CPU */
	double stl[NR_IMPL][MAX_REPS];
	int nok[NR_IMPL] = { 0 };
	char note[NR_IMPL][160] = { { 0 } }, iperf[4096];
	struct nm_rx_info uinfo = { 0 }, sinfo = { 0 };
	bool impl_given = false;
	double busy_worst = 0, busy_wall = 1, steal_worst = 0, steal_wall = 1, retrans_worst = 0;
	unsigned int retried = 0;
	int plot_rc = 0;
	uint64_t v;
	ssize_t n;

	for (int i = 0; i < NR_IMPL; i++)
		cfg.run[i] = true;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *next = i + 1 < argc ? argv[i + 1] : NULL;

		if (!strcmp(a, "--json")) {
			cfg.json = true;
		} else if (!strcmp(a, "--verbose") || !strcmp(a, "-v")) {
			cfg.verbose = true;
		} else if (!strcmp(a, "--plot") && next && *next) {
			cfg.plot = next;
			i++;
		} else if (!strcmp(a, "--no-pin")) {
			pin = false;
		} else if (!strcmp(a, "--veth")) {
			cfg.veth = true;
		} else if (!strcmp(a, "--veth-rps")) {
			cfg.veth = cfg.veth_rps = true;
		} else if (!strcmp(a, "--seconds") && next) {
			if (nm_parse_secs(next, &cfg.seconds) || cfg.seconds > 60) {
				fprintf(stderr, "netmem bench rx: --seconds '%s': expected 0 < S <= 60\n", next);
				return 2;
			}
			i++;
		} else if (!strcmp(a, "--reps") && next) {
			if (nm_parse_uint(next, 1, MAX_REPS, &v)) {
				fprintf(stderr, "netmem bench rx: --reps '%s': expected 1 to %d\n", next, MAX_REPS);
				return 2;
			}
			cfg.reps = v;
			i++;
		} else if (!strcmp(a, "--conns") && next) {
			if (nm_parse_uint(next, 1, MAX_CONNS, &v)) {
				fprintf(stderr, "netmem bench rx: --conns '%s': expected 1 to %d\n", next,
					MAX_CONNS);
				return 2;
			}
			cfg.conns = v;
			i++;
		} else if (!strcmp(a, "--msg-size") && next) {
			if (nm_parse_size(next, &v) || !v || v > (16u << 20)) {
				fprintf(stderr, "netmem bench rx: --msg-size '%s': expected 1 to 16M\n", next);
				return 2;
			}
			cfg.msg = v;
			i++;
		} else if (!strcmp(a, "--impl") && next) {
			char *list = strdup(next), *save, *t;

			memset(cfg.run, 0, sizeof(cfg.run));
			for (t = strtok_r(list, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
				int k;
				for (k = 0; k < NR_IMPL && strcmp(t, impl_name[k]); k++)
					;
				if (k == NR_IMPL) {
					fprintf(stderr, "netmem bench rx: --impl: unknown '%s'\n", t);
					free(list);
					return 2;
				}
				cfg.run[k] = true;
			}
			free(list);
			impl_given = true;
			i++;
		} else {
			fprintf(stderr, "netmem bench rx: unknown or incomplete option '%s'\n", a);
			return usage();
		}
	}
	n = readlink("/proc/self/exe", cfg.self, sizeof(cfg.self) - 1);
	if (n <= 0) {
		fprintf(stderr, "netmem bench rx: cannot find this program: %s\n", strerror(errno));
		return 1;
	}
	cfg.self[n] = 0;
	signal(SIGPIPE, SIG_IGN);
	if (pin) {
		int cpus[2];

		if (bu_cpus(cpus, 2) == 2 && bu_pin(cpus[0]) == 0) {
			cfg.rx_cpu = cpus[0];
			cfg.tx_cpu = cpus[1];
		} else {
			/* stderr, with --json too: the JSON lines go to stdout */
			fprintf(stderr, "netmem bench rx: fewer than 2 CPUs to pin to: "
				"receiver and sender left to the scheduler\n");
		}
	}
	/* the receiver's sockets here, the sender's in its child (the limit
	 * is inherited), and a few more */
	int nf = nm_raise_nofile(cfg.conns + 64ul);

	if (nf) {
		fprintf(stderr, "netmem bench rx: too few file descriptors for %u connections "
			"(ulimit -n): %s\n", cfg.conns, strerror(-nf));
		return 1;
	}
	cfg.host = "127.0.0.1";
	if (cfg.veth_rps && cfg.rx_cpu < 0) {
		fprintf(stderr, "netmem bench rx: --veth-rps needs the two sides pinned to two "
			"CPUs (not with --no-pin)\n");
		return 1;
	}
	if (cfg.veth) {
		const char *why = rig_unavailable();
		struct rig_opts o = { .tag = "benchrx", .tcp = 1, .napi_pin = cfg.rx_cpu >= 0,
				      .napi_cpu = cfg.rx_cpu, .tx_napi_cpu = cfg.tx_cpu,
				      .tcp_rps = cfg.veth_rps };
		int e = why ? -EOPNOTSUPP : rig_up(&cfg.rig, &o);

		if (e || (e = rig_enter(&cfg.rig, RIG_RX))) {
			fprintf(stderr, "netmem bench rx: --veth: %s\n", why ? why :
				cfg.rig.why[0] ? cfg.rig.why : strerror(-e));
			rig_down(&cfg.rig);
			return 1;
		}
		cfg.host = cfg.rig.ip[RIG_RX];
	}
	if (cfg.run[IMPL_IPERF3] && !have_iperf3(iperf, sizeof(iperf))) {
		cfg.run[IMPL_IPERF3] = false;
		snprintf(note[IMPL_IPERF3], sizeof(note[0]),
			 "iperf3 is not installed (apt-get install iperf3): no iperf3 baseline");
		if (!cfg.json || impl_given)
			fprintf(stderr, "netmem bench rx: %s\n", note[IMPL_IPERF3]);
	}
	bool flush = flush_tcp_metrics(&cfg);

	if (!flush)
		fprintf(stderr, "netmem bench rx: could not flush the TCP metrics cache (needs root "
			"and iproute2): each run starts from what the one before left\n");
	char pinning[64] = "not pinned";

	if (cfg.rx_cpu >= 0)
		snprintf(pinning, sizeof(pinning), "receiver on CPU %d, sender on CPU %d",
			 cfg.rx_cpu, cfg.tx_cpu);
	if (!cfg.json)
		printf("bench rx: %s, %u connection%s, %llu-byte writes, %.1f s x %u reps "
		       "per case, interleaved; medians; %s%s\n", cfg.veth ? "TCP over veth "
		       "between two namespaces" : "loopback TCP", cfg.conns, cfg.conns > 1 ? "s" : "",
		       (unsigned long long)cfg.msg, cfg.seconds, cfg.reps, pinning,
		       !cfg.veth || cfg.rx_cpu < 0 ? "" : cfg.veth_rps ?
		       ", TSO on, RPS takes each side's packets to its side's CPU" :
		       ", each side's NAPI on its side's CPU");

	for (unsigned int rep = 0; rep < cfg.reps; rep++) {
		for (int k = 0; k < NR_IMPL; k++) {
			struct result r;
			double m0, o0, m1, o1, t0, st0, st1;
			uint64_t v0, seg0 = 0, rt0 = 0, seg1 = 0, rt1 = 0, ack0 = 0, ack1 = 0, x;
			int tries = 0;

			if (!cfg.run[k])
				continue;
again:
			memset(&r, 0, sizeof(r));
			r.rearm = -1;
			if (flush)
				flush_tcp_metrics(&cfg);
			cpu_totals(&cfg, &m0, &o0, &st0);
			v0 = cfg.veth ? veth_rx_bytes(&cfg) : 0;
			if (cfg.veth) {
				rig_tcp_segs(&cfg.rig, RIG_TX, &seg0, &rt0);
				rig_tcp_segs(&cfg.rig, RIG_RX, &ack0, &x);
			}
			t0 = nm_now();
			switch (k) {
			case IMPL_URING:  run_engine(&cfg, "uring", &r, &uinfo); break;
			case IMPL_SOCKET: run_engine(&cfg, "socket", &r, &sinfo); break;
			case IMPL_PLAIN:  run_plain(&cfg, &r); break;
			case IMPL_IPERF3: run_iperf3(&cfg, iperf, &r); break;
			}
			cpu_totals(&cfg, &m1, &o1, &st1);
			r.wall = nm_now() - t0;
			r.steal = st1 - st0;
			if (cfg.veth && !rig_tcp_segs(&cfg.rig, RIG_TX, &seg1, &rt1) && seg1 > seg0)
				r.retrans = 1000.0 * (double)(rt1 - rt0) / (double)(seg1 - seg0);
			/* The receiver sends only ACKs; while a socket is under its
			 * SO_RCVLOWAT mark TCP acknowledges every arrival, and on
			 * the rig each ACK wakes the sender's NAPI (docs/benchmarks.md) */
			if (cfg.veth && r.bytes && !rig_tcp_segs(&cfg.rig, RIG_RX, &ack1, &x))
				r.acks_per_mb = (double)(ack1 - ack0) / ((double)r.bytes / 1e6);
			/* --veth: the stream must have crossed the veth (headers
			 * make it more), not a loopback inside one namespace */
			if (cfg.veth && r.ok && veth_rx_bytes(&cfg) - v0 < r.bytes) {
				r.ok = false;
				snprintf(r.note, sizeof(r.note), "the stream did not cross the veth "
					 "(%llu bytes there, %llu received)",
					 (unsigned long long)(veth_rx_bytes(&cfg) - v0),
					 (unsigned long long)r.bytes);
			}
			r.other_cpu = (m1 - m0) - (o1 - o0);
			/* Someone else took a tenth of a core or more, here or
			 * (steal) on the host: that run says little; give it one
			 * more chance. */
			if (r.ok && (r.other_cpu > 0.1 * r.wall || r.steal > 0.1 * r.wall) &&
			    tries++ < 1) {
				retried++;
				goto again;
			}
			if (r.other_cpu > busy_worst)
				busy_worst = r.other_cpu, busy_wall = r.wall;
			if (r.steal > steal_worst)
				steal_worst = r.steal, steal_wall = r.wall;
			if (!r.ok) {
				fprintf(stderr, "netmem bench rx: %s, rep %u: %s\n", impl_name[k],
					rep + 1, r.note[0] ? r.note : "failed");
				snprintf(note[k], sizeof(note[k]), "%s", r.note[0] ? r.note : "failed");
				continue;
			}
			if (cfg.verbose) {
				fprintf(stderr, "  rep %u %-7s %7.2f Gbit/s %7.4f CPU s/GB", rep + 1,
					impl_name[k], r.gbit, r.cpu_per_gb);
				if (k != IMPL_IPERF3)
					fprintf(stderr, " (getrusage %.4f)", r.ru_cpu_per_gb);
				if (r.rearm >= 0)
					fprintf(stderr, " %6.3f re-arms a completion", r.rearm);
				if (cfg.veth)
					fprintf(stderr, "; receiving CPU %.4f s/GB, sending CPU %.0f%% busy, "
						"%.1f retransmits per 1000 segments, %.1f ACKs per MB, "
						"up to %.1f MB unread in the receiver's sockets", r.rx_cpu_per_gb,
						100 * r.tx_busy, r.retrans, r.acks_per_mb, r.backlog_mb);
				fprintf(stderr, "; steal %.0f%% of a CPU\n", 100 * r.steal / r.wall);
			}
			rxc[k][nok[k]] = r.rx_cpu_per_gb;
			if (r.retrans > retrans_worst)
				retrans_worst = r.retrans;
			stl[k][nok[k]] = r.wall > 0 ? r.steal / r.wall : 0;
			txb[k][nok[k]] = r.tx_busy;
			bkl[k][nok[k]] = r.backlog_mb;
			acks[k][nok[k]] = r.acks_per_mb;
			rearm[k][nok[k]] = r.rearm;
			gbit[k][nok[k]] = r.gbit;
			rucpu[k][nok[k]] = r.ru_cpu_per_gb;
			cpu[k][nok[k]++] = r.cpu_per_gb;
		}
	}
	for (int k = 0; k < NR_IMPL; k++) {
		med_g[k] = median(gbit[k], nok[k]);
		med_c[k] = median(cpu[k], nok[k]);
		med_r[k] = median(rearm[k], nok[k]);
		med_x[k] = median(rxc[k], nok[k]);
		med_t[k] = median(txb[k], nok[k]);
		med_b[k] = median(bkl[k], nok[k]);
		med_a[k] = median(acks[k], nok[k]);
		med_u[k] = median(rucpu[k], nok[k]);
	}
	if (cfg.plot) {
		static double both[2][NR_IMPL][MAX_REPS];
		double meds[2][NR_IMPL];

		memcpy(both[0], gbit, sizeof(both[0]));
		memcpy(both[1], cpu, sizeof(both[1]));
		memcpy(meds[0], med_g, sizeof(meds[0]));
		memcpy(meds[1], med_c, sizeof(meds[1]));
		plot_rc = write_plot(&cfg, both, (const double (*)[NR_IMPL])meds, nok, note) ? 1 : 0;
	}

	if (busy_worst > 0.1 * busy_wall)
		fprintf(stderr, "netmem bench rx: warning: other programs used %.2f CPU s during a "
			"%.1f s run (%.0f%% of a core; %u run%s repeated for that); the figures "
			"are not reliable, run it again on an idle machine\n", busy_worst,
			busy_wall, 100 * busy_worst / busy_wall, retried, retried == 1 ? "" : "s");
	if (retrans_worst > 1)
		fprintf(stderr, "netmem bench rx: warning: the sender retransmitted up to %.1f "
			"segments per 1000 in a run: packets were lost on the veth, and such a run "
			"measures the loss\n", retrans_worst);
	if (steal_worst > 0.1 * steal_wall)
		fprintf(stderr, "netmem bench rx: warning: the hypervisor took %.2f CPU s (steal) "
			"during a %.1f s run (%.0f%% of a CPU); the figures are not reliable, run it "
			"again when the host is quieter\n", steal_worst, steal_wall,
			100 * steal_worst / steal_wall);
	if (cfg.json) {
		for (int k = 0; k < NR_IMPL; k++) {
			if (!nok[k])
				continue;
			printf("{\"bench\":\"rx_tcp\",\"impl\":\"%s\",\"metric\":\"gbit_per_s\",\"value\":%.3f}\n",
			       impl_name[k], med_g[k]);
			printf("{\"bench\":\"rx_tcp\",\"impl\":\"%s\",\"metric\":\"cpu_s_per_gb\",\"value\":%.4f}\n",
			       impl_name[k], med_c[k]);
			if (k == IMPL_URING || k == IMPL_SOCKET)
				printf("{\"bench\":\"rx_tcp\",\"impl\":\"%s\",\"metric\":"
				       "\"rearm_per_completion\",\"value\":%.4f}\n", impl_name[k], med_r[k]);
			if (k != IMPL_IPERF3)
				printf("{\"bench\":\"rx_tcp\",\"impl\":\"%s\",\"metric\":"
				       "\"cpu_s_per_gb_getrusage\",\"value\":%.4f}\n", impl_name[k],
				       med_u[k]);
			if (cfg.veth && cfg.rx_cpu >= 0) {
				printf("{\"bench\":\"rx_tcp\",\"impl\":\"%s\",\"metric\":"
				       "\"rx_cpu_s_per_gb\",\"value\":%.4f}\n", impl_name[k], med_x[k]);
				printf("{\"bench\":\"rx_tcp\",\"impl\":\"%s\",\"metric\":"
				       "\"tx_cpu_busy\",\"value\":%.3f}\n", impl_name[k], med_t[k]);
				printf("{\"bench\":\"rx_tcp\",\"impl\":\"%s\",\"metric\":"
				       "\"rx_backlog_max_mb\",\"value\":%.1f}\n", impl_name[k], med_b[k]);
				printf("{\"bench\":\"rx_tcp\",\"impl\":\"%s\",\"metric\":"
				       "\"rx_acks_per_mb\",\"value\":%.2f}\n", impl_name[k], med_a[k]);
			}
		}
		rig_down(&cfg.rig);	/* cfg is on this stack: atexit cannot reach it */
		return plot_rc || !(nok[IMPL_URING] || nok[IMPL_SOCKET] || nok[IMPL_PLAIN] ||
				    nok[IMPL_IPERF3]) ? 1 : 0;
	}

	printf("\n%-8s %12s %15s %14s %6s   %s\n", "impl", "Gbit/s", "(min-max)", "CPU s/GB",
	       "runs", "");
	for (int k = 0; k < NR_IMPL; k++) {
		char what[160] = "";

		if (k == IMPL_URING && nok[k])
			snprintf(what, sizeof(what), "engine uring defaults, %u-byte buffers, ring of %u; "
				 "%.3f re-arms a completion", uinfo.buf_size, uinfo.ring_entries,
				 med_r[k]);
		else if (k == IMPL_SOCKET && nok[k])
			snprintf(what, sizeof(what), "engine socket, %u-byte buffers; %.3f re-arms a "
				 "completion", sinfo.buf_size, med_r[k]);
		else if (k == IMPL_PLAIN)
			snprintf(what, sizeof(what), "recv() into one 64 KiB buffer");
		else if (k == IMPL_IPERF3)
			snprintf(what, sizeof(what), "iperf3 server (its own sender)");
		if (!nok[k]) {
			if (cfg.run[k] || note[k][0])
				printf("%-8s %12s %15s %14s %6d   %s\n", impl_name[k], "-", "", "-", 0,
				       note[k][0] ? note[k] : "not run");
			continue;
		}
		char spread[40];

		snprintf(spread, sizeof(spread), "(%.1f-%.1f)", min_of(gbit[k], nok[k]),
			 max_of(gbit[k], nok[k]));
		printf("%-8s %12.2f %15s %14.4f %6d   %s\n", impl_name[k], med_g[k], spread,
		       med_c[k], nok[k], what);
	}
	if (cpuclock_missing)
		printf("CPU s/GB: getrusage's (perf events not allowed here), which under-counts a "
		       "receiver that its NAPI thread preempts (docs/benchmarks.md)\n");
	else
		printf("CPU s/GB: the receiving process's, by perf's task clock (getrusage's, which "
		       "the scheduler's accounting skews, under --verbose)%s\n",
		       cfg.run[IMPL_IPERF3] ? "; iperf3's is its own getrusage" : "");
	if (cfg.veth && cfg.rx_cpu >= 0) {
		printf("\nthe receiving CPU's busy time (the process, its NAPI thread and softirq), "
		       "the sending CPU's, the receiver's ACKs and the most its sockets held unread:\n");
		for (int k = 0; k < NR_IMPL; k++)
			if (nok[k])
				printf("%-8s %10.4f CPU s/GB   sending CPU %3.0f%% busy   %5.1f ACKs/MB"
				       "   %7.1f MB unread%s\n",
				       impl_name[k], med_x[k], 100 * med_t[k], med_a[k], med_b[k],
				       med_t[k] >= 0.9 ? " (the sender set the rate)" : "");
	}
	flag_slow_reps(gbit, cpu, stl, nok, med_g[IMPL_PLAIN]);
	printf("\nratios (throughput: higher is better; CPU per GB: lower is better)\n");
	static const int pairs[][2] = {
		{ IMPL_URING, IMPL_PLAIN }, { IMPL_URING, IMPL_IPERF3 }, { IMPL_SOCKET, IMPL_PLAIN },
	};
	for (size_t p = 0; p < sizeof(pairs) / sizeof(pairs[0]); p++) {
		int a = pairs[p][0], b = pairs[p][1];

		if (!nok[a] || !nok[b]) {
			printf("  %s/%s: n/a (%s not measured)\n", impl_name[a], impl_name[b],
			       nok[a] ? impl_name[b] : impl_name[a]);
			continue;
		}
		printf("  %s/%-7s throughput %.3f   CPU per GB %.3f", impl_name[a], impl_name[b],
		       med_g[a] / med_g[b], med_c[b] > 0 ? med_c[a] / med_c[b] : 0);
		if (cfg.veth && cfg.rx_cpu >= 0)
			printf("   receiving CPU per GB %.3f", med_x[b] > 0 ? med_x[a] / med_x[b] : 0);
		putchar('\n');
	}
	rig_down(&cfg.rig);
	return plot_rc;
}

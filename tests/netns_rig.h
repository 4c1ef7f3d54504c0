/* SPDX-License-Identifier: MIT */
/*
 * netns_rig.h - the packet tests' and `netmem bench pkt`'s rig without
 * hardware: two network namespaces joined by a veth pair, a UDP sender in
 * one and the receiver under test in the other (in-process, on a thread
 * that setns()s into the namespace).  Header-only: each test or bench
 * file that includes it gets its own copy.
 *
 *   struct rig r;
 *   struct rig_opts o = { .tag = "xdp", .queues = 2 };
 *   RIG_UP_OR_SKIP(&r, &o);          (tests; rig_unavailable + rig_up else)
 *   rig_enter(&r, RIG_RX);           this thread now in the receiving ns
 *   ... create the receiver on r.ifname[RIG_RX] / r.ip[RIG_RX] ...
 *   struct rig_tx tx = { .rig = &r, .size = 64, .count = 10000 };
 *   rig_tx_start(&tx); rig_tx_wait(&tx);
 *   rig_down(&r);                    (also at exit, and on SIGTERM, SIGINT,
 *                                     SIGHUP, SIGABRT)
 *
 * What else is here:
 *   rig_unavailable()        why the rig cannot run (not root, no netns, no ip)
 *   rig_thread(), rig_call() a thread that runs a function inside a namespace
 *   rig_enter(), rig_leave() move the calling thread there and back
 *   rig_pin_self(), rig_thread_cpu_ns(), rig_now_ns()
 *   rig_task_cpu_s(), rig_kthreads_cpu_s(), rig_cpu_busy_ticks()
 *                            CPU time of a task, of the rig's NAPI and the
 *                            ksoftirqd threads, busy ticks of one CPU
 *   rig_tcp_unread()         bytes unread in a namespace's TCP sockets
 *   struct rig_tx            the sender: size, count, pps, seconds, ports
 *   rig_check_payload()      magic, length, seq and checksum of one payload
 *   rig_check_hdr()          the cheap part (magic, length), for benchmarks
 *   struct rig_track         which seqs arrived, duplicates, bad ones
 *   rig_drops()              the kernel's drop counters (veths, UDP MIB)
 *   rig_xdp_attached(), rig_xdp_gone()   an XDP program on the receiving veth
 *
 * The namespace is "TX" (10.201.0.1, the sender) and "RX" (10.201.0.2,
 * the receiver).  rig_opts.tcp sets both veths up as two hosts' links
 * for a TCP stream between them (`netmem bench rx --veth`).  Both get
 * static neighbour entries (no ARP), rp_filter 0 and IPv6 off (no stray
 * packets); lo is up.  Names carry the pid, so
 * tests may run in parallel; namespaces left by a process that died
 * (kill -9) are removed by the next rig_up.  eth0 is never touched.
 *
 * Payloads: a 24-byte header {magic, len, seq, flow, csum} (host byte
 * order; read it with memcpy or rig_check_*: it may be unaligned) and a body
 * whose bytes depend on the seq; csum covers seq and body, so a stale,
 * torn or foreign frame fails rig_check_payload().  Sequence numbers are
 * global over all flows of one sender, 0 .. count-1.
 */
#ifndef NM_TEST_NETNS_RIG_H
#define NM_TEST_NETNS_RIG_H
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <linux/ethtool.h>
#include <linux/if_ether.h>
#include <linux/if_link.h>
#include <linux/if_packet.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/udp.h>
#include <pthread.h>
#include <sched.h>
#include <semaphore.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

enum rig_side { RIG_TX = 0, RIG_RX = 1 };

#define RIG_PORT	9000	/* the sender's default destination port */
#define RIG_MAX		4	/* rigs up at once in one process */
#define RIG_MAX_FLOWS	64
#define RIG_BATCH	64

struct rig_opts {
	const char *tag;	/* caller's short name, in the namespace names */
	unsigned int queues;	/* rx and tx queues of each veth; 0 = 1 */
	unsigned int mtu;	/* 0 = 1500 */
	int gro;		/* GRO on the receiving veth (veth then runs a NAPI per queue) */
	int tso_off;		/* TSO and GSO off on the sending veth */
	int napi_threaded;	/* threaded NAPI on the receiving veth (turns gro on) */
	int napi_pin, napi_cpu;	/* with napi_threaded: pin its kthreads to napi_cpu */
	unsigned int napi_defer_us;	/* with napi_threaded: the NAPI's interrupt
				 * coalescing (napi_defer_hard_irqs 2, gro_flush_timeout
				 * this long): a poll that found packets re-arms a timer on
				 * its own CPU instead of letting the sender's next packet
				 * schedule it, which costs the sender a wake-up of the
				 * other CPU (an IPI) per few packets.  0: veth's default */
	int tcp;		/* both directions as between two hosts, for TCP: GRO and
				 * threaded NAPI on both veths, TSO off on both (GSO stays
				 * on), a pfifo qdisc on both.  veth gives a packet to its
				 * peer's NAPI only if the sending veth has no TSO or the
				 * packet is UDP; a TCP packet from a veth with TSO goes to
				 * the backlog of the CPU that sent it, so the receiver's
				 * ACKs (and the sender's transmits they release) ran on
				 * the receiver's CPU, as on loopback.  Without a qdisc
				 * veth drops what the peer's ring of 256 cannot take: a
				 * tenth of the packets, retransmitted by the sender's CPU,
				 * and RTO stalls of whole runs; with one it stops the
				 * queue instead.  With napi_pin the receiving side's
				 * NAPI is pinned to napi_cpu and the sending side's to
				 * tx_napi_cpu.  Not with tso_off or napi_defer_us. */
	int tx_napi_cpu;
	int tcp_rps;		/* with tcp and napi_pin: no NAPI threads, TSO left on,
				 * and RPS takes each side's packets to its own CPU
				 * (rps_cpus: napi_cpu receiving, tx_napi_cpu sending).
				 * A 64 KiB packet then reaches the receiver as one skb,
				 * as a NIC's LRO gives it, and the sender's transmits
				 * and queue wakes all stay on the sending CPU.  With
				 * the threads, a receiving NAPI thread that waits 0.4 ms
				 * for its CPU fills veth's ring, the sending queue
				 * stops, and the poll that wakes it runs the sender's
				 * qdisc and GSO on the receiving CPU from then on
				 * (docs/benchmarks.md). */
};

struct rig {
	char ns[2][48];			/* namespace names, [RIG_TX], [RIG_RX] */
	char ifname[2][IFNAMSIZ];	/* veth in each namespace */
	char ip[2][INET_ADDRSTRLEN];	/* "10.201.0.1" (TX), "10.201.0.2" (RX) */
	struct in_addr addr[2];
	uint8_t mac[2][6];
	int ifindex[2];			/* inside its own namespace */
	int nsfd[2];			/* open /run/netns/NAME, -1 when down */
	unsigned int queues;
	int napi_threads;		/* NAPI kthreads pinned (napi_cpu) */
	pid_t napi_pid[16];		/* their pids (the first 16) */
	int tx_napi_threads;		/* tcp: the sending veth's, pinned to tx_napi_cpu */
	pid_t tx_napi_pid[16];
	int up;
	char why[256];			/* what failed, for rig_up's error */
};

/* ---- running things in a namespace -------------------------------- */

static int rig_orig_ns = -1;	/* the netns this process started in */
static struct rig *rig_live[RIG_MAX];
static pthread_mutex_t rig_lock = PTHREAD_MUTEX_INITIALIZER;

static inline pid_t rig_gettid(void)
{
	return (pid_t)syscall(SYS_gettid);
}

/* Run a shell command line in the original netns (the calling thread may
 * be in a rig's); stdout dropped.  Returns its exit status, or -errno. */
static inline int rig_sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static inline int rig_sh(const char *fmt, ...)
{
	char cmd[1024];
	va_list ap;
	int st;
	pid_t pid;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		int fd = open("/dev/null", O_WRONLY);

		if (rig_orig_ns >= 0 && setns(rig_orig_ns, CLONE_NEWNET))
			_exit(126);
		if (fd >= 0)
			dup2(fd, 1);
		execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
		_exit(127);
	}
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return -errno;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* Move the calling thread into a rig's namespace.  0 or -errno. */
static inline int rig_enter(const struct rig *r, enum rig_side s)
{
	return setns(r->nsfd[s], CLONE_NEWNET) ? -errno : 0;
}

/* Move the calling thread back to the netns the process started in. */
static inline int rig_leave(void)
{
	if (rig_orig_ns < 0)
		return 0;
	return setns(rig_orig_ns, CLONE_NEWNET) ? -errno : 0;
}

struct rig_tramp {
	int nsfd;
	void *(*fn)(void *);
	void *arg;
	int err;
	sem_t ready;
};

static inline void *rig_tramp_main(void *p)
{
	struct rig_tramp *t = p;
	void *(*fn)(void *) = t->fn;
	void *arg = t->arg;

	int err = setns(t->nsfd, CLONE_NEWNET) ? -errno : 0;

	t->err = err;
	sem_post(&t->ready);	/* t is the caller's and gone after this */
	if (err)
		return NULL;
	return fn(arg);
}

/* Start a thread that runs fn(arg) inside a rig's namespace (sockets it
 * opens belong there; threads it starts inherit it).  0 or -errno. */
static inline int rig_thread(const struct rig *r, enum rig_side s, void *(*fn)(void *),
		      void *arg, pthread_t *th)
{
	struct rig_tramp t = { .nsfd = r->nsfd[s], .fn = fn, .arg = arg };
	int e;

	sem_init(&t.ready, 0, 0);
	e = pthread_create(th, NULL, rig_tramp_main, &t);
	if (e) {
		sem_destroy(&t.ready);
		return -e;
	}
	while (sem_wait(&t.ready) && errno == EINTR)
		;
	sem_destroy(&t.ready);
	if (t.err)
		pthread_join(*th, NULL);
	return t.err;
}

struct rig_call_arg {
	int (*fn)(const struct rig *, void *);
	const struct rig *r;
	void *arg;
	int ret;
};

static inline void *rig_call_main(void *p)
{
	struct rig_call_arg *c = p;

	c->ret = c->fn(c->r, c->arg);
	return NULL;
}

/* Run fn(r, arg) inside a namespace on a short-lived thread, return its
 * result (or -errno if the thread could not start there). */
static inline int rig_call(const struct rig *r, enum rig_side s,
		    int (*fn)(const struct rig *, void *), void *arg)
{
	struct rig_call_arg c = { .fn = fn, .r = r, .arg = arg };
	pthread_t th;
	int e = rig_thread(r, s, rig_call_main, &c, &th);

	if (e)
		return e;
	pthread_join(th, NULL);
	return c.ret;
}

/* Pin the calling thread to one CPU.  0 or -errno. */
static inline int rig_pin_self(int cpu)
{
	cpu_set_t set;

	if (cpu < 0)
		return 0;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	return sched_setaffinity(0, sizeof(set), &set) ? -errno : 0;
}

/* CPU time (ns) a thread of this process has used, by its tid. */
static inline uint64_t rig_thread_cpu_ns(pid_t tid)
{
	struct timespec ts;
	clockid_t c = (clockid_t)((~(unsigned int)tid) << 3) | 6; /* CPUCLOCK_SCHED, per thread */

	if (clock_gettime(c, &ts))
		return 0;
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static inline uint64_t rig_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* ---- CPU accounting: what a run's kernel threads and CPUs spent --------- */

/* CPU seconds (user + system) a task has used, by pid or tid; 0 if gone. */
static inline double rig_task_cpu_s(pid_t pid)
{
	char path[64], buf[1024], *p;
	unsigned long long ut = 0, st = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	f = fopen(path, "r");
	if (!f)
		return 0;
	p = fgets(buf, sizeof(buf), f) ? strrchr(buf, ')') : NULL;
	fclose(f);
	/* after "(comm)": state ppid pgrp session tty tpgid flags minflt
	 * cminflt majflt cmajflt utime stime */
	if (!p || sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu",
			 &ut, &st) != 2)
		return 0;
	return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

/* The kernel's softirq threads: veth's receive work runs there when
 * softirqs pile up, and that is a run's work, not another program's. */
static pid_t rig_ksoftirqd[64];
static int rig_nksoftirqd = -1;

static inline void rig_find_ksoftirqd(void)
{
	DIR *d = opendir("/proc");
	struct dirent *de;

	rig_nksoftirqd = 0;
	while (d && (de = readdir(d)) && rig_nksoftirqd < 64) {
		char path[64], comm[32] = "";
		pid_t pid = (pid_t)atoi(de->d_name);
		FILE *f;

		if (pid <= 0)
			continue;
		snprintf(path, sizeof(path), "/proc/%d/comm", (int)pid);
		f = fopen(path, "r");
		if (!f)
			continue;
		if (fgets(comm, sizeof(comm), f) && !strncmp(comm, "ksoftirqd/", 10))
			rig_ksoftirqd[rig_nksoftirqd++] = pid;
		fclose(f);
	}
	if (d)
		closedir(d);
}

/* Busy ticks (USER_HZ) of one CPU: user, nice, system, irq, softirq.  Not
 * steal: that is the hypervisor running something else while this CPU
 * wanted to run, not work of ours (a quarter of the CPU in one sample on
 * the 2-core VM, docs/benchmarks.md). */
static inline uint64_t rig_cpu_busy_ticks(int cpu)
{
	char want[16], line[512];
	unsigned long long v[8] = { 0 };
	uint64_t sum = 0;
	FILE *f = fopen("/proc/stat", "r");
	size_t wl;

	if (!f)
		return 0;
	wl = (size_t)snprintf(want, sizeof(want), "cpu%d ", cpu);
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, want, wl))
			continue;
		if (sscanf(line + wl, "%llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1],
			   &v[2], &v[3], &v[4], &v[5], &v[6], &v[7]) >= 7)
			sum = v[0] + v[1] + v[2] + v[5] + v[6];
		break;
	}
	fclose(f);
	return sum;
}

/* ---- bringing the rig up and down -------------------------------------- */

/* Why the rig cannot run here, or NULL if it can (tests SKIP with it). */
static inline const char *rig_unavailable(void)
{
	int fd;

	if (geteuid() != 0)
		return "needs root (network namespaces, veth)";
	fd = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return "no network namespaces (/proc/thread-self/ns/net)";
	close(fd);
	if (rig_sh("command -v ip >/dev/null 2>&1") != 0)
		return "no `ip` command (iproute2)";
	if (rig_sh("ip netns list >/dev/null 2>&1") != 0)
		return "`ip netns` does not work here";
	return NULL;
}

static inline int rig_write(const char *path, const char *val)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = write(fd, val, strlen(val));
	close(fd);
	return n < 0 ? -errno : 0;
}

/* In the namespace (before the veth exists, so "default" reaches it):
 * rp_filter off, IPv6 off (absent IPv6 is fine). */
static inline int rig_ns_sysctls(const struct rig *r, void *arg)
{
	static const char *const v6[] = {
		"/proc/sys/net/ipv6/conf/all/disable_ipv6",
		"/proc/sys/net/ipv6/conf/default/disable_ipv6",
		"/proc/sys/net/ipv6/conf/lo/disable_ipv6",
	};
	int e;

	e = rig_write("/proc/sys/net/ipv4/conf/all/rp_filter", "0");
	if (!e)
		e = rig_write("/proc/sys/net/ipv4/conf/default/rp_filter", "0");
	for (unsigned int i = 0; i < 3; i++)
		rig_write(v6[i], "1");
	return e;
}

struct rig_feat {
	enum rig_side side;
	uint32_t cmd;
	uint32_t val;
};

static inline int rig_ns_ethtool(const struct rig *r, void *arg)
{
	struct rig_feat *f = arg;
	struct ethtool_value ev = { .cmd = f->cmd, .data = f->val };
	struct ifreq ifr;
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	int e = 0;

	if (fd < 0)
		return -errno;
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", r->ifname[f->side]);
	ifr.ifr_data = (void *)&ev;
	if (ioctl(fd, SIOCETHTOOL, &ifr))
		e = -errno;
	close(fd);
	return e;
}

static inline int rig_ns_ifindex(const struct rig *r, void *arg)
{
	unsigned int i = if_nametoindex(r->ifname[*(int *)arg]);

	return i ? (int)i : -errno;
}

static inline int rig_feature(struct rig *r, enum rig_side s, uint32_t cmd, uint32_t val)
{
	struct rig_feat f = { .side = s, .cmd = cmd, .val = val };

	return rig_call(r, s, rig_ns_ethtool, &f);
}

/* Threaded NAPI on side @s's veth (sysfs shows the namespace of whoever
 * mounted it: ip netns exec remounts).  0, or the shell's status. */
static inline int rig_napi_threaded(struct rig *r, enum rig_side s)
{
	return rig_sh("ip netns exec %s sh -c 'echo 1 > /sys/class/net/%s/threaded'",
		      r->ns[s], r->ifname[s]);
}

/* Pin every "napi/IFNAME-N" kthread of side @s's veth to cpu; returns how
 * many, their pids in r->napi_pid (RX) or r->tx_napi_pid (TX). */
static inline int rig_pin_napi(struct rig *r, enum rig_side s, int cpu)
{
	pid_t *pids = s == RIG_RX ? r->napi_pid : r->tx_napi_pid;
	char want[32], path[64], comm[32];
	size_t wl;
	DIR *d = opendir("/proc");
	struct dirent *de;
	int n = 0;

	if (!d)
		return -errno;
	wl = (size_t)snprintf(want, sizeof(want), "napi/%s", r->ifname[s]);
	while ((de = readdir(d))) {
		FILE *f;
		cpu_set_t set;
		pid_t pid = (pid_t)atoi(de->d_name);

		if (pid <= 0)
			continue;
		snprintf(path, sizeof(path), "/proc/%d/comm", pid);
		f = fopen(path, "r");
		if (!f)
			continue;
		if (!fgets(comm, sizeof(comm), f))
			comm[0] = 0;
		fclose(f);
		comm[strcspn(comm, "\n")] = 0;
		/* comm is at most 15 chars: our ifname fits whole, then '-' or end */
		if (strncmp(comm, want, wl) || (comm[wl] && comm[wl] != '-'))
			continue;
		CPU_ZERO(&set);
		CPU_SET(cpu, &set);
		if (sched_setaffinity(pid, sizeof(set), &set) == 0) {
			if (n < 16)
				pids[n] = pid;
			n++;
		}
	}
	closedir(d);
	return n;
}

static inline void rig_unregister(struct rig *r)
{
	pthread_mutex_lock(&rig_lock);
	for (int i = 0; i < RIG_MAX; i++)
		if (rig_live[i] == r)
			rig_live[i] = NULL;
	pthread_mutex_unlock(&rig_lock);
}

/* Tear the rig down: the calling thread leaves its namespaces, both are
 * deleted (which deletes the veth).  Safe to call twice.  Threads still
 * inside keep the namespace alive (unnamed) until they end. */
static inline void rig_down(struct rig *r)
{
	struct stat me, st;
	int fd;

	if (!r->up)
		return;
	r->up = 0;
	rig_unregister(r);
	fd = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	if (fd >= 0 && fstat(fd, &me) == 0) {
		for (int s = 0; s < 2; s++)
			if (r->nsfd[s] >= 0 && fstat(r->nsfd[s], &st) == 0 &&
			    st.st_ino == me.st_ino && st.st_dev == me.st_dev)
				rig_leave();
	}
	if (fd >= 0)
		close(fd);
	for (int s = 0; s < 2; s++) {
		if (r->nsfd[s] >= 0)
			close(r->nsfd[s]);
		r->nsfd[s] = -1;
		if (r->ns[s][0])
			rig_sh("ip netns del %s 2>/dev/null", r->ns[s]);
	}
}

/* Whether nothing of the rig is left: no namespace by its names, no
 * veth by its names in the original namespace. */
static inline int rig_gone(const struct rig *r)
{
	char path[96];

	for (int s = 0; s < 2; s++) {
		snprintf(path, sizeof(path), "/run/netns/%s", r->ns[s]);
		if (access(path, F_OK) == 0)
			return 0;
		if (rig_sh("ip link show dev %s >/dev/null 2>&1", r->ifname[s]) == 0)
			return 0;
	}
	return 1;
}

static inline void rig_down_all(void)
{
	for (int i = 0; i < RIG_MAX; i++) {
		struct rig *r = rig_live[i];

		if (r)
			rig_down(r);
	}
}

static inline void rig_on_signal(int sig)
{
	/* not async-signal-safe, but the process is going anyway and a
	 * namespace left behind would outlive it */
	rig_down_all();
	signal(sig, SIG_DFL);
	raise(sig);
}

/* Remove the namespaces of rigs whose process is gone. */
static inline void rig_reap_stale(void)
{
	DIR *d = opendir("/run/netns");
	struct dirent *de;

	if (!d)
		return;
	while ((de = readdir(d))) {
		int pid;

		if (sscanf(de->d_name, "nmrig-%d-", &pid) != 1 || pid <= 0)
			continue;
		if (kill(pid, 0) == 0 || errno != ESRCH)
			continue;
		rig_sh("ip netns del %s 2>/dev/null", de->d_name);
	}
	closedir(d);
}

static inline int rig_fail(struct rig *r, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static inline int rig_fail(struct rig *r, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(r->why, sizeof(r->why), fmt, ap);
	va_end(ap);
	r->up = 1;	/* rig_down deletes what exists */
	rig_down(r);
	return err;
}

/* Bring a rig up.  0, or -errno with r->why saying what failed:
 * -EOPNOTSUPP when this kernel has no veth or netns (tests skip), else
 * -EIO for a setup step that failed, -EBUSY when RIG_MAX rigs are up. */
static inline int rig_up(struct rig *r, const struct rig_opts *o)
{
	static atomic_uint counter;
	static int hooked;
	unsigned int idx = atomic_fetch_add(&counter, 1);
	const char *tag = o && o->tag ? o->tag : "t";
	unsigned int q = o && o->queues ? o->queues : 1;
	unsigned int mtu = o && o->mtu ? o->mtu : 1500;
	int gro = o && (o->gro || o->napi_threaded);
	int slot = -1, e;
	pid_t pid = getpid();

	memset(r, 0, sizeof(*r));
	r->nsfd[0] = r->nsfd[1] = -1;
	r->queues = q;
	pthread_mutex_lock(&rig_lock);
	if (rig_orig_ns < 0)
		rig_orig_ns = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	for (int i = 0; i < RIG_MAX && slot < 0; i++)
		if (!rig_live[i])
			slot = i;
	if (slot >= 0)
		rig_live[slot] = r;
	if (!hooked) {
		struct sigaction sa = { .sa_handler = rig_on_signal };

		hooked = 1;
		atexit(rig_down_all);
		sigaction(SIGTERM, &sa, NULL);
		sigaction(SIGINT, &sa, NULL);
		sigaction(SIGHUP, &sa, NULL);
		sigaction(SIGABRT, &sa, NULL);	/* sanitizers' abort_on_error */
	}
	pthread_mutex_unlock(&rig_lock);
	if (slot < 0) {
		snprintf(r->why, sizeof(r->why), "%d rigs up already", RIG_MAX);
		return -EBUSY;
	}
	if (rig_orig_ns < 0)
		return rig_fail(r, -EOPNOTSUPP, "no /proc/thread-self/ns/net: %s", strerror(errno));
	rig_reap_stale();

	/* names: the namespace has the whole tag; a veth name has only
	 * IFNAMSIZ, and "napi/IFNAME" must fit a 15-char comm */
	for (int s = 0; s < 2; s++) {
		const char *side = s == RIG_TX ? "tx" : "rx";

		snprintf(r->ns[s], sizeof(r->ns[s]), "nmrig-%d-%u-%.16s-%s", (int)pid, idx, tag, side);
		for (char *c = r->ns[s]; *c; c++)
			if (*c == '/' || *c == ' ')
				*c = '_';
		snprintf(r->ifname[s], sizeof(r->ifname[s]), "v%x%x%c", (unsigned int)pid,
			 idx & 0xf, s == RIG_TX ? 't' : 'r');
		r->mac[s][0] = 0x02;
		r->mac[s][1] = (uint8_t)(pid >> 16);
		r->mac[s][2] = (uint8_t)(pid >> 8);
		r->mac[s][3] = (uint8_t)pid;
		r->mac[s][4] = (uint8_t)idx;
		r->mac[s][5] = (uint8_t)(s + 1);
		snprintf(r->ip[s], sizeof(r->ip[s]), "10.201.0.%d", s + 1);
		inet_pton(AF_INET, r->ip[s], &r->addr[s]);
	}
	for (int s = 0; s < 2; s++) {
		char path[96];

		if (rig_sh("ip netns add %s 2>&1 >/dev/null | sed 's/^/rig: /' >&2", r->ns[s]))
			return rig_fail(r, -EOPNOTSUPP, "ip netns add %s failed", r->ns[s]);
		snprintf(path, sizeof(path), "/run/netns/%s", r->ns[s]);
		r->nsfd[s] = open(path, O_RDONLY | O_CLOEXEC);
		if (r->nsfd[s] < 0)
			return rig_fail(r, -EOPNOTSUPP, "open %s: %s", path, strerror(errno));
		e = rig_call(r, (enum rig_side)s, rig_ns_sysctls, NULL);
		if (e)
			return rig_fail(r, -EIO, "sysctls in %s: %s", r->ns[s], strerror(-e));
	}
#define RIG_MACF "%02x:%02x:%02x:%02x:%02x:%02x"
#define RIG_MACA(m) m[0], m[1], m[2], m[3], m[4], m[5]
	if (rig_sh("ip link add %s netns %s numtxqueues %u numrxqueues %u address " RIG_MACF
		   " mtu %u type veth peer %s netns %s numtxqueues %u numrxqueues %u"
		   " address " RIG_MACF " mtu %u",
		   r->ifname[RIG_RX], r->ns[RIG_RX], q, q, RIG_MACA(r->mac[RIG_RX]), mtu,
		   r->ifname[RIG_TX], r->ns[RIG_TX], q, q, RIG_MACA(r->mac[RIG_TX]), mtu))
		return rig_fail(r, -EOPNOTSUPP, "ip link add ... type veth failed (no veth?)");
	for (int s = 0; s < 2; s++) {
		int o2 = !s;

		if (rig_sh("ip -n %s link set lo up && ip -n %s addr add %s/24 dev %s &&"
			   " ip -n %s link set %s up &&"
			   " ip -n %s neigh replace %s lladdr " RIG_MACF " dev %s nud permanent",
			   r->ns[s], r->ns[s], r->ip[s], r->ifname[s], r->ns[s], r->ifname[s],
			   r->ns[s], r->ip[o2], RIG_MACA(r->mac[o2]), r->ifname[s]))
			return rig_fail(r, -EIO, "addresses/neighbours in %s failed", r->ns[s]);
		e = rig_call(r, (enum rig_side)s, rig_ns_ifindex, &s);
		if (e < 0)
			return rig_fail(r, -EIO, "%s not found in %s", r->ifname[s], r->ns[s]);
		r->ifindex[s] = e;
	}
#undef RIG_MACF
#undef RIG_MACA
	if (o && o->tcp && o->tcp_rps) {
		if (o->tso_off || o->napi_defer_us || !o->napi_pin)
			return rig_fail(r, -EINVAL, "tcp_rps: needs napi_pin, not with tso_off "
					"or napi_defer_us");
		for (int s = 0; s < 2; s++) {
			int cpu = s == RIG_RX ? o->napi_cpu : o->tx_napi_cpu;

			if (cpu < 0 || cpu >= 32 ||
			    rig_sh("ip netns exec %s sh -c 'echo %x > /sys/class/net/%s/queues/rx-0/"
				   "rps_cpus'", r->ns[s], 1u << cpu, r->ifname[s]))
				return rig_fail(r, -EIO, "RPS to CPU %d on %s refused", cpu,
						r->ifname[s]);
			if (rig_sh("ip netns exec %s tc qdisc replace dev %s root pfifo limit 10000",
				   r->ns[s], r->ifname[s]))
				return rig_fail(r, -EIO, "a qdisc on %s refused (tc)", r->ifname[s]);
		}
		r->up = 1;
		return 0;
	}
	if (o && o->tcp) {
		if (o->tso_off || o->napi_defer_us)
			return rig_fail(r, -EINVAL, "tcp: not with tso_off or napi_defer_us");
		for (int s = 0; s < 2; s++) {
			if ((e = rig_feature(r, (enum rig_side)s, ETHTOOL_SGRO, 1)) ||
			    (e = rig_feature(r, (enum rig_side)s, ETHTOOL_STSO, 0)))
				return rig_fail(r, -EIO, "GRO on, TSO off on %s: %s", r->ifname[s],
						strerror(-e));
			if (rig_napi_threaded(r, (enum rig_side)s))
				return rig_fail(r, -EIO, "threaded NAPI on %s refused", r->ifname[s]);
			/* veth drops what its peer's ring (256) cannot take,
			 * unless a qdisc holds it: then it stops the queue
			 * (backpressure) as a NIC's full ring would */
			if (rig_sh("ip netns exec %s tc qdisc replace dev %s root pfifo limit 10000",
				   r->ns[s], r->ifname[s]))
				return rig_fail(r, -EIO, "a qdisc on %s refused (tc)", r->ifname[s]);
		}
		if (o->napi_pin) {
			r->napi_threads = rig_pin_napi(r, RIG_RX, o->napi_cpu);
			r->tx_napi_threads = rig_pin_napi(r, RIG_TX, o->tx_napi_cpu);
			if (r->napi_threads <= 0 || r->tx_napi_threads <= 0)
				return rig_fail(r, -EIO, "no napi/%s or napi/%s kthread to pin",
						r->ifname[RIG_RX], r->ifname[RIG_TX]);
		}
		r->up = 1;
		return 0;
	}
	if (gro && (e = rig_feature(r, RIG_RX, ETHTOOL_SGRO, 1)))
		return rig_fail(r, -EIO, "GRO on %s: %s", r->ifname[RIG_RX], strerror(-e));
	if (o && o->tso_off) {
		e = rig_feature(r, RIG_TX, ETHTOOL_STSO, 0);
		if (!e)
			e = rig_feature(r, RIG_TX, ETHTOOL_SGSO, 0);
		if (e)
			return rig_fail(r, -EIO, "TSO off on %s: %s", r->ifname[RIG_TX], strerror(-e));
	}
	if (o && o->napi_threaded) {
		if (rig_napi_threaded(r, RIG_RX))
			return rig_fail(r, -EIO, "threaded NAPI on %s refused", r->ifname[RIG_RX]);
		if (o->napi_defer_us &&
		    rig_sh("ip netns exec %s sh -c 'echo 2 > /sys/class/net/%s/napi_defer_hard_irqs && "
			   "echo %u > /sys/class/net/%s/gro_flush_timeout'", r->ns[RIG_RX],
			   r->ifname[RIG_RX], o->napi_defer_us * 1000u, r->ifname[RIG_RX]))
			return rig_fail(r, -EIO, "NAPI deferral on %s refused", r->ifname[RIG_RX]);
		if (o->napi_pin) {
			r->napi_threads = rig_pin_napi(r, RIG_RX, o->napi_cpu);
			if (r->napi_threads <= 0)
				return rig_fail(r, -EIO, "no napi/%s kthread to pin", r->ifname[RIG_RX]);
		}
	}
	r->up = 1;
	return 0;
}

/* Whether an XDP program is attached to the receiving veth (ip link says
 * "xdp" or "xdpgeneric"): 1 yes, 0 no, -errno when `ip` failed. */
static inline int rig_xdp_attached(const struct rig *r)
{
	int st = rig_sh("ip -n %s -d link show dev %s | grep -qE ' (xdp|xdpgeneric|xdpdrv|xdpoffload|xdpmulti)( |$)'",
			r->ns[RIG_RX], r->ifname[RIG_RX]);

	return st == 0 ? 1 : st == 1 ? 0 : -EIO;
}

/* Wait up to secs for no XDP program on the receiving veth; 1 if gone. */
static inline int rig_xdp_gone(const struct rig *r, double secs)
{
	uint64_t end = rig_now_ns() + (uint64_t)(secs * 1e9);

	for (;;) {
		if (rig_xdp_attached(r) == 0)
			return 1;
		if (rig_now_ns() >= end)
			return 0;
		usleep(20000);
	}
}

/* CPU seconds of the rig's NAPI kthreads (both sides' where pinned) and of
 * every ksoftirqd thread: a run's kernel work that no process is charged. */
static inline double rig_kthreads_cpu_s(const struct rig *r)
{
	double s = 0;

	for (int i = 0; i < r->napi_threads && i < 16; i++)
		s += rig_task_cpu_s(r->napi_pid[i]);
	for (int i = 0; i < r->tx_napi_threads && i < 16; i++)
		s += rig_task_cpu_s(r->tx_napi_pid[i]);
	if (rig_nksoftirqd < 0)
		rig_find_ksoftirqd();
	for (int i = 0; i < rig_nksoftirqd; i++)
		s += rig_task_cpu_s(rig_ksoftirqd[i]);
	return s;
}

#ifdef SKIP
/* Tests: bring the rig up, or skip with the reason, or fail. */
#define RIG_UP_OR_SKIP(r, o) do { \
	const char *why_ = rig_unavailable(); \
	int e_; \
	if (why_) \
		SKIP("%s", why_); \
	e_ = rig_up((r), (o)); \
	if (e_ == -EOPNOTSUPP) \
		SKIP("%s", (r)->why); \
	if (e_) { \
		fprintf(stderr, "rig_up: %s (%s)\n", (r)->why, strerror(-e_)); \
		exit(1); \
	} } while (0)
#endif

/* ---- kernel counters: where packets the receiver missed went ------ */

/* A veth's counters, read inside its namespace. 0 or -errno. */
struct rig_link_req {
	enum rig_side side;
	struct rtnl_link_stats st;
};

static inline int rig_ns_link_stats(const struct rig *r, void *arg)
{
	struct rig_link_req *q = arg;
	struct ifaddrs *ifa, *i;
	int e = -ENOENT;

	if (getifaddrs(&ifa))
		return -errno;
	for (i = ifa; i; i = i->ifa_next)
		if (i->ifa_addr && i->ifa_addr->sa_family == AF_PACKET && i->ifa_data &&
		    !strcmp(i->ifa_name, r->ifname[q->side])) {
			memcpy(&q->st, i->ifa_data, sizeof(q->st));
			e = 0;
		}
	freeifaddrs(ifa);
	return e;
}

static inline int rig_link_stats(const struct rig *r, enum rig_side s, struct rtnl_link_stats *st)
{
	struct rig_link_req q = { .side = s };
	int e = rig_call(r, s, rig_ns_link_stats, &q);

	if (!e)
		*st = q.st;
	return e;
}

/* The UDP counters of /proc/net/snmp in a namespace. */
struct rig_udp_snmp {
	uint64_t in_datagrams, no_ports, in_errors, rcvbuf_errors, mem_errors, csum_errors;
};

/* Counters of one protocol's lines in /proc/net/snmp ("Udp:", "Tcp:"),
 * read inside a namespace: up to 8 named ones. */
struct rig_snmp_req {
	const char *proto;
	const char *name[8];
	uint64_t val[8];
};

static inline int rig_ns_snmp(const struct rig *r, void *arg)
{
	struct rig_snmp_req *q = arg;
	char names[1024], vals[1024], *sn, *sv, *pn, *pv;
	size_t pl = strlen(q->proto);
	FILE *f = fopen("/proc/thread-self/net/snmp", "r");
	int found = 0;

	if (!f)
		return -errno;
	while (fgets(names, sizeof(names), f) && fgets(vals, sizeof(vals), f)) {
		if (strncmp(names, q->proto, pl) || strncmp(vals, q->proto, pl))
			continue;
		found = 1;
		pn = strtok_r(names + pl, " \n", &sn);
		pv = strtok_r(vals + pl, " \n", &sv);
		for (; pn && pv; pn = strtok_r(NULL, " \n", &sn), pv = strtok_r(NULL, " \n", &sv))
			for (int i = 0; i < 8 && q->name[i]; i++)
				if (!strcmp(pn, q->name[i]))
					q->val[i] = strtoull(pv, NULL, 10);
		break;
	}
	fclose(f);
	return found ? 0 : -ENOENT;
}

static inline int rig_udp_snmp(const struct rig *r, enum rig_side s, struct rig_udp_snmp *u)
{
	struct rig_snmp_req q = { .proto = "Udp:", .name = { "InDatagrams", "NoPorts",
		"InErrors", "RcvbufErrors", "MemErrors", "InCsumErrors" } };
	int e = rig_call(r, s, rig_ns_snmp, &q);

	*u = (struct rig_udp_snmp){ q.val[0], q.val[1], q.val[2], q.val[3], q.val[4], q.val[5] };
	return e;
}

/* A namespace's TCP segments sent and retransmitted (a snapshot). */
static inline int rig_tcp_segs(const struct rig *r, enum rig_side s, uint64_t *out,
			       uint64_t *retrans)
{
	struct rig_snmp_req q = { .proto = "Tcp:", .name = { "OutSegs", "RetransSegs" } };
	int e = rig_call(r, s, rig_ns_snmp, &q);

	*out = q.val[0];
	*retrans = q.val[1];
	return e;
}

/* Bytes waiting unread in the TCP sockets of the calling thread's
 * namespace: the sum of rx_queue in /proc/net/tcp and tcp6, listeners
 * left out (theirs is the accept queue's length).  0 when unreadable. */
static inline uint64_t rig_tcp_unread(void)
{
	static const char *const files[] = { "/proc/thread-self/net/tcp",
					     "/proc/thread-self/net/tcp6" };
	char line[512];
	uint64_t sum = 0;

	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		FILE *f = fopen(files[i], "r");
		unsigned int st;
		unsigned long txq, rxq;

		if (!f)
			continue;
		while (fgets(line, sizeof(line), f))
			if (sscanf(line, " %*s %*s %*s %x %lx:%lx", &st, &txq, &rxq) == 3 &&
			    st != 0x0a)	/* TCP_LISTEN */
				sum += rxq;
		fclose(f);
	}
	return sum;
}

/* Packets the kernel dropped on the way to a UDP socket, as counted by
 * both veths and the receiving namespace's UDP MIB (a snapshot; compare
 * two).  softnet is the machine-wide backlog drop count (other programs
 * add to it: an upper bound). */
struct rig_drops {
	uint64_t tx_dropped, rx_dropped, udp_in_errors, udp_no_ports, softnet;
};

static inline uint64_t rig_softnet_dropped(void)
{
	FILE *f = fopen("/proc/net/softnet_stat", "r");
	unsigned int a, b;
	uint64_t n = 0;
	char line[256];

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "%x %x", &a, &b) == 2)
			n += b;
	fclose(f);
	return n;
}

static inline int rig_drops(const struct rig *r, struct rig_drops *d)
{
	struct rtnl_link_stats tx, rx;
	struct rig_udp_snmp u;
	int e;

	if ((e = rig_link_stats(r, RIG_TX, &tx)) || (e = rig_link_stats(r, RIG_RX, &rx)) ||
	    (e = rig_udp_snmp(r, RIG_RX, &u)))
		return e;
	d->tx_dropped = tx.tx_dropped;
	d->rx_dropped = rx.rx_dropped;
	d->udp_in_errors = u.in_errors;
	d->udp_no_ports = u.no_ports;
	d->softnet = rig_softnet_dropped();
	return 0;
}

/* ---- payloads ----------------------------------------------------- */

#define RIG_MAGIC	0x47524d4eu	/* "NMRG" little endian */
#define RIG_HDR_LEN	24u
#define RIG_MAX_SIZE	65507u
#define RIG_VARIANTS	64u		/* bodies differ by seq % RIG_VARIANTS */

struct rig_pkt_hdr {
	uint32_t magic;
	uint32_t len;		/* the whole UDP payload */
	uint64_t seq;
	uint32_t flow;		/* index of the destination port */
	uint32_t csum;		/* rig_csum(seq, body) */
};

_Static_assert(sizeof(struct rig_pkt_hdr) == RIG_HDR_LEN, "rig header is 24 bytes");

static inline uint8_t rig_body_byte(uint64_t seq, size_t i)
{
	return (uint8_t)((seq % RIG_VARIANTS) * 37u + i * 11u + (i >> 8) * 5u);
}

/* FNV-1a style over 8-byte words. */
static inline uint32_t rig_body_sum(const uint8_t *body, size_t n)
{
	uint64_t h = 0xcbf29ce484222325ull;
	size_t i = 0;

	for (; i + 8 <= n; i += 8) {
		uint64_t w;

		memcpy(&w, body + i, 8);
		h = (h ^ w) * 0x100000001b3ull;
	}
	for (; i < n; i++)
		h = (h ^ body[i]) * 0x100000001b3ull;
	h ^= n;
	return (uint32_t)(h ^ (h >> 32));
}

/* The header's csum: the body's sum bound to the seq, so a body from
 * another packet (or a header from another packet) does not pass.  The
 * sender computes the body's sum once per variant. */
static inline uint32_t rig_csum_mix(uint64_t seq, uint32_t body_sum)
{
	uint64_t m = seq * 0x9e3779b97f4a7c15ull;

	return body_sum ^ (uint32_t)(m >> 32);
}

static inline uint32_t rig_csum(uint64_t seq, const uint8_t *body, size_t n)
{
	return rig_csum_mix(seq, rig_body_sum(body, n));
}

enum {
	RIG_OK = 0,
	RIG_BAD_SHORT = -1,	/* shorter than the header */
	RIG_BAD_MAGIC = -2,
	RIG_BAD_LEN = -3,	/* length differs from what the header says */
	RIG_BAD_CSUM = -4,	/* body or seq corrupted */
};

static inline const char *rig_check_str(int c)
{
	switch (c) {
	case RIG_OK: return "ok";
	case RIG_BAD_SHORT: return "shorter than the rig header";
	case RIG_BAD_MAGIC: return "bad magic";
	case RIG_BAD_LEN: return "length differs from the header's";
	case RIG_BAD_CSUM: return "checksum mismatch";
	}
	return "?";
}

/* The cheap part of the check (magic, length), for benchmarks.  @p may
 * be unaligned (an Ethernet frame's UDP payload is 2 bytes off 8). */
static inline int rig_check_hdr(const void *p, size_t len, uint64_t *seq)
{
	struct rig_pkt_hdr h;

	if (len < RIG_HDR_LEN)
		return RIG_BAD_SHORT;
	memcpy(&h, p, sizeof(h));
	if (h.magic != RIG_MAGIC)
		return RIG_BAD_MAGIC;
	if (h.len != len)
		return RIG_BAD_LEN;
	if (seq)
		*seq = h.seq;
	return RIG_OK;
}

/* Check a received payload whole: magic, length, checksum over seq and
 * body.  RIG_OK (seq and flow set, each may be NULL) or a RIG_BAD_*. */
static inline int rig_check_payload(const void *p, size_t len, uint64_t *seq, uint32_t *flow)
{
	struct rig_pkt_hdr h;
	int c = rig_check_hdr(p, len, NULL);

	if (c)
		return c;
	memcpy(&h, p, sizeof(h));
	if (rig_csum(h.seq, (const uint8_t *)p + RIG_HDR_LEN, len - RIG_HDR_LEN) != h.csum)
		return RIG_BAD_CSUM;
	if (seq)
		*seq = h.seq;
	if (flow)
		*flow = h.flow;
	return RIG_OK;
}

/* Which seqs of 0 .. n-1 arrived: rig_track() checks a payload and marks
 * its seq (atomically: queues on several threads may share one). */
struct rig_track {
	uint64_t n;
	_Atomic uint64_t *bits;
	atomic_ullong good, dup, bad, out_of_range;
	int first_bad;		/* the first RIG_BAD_* seen */
};

static inline int rig_track_init(struct rig_track *t, uint64_t n)
{
	memset(t, 0, sizeof(*t));
	t->n = n;
	t->bits = calloc((n + 63) / 64 + 1, sizeof(uint64_t));
	return t->bits ? 0 : -ENOMEM;
}

static inline void rig_track_fini(struct rig_track *t)
{
	free((void *)t->bits);
	t->bits = NULL;
}

/* 0 first arrival, 1 duplicate, <0 a RIG_BAD_* (or RIG_BAD_LEN for a
 * seq out of range). */
static inline int rig_track(struct rig_track *t, const void *p, size_t len)
{
	uint64_t seq, m, old;
	int c = rig_check_payload(p, len, &seq, NULL);

	if (c) {
		if (!atomic_fetch_add(&t->bad, 1))
			t->first_bad = c;
		return c;
	}
	if (seq >= t->n) {
		atomic_fetch_add(&t->out_of_range, 1);
		return RIG_BAD_LEN;
	}
	m = 1ull << (seq % 64);
	old = atomic_fetch_or(&t->bits[seq / 64], m);
	if (old & m) {
		atomic_fetch_add(&t->dup, 1);
		return 1;
	}
	atomic_fetch_add(&t->good, 1);
	return 0;
}

static inline uint64_t rig_track_missing(const struct rig_track *t)
{
	return t->n - atomic_load(&t->good);
}

/* Print up to max missing seqs (as ranges) to f. */
static inline void rig_track_print_missing(const struct rig_track *t, FILE *f, int max)
{
	uint64_t s = 0;

	while (s < t->n && max > 0) {
		uint64_t e;

		if (atomic_load(&t->bits[s / 64]) & (1ull << (s % 64))) {
			s++;
			continue;
		}
		for (e = s; e + 1 < t->n && !(atomic_load(&t->bits[(e + 1) / 64]) & (1ull << ((e + 1) % 64))); e++)
			;
		fprintf(f, "  missing seq %llu..%llu\n", (unsigned long long)s, (unsigned long long)e);
		max--;
		s = e + 1;
	}
}

/* ---- the UDP sender ----------------------------------------------- */

/* A sender on a thread in the TX namespace: sendmmsg, batches of 64 (or
 * batch), one connected socket per destination port (each its own flow,
 * so the veth spreads them over its queues by hash), flows taken in turn
 * batch by batch.  Fill in the inputs, rig_tx_start(), rig_tx_wait().
 *
 * raw: the same datagrams as whole Ethernet frames built here (IPv4 with
 * DF and id 0, UDP checksum 0, which IPv4 allows), sent by sendmmsg on one
 * AF_PACKET socket with PACKET_QDISC_BYPASS: no UDP or IP output path, no
 * route or neighbour lookup, no qdisc; each frame goes from the socket
 * straight to veth's xmit.  A frame veth cannot queue (its peer's ring
 * full) is refused with ENOBUFS and sent again, as for the UDP socket. */
struct rig_tx {
	/* in */
	const struct rig *rig;
	size_t size;		/* UDP payload bytes, RIG_HDR_LEN .. RIG_MAX_SIZE; 0 = 64 */
	uint64_t count;		/* packets; 0 = until stop or seconds */
	uint64_t pps;		/* packets per second; 0 = flat out */
	double seconds;		/* stop after this long; 0 = no limit */
	const uint16_t *ports;	/* destination ports; NULL = { RIG_PORT } */
	unsigned int nports;
	uint16_t src_port;	/* first source port (flow i gets +i); 0 = ephemeral */
	unsigned int batch;	/* 0 = RIG_BATCH */
	int pin, cpu;		/* pin: pin the sender to cpu */
	int sndbuf;		/* SO_SNDBUF; 0 = default */
	int raw;		/* AF_PACKET frames, not UDP sockets (above) */
	atomic_int stop;	/* set to end a count = 0 run */
	/* out */
	uint64_t sent;		/* accepted by sendmmsg */
	uint64_t retries;	/* sendmmsg calls answered ENOBUFS/ECONNREFUSED/EAGAIN (resent) */
	uint64_t ns;		/* how long it sent */
	int err;		/* 0, or the -errno that stopped it */
	pthread_t th;
	int started;
};

/* The 42 bytes before a raw frame's UDP payload. */
struct rig_raw_hdr {
	struct ethhdr eth;
	struct iphdr ip;
	struct udphdr udp;
} __attribute__((packed));

/* Flow @port's frame header for @size payload bytes, TX veth to RX veth:
 * IPv4 with DF and id 0 (so one checksum a flow), UDP checksum 0. */
static inline void rig_raw_hdr(const struct rig *r, struct rig_raw_hdr *h, uint16_t sport,
			       uint16_t dport, size_t size)
{
	struct iphdr ip = {
		.version = 4, .ihl = 5, .ttl = 64, .protocol = IPPROTO_UDP,
		.tot_len = htons((uint16_t)(sizeof(ip) + sizeof(h->udp) + size)),
		.frag_off = htons(0x4000),	/* DF */
		.saddr = r->addr[RIG_TX].s_addr, .daddr = r->addr[RIG_RX].s_addr,
	};
	uint16_t w[sizeof(ip) / 2];
	uint32_t sum = 0;

	memcpy(w, &ip, sizeof(ip));
	for (size_t k = 0; k < sizeof(ip) / 2; k++)	/* in network order */
		sum += w[k];
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	ip.check = (uint16_t)~sum;
	memset(h, 0, sizeof(*h));
	memcpy(h->eth.h_dest, r->mac[RIG_RX], ETH_ALEN);
	memcpy(h->eth.h_source, r->mac[RIG_TX], ETH_ALEN);
	h->eth.h_proto = htons(ETH_P_IP);
	h->ip = ip;
	h->udp.source = htons(sport);
	h->udp.dest = htons(dport);
	h->udp.len = htons((uint16_t)(sizeof(h->udp) + size));
}

/* The raw sender's socket: AF_PACKET on the TX veth, the qdisc bypassed.
 * Returns the fd or -errno. */
static inline int rig_raw_socket(const struct rig *r, int sndbuf)
{
	struct sockaddr_ll ll = { .sll_family = AF_PACKET, .sll_protocol = 0,
				  .sll_ifindex = r->ifindex[RIG_TX] };
	int one = 1, fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);

	/* protocol 0: the socket receives nothing; bound to the device so a
	 * message needs no address */
	if (fd < 0)
		return -errno;
	if (bind(fd, (struct sockaddr *)&ll, sizeof(ll)) ||
	    setsockopt(fd, SOL_PACKET, PACKET_QDISC_BYPASS, &one, sizeof(one))) {
		int e = -errno;

		close(fd);
		return e;
	}
	if (sndbuf)
		setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &sndbuf, sizeof(sndbuf));
	return fd;
}

static inline void *rig_tx_main(void *p)
{
	struct rig_tx *t = p;
	const struct rig *r = t->rig;
	uint16_t one_port = RIG_PORT;
	const uint16_t *ports = t->ports && t->nports ? t->ports : &one_port;
	unsigned int nflows = t->ports && t->nports ? t->nports : 1;
	unsigned int batch = t->batch ? t->batch : RIG_BATCH;
	size_t size = t->size ? t->size : 64, blen = size - RIG_HDR_LEN;
	int fds[RIG_MAX_FLOWS];
	uint8_t *bodies = NULL;
	uint32_t sums[RIG_VARIANTS];
	struct rig_pkt_hdr *hdr = NULL;
	struct rig_raw_hdr *raw = NULL;	/* raw: one frame header a flow */
	unsigned int niov = t->raw ? 3 : 2;
	struct iovec *iov = NULL;
	struct mmsghdr *mm = NULL;
	uint64_t seq = 0, start = 0, deadline;
	unsigned int flow = 0;

	if (size < RIG_HDR_LEN || size > RIG_MAX_SIZE || nflows > RIG_MAX_FLOWS ||
	    batch > 1024) {
		t->err = -EINVAL;
		return NULL;
	}
	for (unsigned int i = 0; i < nflows; i++)
		fds[i] = -1;
	if (t->pin)
		rig_pin_self(t->cpu);
	bodies = malloc(RIG_VARIANTS * blen + 1);
	hdr = calloc(batch, sizeof(*hdr));
	iov = calloc(niov * (size_t)batch, sizeof(*iov));
	mm = calloc(batch, sizeof(*mm));
	raw = t->raw ? calloc(nflows, sizeof(*raw)) : NULL;
	if (!bodies || !hdr || !iov || !mm || (t->raw && !raw)) {
		t->err = -ENOMEM;
		goto out;
	}
	for (unsigned int v = 0; v < RIG_VARIANTS; v++) {
		for (size_t i = 0; i < blen; i++)
			bodies[v * blen + i] = rig_body_byte(v, i);
		sums[v] = rig_body_sum(bodies + v * blen, blen);
	}
	if (t->raw) {
		/* one socket, in fds[0], for every flow: a flow is its frame
		 * header */
		for (unsigned int i = 0; i < nflows; i++)
			rig_raw_hdr(r, &raw[i], t->src_port ? (uint16_t)(t->src_port + i) :
				    (uint16_t)(40000 + i), ports[i], size);
		fds[0] = rig_raw_socket(r, t->sndbuf);
		if (fds[0] < 0) {
			t->err = fds[0];
			fds[0] = -1;
			goto out;
		}
	}
	for (unsigned int i = 0; !t->raw && i < nflows; i++) {
		struct sockaddr_in dst = { .sin_family = AF_INET, .sin_port = htons(ports[i]),
					   .sin_addr = r->addr[RIG_RX] };
		struct sockaddr_in src = { .sin_family = AF_INET, .sin_addr = r->addr[RIG_TX],
					   .sin_port = htons(t->src_port ? (uint16_t)(t->src_port + i) : 0) };

		fds[i] = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
		if (fds[i] < 0 || bind(fds[i], (struct sockaddr *)&src, sizeof(src)) ||
		    connect(fds[i], (struct sockaddr *)&dst, sizeof(dst))) {
			t->err = -errno;
			goto out;
		}
		if (t->sndbuf)
			setsockopt(fds[i], SOL_SOCKET, SO_SNDBUFFORCE, &t->sndbuf, sizeof(t->sndbuf));
	}
	for (unsigned int i = 0; i < batch; i++) {
		struct iovec *v = &iov[niov * i];

		if (t->raw) {
			v->iov_len = sizeof(*raw);	/* base: the flow's, below */
			v++;
		}
		v[0].iov_base = &hdr[i];
		v[0].iov_len = RIG_HDR_LEN;
		v[1].iov_len = blen;
		mm[i].msg_hdr.msg_iov = &iov[niov * i];
		mm[i].msg_hdr.msg_iovlen = niov;
	}
	start = rig_now_ns();
	deadline = t->seconds > 0 ? start + (uint64_t)(t->seconds * 1e9) : UINT64_MAX;
	while (!atomic_load_explicit(&t->stop, memory_order_relaxed)) {
		unsigned int n = batch, done = 0;
		uint64_t now;

		if (t->count && t->count - seq < n)
			n = (unsigned int)(t->count - seq);
		if (!n)
			break;
		now = rig_now_ns();
		if (now >= deadline)
			break;
		if (t->pps) {
			uint64_t due = start + (uint64_t)((double)seq * 1e9 / (double)t->pps);

			if (due > now) {
				struct timespec ts = { (time_t)((due - now) / 1000000000ull),
						       (long)((due - now) % 1000000000ull) };
				nanosleep(&ts, NULL);
			}
			if (n > t->pps / 1000 + 1)	/* at most ~1 ms of packets at once */
				n = (unsigned int)(t->pps / 1000 + 1);
		}
		for (unsigned int i = 0; i < n; i++) {
			uint64_t s = seq + i;
			unsigned int v = (unsigned int)(s % RIG_VARIANTS);
			const uint8_t *b = bodies + (size_t)v * blen;

			hdr[i].magic = RIG_MAGIC;
			hdr[i].len = (uint32_t)size;
			hdr[i].seq = s;
			hdr[i].flow = flow;
			hdr[i].csum = rig_csum_mix(s, sums[v]);
			iov[niov * i + niov - 1].iov_base = (void *)b;
			if (t->raw)
				iov[niov * i].iov_base = &raw[flow];
		}
		while (done < n) {
			int k = sendmmsg(fds[t->raw ? 0 : flow], mm + done, n - done, 0);

			if (k < 0) {
				if (errno == EINTR || errno == ENOBUFS || errno == EAGAIN ||
				    errno == ECONNREFUSED) {
					t->retries++;
					if (errno != ECONNREFUSED && errno != EINTR)
						sched_yield();
					continue;
				}
				t->err = -errno;
				goto out;
			}
			done += (unsigned int)k;
		}
		seq += n;
		__atomic_store_n(&t->sent, seq, __ATOMIC_RELAXED);
		flow = (flow + 1) % nflows;
	}
out:
	t->ns = start ? rig_now_ns() - start : 0;
	for (unsigned int i = 0; i < nflows; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	free(raw);
	free(bodies);
	free(hdr);
	free(iov);
	free(mm);
	return NULL;
}

/* Start the sender on a thread in the TX namespace.  0 or -errno. */
static inline int rig_tx_start(struct rig_tx *t)
{
	int e;

	t->sent = t->retries = 0;
	t->err = 0;
	t->ns = 0;
	atomic_store(&t->stop, 0);
	e = rig_thread(t->rig, RIG_TX, rig_tx_main, t, &t->th);
	t->started = !e;
	return e;
}

/* Wait for the sender to end (count or seconds reached, or stop set).
 * Returns its error: 0 or -errno. */
static inline int rig_tx_wait(struct rig_tx *t)
{
	if (t->started) {
		pthread_join(t->th, NULL);
		t->started = 0;
	}
	return t->err;
}

/* What the sender has sent so far (from any thread, while it runs). */
static inline uint64_t rig_tx_sent(const struct rig_tx *t)
{
	return __atomic_load_n(&t->sent, __ATOMIC_RELAXED);
}

static inline int rig_tx_stop(struct rig_tx *t)
{
	atomic_store(&t->stop, 1);
	return rig_tx_wait(t);
}
#endif

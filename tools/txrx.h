/* SPDX-License-Identifier: MIT */
/*
 * txrx.h - what `netmem tx`, `netmem rx` and `netmem bench rx` share: the
 * test-stream patterns, argument parsing (sizes, HOST:PORT, CPU lists;
 * the options themselves are tables, tools/opts.h), and the
 * clock and CPU-time figures every one of them prints.
 *
 * The patterns.  A test stream must be checkable by the receiver without
 * a copy of what was sent, and cheap on both sides so that generating and
 * checking it does not become the figure being measured.  So each pattern
 * is a table of NM_PAT_PERIOD bytes that repeats; byte i of a connection's
 * stream is table[i % NM_PAT_PERIOD].  The sender writes straight out of
 * the table, the receiver memcmp()s against it.  The period is a prime
 * (2^20 - 3): a lost, repeated or misplaced piece of the stream shows
 * unless its length is a multiple of the period, which no power-of-two
 * buffer size and no realistic sum of them is.
 *
 *   seq          byte j of the table is byte (j % 4) of the little-endian
 *                32-bit word j / 4: a counter, readable in a hex dump.
 *   random:SEED  byte j is byte (j % 8) of splitmix64(SEED + j / 8).
 */
#ifndef NM_TOOLS_TXRX_H
#define NM_TOOLS_TXRX_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sched.h>
#include <sys/socket.h>
#include <sys/types.h>

#define NM_PAT_PERIOD 1048573u /* 2^20 - 3, a prime */

enum nm_pat_kind {
	NM_PAT_NONE = 0,
	NM_PAT_SEQ,
	NM_PAT_RANDOM,
};

struct nm_pat {
	enum nm_pat_kind kind;
	uint64_t seed;
	/* NM_PAT_PERIOD bytes, then @extra more that repeat the start, so
	 * that a window of up to @extra bytes at any offset is contiguous. */
	uint8_t *tbl;
	size_t extra;
};

/* Parse "seq", "random:SEED" (or "random" with @seed_arg the seed). */
int nm_pat_parse(struct nm_pat *p, const char *kind, const char *seed_arg);
/* Build the table, contiguous windows up to @extra bytes.  0 or -ENOMEM. */
int nm_pat_init(struct nm_pat *p, size_t extra);
void nm_pat_fini(struct nm_pat *p);
const char *nm_pat_name(const struct nm_pat *p, char *buf, size_t len);

static inline const uint8_t *nm_pat_at(const struct nm_pat *p, uint64_t off)
{
	return p->tbl + off % NM_PAT_PERIOD;
}

/*
 * nm_pat_check - compare @len received bytes at stream offset @off.
 * Return: -1 if they match, else the index in @data of the first byte that
 * does not.
 */
long nm_pat_check(const struct nm_pat *p, uint64_t off, const void *data,
		  size_t len);

/*
 * `netmem tx --udp` datagrams, as `netmem rx --verify` checks them: an
 * 8-byte little-endian sequence number, then the pattern's bytes from
 * stream offset seq * len + 8 (len: the datagram's size), so each one is
 * checked on its own and a lost one shows as a gap in the sequence.
 */
#define NM_UDP_SEQ_LEN 8u
static inline uint64_t nm_udp_seq(const uint8_t *d)
{
	uint64_t s = 0;

	for (int i = 7; i >= 0; i--)
		s = s << 8 | d[i];
	return s;
}

/* "123", "64K", "1.5G" (binary units).  Return 0 and *v, or -EINVAL. */
int nm_parse_size(const char *s, uint64_t *v);
/* A non-negative integer in [min, max].  Return 0 or -EINVAL. */
int nm_parse_uint(const char *s, uint64_t min, uint64_t max, uint64_t *v);
/* A positive number of seconds (fractions allowed). */
int nm_parse_secs(const char *s, double *v);

/* A CPU list, "1", "0,2", "0-3,6", into @set (taskset's -c syntax).
 * Return 0, or -EINVAL (empty, malformed, a CPU beyond CPU_SETSIZE). */
int nm_parse_cpus(const char *s, cpu_set_t *set);

/*
 * nm_opt_next - one step of a command's option loop over argv[*i] (for
 * commands without an option table yet; rx, tx and stat have tables,
 * tools/opts.h, which also print their usage): a flag
 * from @flags (NULL-terminated) returns 0; an option from @valued takes the
 * next argument as its value (*val, and *i moves past it) and returns 1.
 * Anything else, or a valued option at the end, prints "netmem @cmd: ..."
 * and returns -EINVAL.  *opt is the option either way.
 */
int nm_opt_next(const char *cmd, int argc, char **argv, int *i,
		const char *const *flags, const char *const *valued,
		const char **opt, const char **val);

/*
 * nm_parse_hostport - "HOST:PORT", "[V6]:PORT" or ":PORT" (any address)
 * into @ss.  @passive: for bind (an empty host is the wildcard).
 * Return: 0, or -EINVAL with @err describing why.
 */
int nm_parse_hostport(const char *s, bool passive, struct sockaddr_storage *ss,
		      socklen_t *sslen, char *err, size_t errlen);

double nm_now(void);
/* Wait for child @pid, at most @secs; kill it after that.  True if it
 * exited 0. */
bool nm_reap(pid_t pid, double secs);
/* Room for @need open files: the soft limit raised to it (and the hard
 * one, where the process may: CAP_SYS_RESOURCE).  Children inherit it.
 * 0 or -errno. */
int nm_raise_nofile(unsigned long need);
/* User and system CPU seconds of this process (threads included). */
void nm_cpu(double *user, double *sys);
/*
 * CPU time by perf's task clock: a software counter that adds up the time
 * between the scheduler switching a thread in and out.  It counts the
 * calling thread and the threads it creates after the open (not child
 * processes).  getrusage() (nm_cpu) and the CPU-time clocks read the
 * scheduler's own runtime instead, and on this project's 6.18 kernel
 * (PREEMPT_NONE) that hands part of a receiver's time to the NAPI thread
 * whose wake-ups preempt it: 18-33% of a receiving process's time at one
 * connection on the veth rig, up to 18% at 1000, two thirds when the NAPI
 * thread has a real-time priority (docs/benchmarks.md, "getrusage
 * under-counts the receiver").
 * nm_cpuclock_open returns the counter's fd (for a user, with
 * perf_event_paranoid 2, one that excludes the kernel: the task clock
 * counts system time all the same), or -errno where perf events are not
 * allowed (perf_event_paranoid 3) or not built: then use nm_cpu.
 */
int nm_cpuclock_open(void);
/* Seconds counted on @fd so far; -1 if @fd < 0 or it cannot be read. */
double nm_cpuclock_read(int fd);
/*
 * A run's CPU by both clocks: a mark at its start and one at its end
 * (nm_cpumark_take, on nm_cpuclock_open's fd or a negative one), and what
 * lies between (nm_cpu_spent).  The figure is the task clock's where both
 * marks have it, getrusage's user + sys otherwise; NM_CPU_TEXT and
 * NM_CPU_JSON print it as netmem rx and tx do, with getrusage's beside it.
 */
struct nm_cpumark {
	double tc, u, s;        /* task clock (-1: none), getrusage user, sys */
};
struct nm_cpuspan {
	double cpu;             /* the figure */
	double u, s;            /* getrusage's user and sys */
	bool task;              /* cpu is the task clock's */
};
void nm_cpumark_take(int fd, struct nm_cpumark *m);
void nm_cpu_spent(const struct nm_cpumark *a, const struct nm_cpumark *b,
		  struct nm_cpuspan *out);
#define NM_CPU_TEXT "CPU %.2f s by %s (getrusage %.2f: user %.2f, sys %.2f)"
#define NM_CPU_TEXT_ARGS(p) (p)->cpu, (p)->task ? "the task clock" : "getrusage", \
		(p)->u + (p)->s, (p)->u, (p)->s
#define NM_CPU_JSON "\"cpu_user_s\":%.3f,\"cpu_sys_s\":%.3f,\"cpu_s_getrusage\":%.3f," \
		"\"cpu_clock\":\"%s\",\"cpu_s\":%.3f"
#define NM_CPU_JSON_ARGS(p) (p)->u, (p)->s, (p)->u + (p)->s, \
		(p)->task ? "task" : "getrusage", (p)->cpu
/* Context switches of this process: voluntary (it slept: a wakeup each)
 * and involuntary (preempted). */
void nm_csw(uint64_t *vol, uint64_t *invol);

/* Bytes over seconds as Gbit/s (10^9 bits). */
static inline double nm_gbit(uint64_t bytes, double secs)
{
	return secs > 0 ? bytes * 8.0 / secs / 1e9 : 0;
}

/* CPU seconds per GB (10^9 bytes) moved. */
static inline double nm_cpu_per_gb(double cpu, uint64_t bytes)
{
	return bytes ? cpu / (bytes / 1e9) : 0;
}
#endif

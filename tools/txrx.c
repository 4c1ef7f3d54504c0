/* SPDX-License-Identifier: MIT */
/*
 * txrx.c - test-stream patterns, argument parsing and figures shared by
 * `netmem tx`, `netmem rx` and `netmem bench rx`; see txrx.h.
 */
#include <errno.h>
#include <math.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <linux/perf_event.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include "txrx.h"

static uint64_t splitmix64(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ull;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

int nm_pat_parse(struct nm_pat *p, const char *kind, const char *seed_arg)
{
	memset(p, 0, sizeof(*p));
	if (!strcmp(kind, "seq")) {
		p->kind = NM_PAT_SEQ;
		return 0;
	}
	if (!strncmp(kind, "random", 6)) {
		const char *s = kind[6] == ':' ? kind + 7 : kind[6] ? NULL : seed_arg;
		uint64_t seed;

		if (!s || nm_parse_uint(s, 0, UINT64_MAX, &seed))
			return -EINVAL;
		p->kind = NM_PAT_RANDOM;
		p->seed = seed;
		return 0;
	}
	return -EINVAL;
}

int nm_pat_init(struct nm_pat *p, size_t extra)
{
	size_t len = NM_PAT_PERIOD + extra;

	p->extra = extra;
	p->tbl = malloc(len + 8);
	if (!p->tbl)
		return -ENOMEM;
	for (size_t j = 0; j < NM_PAT_PERIOD; j += 8) {
		uint8_t w[8];

		if (p->kind == NM_PAT_RANDOM) {
			uint64_t v = splitmix64(p->seed + j / 8);
			for (int b = 0; b < 8; b++)
				w[b] = v >> (8 * b);
		} else {
			uint32_t a = j / 4, c = j / 4 + 1;
			for (int b = 0; b < 4; b++) {
				w[b] = a >> (8 * b);
				w[4 + b] = c >> (8 * b);
			}
		}
		/* the table has 8 spare bytes, the last word may overrun */
		memcpy(p->tbl + j, w, 8);
	}
	for (size_t j = NM_PAT_PERIOD; j < len; j++)
		p->tbl[j] = p->tbl[j - NM_PAT_PERIOD];
	return 0;
}

void nm_pat_fini(struct nm_pat *p)
{
	free(p->tbl);
	p->tbl = NULL;
}

const char *nm_pat_name(const struct nm_pat *p, char *buf, size_t len)
{
	if (p->kind == NM_PAT_SEQ)
		snprintf(buf, len, "seq");
	else if (p->kind == NM_PAT_RANDOM)
		snprintf(buf, len, "random:%llu", (unsigned long long)p->seed);
	else
		snprintf(buf, len, "none");
	return buf;
}

long nm_pat_check(const struct nm_pat *p, uint64_t off, const void *data,
		  size_t len)
{
	const uint8_t *d = data;
	size_t done = 0;

	while (done < len) {
		size_t k = (off + done) % NM_PAT_PERIOD;
		size_t n = len - done;

		if (n > NM_PAT_PERIOD - k)
			n = NM_PAT_PERIOD - k;
		if (memcmp(d + done, p->tbl + k, n)) {
			for (size_t i = 0; i < n; i++)
				if (d[done + i] != p->tbl[k + i])
					return (long)(done + i);
		}
		done += n;
	}
	return -1;
}

int nm_parse_size(const char *s, uint64_t *v)
{
	char *e;
	double d;

	if (!s || !*s || *s == '-')
		return -EINVAL;
	errno = 0;
	d = strtod(s, &e);
	if (errno || e == s || !isfinite(d) || d < 0)
		return -EINVAL;
	switch (*e) {
	case 'k': case 'K': d *= 1024.0; e++; break;
	case 'm': case 'M': d *= 1024.0 * 1024; e++; break;
	case 'g': case 'G': d *= 1024.0 * 1024 * 1024; e++; break;
	case 't': case 'T': d *= 1024.0 * 1024 * 1024 * 1024; e++; break;
	}
	/* allow "64KiB" and "64KB" */
	if (*e == 'i')
		e++;
	if (*e == 'B')
		e++;
	if (*e || d >= 18446744073709551615.0 || d != floor(d))
		return -EINVAL;
	*v = (uint64_t)d;
	return 0;
}

int nm_parse_uint(const char *s, uint64_t min, uint64_t max, uint64_t *v)
{
	unsigned long long x;
	char *e;

	if (!s || !*s || *s == '-' || *s == '+')
		return -EINVAL;
	errno = 0;
	x = strtoull(s, &e, 0);
	if (errno || *e || x < min || x > max)
		return -EINVAL;
	*v = x;
	return 0;
}

int nm_parse_secs(const char *s, double *v)
{
	char *e;
	double d;

	if (!s || !*s)
		return -EINVAL;
	errno = 0;
	d = strtod(s, &e);
	if (errno || *e || !isfinite(d) || d <= 0 || d > 86400)
		return -EINVAL;
	*v = d;
	return 0;
}

int nm_parse_cpus(const char *s, cpu_set_t *set)
{
	CPU_ZERO(set);
	if (!s || !*s)
		return -EINVAL;
	while (*s) {
		unsigned long lo, hi;
		char *e;

		if (*s < '0' || *s > '9')
			return -EINVAL;
		lo = hi = strtoul(s, &e, 10);
		if (*e == '-') {
			s = e + 1;
			if (*s < '0' || *s > '9')
				return -EINVAL;
			hi = strtoul(s, &e, 10);
		}
		if (hi < lo || hi >= CPU_SETSIZE)
			return -EINVAL;
		for (unsigned long c = lo; c <= hi; c++)
			CPU_SET(c, set);
		s = e;
		if (*s == ',' && s[1])
			s++;
		else if (*s)
			return -EINVAL;
	}
	return 0;
}

static bool in_list(const char *s, const char *const *list)
{
	for (; *list; list++)
		if (!strcmp(s, *list))
			return true;
	return false;
}

int nm_opt_next(const char *cmd, int argc, char **argv, int *i,
		const char *const *flags, const char *const *valued,
		const char **opt, const char **val)
{
	const char *a = argv[*i];

	*opt = a;
	*val = NULL;
	if (in_list(a, flags))
		return 0;
	if (strncmp(a, "--", 2) || !strcmp(a, "--")) {
		fprintf(stderr, "netmem %s: unexpected argument '%s'\n", cmd, a);
		return -EINVAL;
	}
	if (!in_list(a, valued)) {
		fprintf(stderr, "netmem %s: unknown option '%s'\n", cmd, a);
		return -EINVAL;
	}
	if (*i + 1 >= argc) {
		fprintf(stderr, "netmem %s: %s needs a value\n", cmd, a);
		return -EINVAL;
	}
	*val = argv[++*i];
	return 1;
}

int nm_parse_hostport(const char *s, bool passive, struct sockaddr_storage *ss,
		      socklen_t *sslen, char *err, size_t errlen)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *res;
	char host[256];
	const char *colon, *port;
	uint64_t pnum;
	size_t hlen;
	int rc;

	if (!s || !*s) {
		snprintf(err, errlen, "expected HOST:PORT");
		return -EINVAL;
	}
	if (*s == '[') {
		const char *close = strchr(s, ']');
		if (!close || close[1] != ':') {
			snprintf(err, errlen, "'%s': expected [ADDRESS]:PORT", s);
			return -EINVAL;
		}
		hlen = close - s - 1;
		s++;
		colon = close + 1;
	} else {
		colon = strrchr(s, ':');
		if (!colon) {
			snprintf(err, errlen, "'%s': expected HOST:PORT", s);
			return -EINVAL;
		}
		hlen = colon - s;
	}
	port = colon + 1;
	if (nm_parse_uint(port, passive ? 0 : 1, 65535, &pnum)) {
		snprintf(err, errlen, "'%s': bad port (%s 65535)", port,
			 passive ? "0 to" : "1 to");
		return -EINVAL;
	}
	if (hlen >= sizeof(host)) {
		snprintf(err, errlen, "host name too long");
		return -EINVAL;
	}
	memcpy(host, s, hlen);
	host[hlen] = 0;
	if (!hlen && !passive) {
		snprintf(err, errlen, "'%s': no host to connect to", s);
		return -EINVAL;
	}
	hints.ai_flags = AI_NUMERICSERV | (passive ? AI_PASSIVE : 0);
	rc = getaddrinfo(hlen ? host : NULL, port, &hints, &res);
	if (rc) {
		snprintf(err, errlen, "'%s': %s", host, gai_strerror(rc));
		return -EINVAL;
	}
	memcpy(ss, res->ai_addr, res->ai_addrlen);
	*sslen = res->ai_addrlen;
	freeaddrinfo(res);
	return 0;
}

double nm_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

bool nm_reap(pid_t pid, double secs)
{
	double end = nm_now() + secs;
	int status;

	for (;;) {
		pid_t r = waitpid(pid, &status, WNOHANG);

		if (r == pid)
			return WIFEXITED(status) && WEXITSTATUS(status) == 0;
		if (r < 0)
			return false;
		if (nm_now() > end) {
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			return false;
		}
		usleep(10000);
	}
}

void nm_cpu(double *user, double *sys)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	*user = ru.ru_utime.tv_sec + ru.ru_utime.tv_usec * 1e-6;
	*sys = ru.ru_stime.tv_sec + ru.ru_stime.tv_usec * 1e-6;
}

int nm_cpuclock_open(void)
{
	struct perf_event_attr a = {
		.type = PERF_TYPE_SOFTWARE,
		.size = sizeof(a),
		.config = PERF_COUNT_SW_TASK_CLOCK,
		.inherit = 1,		/* threads created after this... */
		.inherit_thread = 1,	/* ...but not forked children */
	};
	long fd = syscall(SYS_perf_event_open, &a, 0, -1, -1, PERF_FLAG_FD_CLOEXEC);

	if (fd < 0 && (errno == EACCES || errno == EPERM)) {
		/* perf_event_paranoid 2 lets a user count only with the kernel
		 * excluded; the task clock adds up time switched in all the
		 * same, system time included (test_cpuclock checks it) */
		a.exclude_kernel = a.exclude_hv = 1;
		fd = syscall(SYS_perf_event_open, &a, 0, -1, -1, PERF_FLAG_FD_CLOEXEC);
	}
	return fd < 0 ? -errno : (int)fd;
}

double nm_cpuclock_read(int fd)
{
	uint64_t ns;

	if (fd < 0 || read(fd, &ns, sizeof(ns)) != (ssize_t)sizeof(ns))
		return -1;
	return (double)ns * 1e-9;
}

void nm_cpumark_take(int fd, struct nm_cpumark *m)
{
	m->tc = nm_cpuclock_read(fd);
	nm_cpu(&m->u, &m->s);
}

void nm_cpu_spent(const struct nm_cpumark *a, const struct nm_cpumark *b,
		  struct nm_cpuspan *out)
{
	out->u = b->u - a->u;
	out->s = b->s - a->s;
	out->task = a->tc >= 0 && b->tc >= 0;
	out->cpu = out->task ? b->tc - a->tc : out->u + out->s;
}

void nm_csw(uint64_t *vol, uint64_t *invol)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	*vol = ru.ru_nvcsw;
	*invol = ru.ru_nivcsw;
}

int nm_raise_nofile(unsigned long need)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl))
		return -errno;
	if (rl.rlim_cur >= need)
		return 0;
	if (rl.rlim_max < need && rl.rlim_max != RLIM_INFINITY)
		rl.rlim_max = need; /* needs CAP_SYS_RESOURCE; fails below if not */
	rl.rlim_cur = need;
	return setrlimit(RLIMIT_NOFILE, &rl) ? -errno : 0;
}

/* SPDX-License-Identifier: MIT */
/*
 * cli_util.h - what the tests of the netmem command (test_cli_*.c) share:
 * finding the binary next to the tests, running programs with a deadline,
 * learning the port `netmem rx --listen HOST:0` picked from its
 * "listening on" line (so no test guesses a free port and races for it),
 * and killing whatever is still running when a test exits early.
 */
#ifndef NM_TEST_CLI_UTIL_H
#define NM_TEST_CLI_UTIL_H
#include "harness.h"
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <time.h>
#include <unistd.h>
#include <sys/wait.h>

#define T_MAX_CHILDREN 32

static pid_t t_children[T_MAX_CHILDREN];

static inline double t_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static inline void t_kill_children(void)
{
	for (int i = 0; i < T_MAX_CHILDREN; i++) {
		if (t_children[i] > 0) {
			kill(t_children[i], SIGKILL);
			waitpid(t_children[i], NULL, 0);
			t_children[i] = 0;
		}
	}
}

/* The netmem binary: dirname(/proc/self/exe)/../netmem, or skip. */
static inline const char *t_netmem(void)
{
	static char bin[PATH_MAX + 16];
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);

	REQUIRE(n > 0);
	self[n] = 0;
	snprintf(bin, sizeof(bin), "%s/../netmem", dirname(self));
	if (access(bin, X_OK))
		SKIP("netmem binary not found at %s", bin);
	atexit(t_kill_children);
	signal(SIGPIPE, SIG_IGN);
	return bin;
}

/* Whether @prog is on PATH. */
static inline bool t_have(const char *prog)
{
	const char *path = getenv("PATH");
	char buf[PATH_MAX], *dirs, *d, *save;
	bool found = false;

	dirs = strdup(path ? path : "/usr/bin:/bin");
	for (d = strtok_r(dirs, ":", &save); d && !found; d = strtok_r(NULL, ":", &save)) {
		snprintf(buf, sizeof(buf), "%s/%s", d, prog);
		found = !access(buf, X_OK);
	}
	free(dirs);
	return found;
}

/*
 * Start @argv (argv[0] is the program, looked up on PATH).  @in: a file
 * for stdin, or NULL for /dev/null.  *@out_fd / *@err_fd: when not NULL,
 * pipes from its stdout / stderr; otherwise they go to the test's stderr.
 */
static inline pid_t t_spawn(const char *const argv[], const char *in, int *out_fd, int *err_fd)
{
	int op[2] = { -1, -1 }, ep[2] = { -1, -1 };
	pid_t pid;

	if (out_fd)
		REQUIRE(!pipe2(op, O_CLOEXEC));
	if (err_fd)
		REQUIRE(!pipe2(ep, O_CLOEXEC));
	fflush(NULL);
	pid = fork();
	REQUIRE(pid >= 0);
	if (pid == 0) {
		int fd = open(in ? in : "/dev/null", O_RDONLY);
		if (fd < 0) {
			perror(in);
			_exit(126);
		}
		dup2(fd, 0);
		dup2(out_fd ? op[1] : 2, 1);
		if (err_fd)
			dup2(ep[1], 2);
		execvp(argv[0], (char *const *)argv);
		fprintf(stderr, "exec %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	for (int i = 0; i < T_MAX_CHILDREN; i++) {
		if (!t_children[i]) {
			t_children[i] = pid;
			break;
		}
	}
	if (out_fd) {
		close(op[1]);
		*out_fd = op[0];
	}
	if (err_fd) {
		close(ep[1]);
		*err_fd = ep[0];
	}
	return pid;
}

/* Wait up to @secs for @pid.  Return its exit status, 128+signal, or -1
 * after killing it when the time ran out. */
static inline int t_wait(pid_t pid, double secs)
{
	double end = t_now() + secs;
	int st, rc = -1;

	for (;;) {
		pid_t r = waitpid(pid, &st, WNOHANG);
		if (r == pid) {
			rc = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
			break;
		}
		if (r < 0 || t_now() > end) {
			fprintf(stderr, "pid %d still running after %.0f s: killed\n", (int)pid, secs);
			kill(pid, SIGKILL);
			waitpid(pid, &st, 0);
			break;
		}
		usleep(5000);
	}
	for (int i = 0; i < T_MAX_CHILDREN; i++)
		if (t_children[i] == pid)
			t_children[i] = 0;
	return rc;
}

/* Append what can be read from @fd within @secs (until EOF) to @buf. */
static inline size_t t_read_into(int fd, char *buf, size_t cap, size_t len, double secs)
{
	double end = t_now() + secs;

	while (len + 1 < cap) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		int left = (int)((end - t_now()) * 1000);
		ssize_t n;

		if (left <= 0 || poll(&p, 1, left) <= 0)
			break;
		n = read(fd, buf + len, cap - 1 - len);
		if (n <= 0)
			break;
		len += n;
	}
	buf[len] = 0;
	return len;
}

/*
 * Read `netmem rx`'s stderr (@fd) until its "listening on HOST:PORT" line;
 * what was read is kept in @log.  Return the port, or -1.
 */
static inline int t_rx_port(int fd, char *log, size_t cap, double secs)
{
	double end = t_now() + secs;
	size_t len = 0;

	log[0] = 0;
	while (t_now() < end) {
		const char *l = strstr(log, "listening on ");
		const char *nl = l ? strchr(l, '\n') : NULL;
		struct pollfd p = { .fd = fd, .events = POLLIN };
		ssize_t n;

		if (nl) {
			/* "... listening on 127.0.0.1:PORT (engine ...)" */
			const char *c = strchr(l + 13, ' ');
			if (!c || c > nl)
				c = nl;
			while (c > l && *c != ':')
				c--;
			return atoi(c + 1);
		}
		if (poll(&p, 1, 100) <= 0)
			continue;
		n = read(fd, log + len, cap - 1 - len);
		if (n <= 0)
			break;
		len += n;
		log[len] = 0;
	}
	fprintf(stderr, "no 'listening on' line from netmem rx; it said:\n%s\n", log);
	return -1;
}

/* Read a whole file into memory; *len its size.  NULL if unreadable. */
static inline unsigned char *t_slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	unsigned char *buf;
	long n;

	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	buf = malloc(n ? n : 1);
	if (buf && fread(buf, 1, n, f) != (size_t)n) {
		free(buf);
		buf = NULL;
	}
	fclose(f);
	*len = n;
	return buf;
}

/* Write @len pseudo-random bytes (from @seed) to a new file @path. */
static inline void t_random_file(const char *path, size_t len, unsigned int seed)
{
	FILE *f = fopen(path, "wb");
	uint64_t x = seed * 0x9e3779b97f4a7c15ull + 1;

	REQUIRE(f);
	for (size_t i = 0; i < len; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		fputc((int)(x >> 24) & 0xff, f);
	}
	REQUIRE(!fclose(f));
}

/* A fresh temporary directory, removed (with its files) at exit. */
static char t_tmpdir[64];

static inline void t_rm_tmpdir(void)
{
	char cmd[128];

	t_kill_children();
	if (t_tmpdir[0]) {
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", t_tmpdir);
		if (system(cmd))
			fprintf(stderr, "could not remove %s\n", t_tmpdir);
	}
}

static inline const char *t_mktmpdir(void)
{
	snprintf(t_tmpdir, sizeof(t_tmpdir), "/tmp/netmem-cli-XXXXXX");
	REQUIRE(mkdtemp(t_tmpdir));
	atexit(t_rm_tmpdir);
	return t_tmpdir;
}
#endif

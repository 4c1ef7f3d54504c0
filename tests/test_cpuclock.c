/* SPDX-License-Identifier: MIT */
/*
 * The commands' CPU clock (tools/txrx.c nm_cpuclock_open): perf's task
 * clock over this thread and the threads it creates after the open, not
 * over child processes, with the time threads spend in the kernel
 * counted too.  `netmem rx` and `netmem bench rx` print their CPU per GB
 * from it, because getrusage under-counts a receiver that its NAPI
 * thread preempts (docs/benchmarks.md).  Run as root, and (where
 * perf_event_paranoid is 2, which lets a user count only with the kernel
 * excluded) again as an unprivileged user: the clock must still count
 * kernel time there.  nm_cpu_spent, the figure the commands print from
 * marks of both clocks, is the task clock's only where both marks have it.
 */
#include <fcntl.h>
#include <grp.h>
#include <pthread.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>
#include "harness.h"
#include "txrx.h"

static double thread_cpu(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* 0.2 s of this thread's CPU (by the scheduler's runtime, which this
 * does not test) in user space. */
static void *user_spinner(void *arg)
{
	volatile unsigned long n = 0;

	(void)arg;
	while (thread_cpu() < 0.2)
		for (int i = 0; i < 100000; i++)
			n++;
	return NULL;
}

/* 0.2 s of it in the kernel: reads of /dev/zero, which copy in sys time. */
static void *sys_spinner(void *arg)
{
	static char buf[1 << 16];
	int fd = open("/dev/zero", O_RDONLY | O_CLOEXEC);

	(void)arg;
	while (fd >= 0 && thread_cpu() < 0.2)
		for (int i = 0; i < 16; i++)
			if (read(fd, buf, sizeof(buf)) < 0)
				break;
	if (fd >= 0)
		close(fd);
	return fd >= 0 ? NULL : (void *)1;
}

/* How far the clock on @fd moves while a new thread runs @fn. */
static double thread_moves(int fd, void *(*fn)(void *))
{
	double t0 = nm_cpuclock_read(fd);
	pthread_t th;
	void *ret = (void *)1;

	if (t0 < 0 || pthread_create(&th, NULL, fn, NULL))
		return -1;
	pthread_join(th, &ret);
	return ret ? -1 : nm_cpuclock_read(fd) - t0;
}

/* The checks, as whoever runs them (@who): the number that failed. */
static int check_clock(const char *who, int fd)
{
	int fails = nm_test_failures;
	double u, s, t0, t1;
	pid_t pid;
	int status;

	/* a thread created after the open is counted, in user space and in
	 * the kernel */
	u = thread_moves(fd, user_spinner);
	s = thread_moves(fd, sys_spinner);
	printf("%s: a thread's 0.2 s of user CPU moved the clock %.3f s, of system CPU %.3f s\n",
	       who, u, s);
	CHECK(u >= 0.15);
	CHECK(s >= 0.15);

	/* a child process is not: 0.3 s of its CPU while this one waits */
	t0 = nm_cpuclock_read(fd);
	fflush(stdout);
	pid = fork();
	REQUIRE(pid >= 0);
	if (pid == 0) {
		struct timespec ts;
		volatile unsigned long n = 0;

		do {
			for (int i = 0; i < 100000; i++)
				n++;
			clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
		} while (ts.tv_sec == 0 && ts.tv_nsec < 300000000);
		_exit(0);
	}
	CHECK(waitpid(pid, &status, 0) == pid && WIFEXITED(status));
	t1 = nm_cpuclock_read(fd);
	printf("%s: a child's 0.3 s of CPU moved the clock %.3f s\n", who, t1 - t0);
	CHECK(t1 - t0 < 0.1);
	return nm_test_failures - fails;
}

/* Open the clock: a failure that is not "not allowed here" fails. */
static int open_clock(void)
{
	int fd = nm_cpuclock_open();

	/* Not allowed (perf_event_paranoid) or not built: the commands fall
	 * back to getrusage.  Any other error (EINVAL: an attribute this
	 * kernel refuses) is a failure. */
	if (fd == -EACCES || fd == -EPERM || fd == -ENOENT || fd == -ENOSYS)
		SKIP("perf's task clock cannot be opened here: %s (perf_event_paranoid, "
		     "or no perf events)", strerror(-fd));
	if (fd < 0)
		fprintf(stderr, "nm_cpuclock_open: %s\n", strerror(-fd));
	REQUIRE(fd >= 0);
	return fd;
}

static int paranoid(void)
{
	FILE *f = fopen("/proc/sys/kernel/perf_event_paranoid", "r");
	int v = 99;

	if (f) {
		if (fscanf(f, "%d", &v) != 1)
			v = 99;
		fclose(f);
	}
	return v;
}

/* nm_cpu_spent, what the commands print: the task clock's figure where
 * both marks have it, getrusage's user + sys where either lacks it. */
static void check_span(int fd)
{
	struct nm_cpumark a, none, b;
	struct nm_cpuspan sp;

	nm_cpumark_take(fd, &a);
	nm_cpumark_take(-1, &none);
	CHECK(a.tc >= 0 && none.tc == -1);
	user_spinner(NULL);	/* this thread, up to 0.2 s of its CPU */
	nm_cpumark_take(fd, &b);
	nm_cpu_spent(&a, &b, &sp);
	printf("a span: %.3f s by the task clock, getrusage %.3f + %.3f\n", sp.cpu, sp.u, sp.s);
	CHECK(sp.task && sp.cpu == b.tc - a.tc && sp.cpu >= 0.1);
	CHECK(sp.u == b.u - a.u && sp.s == b.s - a.s && sp.u + sp.s >= 0.1);
	nm_cpu_spent(&none, &b, &sp);
	CHECK(!sp.task && sp.cpu == sp.u + sp.s && sp.cpu >= 0.1);
	nm_cpu_spent(&a, &none, &sp);
	CHECK(!sp.task && sp.cpu == sp.u + sp.s);
}

int main(void)
{
	int fd;
	pid_t pid;
	int status;

	CHECK(nm_cpuclock_read(-1) == -1);
	CHECK(nm_cpuclock_read(-EBADF) == -1);
	fd = open_clock();
	check_span(fd);
	check_clock(getuid() ? "this user" : "root", fd);
	close(fd);
	CHECK(nm_cpuclock_read(fd) == -1);

	/* perf_event_paranoid 2: a user's counter must exclude the kernel
	 * (nm_cpuclock_open retries so), and the task clock must count the
	 * kernel's time all the same */
	if (getuid() != 0 || paranoid() != 2) {
		printf("the unprivileged run is not done: %s\n", getuid() ? "not root" :
		       "perf_event_paranoid is not 2");
		return t_done();
	}
	fflush(stdout);
	pid = fork();
	REQUIRE(pid >= 0);
	if (pid == 0) {
		if (setgroups(0, NULL) || setgid(65534) || setuid(65534)) {
			perror("setuid nobody");
			_exit(1);
		}
		fd = nm_cpuclock_open();
		if (fd < 0) {
			fprintf(stderr, "nm_cpuclock_open as nobody: %s\n", strerror(-fd));
			_exit(1);
		}
		status = check_clock("nobody", fd);
		fflush(stdout);
		_exit(status ? 1 : 0);
	}
	CHECK(waitpid(pid, &status, 0) == pid && WIFEXITED(status) &&
	      WEXITSTATUS(status) == 0);
	return t_done();
}

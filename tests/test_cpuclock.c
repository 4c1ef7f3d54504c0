/* SPDX-License-Identifier: MIT */
/*
 * The commands' CPU clock (tools/txrx.c nm_cpuclock_open): perf's task
 * clock over this thread and the threads it creates after the open, not
 * over child processes.  `netmem rx` and `netmem bench rx` print their
 * CPU per GB from it, because getrusage under-counts a receiver that its
 * NAPI thread preempts (docs/benchmarks.md).
 */
#include <pthread.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>
#include "harness.h"
#include "txrx.h"

/* Spin until the calling thread or process has used @secs of CPU by
 * @clk (the scheduler's runtime, which this does not test). */
static void spin(clockid_t clk, double secs)
{
	struct timespec ts;
	volatile unsigned long n = 0;

	do {
		for (int i = 0; i < 100000; i++)
			n++;
		clock_gettime(clk, &ts);
	} while ((double)ts.tv_sec + (double)ts.tv_nsec * 1e-9 < secs);
}

static void *spinner(void *arg)
{
	(void)arg;
	spin(CLOCK_THREAD_CPUTIME_ID, 0.2);
	return NULL;
}

int main(void)
{
	int fd = nm_cpuclock_open();
	double t0, t1, t2;
	pthread_t th;
	pid_t pid;
	int status;

	CHECK(nm_cpuclock_read(-1) == -1);
	CHECK(nm_cpuclock_read(-EBADF) == -1);
	/* Not allowed (perf_event_paranoid) or not built: the commands fall
	 * back to getrusage.  Any other error (EINVAL: an attribute this
	 * kernel refuses) is a failure. */
	if (fd == -EACCES || fd == -EPERM || fd == -ENOENT || fd == -ENOSYS)
		SKIP("perf's task clock cannot be opened here: %s (perf_event_paranoid, "
		     "or no perf events)", strerror(-fd));
	if (fd < 0)
		fprintf(stderr, "nm_cpuclock_open: %s\n", strerror(-fd));
	REQUIRE(fd >= 0);
	t0 = nm_cpuclock_read(fd);
	CHECK(t0 >= 0);

	/* A thread created after the open is counted: 0.2 s of its CPU. */
	CHECK(pthread_create(&th, NULL, spinner, NULL) == 0);
	pthread_join(th, NULL);
	t1 = nm_cpuclock_read(fd);
	printf("a thread's 0.2 s of CPU: the clock moved %.3f s\n", t1 - t0);
	CHECK(t1 - t0 >= 0.15);

	/* A child process is not: 0.3 s of its CPU while this one waits. */
	pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		spin(CLOCK_PROCESS_CPUTIME_ID, 0.3);
		_exit(0);
	}
	CHECK(waitpid(pid, &status, 0) == pid && WIFEXITED(status));
	t2 = nm_cpuclock_read(fd);
	printf("a child's 0.3 s of CPU: the clock moved %.3f s\n", t2 - t1);
	CHECK(t2 - t1 < 0.1);
	close(fd);
	CHECK(nm_cpuclock_read(fd) == -1);
	return t_done();
}

/* SPDX-License-Identifier: MIT */
/*
 * The leak checks of the other tests mean something only if a leak makes
 * a test fail.  Under ASan this runs itself again in a child that leaks one
 * block and otherwise exits 0, and requires the child to fail (non-zero
 * exit or a signal, as ASAN_OPTIONS=abort_on_error=1 makes it).  Skips in
 * builds without ASan.
 */
#include "harness.h"
#include <sys/wait.h>
#include <unistd.h>

void *volatile t_leak_sink;

int main(int argc, char **argv)
{
	if (argc > 1 && !strcmp(argv[1], "leak")) {
		t_leak_sink = malloc(4096);
		memset(t_leak_sink, 1, 4096);
		t_leak_sink = NULL;	/* the only pointer: lost */
		return 0;
	}
#if !T_ASAN
	SKIP("not an ASan build");
#else
	int status;
	pid_t pid;

	if (getenv("ASAN_OPTIONS") && strstr(getenv("ASAN_OPTIONS"), "detect_leaks=0"))
		SKIP("ASAN_OPTIONS has detect_leaks=0");
	fflush(NULL);
	pid = fork();
	REQUIRE(pid >= 0);
	if (pid == 0) {
		execl("/proc/self/exe", argv[0], "leak", (char *)NULL);
		_exit(127);
	}
	REQUIRE(waitpid(pid, &status, 0) == pid);
	if (WIFEXITED(status))
		printf("leaking child exited with %d\n", WEXITSTATUS(status));
	else if (WIFSIGNALED(status))
		printf("leaking child killed by signal %d\n", WTERMSIG(status));
	CHECK(!(WIFEXITED(status) && WEXITSTATUS(status) == 0));
	CHECK(!(WIFEXITED(status) && WEXITSTATUS(status) == 127));
	return t_done();
#endif
}

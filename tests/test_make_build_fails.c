/* SPDX-License-Identifier: MIT */
/*
 * A file that does not compile fails `make`, `make test`, `make sanitize`
 * and `make tsan`, and none of them runs the tests then, even where an
 * earlier build left a binary behind (stale binaries must not pass for a
 * build).  The build's output stays quiet but shows the compiler's error.
 *
 * The tree's own Makefile drives a throwaway project in a temporary
 * folder: a CMakeLists.txt with one program, a stub scripts/deps.sh, and a
 * stub tests/run-tests.sh that only leaves a mark when it runs.  The
 * program builds once, then gets a syntax error.  A few seconds; skips
 * without cmake, make or cc.
 */
#include "harness.h"
#include <stdarg.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef NM_BUILD_DIR
#error "NM_BUILD_DIR: the build folder, set by CMakeLists.txt"
#endif

static char dir[] = "/tmp/netmem-makefail-XXXXXX";
static char out[1 << 16];

static void cleanup(void)
{
	char cmd[256];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd))
		fprintf(stderr, "could not remove %s\n", dir);
}

/* Run a shell command in the project folder, with no make of ours around
 * it (MAKEFLAGS from a `make test` would turn on "Entering directory");
 * its output goes to out[].  Return its exit status. */
static int in_dir(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int in_dir(const char *fmt, ...)
{
	char cmd[4096], inner[2048];
	va_list ap;
	FILE *f;
	size_t n;
	int st;

	va_start(ap, fmt);
	vsnprintf(inner, sizeof(inner), fmt, ap);
	va_end(ap);
	snprintf(cmd, sizeof(cmd),
		 "cd '%s' && env -u MAKEFLAGS -u MAKELEVEL -u MFLAGS %s 2>&1", dir, inner);
	f = popen(cmd, "r");
	REQUIRE(f);
	n = fread(out, 1, sizeof(out) - 1, f);
	out[n] = 0;
	st = pclose(f);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

static void put_file(const char *name, const char *text, int exec)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	REQUIRE(f);
	fputs(text, f);
	REQUIRE(fclose(f) == 0);
	if (exec)
		REQUIRE(chmod(path, 0755) == 0);
}

static int ran(void)
{
	char path[512];

	snprintf(path, sizeof(path), "%s/ran", dir);
	return access(path, F_OK) == 0;
}

/* The source tree: CMAKE_HOME_DIRECTORY in the build's cache. */
static void source_dir(char *src, size_t len)
{
	char line[1024];
	FILE *f = fopen(NM_BUILD_DIR "/CMakeCache.txt", "r");

	REQUIRE(f);
	src[0] = 0;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, "CMAKE_HOME_DIRECTORY:INTERNAL=", 30)) {
			snprintf(src, len, "%s", line + 30);
			src[strcspn(src, "\n")] = 0;
		}
	fclose(f);
	REQUIRE(src[0]);
}

int main(void)
{
	char src[1024], cmd[2048];

	if (system("command -v cmake >/dev/null && command -v make >/dev/null && "
		   "command -v cc >/dev/null"))
		SKIP("needs cmake, make and cc");
	source_dir(src, sizeof(src));
	REQUIRE(mkdtemp(dir));
	atexit(cleanup);
	snprintf(cmd, sizeof(cmd), "mkdir -p '%s/scripts' '%s/tests' && cp '%s/Makefile' '%s/'",
		 dir, dir, src, dir);
	REQUIRE(system(cmd) == 0);
	put_file("scripts/deps.sh", "#!/bin/sh\nexit 0\n", 1);
	put_file("tests/run-tests.sh", "#!/bin/sh\ntouch ran\necho '1 passed, 0 failed, 0 skipped'\n", 1);
	put_file("CMakeLists.txt",
		 "cmake_minimum_required(VERSION 3.18)\n"
		 "project(makefail C)\n"
		 "add_executable(netmem main.c)\n", 0);
	put_file("main.c", "int main(void) { return 0; }\n", 0);

	/* It builds, and the tests run: the stubs work. */
	CHECK_EQ(in_dir("make build"), 0);
	CHECK_EQ(in_dir("make test"), 0);
	CHECK(ran());
	REQUIRE(!nm_test_failures);
	REQUIRE(unlink(strcat(strcpy(cmd, dir), "/ran")) == 0);

	/* Now it does not compile; build/netmem is still there from before. */
	put_file("main.c", "int main(void) { return not_declared_anywhere; }\n", 0);
	CHECK(in_dir("make build") != 0);
	CHECK(strstr(out, "not_declared_anywhere") != NULL);	/* the error shows */
	CHECK(strstr(out, "Entering directory") == NULL);	/* and is not drowned */
	if (nm_test_failures)
		fprintf(stderr, "make build said:\n%s\n", out);
	CHECK(in_dir("make") != 0);
	CHECK(in_dir("make test") != 0);
	CHECK(!ran());
	CHECK(in_dir("make sanitize") != 0);
	CHECK(!ran());
	CHECK(in_dir("make tsan") != 0);
	CHECK(!ran());
	return t_done();
}

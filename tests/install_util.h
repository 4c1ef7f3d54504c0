/* SPDX-License-Identifier: MIT */
/*
 * install_util.h - for the tests that install the build into a temporary
 * prefix and use it as a user would (man pages, CMake package, a netmem
 * command free of DPDK): shell commands, and the prefix made and removed.
 *
 *   iu_sh(fmt, ...)        run a shell command; its exit status (0: ok)
 *   iu_out(buf, n, fmt...) its stdout (all of it, NUL-terminated); status
 *   iu_install()           `cmake --install` the build into a new temporary
 *                          folder's usr/, removed at exit; returns that prefix
 *   iu_src_dir()           the source tree (this file's folder's parent)
 */
#ifndef NM_TEST_INSTALL_UTIL_H
#define NM_TEST_INSTALL_UTIL_H
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#ifndef NM_BUILD_DIR
#error "NM_BUILD_DIR: the build folder, set by CMakeLists.txt"
#endif

static char iu_dir[] = "/tmp/netmem-iu-XXXXXX";
static char iu_prefix[sizeof(iu_dir) + 8];

static int iu_status(int r)
{
	return r == -1 ? -1 : WIFEXITED(r) ? WEXITSTATUS(r) : 128 + WTERMSIG(r);
}

static int iu_sh(const char *fmt, ...) __attribute__((format(printf, 1, 2), unused));
static int iu_sh(const char *fmt, ...)
{
	char cmd[8192];
	va_list ap;
	int r;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	r = iu_status(system(cmd));
	if (r)
		fprintf(stderr, "exit %d: %s\n", r, cmd);
	return r;
}

static int iu_out(char *buf, size_t n, const char *fmt, ...)
	__attribute__((format(printf, 3, 4), unused));
static int iu_out(char *buf, size_t n, const char *fmt, ...)
{
	char cmd[8192];
	size_t got = 0, k;
	va_list ap;
	FILE *f;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	f = popen(cmd, "r");
	if (!f)
		return -1;
	while (got + 1 < n && (k = fread(buf + got, 1, n - 1 - got, f)) > 0)
		got += k;
	buf[got] = 0;
	while (fgetc(f) != EOF)	/* let the command finish */
		;
	return iu_status(pclose(f));
}

static void iu_cleanup(void)
{
	char cmd[256];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", iu_dir);
	if (system(cmd))
		fprintf(stderr, "could not remove %s\n", iu_dir);
}

static __attribute__((unused)) const char *iu_install(void)
{
	if (!mkdtemp(iu_dir)) {
		perror("mkdtemp");
		exit(1);
	}
	atexit(iu_cleanup);
	snprintf(iu_prefix, sizeof(iu_prefix), "%s/usr", iu_dir);
	if (iu_sh("cmake --install '%s' --prefix '%s' >/dev/null", NM_BUILD_DIR, iu_prefix)) {
		fprintf(stderr, "cmake --install failed\n");
		exit(1);
	}
	return iu_prefix;
}

static __attribute__((unused)) const char *iu_src_dir(void)
{
	static char dir[4096];
	char *s;

	snprintf(dir, sizeof(dir), "%s", __FILE__);	/* .../tests/install_util.h */
	for (int i = 0; i < 2 && (s = strrchr(dir, '/')); i++)
		*s = 0;
	return dir;
}
#endif

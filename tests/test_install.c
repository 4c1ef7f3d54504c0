/* SPDX-License-Identifier: MIT */
/*
 * `cmake --install BUILD --prefix DIR` (what `make install PREFIX=DIR`
 * runs) gives a usable library: pkg-config, pointed at DIR, names DIR's
 * headers and library, and a program built with its flags, against the
 * shared library and against the static one, runs and reports the
 * version it was built with.  The prefix is chosen at install time, not
 * when the build was configured.
 */
#include "harness.h"
#include <stdarg.h>
#include <unistd.h>

#ifndef NM_BUILD_DIR
#error "NM_BUILD_DIR: the build folder, set by CMakeLists.txt"
#endif

static char dir[] = "/tmp/netmem-install-XXXXXX";

static int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int sh(const char *fmt, ...)
{
	char cmd[4096];
	va_list ap;
	int r;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	r = system(cmd);
	if (r)
		fprintf(stderr, "failed (%d): %s\n", r, cmd);
	return r;
}

/* stdout of a shell command, first line, into out. */
static int sh_out(char *out, size_t n, const char *cmd)
{
	FILE *f = popen(cmd, "r");

	if (!f)
		return -1;
	if (!fgets(out, (int)n, f))
		out[0] = 0;
	out[strcspn(out, "\n")] = 0;
	return pclose(f);
}

/* "BUILT RUNNING": the header's version and the library's, the same. */
static int same_version(const char *line)
{
	char built[32], running[32];

	return sscanf(line, "%31s %31s", built, running) == 2 &&
	       !strcmp(built, running) && !strcmp(running, nm_version());
}

static void cleanup(void)
{
	char cmd[256];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd))
		fprintf(stderr, "could not remove %s\n", dir);
}

int main(void)
{
	char pc[512], flags[2048], out[256], cmd[4096];
	FILE *f;

	if (t_sanitized())
		SKIP("sanitizer build: a program linked against the installed "
		     "library would need the sanitizer runtime");
	if (system("command -v cmake >/dev/null && command -v pkg-config >/dev/null "
		   "&& command -v cc >/dev/null"))
		SKIP("cmake, pkg-config or cc not installed");
	REQUIRE(mkdtemp(dir));
	atexit(cleanup);

	REQUIRE(sh("cmake --install '%s' --prefix '%s/usr' >/dev/null", NM_BUILD_DIR, dir) == 0);
	snprintf(cmd, sizeof(cmd), "find '%s' -name netmem.pc -printf '%%h'", dir);
	REQUIRE(sh_out(pc, sizeof(pc), cmd) == 0 && pc[0]);

	/* pkg-config names the install prefix. */
	snprintf(cmd, sizeof(cmd),
		 "PKG_CONFIG_PATH='%s' pkg-config --cflags --libs netmem", pc);
	REQUIRE(sh_out(flags, sizeof(flags), cmd) == 0);
	printf("pkg-config: %s\n", flags);
	CHECK(strstr(flags, dir) != NULL);
	CHECK(strstr(flags, "/usr/local") == NULL);

	/* A program that prints the version it was built with and the one
	 * the library reports. */
	snprintf(cmd, sizeof(cmd), "%s/prog.c", dir);
	f = fopen(cmd, "w");
	REQUIRE(f);
	fputs("#include <stdio.h>\n#include <netmem/netmem.h>\n"
	      "int main(void)\n{\n"
	      "\tprintf(\"%d.%d.%d %s\\n\", NETMEM_VERSION_MAJOR, NETMEM_VERSION_MINOR,\n"
	      "\t       NETMEM_VERSION_PATCH, nm_version());\n"
	      "\treturn 0;\n}\n", f);
	REQUIRE(fclose(f) == 0);

	/* Shared: found through the prefix's lib folder. */
	CHECK(sh("cd '%s' && PKG_CONFIG_PATH='%s' cc prog.c -o prog-shared "
		 "$(PKG_CONFIG_PATH='%s' pkg-config --cflags --libs netmem)",
		 dir, pc, pc) == 0);
	snprintf(cmd, sizeof(cmd), "LD_LIBRARY_PATH='%s/..' '%s/prog-shared'", pc, dir);
	CHECK(sh_out(out, sizeof(out), cmd) == 0);
	printf("shared: %s\n", out);
	CHECK(same_version(out));
	/* Static: the archive and what it needs (--static). */
	CHECK(sh("cd '%s' && cc prog.c -o prog-static "
		 "$(PKG_CONFIG_PATH='%s' pkg-config --cflags netmem) '%s/../libnetmem.a' "
		 "$(PKG_CONFIG_PATH='%s' pkg-config --static --libs netmem | sed 's/-lnetmem//')",
		 dir, pc, pc, pc) == 0);
	snprintf(cmd, sizeof(cmd), "'%s/prog-static'", dir);
	CHECK(sh_out(out, sizeof(out), cmd) == 0);
	printf("static: %s\n", out);
	CHECK(same_version(out));
	return t_done();
}

/* SPDX-License-Identifier: MIT */
/*
 * The CMake package works as a user's project uses it: after an install
 * into a temporary prefix, a project with find_package(netmem X.Y) (the
 * header's NETMEM_VERSION_MAJOR.MINOR) and
 * CMAKE_PREFIX_PATH at that prefix configures, builds one program against
 * netmem::netmem (shared) and one against netmem::netmem_static, and both
 * run and report the version they were built with.  The program calls
 * into the receive engines, so the static link needs liburing, which the
 * package brings along.  A project that asks for a version the package is
 * not compatible with (X.Y+1; and X.Y-1, a 0.x library's minors being
 * incompatible) is refused at configure time.
 */
#include "harness.h"
#include "install_util.h"

static char out[1 << 14];

static void write_file(const char *dir, const char *name, const char *text)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	REQUIRE(f);
	fputs(text, f);
	REQUIRE(fclose(f) == 0);
}

/* "BUILT RUNNING ENGINES": versions the same, the library's, engines > 0. */
static int good_output(const char *line)
{
	char built[32], running[32];
	int engines = 0;

	return sscanf(line, "%31s %31s %d", built, running, &engines) == 3 &&
	       !strcmp(built, running) && !strcmp(running, nm_version()) && engines > 0;
}

int main(void)
{
	char proj[512], bld[600];
	const char *prefix;

	if (t_sanitized())
		SKIP("sanitizer build: a program linked against the installed "
		     "library would need the sanitizer runtime");
	if (iu_sh("command -v cmake >/dev/null && command -v cc >/dev/null"))
		SKIP("cmake or cc not installed");
	prefix = iu_install();
	snprintf(proj, sizeof(proj), "%s/../proj", prefix);
	snprintf(bld, sizeof(bld), "%s/build", proj);
	REQUIRE(iu_sh("mkdir -p '%s'", proj) == 0);

	write_file(proj, "prog.c",
		"#include <stdio.h>\n#include <netmem/netmem.h>\n#include <netmem/rx.h>\n"
		"int main(void)\n{\n"
		"\tprintf(\"%d.%d.%d %s %d\\n\", NETMEM_VERSION_MAJOR, NETMEM_VERSION_MINOR,\n"
		"\t       NETMEM_VERSION_PATCH, nm_version(), nm_rx_engines(NULL, 0));\n"
		"\treturn 0;\n}\n");
	write_file(proj, "CMakeLists.txt",
		"cmake_minimum_required(VERSION 3.18)\n"
		"project(consumer C)\n"
		"find_package(netmem ${WANT} REQUIRED)\n"
		"add_executable(prog_shared prog.c)\n"
		"target_link_libraries(prog_shared PRIVATE netmem::netmem)\n"
		"add_executable(prog_static prog.c)\n"
		"target_link_libraries(prog_static PRIVATE netmem::netmem_static)\n");

	REQUIRE(iu_sh("cmake -S '%s' -B '%s' -DWANT=%d.%d -DCMAKE_PREFIX_PATH='%s' >/dev/null",
		      proj, bld, NETMEM_VERSION_MAJOR, NETMEM_VERSION_MINOR, prefix) == 0);
	REQUIRE(iu_sh("cmake --build '%s' >/dev/null", bld) == 0);

	/* Linked against the installed library, not the build's. */
	CHECK(iu_out(out, sizeof(out), "readelf -d '%s/prog_shared' | grep -c 'libnetmem.so.0'",
		     bld) == 0 && atoi(out) == 1);
	CHECK(iu_out(out, sizeof(out), "'%s/prog_shared'", bld) == 0);
	printf("shared: %s", out);
	CHECK(good_output(out));
	CHECK(iu_out(out, sizeof(out), "ldd '%s/prog_shared' | grep libnetmem", bld) == 0);
	printf("  %s", out);
	CHECK(strstr(out, prefix) != NULL);
	CHECK(iu_out(out, sizeof(out), "'%s/prog_static'", bld) == 0);
	printf("static: %s", out);
	CHECK(good_output(out));
	CHECK(iu_sh("readelf -d '%s/prog_static' | grep -q 'libnetmem.so'", bld) == 1);

	/* The version file: the next minor is not compatible, nor (0.x) the last. */
	CHECK(iu_sh("rm -rf '%s' && cmake -S '%s' -B '%s' -DWANT=%d.%d -DCMAKE_PREFIX_PATH='%s' "
		    ">/dev/null 2>&1", bld, proj, bld, NETMEM_VERSION_MAJOR,
		    NETMEM_VERSION_MINOR + 1, prefix) != 0);
	if (NETMEM_VERSION_MAJOR == 0 && NETMEM_VERSION_MINOR > 0)
		CHECK(iu_sh("rm -rf '%s' && cmake -S '%s' -B '%s' -DWANT=0.%d "
			    "-DCMAKE_PREFIX_PATH='%s' >/dev/null 2>&1", bld, proj, bld,
			    NETMEM_VERSION_MINOR - 1, prefix) != 0);
	return t_done();
}

/* SPDX-License-Identifier: MIT */
/*
 * `netmem bench pool --plot FILE.svg` draws its figures: the file is
 * well-formed XML (xmllint, or python3's parser where xmllint is absent),
 * an SVG with a panel per bench and a bar for netmem, malloc and (unless
 * the bench said it skipped DPDK) dpdk in each, a whisker for the spread
 * where the runs differ, and netmem's ratio to each baseline.  A file that
 * cannot be written fails the command (exit 1, the reason on stderr);
 * --plot without a file name is a usage error (2).  `netmem bench rx
 * --plot` likewise draws throughput and CPU per GB, a bar per case run.
 * Short runs: what is drawn matters here, not how fast anything is.
 */
#include "harness.h"
#include "install_util.h"
#include <sys/stat.h>

static char out[1 << 16], svg[1 << 16];

static int count(const char *hay, const char *needle)
{
	int n = 0;

	for (const char *p = hay; (p = strstr(p, needle)); p += strlen(needle))
		n++;
	return n;
}

int main(void)
{
	char path[] = "/tmp/netmem-plot-XXXXXX";
	char file[64];
	bool dpdk;
	FILE *f;
	size_t n;

	REQUIRE(mkdtemp(path));
	snprintf(file, sizeof(file), "%s/pool.svg", path);

	CHECK(iu_out(out, sizeof(out), "'%s/netmem' bench pool --quick --reps 3 --plot '%s' 2>&1",
		     NM_BUILD_DIR, file) == 0);
	dpdk = !strstr(out, "dpdk: skipped");
	f = fopen(file, "r");
	REQUIRE(f);
	n = fread(svg, 1, sizeof(svg) - 1, f);
	svg[n] = 0;
	fclose(f);
	printf("%zu bytes of SVG; dpdk %s\n", n, dpdk ? "measured" : "skipped");

	if (!iu_sh("command -v xmllint >/dev/null"))
		CHECK(iu_sh("xmllint --noout '%s'", file) == 0);
	else if (!iu_sh("command -v python3 >/dev/null"))
		CHECK(iu_sh("python3 -c 'import sys, xml.dom.minidom as m; "
			    "m.parse(sys.argv[1])' '%s'", file) == 0);
	else
		printf("note: neither xmllint nor python3: only the checks below\n");
	CHECK(strncmp(svg, "<?xml", 5) == 0);
	CHECK(strstr(svg, "<svg xmlns=\"http://www.w3.org/2000/svg\"") != NULL);
	CHECK(n > 7 && !strcmp(svg + n - 7, "</svg>\n"));

	CHECK(strstr(svg, "alloc+put, one at a time, ns/obj") != NULL);
	CHECK(strstr(svg, "alloc+put, bulks of 32, ns/obj") != NULL);
	CHECK(strstr(svg, "cross-thread, bulks of 32, Mobj/s") != NULL);
	CHECK_EQ(count(svg, "data-impl=\"netmem\""), 3);
	CHECK_EQ(count(svg, "data-impl=\"malloc\""), 3);
	CHECK_EQ(count(svg, "netmem/malloc "), 3);
	if (dpdk) {
		CHECK_EQ(count(svg, "data-impl=\"dpdk\""), 3);
		CHECK_EQ(count(svg, "netmem/dpdk "), 3);
	} else {
		CHECK_EQ(count(svg, "not measured: DPDK skipped"), 3);
	}
	/* Three runs of a few ms each never agree to the last digit. */
	CHECK(count(svg, "class=\"spread\"") >= 6);

	/* A file that cannot be written; --plot without a name. */
	CHECK(iu_out(out, sizeof(out), "'%s/netmem' bench pool --quick --reps 1 --plot "
		     "/nonexistent/dir/p.svg 2>&1 >/dev/null", NM_BUILD_DIR) == 1);
	CHECK(strstr(out, "/nonexistent/dir/p.svg") != NULL);
	CHECK(iu_sh("'%s/netmem' bench pool --plot >/dev/null 2>&1", NM_BUILD_DIR) == 2);

	/* bench rx: two cases, one short rep each. */
	CHECK(iu_out(out, sizeof(out), "'%s/netmem' bench rx --seconds 0.2 --reps 1 "
		     "--impl uring,plain --plot '%s' 2>&1", NM_BUILD_DIR, file) == 0);
	f = fopen(file, "r");
	REQUIRE(f);
	n = fread(svg, 1, sizeof(svg) - 1, f);
	svg[n] = 0;
	fclose(f);
	if (!iu_sh("command -v xmllint >/dev/null"))
		CHECK(iu_sh("xmllint --noout '%s'", file) == 0);
	CHECK(n > 7 && !strcmp(svg + n - 7, "</svg>\n"));
	CHECK(strstr(svg, "loopback TCP receive throughput, Gbit/s") != NULL);
	CHECK(strstr(svg, "receiver CPU per GB received, CPU s/GB") != NULL);
	CHECK_EQ(count(svg, "data-impl=\"uring\""), 2);
	CHECK_EQ(count(svg, "data-impl=\"plain\""), 2);
	CHECK_EQ(count(svg, "uring/plain "), 4);

	unlink(file);
	rmdir(path);
	return t_done();
}

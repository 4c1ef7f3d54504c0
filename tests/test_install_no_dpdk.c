/* SPDX-License-Identifier: MIT */
/*
 * DPDK is no run-time dependency of what `make install` installs: neither
 * the netmem command nor libnetmem names a DPDK library (librte_*) among
 * the libraries it needs (readelf -d), and the installed command runs
 * where the DPDK baseline cannot be loaded: `netmem version` works, and
 * `netmem bench pool` runs its netmem and malloc figures and says why
 * there is no DPDK figure.  (The loader cannot hide system libraries from
 * a program linked against them, so the NEEDED check is what proves it;
 * the run hides the one module that does link DPDK.)  Where netmem was
 * built with libdpdk, the module is installed and found by the installed
 * command on its own.
 */
#include "harness.h"
#include "install_util.h"
#include <sys/stat.h>

static char out[1 << 16];

int main(void)
{
	const char *prefix;
	char mod[600];
	struct stat st;

	if (iu_sh("command -v cmake >/dev/null && command -v readelf >/dev/null"))
		SKIP("cmake or readelf (binutils) not installed");
	prefix = iu_install();

	REQUIRE(iu_out(out, sizeof(out), "readelf -d '%s/bin/netmem' %s/lib*/libnetmem.so* "
		       "%s/lib/*/libnetmem.so* 2>/dev/null | grep NEEDED", prefix, prefix,
		       prefix) == 0);
	printf("NEEDED:\n%s", out);
	CHECK(strstr(out, "librte_") == NULL);
	CHECK(strstr(out, "libc.so") != NULL);

	CHECK(iu_out(out, sizeof(out), "'%s/bin/netmem' version", prefix) == 0);
	printf("%s", out);
	CHECK(strstr(out, nm_version()) != NULL);

	CHECK(iu_out(out, sizeof(out), "NETMEM_BENCH_DPDK=/nonexistent/netmem-bench-dpdk.so "
		     "'%s/bin/netmem' bench pool --quick --reps 1 --json 2>&1", prefix) == 0);
	printf("%s", out);
	CHECK(strstr(out, "dpdk: skipped: not available") != NULL);
	CHECK(strstr(out, "\"bench\":\"alloc_put\",\"impl\":\"netmem\"") != NULL);
	CHECK(strstr(out, "\"impl\":\"dpdk\"") == NULL);

	snprintf(mod, sizeof(mod), "%s/lib/netmem/netmem-bench-dpdk.so", prefix);
	if (stat(NM_BUILD_DIR "/netmem-bench-dpdk.so", &st) == 0) {
		/* Built with libdpdk: the module is installed beside the
		 * library and the installed command loads it by itself. */
		if (iu_out(mod, sizeof(mod), "ls %s/lib*/netmem/netmem-bench-dpdk.so "
			   "%s/lib/*/netmem/netmem-bench-dpdk.so 2>/dev/null", prefix, prefix)) {
			/* ls fails when one pattern matches nothing */
		}
		CHECK(strstr(mod, "netmem-bench-dpdk.so") != NULL);
		CHECK(iu_out(out, sizeof(out), "'%s/bin/netmem' bench pool --quick --reps 1 "
			     "--json 2>&1", prefix) == 0);
		CHECK(strstr(out, "not available") == NULL);
		if (strstr(out, "dpdk: skipped"))
			printf("note: DPDK module loaded, but DPDK itself was skipped:\n%s", out);
		else
			CHECK(strstr(out, "\"impl\":\"dpdk\"") != NULL);
	} else {
		printf("note: built without libdpdk: no module to find\n");
	}
	return t_done();
}

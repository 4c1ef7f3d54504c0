/* SPDX-License-Identifier: MIT */
/*
 * `netmem version` and `netmem --version` print "netmem X.Y.Z" and exit 0,
 * and X.Y.Z is what nm_version() returns and what the header's
 * NETMEM_VERSION_* say: the version is set in one place (netmem.h; CMake
 * reads it from there), so none of them can drift from the others.
 */
#include "cli_util.h"
#include <netmem/netmem.h>

static void one(const char *bin, const char *arg, const char *want)
{
	const char *argv[] = { bin, arg, NULL };
	char out[256];
	size_t len;
	int out_fd, rc;
	pid_t pid = t_spawn(argv, NULL, &out_fd, NULL);

	REQUIRE(pid > 0);
	len = t_read_into(out_fd, out, sizeof(out), 0, 15);
	out[len < sizeof(out) ? len : sizeof(out) - 1] = 0;
	rc = t_wait(pid, 15);
	close(out_fd);
	if (rc != 0 || strcmp(out, want))
		fprintf(stderr, "netmem %s: exit %d, printed '%s', expected '%s'\n", arg, rc, out,
			want);
	CHECK_EQ(rc, 0);
	CHECK(strcmp(out, want) == 0);
}

int main(void)
{
	const char *bin = t_netmem();
	char hdr[64], want[80];

	snprintf(hdr, sizeof(hdr), "%d.%d.%d", NETMEM_VERSION_MAJOR, NETMEM_VERSION_MINOR,
		 NETMEM_VERSION_PATCH);
	CHECK(strcmp(nm_version(), hdr) == 0);
	snprintf(want, sizeof(want), "netmem %s\n", hdr);
	one(bin, "version", want);
	one(bin, "--version", want);
	printf("netmem version, --version: %s", want);
	return t_done();
}

/* SPDX-License-Identifier: MIT */
/*
 * `make install` (cmake --install) puts the man pages where man finds
 * them: after an install into a temporary prefix, `man -M PREFIX/share/man
 * 3 nm_pool_alloc` shows the function's page (name, synopsis, return
 * value, its errnos) and `man ... 1 netmem` the command's, with its
 * commands and options.  Uses man-db's man, or groff or mandoc on the
 * installed file when man is absent.
 */
#include "harness.h"
#include "install_util.h"
#include <sys/stat.h>

static char out[1 << 17];

/* The rendered page, as plain text, into out. */
static int render(const char *mandir, const char *sec, const char *name)
{
	if (!iu_sh("command -v man >/dev/null"))
		return iu_out(out, sizeof(out), "MANPAGER=cat MANWIDTH=100 man -M '%s' %s %s "
			      "2>&1 | col -b", mandir, sec, name);
	if (!iu_sh("command -v mandoc >/dev/null"))
		return iu_out(out, sizeof(out), "mandoc -Tascii '%s/man%s/%s.%s' | col -b",
			      mandir, sec, name, sec);
	return iu_out(out, sizeof(out), "groff -man -Tascii '%s/man%s/%s.%s' | col -b",
		      mandir, sec, name, sec);
}

int main(void)
{
	char mandir[512];
	const char *prefix;
	struct stat st;

	if (iu_sh("command -v cmake >/dev/null"))
		SKIP("cmake not installed");
	if (iu_sh("command -v python3 >/dev/null"))
		SKIP("python3 not installed: the build makes no man pages");
	if (iu_sh("command -v man >/dev/null || command -v mandoc >/dev/null || "
		  "command -v groff >/dev/null"))
		SKIP("none of man, mandoc, groff is installed (apt-get install man-db)");
	/* With python3 here, the build must have made them. */
	if (stat(NM_BUILD_DIR "/man/man3", &st)) {
		fprintf(stderr, "no man pages in %s/man (is python3 newer than the "
			"build's configuration? re-run cmake)\n", NM_BUILD_DIR);
		return 1;
	}
	prefix = iu_install();
	snprintf(mandir, sizeof(mandir), "%s/share/man", prefix);

	CHECK(render(mandir, "3", "nm_pool_alloc") == 0);
	printf("%s", out);
	CHECK(strstr(out, "nm_pool_alloc - take one whole chunk") != NULL);
	CHECK(strstr(out, "int nm_pool_alloc(struct nm_pool *pool, struct nm_buf *buf);") != NULL);
	CHECK(strstr(out, "#include <netmem/netmem.h>") != NULL);
	CHECK(strstr(out, "RETURN VALUE") != NULL);
	CHECK(strstr(out, "ERRORS") != NULL);
	CHECK(strstr(out, "ENOMEM") != NULL && strstr(out, "ENODEV") != NULL &&
	      strstr(out, "EINVAL") != NULL);

	CHECK(render(mandir, "3", "libnetmem") == 0);
	CHECK(strstr(out, "nm_rx_create(3)") != NULL);

	CHECK(render(mandir, "1", "netmem") == 0);
	printf("%.2000s...\n", out);
	CHECK(strstr(out, "NETMEM(1)") != NULL);
	CHECK(strstr(out, "netmem rx") != NULL && strstr(out, "netmem tx") != NULL);
	CHECK(strstr(out, "--listen") != NULL);
	CHECK(strstr(out, "netmem bench pool") != NULL);
	return t_done();
}

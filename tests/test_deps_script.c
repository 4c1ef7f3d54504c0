/* SPDX-License-Identifier: MIT */
/*
 * scripts/deps.sh (the first step of `make`, `make demo`, `make test`)
 * says what it installs and shows progress, run here against stand-ins
 * for dpkg-query, apt-get and id put first on PATH (nothing is installed):
 *  - with every package present it prints nothing and succeeds;
 *  - with some missing it names each with what it is for, runs apt-get
 *    update and install, and turns apt's status lines (APT::Status-Fd)
 *    into progress lines, at most one per 5 %, then a closing line;
 *  - a failing apt-get install fails it, with apt's own output shown;
 *  - not root, it says which packages to install and fails.
 */
#include "harness.h"
#include "install_util.h"
#include <sys/stat.h>

static char dir[] = "/tmp/netmem-deps-XXXXXX";
static char out[1 << 16];

static void stub(const char *name, const char *body)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	REQUIRE(f);
	fprintf(f, "#!/bin/bash\n%s\n", body);
	REQUIRE(fclose(f) == 0);
	REQUIRE(chmod(path, 0755) == 0);
}

static int count(const char *hay, const char *needle)
{
	int n = 0;

	for (const char *p = hay; (p = strstr(p, needle)); p += strlen(needle))
		n++;
	return n;
}

static int run(void)
{
	return iu_out(out, sizeof(out), "cd '%s' && PATH='%s':$PATH bash scripts/deps.sh 2>&1",
		      iu_src_dir(), dir);
}

int main(void)
{
	REQUIRE(mkdtemp(dir));
	/* $dir/missing lists the packages dpkg-query calls missing. */
	stub("dpkg-query", "p=${@: -1}; grep -qx \"$p\" \"$(dirname $0)/missing\" && exit 1; "
			   "printf 'install ok installed'");
	stub("id", "[ \"$1\" = -u ] && cat \"$(dirname $0)/uid\"");
	/* install: 40 download and 100 unpack/configure status lines on fd 3 */
	stub("apt-get",
	     "echo \"apt-get $*\" >> \"$(dirname $0)/calls\"\n"
	     "[ \"$1\" = update ] && { echo 'Hit:1 http://deb.example bookworm InRelease'; exit 0; }\n"
	     "[ -e \"$(dirname $0)/fail\" ] && { echo 'E: Unable to locate package bc'; exit 100; }\n"
	     "for i in $(seq 0 39); do echo \"dlstatus:$i:$((i * 100 / 39)).0000:Retrieving file $i of 40\" >&3; done\n"
	     "for i in $(seq 0 99); do echo \"pmstatus:pkg$i:$i.5000:Setting up pkg$i\" >&3; done\n"
	     "echo 'Setting up bc (1.07.1-3+b1) ...'");

	/* Nothing missing: silent. */
	REQUIRE(iu_sh("cd '%s' && : > missing && echo 0 > uid", dir) == 0);
	CHECK(run() == 0);
	CHECK(out[0] == 0);
	if (out[0])
		printf("unexpected output:\n%s", out);

	/* Two missing. */
	REQUIRE(iu_sh("cd '%s' && printf 'bc\\npython3\\n' > missing", dir) == 0);
	CHECK(run() == 0);
	printf("%s", out);
	CHECK(strstr(out, "deps: 2 Debian package(s) missing") != NULL);
	CHECK(strstr(out, "  bc ") != NULL && strstr(out, "python3 ") != NULL);
	CHECK(strstr(out, "scripts/gen-man.py") != NULL);	/* what python3 is for */
	CHECK(strstr(out, "deps: apt-get install --no-install-recommends python3 bc") != NULL);
	CHECK(count(out, "deps: download") >= 10 && count(out, "deps: download") <= 22);
	CHECK(strstr(out, "deps: download 100%") != NULL);
	CHECK(count(out, "deps: install ") >= 15 && count(out, "deps: install ") <= 21);
	CHECK(strstr(out, "Setting up pkg99") != NULL || strstr(out, "Setting up pkg95") != NULL);
	CHECK(strstr(out, "deps: installed 2 package(s)") != NULL);
	CHECK(strstr(out, "Setting up bc (") == NULL);		/* apt's log is kept quiet */
	CHECK(iu_sh("grep -q 'apt-get install .*python3 bc' '%s/calls'", dir) == 0);

	/* apt-get install fails: its output is shown. */
	REQUIRE(iu_sh("touch '%s/fail'", dir) == 0);
	CHECK(run() == 1);
	CHECK(strstr(out, "E: Unable to locate package bc") != NULL);
	CHECK(strstr(out, "apt-get install failed") != NULL);

	/* Not root. */
	REQUIRE(iu_sh("echo 1000 > '%s/uid'", dir) == 0);
	CHECK(run() == 1);
	CHECK(strstr(out, "not root; install them with: apt-get install python3 bc") != NULL);

	iu_sh("rm -rf '%s'", dir);
	return t_done();
}

/* SPDX-License-Identifier: MIT */
/*
 * The mutation list (tests/mutations.txt, run by `make mutate`) still
 * applies to the code: every entry's text is found exactly once in its
 * file.  A change to a line the list names fails here, so the list moves
 * with the code instead of rotting: give the entry the new text (the same
 * bug, written against the new line).  Cheap: it reads files, builds
 * nothing.  Skips without python3.
 */
#include "harness.h"
#include <libgen.h>
#include <sys/wait.h>
#include <unistd.h>

int main(void)
{
	char file[4096], src[4096], cmd[8192];
	int r;

	/* The tree's root: this file is <root>/tests/test_mutations_list.c
	 * (CMake compiles it by its absolute path). */
	snprintf(file, sizeof(file), "%s", __FILE__);
	if (file[0] != '/')
		SKIP("compiled by a relative path (%s): cannot find the tree", __FILE__);
	snprintf(src, sizeof(src), "%s", dirname(dirname(file)));
	if (system("command -v python3 >/dev/null 2>&1"))
		SKIP("no python3");
	snprintf(cmd, sizeof(cmd), "python3 '%s/scripts/mutate.py' --check", src);
	r = system(cmd);
	if (r)
		fprintf(stderr, "%s: exit %d: update tests/mutations.txt\n", cmd,
			WIFEXITED(r) ? WEXITSTATUS(r) : -1);
	CHECK_EQ(r, 0);
	return t_done();
}

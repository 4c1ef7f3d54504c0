/* SPDX-License-Identifier: MIT */
/*
 * The man pages are whole and cannot drift from their source:
 *  - every public function in include/netmem/ headers has a doc comment that
 *    starts with its name and says what it returns and which errnos (or
 *    that it cannot fail): scripts/gen-man.py check passes;
 *  - every errno a public function's own code returns (return -E...,
 *    errno = E...) is named in its doc comment (gen-man.py check --src);
 *  - the checks are real: a copy of netmem.h with one comment renamed, or
 *    with one "Return:" taken out, or with one errno left out of a
 *    comment, is refused, naming the function;
 *  - every function the built libnetmem.so exports has its page in the
 *    build's man/man3, with NAME, SYNOPSIS, RETURN VALUE and ERRORS;
 *  - netmem(1) lists every option that `netmem rx --help` and
 *    `netmem tx --help` print (it is made from them at build time).
 */
#include "harness.h"
#include "install_util.h"
#include <ctype.h>
#include <sys/stat.h>

static char out[1 << 16];

/* gen-man.py check over the headers, with netmem.h replaced by @alt. */
static int check_with(const char *alt, char *o, size_t n)
{
	const char *src = iu_src_dir();

	return iu_out(o, n, "cd '%s/include/netmem' && python3 '%s/scripts/gen-man.py' check "
		      "'%s' cuda.h provider.h rx.h --src '%s/src' 2>&1", src, src, alt, src);
}

static void refused(const char *sed, const char *what, const char *says)
{
	char tmp[] = "/tmp/netmem-manhdr-XXXXXX";
	char path[64];
	int fd = mkstemp(tmp);

	REQUIRE(fd >= 0);
	close(fd);
	snprintf(path, sizeof(path), "%s", tmp);
	REQUIRE(iu_sh("sed '%s' '%s/include/netmem/netmem.h' > '%s'", sed, iu_src_dir(),
		      path) == 0);
	CHECK(check_with(path, out, sizeof(out)) == 1);
	printf("%s: %s", what, out);
	CHECK(strstr(out, says) != NULL);
	unlink(path);
}

static int has_page(const char *sym)
{
	char path[512];
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "%s/man/man3/%s.3", NM_BUILD_DIR, sym);
	f = fopen(path, "r");
	if (!f) {
		fprintf(stderr, "no page for %s: %s\n", sym, path);
		return 0;
	}
	n = fread(out, 1, sizeof(out) - 1, f);
	out[n] = 0;
	fclose(f);
	if (!strstr(out, ".SH NAME") || !strstr(out, ".SH SYNOPSIS") ||
	    !strstr(out, ".SH RETURN VALUE") || !strstr(out, ".SH ERRORS")) {
		fprintf(stderr, "%s: a section is missing\n", path);
		return 0;
	}
	return 1;
}

/* Every "--option" at the start of a help line is in netmem.1. */
static void options_in_page(const char *cmd, const char *page)
{
	static char help[1 << 14];
	char *line, *save = NULL;
	int n = 0;

	iu_out(help, sizeof(help), "'%s/netmem' %s --help 2>&1", NM_BUILD_DIR, cmd);
	for (line = strtok_r(help, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *tag = line + strspn(line, " "), *end = strstr(tag, "  ");

		/* An option line: "  -s, --server   text" or "  --listen H:P  text". */
		if (*tag != '-')
			continue;
		if (end)
			*end = 0;
		for (char *o = strstr(tag, "--"); o; o = strstr(o + 2, "--")) {
			char esc[160], *e = esc;

			/* The page writes '-' as "\-". */
			for (const char *s = o; (*s == '-' || isalnum((unsigned char)*s)) &&
			     e < esc + sizeof(esc) - 3; s++) {
				if (*s == '-')
					*e++ = '\\';
				*e++ = *s;
			}
			*e = 0;
			if (!strstr(page, esc)) {
				fprintf(stderr, "netmem.1 lacks %s %s\n", cmd, o);
				nm_test_failures++;
			}
			n++;
		}
	}
	printf("netmem %s: %d options, all in netmem.1\n", cmd, n);
	CHECK(n > 3);
}

int main(void)
{
	static char syms[1 << 14], page[1 << 16];
	char *line, *save = NULL;
	int n = 0;
	struct stat st;
	FILE *f;

	if (iu_sh("command -v python3 >/dev/null"))
		SKIP("python3 not installed: scripts/gen-man.py cannot run");
	/* With python3 here, the build must have made them. */
	if (stat(NM_BUILD_DIR "/man/man3", &st)) {
		fprintf(stderr, "no man pages in %s/man (is python3 newer than the "
			"build's configuration? re-run cmake)\n", NM_BUILD_DIR);
		return 1;
	}

	CHECK(check_with("netmem.h", out, sizeof(out)) == 0);
	printf("check: %s", out);

	/* A comment that names another function, and one without Return:. */
	refused("s/^ \\* nm_pool_alloc - / * nm_pool_alloc_x - /", "renamed comment",
		"nm_pool_alloc: its doc comment must start");
	refused("/^ \\* nm_pool_alloc - /,/^ \\*\\//{s/Return:/It gives:/}", "no Return:",
		"nm_pool_alloc: its doc comment has no \"Return:\"");
	refused("/^ \\* nm_pool_destroy - /,/^ \\*\\//{s/-EALREADY//}", "an errno left out",
		"nm_pool_destroy returns EALREADY, which its doc comment");

	/* Pages for every function the library exports. */
	if (iu_sh("command -v nm >/dev/null"))
		SKIP("nm (binutils) not installed");
	REQUIRE(iu_out(syms, sizeof(syms), "nm -D --defined-only '%s/libnetmem.so' | "
		       "awk '$2 == \"T\" { print $3 }' | sed 's/@.*//'", NM_BUILD_DIR) == 0);
	for (line = strtok_r(syms, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		CHECK(has_page(line));
		n++;
	}
	printf("%d exported functions, each with its page\n", n);
	CHECK(n > 50);
	CHECK(access(NM_BUILD_DIR "/man/man3/libnetmem.3", R_OK) == 0);

	f = fopen(NM_BUILD_DIR "/man/man1/netmem.1", "r");
	REQUIRE(f);
	page[fread(page, 1, sizeof(page) - 1, f)] = 0;
	fclose(f);
	CHECK(strstr(page, ".SH SYNOPSIS") != NULL);
	options_in_page("rx", page);
	options_in_page("tx", page);
	return t_done();
}

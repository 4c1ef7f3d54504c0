/* SPDX-License-Identifier: MIT */
/*
 * nm_strerror: every errno the public headers document (read from the
 * headers in include/netmem/, so a newly documented one is checked too)
 * has a text of its own: not empty, not the C library's "Unknown error",
 * not "invalid argument" unless it is EINVAL, the same for err and -err.  Where netmem gives an errno several meanings,
 * the text names each of them (ENODEV: a revoked area and no device at
 * all; EALREADY: a double put and a thing already revoked or closed;
 * ENOENT, EEXIST, ENOSPC, EFAULT, ERANGE, EOPNOTSUPP likewise), so the
 * text is true for every function that returns it.
 */
#include "harness.h"
#include <ctype.h>
#include <limits.h>
#include <dirent.h>

#define E(x) { #x, x }
static const struct { const char *name; int err; } names[] = {
	E(E2BIG), E(EACCES), E(EADDRINUSE), E(EADDRNOTAVAIL), E(EAFNOSUPPORT),
	E(EAGAIN), E(EALREADY), E(EBADF), E(EBADMSG), E(EBUSY), E(ECANCELED),
	E(ECONNABORTED), E(ECONNREFUSED), E(ECONNRESET), E(EDOM), E(EEXIST),
	E(EFAULT), E(EFBIG), E(EHOSTUNREACH), E(EINPROGRESS), E(EINTR),
	E(EINVAL), E(EIO), E(EISCONN), E(EISDIR), E(ELOOP), E(EMFILE),
	E(EMLINK), E(EMSGSIZE), E(ENAMETOOLONG), E(ENETDOWN), E(ENETUNREACH),
	E(ENFILE), E(ENOBUFS), E(ENODATA), E(ENODEV), E(ENOENT), E(ENOEXEC),
	E(ENOLCK), E(ENOMEM), E(ENOPROTOOPT), E(ENOSPC), E(ENOSYS),
	E(ENOTCONN), E(ENOTDIR), E(ENOTEMPTY), E(ENOTSOCK), E(ENOTSUP),
	E(ENOTTY), E(ENXIO), E(EOPNOTSUPP), E(EOVERFLOW), E(EPERM), E(EPIPE),
	E(EPROTO), E(EPROTONOSUPPORT), E(ERANGE), E(EROFS), E(ESHUTDOWN),
	E(ESPIPE), E(ESRCH), E(ETIME), E(ETIMEDOUT), E(ETXTBSY), E(EWOULDBLOCK),
	E(EXDEV),
};
#undef E

/* What each text must name: one word or phrase per meaning the headers
 * give the errno. */
static const struct { int err; const char *must[6]; } meanings[] = {
	{ ENODEV,     { "revoked", "no such device" } },
	{ EALREADY,   { "double put", "no reference", "revoked", "closed", "pinned" } },
	{ ENOENT,     { "provider", "engine", "registration", "pin", "path" } },
	{ EEXIST,     { "registered", "path" } },
	{ ENOSPC,     { "table", "areas", "providers", "pins", "registrations", "connections" } },
	{ EFAULT,     { "not a buffer", "CPU address" } },
	{ ERANGE,     { "chunk", "buffer", "file" } },
	{ EOPNOTSUPP, { "kernel", "driver", "memory" } },
	{ EXDEV,      { "another pool" } },
};

static int name_err(const char *s, size_t n)
{
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strlen(names[i].name) == n && !memcmp(names[i].name, s, n))
			return names[i].err;
	return 0;
}

/* The errnos one header documents: each E[A-Z0-9]+ word that names one
 * (a -EWORD the table does not know is a failure: add it above). */
static int scan(const char *path, int *seen, int max, int n)
{
	FILE *f = fopen(path, "r");
	char line[1024];

	REQUIRE(f);
	while (fgets(line, sizeof(line), f)) {
		for (char *p = line; *p; p++) {
			size_t k = 0;
			int e;

			if (*p != 'E' || (p > line && (isalnum((unsigned char)p[-1]) ||
						      p[-1] == '_')))
				continue;
			while (isupper((unsigned char)p[k]) || isdigit((unsigned char)p[k]))
				k++;
			if (k < 3 || p[k] == '_' || islower((unsigned char)p[k]))
				continue;
			e = name_err(p, k);
			if (!e && p > line && p[-1] == '-') {
				fprintf(stderr, "%s: -%.*s: an errno this test does not know\n",
					path, (int)k, p);
				nm_test_failures++;
			}
			if (e) {
				int dup = 0;

				for (int i = 0; i < n; i++)
					dup |= seen[i] == e;
				if (!dup && n < max)
					seen[n++] = e;
			}
			p += k - 1;
		}
	}
	fclose(f);
	return n;
}

int main(void)
{
	char dir[4096], path[4400], *s;
	int seen[128], n = 0;
	DIR *d;
	struct dirent *de;

	/* the source tree: this file's folder's parent */
	snprintf(dir, sizeof(dir), "%s", __FILE__);
	for (int i = 0; i < 2 && (s = strrchr(dir, '/')); i++)
		*s = 0;
	strncat(dir, "/include/netmem", sizeof(dir) - strlen(dir) - 1);
	d = opendir(dir);
	if (!d)
		SKIP("no source tree at %s", dir);
	while ((de = readdir(d))) {
		size_t l = strlen(de->d_name);

		if (l < 3 || strcmp(de->d_name + l - 2, ".h"))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		n = scan(path, seen, 128, n);
	}
	closedir(d);
	CHECK(n >= 10);	/* the headers document at least these many */

	for (int i = 0; i < n; i++) {
		const char *t = nm_strerror(-seen[i]);

		REQUIRE(t);
		if (!*t || !strncmp(t, "Unknown error", 13) ||
		    (seen[i] != EINVAL && !strcmp(t, nm_strerror(-EINVAL)))) {
			fprintf(stderr, "errno %d: generic text \"%s\"\n", seen[i], t);
			nm_test_failures++;
		}
		CHECK(!strcmp(t, nm_strerror(seen[i])));
	}
	for (size_t i = 0; i < sizeof(meanings) / sizeof(meanings[0]); i++) {
		const char *t = nm_strerror(-meanings[i].err);
		int documented = 0;

		for (int k = 0; k < n; k++)
			documented |= seen[k] == meanings[i].err;
		CHECK(documented);
		for (int k = 0; k < 6 && meanings[i].must[k]; k++)
			if (!strstr(t, meanings[i].must[k])) {
				fprintf(stderr, "errno %d: \"%s\" does not say \"%s\"\n",
					meanings[i].err, t, meanings[i].must[k]);
				nm_test_failures++;
			}
	}
	CHECK(!strcmp(nm_strerror(0), "success"));
	CHECK(nm_strerror(-INT_MAX) != NULL);
	CHECK(nm_strerror(INT_MIN) != NULL);
	printf("%d documented errnos checked\n", n);
	return t_done();
}

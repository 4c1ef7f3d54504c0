/* SPDX-License-Identifier: MIT */
/*
 * fuzz_util.h - what the fuzzers share: reading the input as a stream of
 * choices, failing loudly (abort: libFuzzer then keeps the input), and
 * stepping around bugs already reported.
 *
 * NM_FUZZ_SKIP=name,name... skips the checks of known, reported bugs, so
 * that a long run can look for new ones while those wait for their fix;
 * by default every check runs.  The names are listed in fuzz/README.md.
 */
#ifndef NM_FUZZ_UTIL_H
#define NM_FUZZ_UTIL_H
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FAIL(...) do { \
	fprintf(stderr, "%s:%d: ", __FILE__, __LINE__); \
	fprintf(stderr, __VA_ARGS__); fputc('\n', stderr); abort(); } while (0)
#define CHECK(c) do { if (!(c)) FAIL("check failed: %s", #c); } while (0)
#define CHECK_EQ(a, e) do { \
	long long _a = (long long)(a), _e = (long long)(e); \
	if (_a != _e) FAIL("%s == %lld, expected %lld", #a, _a, _e); } while (0)

/* Whether the known bug @name is to be stepped around (NM_FUZZ_SKIP). */
static inline int fz_skip(const char *name)
{
	const char *s = getenv("NM_FUZZ_SKIP");
	size_t n = strlen(name);

	while (s && *s) {
		if (!strncmp(s, name, n) && (s[n] == ',' || !s[n]))
			return 1;
		s = strchr(s, ',');
		if (s)
			s++;
	}
	return 0;
}

/* The input, read front to back; zeros once it runs out. */
struct fz_in {
	const uint8_t *p;
	size_t left;
};

static inline unsigned int fz_byte(struct fz_in *in)
{
	if (!in->left)
		return 0;
	in->left--;
	return *in->p++;
}

/* A number below @n (n >= 1): one byte, two when n > 256. */
static inline unsigned int fz_below(struct fz_in *in, unsigned int n)
{
	unsigned int v = fz_byte(in);

	if (n > 256)
		v = v << 8 | fz_byte(in);
	return v % n;
}
#endif

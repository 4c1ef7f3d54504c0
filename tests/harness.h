/* SPDX-License-Identifier: MIT */
/*
 * harness.h - the test conventions (liburing's): one feature per file, exit
 * 0 on pass, 1 on failure, 77 to skip with the reason printed.
 */
#ifndef NM_TEST_HARNESS_H
#define NM_TEST_HARNESS_H
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <time.h>
#include <netmem/netmem.h>

#define T_SKIP 77

/* Which sanitizer this test was built with, if any. */
#if defined(__SANITIZE_THREAD__)
#define T_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define T_TSAN 1
#endif
#endif
#ifndef T_TSAN
#define T_TSAN 0
#endif
#if defined(__SANITIZE_ADDRESS__)
#define T_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define T_ASAN 1
#endif
#endif
#ifndef T_ASAN
#define T_ASAN 0
#endif

/* Whether a sanitizer slows this run down, so a test shrinks its work:
 * built with one, or NM_SANITIZED set (make sanitize / make tsan set it). */
static inline int t_sanitized(void)
{
	return T_TSAN || T_ASAN || getenv("NM_SANITIZED") != NULL;
}

extern int nm_test_failures;

#define CHECK(cond) do { \
	if (!(cond)) { \
		fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
		nm_test_failures++; \
	} } while (0)

#define REQUIRE(cond) do { \
	if (!(cond)) { \
		fprintf(stderr, "%s:%d: required: %s\n", __FILE__, __LINE__, #cond); \
		exit(1); \
	} } while (0)

/* Expect an int result equal to e, printing both on failure. */
#define CHECK_EQ(a, e) do { \
	long long _a = (long long)(a), _e = (long long)(e); \
	if (_a != _e) { \
		fprintf(stderr, "%s:%d: %s == %lld, expected %lld\n", \
			__FILE__, __LINE__, #a, _a, _e); \
		nm_test_failures++; \
	} } while (0)

#define SKIP(...) do { \
	fprintf(stdout, "SKIP: "); fprintf(stdout, __VA_ARGS__); \
	fprintf(stdout, "\n"); fflush(stdout); exit(T_SKIP); } while (0)

/* Wait a little for another thread of the test: a 20 us sleep, not
 * sched_yield().  With other programs runnable on every CPU a yield hands
 * them a whole slice, and a hand-over between two threads crawls (minutes
 * a run beside two busy loops); a sleep leaves the CPU to whoever the
 * test waits for. */
static inline void t_nap(void)
{
	struct timespec ts = { 0, 20000 };

	nanosleep(&ts, NULL);
}

/* End a test: 0 if no check failed. */
static inline int t_done(void)
{
	if (nm_test_failures)
		fprintf(stderr, "%d check(s) failed\n", nm_test_failures);
	return nm_test_failures ? 1 : 0;
}

/* A host area + pool of n chunks of 4K<<order, or exit(1). */
struct nm_area *t_host_area(size_t chunks, unsigned int order);

/* Whether two snapshots of a pool agree on every good-operation counter
 * and on the in-flight state (a rejected call must move none of them);
 * prints the first that differs. */
int t_same_good_stats(const struct nm_pool_stats *a, const struct nm_pool_stats *b);

/* For providers a test registers: back an area with anonymous memory,
 * CPU-readable, its IO address the CPU one (area_init's work), and give
 * it back (area_fini's).  Return 0 or -errno. */
struct nm_area_mem;
int t_anon_init(struct nm_area_mem *m);
void t_anon_fini(struct nm_area_mem *m);

/* Whether we run as root (CAP_NET_ADMIN, hugepages). */
int t_is_root(void);
/* The unsigned number after "KEY": in a JSON text (the first such key),
 * or ~0 when there is none. */
static inline unsigned long long t_json_u(const char *json, const char *key)
{
	char k[64];
	const char *p;

	snprintf(k, sizeof(k), "\"%s\":", key);
	p = strstr(json, k);
	return p ? strtoull(p + strlen(k), NULL, 10) : ~0ull;
}

#endif

/* SPDX-License-Identifier: MIT */
/*
 * fault.h - test-only fault injection: make the Nth fallible call of the
 * library fail, with the errno that call would really give.
 *
 * Every fallible step of the slow paths (malloc and friends, mmap,
 * eventfd, epoll, memfd, socket, accept, io_uring setup and buffer-ring
 * registration, thread creation, and the core's calls into a provider's
 * area_init, alloc_bulk and sync) goes through a wrapper here.  All of
 * them share one counter: a test arms it with N, runs a scenario, and the
 * Nth such call from then on fails (once).  Armed with 0 it only counts,
 * so a test learns how many fallible calls a scenario makes and can sweep
 * N over every one of them.
 *
 * Off (the normal state) a wrapper costs one relaxed load of a flag that
 * never changes, and none of them is on the pool's alloc/put fast path.
 * Not exported from the shared library (hidden, not in libnetmem.map):
 * tests link the static library and include this header.
 */
#ifndef NM_UTIL_FAULT_H
#define NM_UTIL_FAULT_H

#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <sys/mman.h>

#define NM_FAULT_STR_(x) #x
#define NM_FAULT_STR(x) NM_FAULT_STR_(x)
/* The site a wrapper names in nm_fault_site(): file and line. */
#define NM_FAULT_HERE __FILE__ ":" NM_FAULT_STR(__LINE__)

/* Non-zero while armed or counting. */
extern _Atomic int nm_fault_on;

/* Count fallible calls from now; the @n-th fails (0: count only). */
void nm_fault_arm(unsigned long n);
/* Stop counting and injecting. */
void nm_fault_off(void);
/* Fallible calls seen since the last nm_fault_arm(). */
unsigned long nm_fault_count(void);
/* Where the armed fault was injected ("file:line"), or NULL if the
 * scenario made fewer calls than the N armed. */
const char *nm_fault_site(void);

int nm_fault_hit_slow(const char *site);

/* Whether the call at @site is to fail now. */
static inline int nm_fault_hit(const char *site)
{
	if (__builtin_expect(!atomic_load_explicit(&nm_fault_on,
						   memory_order_relaxed), 1))
		return 0;
	return nm_fault_hit_slow(site);
}

/* For calls that return -errno: `r = NM_FAULT(-ENOMEM, call(...));` */
#define NM_FAULT(err, expr) (nm_fault_hit(NM_FAULT_HERE) ? (err) : (expr))

/* For calls that return -1 (or NULL, MAP_FAILED) and set errno. */
#define NM_FAULT_ERRNO(err, fail, expr) \
	(nm_fault_hit(NM_FAULT_HERE) ? (errno = (err), (fail)) : (expr))

#define nm_malloc(n)        NM_FAULT_ERRNO(ENOMEM, (void *)0, malloc(n))
#define nm_calloc(n, s)     NM_FAULT_ERRNO(ENOMEM, (void *)0, calloc((n), (s)))
#define nm_realloc(p, n)    NM_FAULT_ERRNO(ENOMEM, (void *)0, realloc((p), (n)))
#define nm_aligned_alloc(a, n) \
	NM_FAULT_ERRNO(ENOMEM, (void *)0, aligned_alloc((a), (n)))
#define nm_mmap(a, l, p, f, fd, o) \
	NM_FAULT_ERRNO(ENOMEM, MAP_FAILED, mmap((a), (l), (p), (f), (fd), (o)))
/* fd-making calls: the process is out of descriptors. */
#define nm_fd_call(expr)    NM_FAULT_ERRNO(EMFILE, -1, (expr))

#endif

/* SPDX-License-Identifier: MIT */
/*
 * fault.c - the counter behind fault.h.  One counter for every fallible
 * call, shared by all threads (a receiver's queue threads included), so
 * "the Nth call" is well defined for a scenario run alone.
 */
#include "fault.h"
#include <stddef.h>

_Atomic int nm_fault_on;
static _Atomic unsigned long fault_seen;
static _Atomic unsigned long fault_at;        /* 0: count only */
static _Atomic(const char *) fault_where;

void nm_fault_arm(unsigned long n)
{
	atomic_store(&nm_fault_on, 0);
	atomic_store(&fault_seen, 0);
	atomic_store(&fault_at, n);
	atomic_store(&fault_where, NULL);
	atomic_store(&nm_fault_on, 1);
}

void nm_fault_off(void)
{
	atomic_store(&nm_fault_on, 0);
}

unsigned long nm_fault_count(void)
{
	return atomic_load(&fault_seen);
}

const char *nm_fault_site(void)
{
	return atomic_load(&fault_where);
}

int nm_fault_hit_slow(const char *site)
{
	unsigned long k = atomic_fetch_add(&fault_seen, 1) + 1;

	if (k != atomic_load(&fault_at))
		return 0;
	atomic_store(&fault_where, site);
	return 1;
}

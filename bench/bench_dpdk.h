/* SPDX-License-Identifier: MIT */
/*
 * bench_dpdk.h - what `netmem bench pool` asks of its DPDK baseline.
 *
 * The baseline (bench/dpdk/dpdk_baseline.c) is a module of its own,
 * netmem-bench-dpdk.so, linked against DPDK and loaded with dlopen() when
 * the bench starts; neither libnetmem nor the netmem command is linked
 * against DPDK, so both run where DPDK's libraries are absent, and the
 * bench then says why there is no DPDK figure.  The timed loops live in the
 * module, where rte_mempool_get/put are inlined as a DPDK program has them;
 * the cross-thread run calls get_bulk/put_bulk through this table, one
 * indirect call per bulk of NM_BENCH_DPDK_BULK objects.
 *
 * The module exports one symbol, NM_BENCH_DPDK_SYM, of this type; a new
 * field or a change of meaning takes a new symbol name.
 */
#ifndef NM_BENCH_DPDK_H
#define NM_BENCH_DPDK_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define NM_BENCH_DPDK_SYM   "nm_bench_dpdk_v2"
#define NM_BENCH_DPDK_FILE  "netmem-bench-dpdk.so"
#define NM_BENCH_DPDK_BULK  32u

struct nm_bench_dpdk {
	/* Start EAL on @cpu[0..@ncpu) (no hugepages, no PCI, no shared
	 * config; the caller becomes lcore @cpu[0]) and make a mempool of
	 * @objs objects of @obj_size bytes with a per-lcore cache of @cache.
	 * *@worker: @cpu[1] is an EAL lcore that launch() can use.
	 * Return 0, or -1 with the reason in @why. */
	int (*init)(const int *cpu, int ncpu, unsigned int objs,
		    unsigned int obj_size, unsigned int cache, bool *worker,
		    char *why, size_t why_sz);
	/* Free the mempool, stop EAL, remove its runtime directory. */
	void (*fini)(void);
	/* Timed loops (bu_loop_fn): @n x (get + put) one object at a time,
	 * or in bulks of NM_BENCH_DPDK_BULK.  @arg points to an int set to
	 * 1 when a get fails. */
	void (*single)(void *arg, uint64_t n);
	void (*bulk)(void *arg, uint64_t n);
	/* rte_mempool_get_bulk (0, or -1: none taken) and put_bulk. */
	int (*get_bulk)(void **obj, unsigned int n);
	void (*put_bulk)(void *const *obj, unsigned int n);
	/* Run @fn(@arg) on the worker lcore; wait for it to return. */
	int (*launch)(int (*fn)(void *), void *arg);
	void (*wait)(void);
	/* held_K: a second mempool of @objs objects of @obj_size bytes,
	 * cache @cache; 0, or -1 with the reason in @why. */
	int (*held_init)(unsigned int objs, unsigned int obj_size, unsigned int cache,
			 char *why, size_t why_sz);
	/* @n cycles of: get @k objects into @obj in bulks of
	 * NM_BENCH_DPDK_BULK, then put them back in bulks of as many
	 * (@k a multiple of it).  0, or -1 when a get failed. */
	int (*held)(void **obj, unsigned int k, uint64_t n);
};

#endif /* NM_BENCH_DPDK_H */

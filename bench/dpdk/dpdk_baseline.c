/* SPDX-License-Identifier: MIT */
/*
 * dpdk_baseline.c - DPDK's rte_mempool as `netmem bench pool`'s baseline,
 * built as netmem-bench-dpdk.so (only where libdpdk is found) and loaded
 * by the bench with dlopen(): see ../bench_dpdk.h.  It is the only code of
 * the project that links DPDK.
 */
#include <stdio.h>
#include <unistd.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_launch.h>
#include <rte_lcore.h>
#include <rte_log.h>
#include <rte_mempool.h>
#include "../bench_dpdk.h"

#define BULK NM_BENCH_DPDK_BULK

static struct rte_mempool *mp, *held_mp;
static unsigned int worker = RTE_MAX_LCORE;
static char rundir[256];

static int dk_init(const int *cpu, int ncpu, unsigned int objs,
		   unsigned int obj_size, unsigned int cache, bool *worker_ok,
		   char *why, size_t why_sz)
{
	char lcores[32], prefix[64];
	char *argv[16];
	int argc = 0;

	*worker_ok = false;
	if (ncpu > 1)
		snprintf(lcores, sizeof(lcores), "%d,%d", cpu[0], cpu[1]);
	else
		snprintf(lcores, sizeof(lcores), "%d", cpu[0]);
	/* Our own runtime directory: runs side by side do not meet. */
	snprintf(prefix, sizeof(prefix), "--file-prefix=netmem-bench-%d", (int)getpid());
	argv[argc++] = "netmem-bench";
	argv[argc++] = "--no-huge";
	argv[argc++] = "-m";
	argv[argc++] = "512";
	argv[argc++] = "--no-pci";
	argv[argc++] = "--no-shconf";
	argv[argc++] = "--no-telemetry";
	argv[argc++] = "--log-level=error";
	argv[argc++] = "-l";
	argv[argc++] = lcores;
	argv[argc++] = prefix;
	argv[argc] = NULL;

	/* EAL logs to stdout by default; keep stdout for results. */
	rte_openlog_stream(stderr);
	if (rte_eal_init(argc, argv) < 0) {
		snprintf(why, why_sz, "EAL init failed: %s", rte_strerror(rte_errno));
		return -1;
	}
	snprintf(rundir, sizeof(rundir), "%s", rte_eal_get_runtime_dir());
	worker = rte_get_next_lcore(-1, 1, 0);
	*worker_ok = ncpu > 1 && worker < RTE_MAX_LCORE;
	mp = rte_mempool_create("nm_bench", objs, obj_size, cache, 0,
				NULL, NULL, NULL, NULL, (int)rte_socket_id(), 0);
	if (!mp) {
		snprintf(why, why_sz, "rte_mempool_create: %s", rte_strerror(rte_errno));
		return -1;
	}
	return 0;
}

static int dk_held_init(unsigned int objs, unsigned int obj_size, unsigned int cache,
			char *why, size_t why_sz)
{
	held_mp = rte_mempool_create("nm_bench_held", objs, obj_size, cache, 0,
				     NULL, NULL, NULL, NULL, (int)rte_socket_id(), 0);
	if (!held_mp) {
		snprintf(why, why_sz, "rte_mempool_create: %s", rte_strerror(rte_errno));
		return -1;
	}
	return 0;
}

static int dk_held(void **obj, unsigned int k, uint64_t n)
{
	for (uint64_t c = 0; c < n; c++) {
		for (unsigned int i = 0; i < k; i += BULK)
			if (__builtin_expect(rte_mempool_get_bulk(held_mp, obj + i, BULK) != 0, 0))
				return -1;
		for (unsigned int i = 0; i < k; i += BULK)
			rte_mempool_put_bulk(held_mp, obj + i, BULK);
	}
	return 0;
}

static void dk_fini(void)
{
	if (held_mp)
		rte_mempool_free(held_mp);
	held_mp = NULL;
	if (mp)
		rte_mempool_free(mp);
	mp = NULL;
	if (rundir[0]) {
		rte_eal_cleanup();
		rmdir(rundir);
		rundir[0] = 0;
	}
}

static void dk_single(void *arg, uint64_t n)
{
	void *o;

	for (uint64_t i = 0; i < n; i++) {
		if (__builtin_expect(rte_mempool_get(mp, &o) != 0, 0)) {
			*(int *)arg = 1;
			return;
		}
		rte_mempool_put(mp, o);
	}
}

static void dk_bulk(void *arg, uint64_t n)
{
	void *o[BULK];

	for (uint64_t i = 0; i < n; i++) {
		if (__builtin_expect(rte_mempool_get_bulk(mp, o, BULK) != 0, 0)) {
			*(int *)arg = 1;
			return;
		}
		rte_mempool_put_bulk(mp, o, BULK);
	}
}

static int dk_get_bulk(void **obj, unsigned int n)
{
	return rte_mempool_get_bulk(mp, obj, n) ? -1 : 0;
}

static void dk_put_bulk(void *const *obj, unsigned int n)
{
	rte_mempool_put_bulk(mp, obj, n);
}

static int dk_launch(int (*fn)(void *), void *arg)
{
	return rte_eal_remote_launch(fn, arg, worker);
}

static void dk_wait(void)
{
	rte_eal_wait_lcore(worker);
}

__attribute__((visibility("default")))
const struct nm_bench_dpdk nm_bench_dpdk_v2 = {
	.init     = dk_init,
	.fini     = dk_fini,
	.single   = dk_single,
	.bulk     = dk_bulk,
	.get_bulk = dk_get_bulk,
	.put_bulk = dk_put_bulk,
	.launch   = dk_launch,
	.wait     = dk_wait,
	.held_init = dk_held_init,
	.held     = dk_held,
};

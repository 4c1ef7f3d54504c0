/* SPDX-License-Identifier: MIT */
/*
 * bench_util.h - timing, pinning and output helpers shared by the netmem
 * benchmarks (bench/bench_*.c).  Small on purpose:
 *
 *   bu_now()                 monotonic seconds, as a double
 *   bu_calibrate(fn, a, s)   iterations of fn that take about s seconds
 *   bu_run_ns(fn, a, n)      run fn once for n iterations: ns per iteration
 *   bu_median(v, n)          median of n doubles (sorts v in place)
 *   bu_cpus(cpus, max)       the CPUs this process may run on, in order
 *   bu_pin(cpu)              pin the calling thread to one CPU
 *   bu_json_line(f, ...)     one result line in the benchmarks' JSON shape
 *
 * A loop function does its work @iters times and nothing else; the caller
 * picks the iteration count once (bu_calibrate) and then times several
 * runs (bu_run_ns), interleaving implementations between runs so that noise
 * from other work on the machine spreads over all of them, and reports the
 * median.  Figures are only meaningful as ratios to numbers taken in the
 * same run (DESIGN.md, performance budget).
 *
 * JSON lines are exactly
 *   {"bench":"B","impl":"I","metric":"M","value":N}
 * with B, I, M made of [A-Za-z0-9_/.-] and N a plain decimal number.
 */
#ifndef NM_BENCH_UTIL_H
#define NM_BENCH_UTIL_H
#include <stdint.h>
#include <stdio.h>

/* Do the benchmarked work @iters times. */
typedef void (*bu_loop_fn)(void *arg, uint64_t iters);

/* Keep the compiler from proving a value unused or a loop empty. */
#define bu_sink(x)   __asm__ volatile("" : : "r"(x) : "memory")
#define bu_barrier() __asm__ volatile("" : : : "memory")

double bu_now(void);
uint64_t bu_calibrate(bu_loop_fn fn, void *arg, double target_s);
double bu_run_ns(bu_loop_fn fn, void *arg, uint64_t iters);
double bu_median(double *v, unsigned int n);

/* Fill @cpus with up to @max CPU numbers from the affinity mask; return
 * how many (>= 1; the current CPU if the mask cannot be read). */
int bu_cpus(int *cpus, int max);
/* Return 0 or -errno. */
int bu_pin(int cpu);

void bu_json_line(FILE *f, const char *bench, const char *impl,
		  const char *metric, double value);
#endif /* NM_BENCH_UTIL_H */

/* SPDX-License-Identifier: MIT */
/*
 * bench_util.c - timing, pinning and JSON output for the benchmarks; see
 * bench_util.h for the contract.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <time.h>
#include "bench_util.h"

double bu_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

double bu_run_ns(bu_loop_fn fn, void *arg, uint64_t iters)
{
	double t0, t1;

	if (!iters)
		return 0;
	t0 = bu_now();
	fn(arg, iters);
	t1 = bu_now();
	return (t1 - t0) * 1e9 / (double)iters;
}

/*
 * Double the count until one run takes a twentieth of the target (long
 * enough for the clock and the caches to settle), then scale up.
 */
uint64_t bu_calibrate(bu_loop_fn fn, void *arg, double target_s)
{
	uint64_t n = 1000;
	double dt;

	for (;;) {
		double t0 = bu_now();

		fn(arg, n);
		dt = bu_now() - t0;
		if (dt >= target_s / 20 || n >= (1ull << 40))
			break;
		n *= 2;
	}
	if (dt <= 0)
		return n;
	dt = (double)n * target_s / dt;
	return dt < 1000 ? 1000 : (uint64_t)dt;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

double bu_median(double *v, unsigned int n)
{
	if (!n)
		return 0;
	qsort(v, n, sizeof(*v), cmp_double);
	return n & 1 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

int bu_cpus(int *cpus, int max)
{
	cpu_set_t set;
	int n = 0;

	if (max < 1)
		return 0;
	if (sched_getaffinity(0, sizeof(set), &set) == 0) {
		for (int c = 0; c < CPU_SETSIZE && n < max; c++)
			if (CPU_ISSET(c, &set))
				cpus[n++] = c;
	}
	if (!n) {
		int c = sched_getcpu();

		cpus[n++] = c < 0 ? 0 : c;
	}
	return n;
}

int bu_pin(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	return -pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
}

void bu_json_line(FILE *f, const char *bench, const char *impl,
		  const char *metric, double value)
{
	/* Plain decimals, never exponents: readers may be simple. */
	const char *fmt = value >= 1e6 || value <= -1e6 ? "%.0f" : "%.4f";
	char num[64];

	snprintf(num, sizeof(num), fmt, value);
	fprintf(f, "{\"bench\":\"%s\",\"impl\":\"%s\",\"metric\":\"%s\",\"value\":%s}\n",
		bench, impl, metric, num);
}

/* SPDX-License-Identifier: MIT */
/*
 * bench_plot.h - a benchmark's figures as one SVG file (`--plot FILE.svg`
 * of `netmem bench pool` and `netmem bench rx`), written here without any
 * plotting library.
 *
 * One panel per measured quantity; in each, one horizontal bar per
 * implementation: the bar is the median, the whisker over it the runs'
 * min..max (the spread), and the text at the right says the figure and,
 * for a baseline, netmem's ratio to it, so the ratios read at a glance.
 * Each panel has its own scale, from 0 to its largest max.
 */
#ifndef NM_BENCH_PLOT_H
#define NM_BENCH_PLOT_H
#include <stdbool.h>

#define BP_MAX_BARS 6

struct bp_bar {
	const char *name;       /* implementation: netmem, dpdk, uring, ... */
	bool have;              /* measured; else the bar says "not measured" */
	double med, lo, hi;     /* in the panel's unit */
	char note[96];          /* right of the bar: figure, ratio */
};

struct bp_panel {
	const char *title;      /* what was measured */
	const char *unit;       /* "ns/obj", "Gbit/s", ... */
	bool higher_better;
	struct bp_bar bar[BP_MAX_BARS];
	int nbar;
};

/* Write @np panels under @title and @subtitle (a line on how they were
 * measured) to @path.  Return 0 or -errno (the file could not be written). */
int bp_svg(const char *path, const char *title, const char *subtitle,
	   const struct bp_panel *p, int np);

#endif /* NM_BENCH_PLOT_H */

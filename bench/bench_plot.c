/* SPDX-License-Identifier: MIT */
/*
 * bench_plot.c - the benchmarks' SVG figures (see bench_plot.h).  Plain
 * SVG 1.1 text: readable in any browser, small enough to commit beside
 * the docs, and checked well-formed by tests/test_bench_plot.c.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include "bench_plot.h"

#define W        860   /* figure width */
#define LABEL_W  80    /* implementation names */
#define BAR_X    (LABEL_W + 10)
#define BAR_W    440   /* the longest bar */
#define NOTE_X   (BAR_X + BAR_W + 14)
#define BAR_H    18
#define ROW_H    26
#define TITLE_H  26

/* Write @s with &, <, > and quotes escaped. */
static void xml_text(FILE *f, const char *s)
{
	for (; s && *s; s++) {
		switch (*s) {
		case '&': fputs("&amp;", f); break;
		case '<': fputs("&lt;", f); break;
		case '>': fputs("&gt;", f); break;
		case '"': fputs("&quot;", f); break;
		default: fputc(*s, f);
		}
	}
}

static const char *colour(const char *impl)
{
	static const struct { const char *name, *rgb; } c[] = {
		{ "netmem", "#3465a4" }, { "uring", "#3465a4" }, { "socket", "#729fcf" },
		{ "dpdk", "#f57900" }, { "malloc", "#73d216" }, { "plain", "#888a85" },
		{ "iperf3", "#ad7fa8" },
	};

	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++)
		if (impl && !strcmp(impl, c[i].name))
			return c[i].rgb;
	return "#babdb6";
}

static void text(FILE *f, int x, int y, const char *anchor, const char *style,
		 const char *s)
{
	fprintf(f, "<text x=\"%d\" y=\"%d\" text-anchor=\"%s\"%s%s>", x, y, anchor,
		style ? " " : "", style ? style : "");
	xml_text(f, s);
	fputs("</text>\n", f);
}

static double panel_max(const struct bp_panel *p)
{
	double m = 0;

	for (int i = 0; i < p->nbar; i++)
		if (p->bar[i].have) {
			double v = p->bar[i].hi > p->bar[i].med ? p->bar[i].hi : p->bar[i].med;
			m = v > m ? v : m;
		}
	return m;
}

static void draw_panel(FILE *f, const struct bp_panel *p, int y)
{
	char t[160];
	double max = panel_max(p), scale = max > 0 ? BAR_W / max : 0;

	snprintf(t, sizeof(t), "%s, %s (%s is better)", p->title, p->unit,
		 p->higher_better ? "longer" : "shorter");
	text(f, 8, y + 17, "start", "font-weight=\"bold\"", t);
	y += TITLE_H;
	for (int i = 0; i < p->nbar; i++, y += ROW_H) {
		const struct bp_bar *b = &p->bar[i];
		int cy = y + BAR_H / 2;

		text(f, LABEL_W, y + 13, "end", NULL, b->name);
		if (!b->have || !(b->med >= 0)) {
			text(f, BAR_X, y + 13, "start", "fill=\"#888a85\"",
			     b->note[0] ? b->note : "not measured");
			continue;
		}
		fprintf(f, "<rect class=\"bar\" data-impl=\"");
		xml_text(f, b->name);
		fprintf(f, "\" x=\"%d\" y=\"%d\" width=\"%.1f\" height=\"%d\" fill=\"%s\"/>\n",
			BAR_X, y, b->med * scale, BAR_H, colour(b->name));
		if (b->hi > b->lo) {
			/* the spread: min..max of the runs, with end ticks */
			double x0 = BAR_X + b->lo * scale, x1 = BAR_X + b->hi * scale;

			fprintf(f, "<path class=\"spread\" d=\"M%.1f %dH%.1fM%.1f %dV%dM%.1f %dV%d\" "
				"stroke=\"#2e3436\" stroke-width=\"1.5\" fill=\"none\"/>\n",
				x0, cy, x1, x0, cy - 5, cy + 5, x1, cy - 5, cy + 5);
		}
		text(f, NOTE_X, y + 13, "start", NULL, b->note);
	}
	/* the scale: 0 and the largest figure */
	fprintf(f, "<path d=\"M%d %dV%d\" stroke=\"#555753\" stroke-width=\"1\"/>\n",
		BAR_X, y - p->nbar * ROW_H - 2, y - ROW_H + BAR_H + 2);
	snprintf(t, sizeof(t), "0 .. %.3g %s", max, p->unit);
	text(f, BAR_X + BAR_W, y + 6, "end", "fill=\"#555753\" font-size=\"11\"", t);
}

static int panel_h(const struct bp_panel *p)
{
	return TITLE_H + p->nbar * ROW_H + 20;
}

int bp_svg(const char *path, const char *title, const char *subtitle,
	   const struct bp_panel *p, int np)
{
	int h = 64, y;
	FILE *f;

	for (int i = 0; i < np; i++)
		h += panel_h(&p[i]);
	f = fopen(path, "w");
	if (!f)
		return -errno;
	fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
		   "<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" "
		   "width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" "
		   "font-family=\"DejaVu Sans, Helvetica, Arial, sans-serif\" font-size=\"13\">\n",
		W, h, W, h);
	fputs("<title>", f);
	xml_text(f, title);
	fputs("</title>\n", f);
	fprintf(f, "<rect width=\"%d\" height=\"%d\" fill=\"#ffffff\"/>\n", W, h);
	text(f, 8, 22, "start", "font-size=\"16\" font-weight=\"bold\"", title);
	text(f, 8, 42, "start", "font-size=\"11\" fill=\"#555753\"", subtitle);
	y = 56;
	for (int i = 0; i < np; i++) {
		draw_panel(f, &p[i], y);
		y += panel_h(&p[i]);
	}
	fputs("</svg>\n", f);
	if (ferror(f)) {
		fclose(f);
		return -EIO;
	}
	return fclose(f) ? -errno : 0;
}

/* SPDX-License-Identifier: MIT */
/*
 * The receive side's tables and layers (issue 11):
 *
 *  - an engine is reached through its table entry alone: every name
 *    nm_rx_engines() lists (the table's entries, in order, without
 *    overrunning a short array) is found by nm_rx_create() (it is made,
 *    and nm_rx_info names it, or it is refused for a reason other than
 *    ENOENT: not on this kernel, options it needs); a name not in the
 *    table is ENOENT;
 *  - the delivery stage is chosen at create time: plain without
 *    NM_RX_F_SPLIT, split with it (white-box);
 *  - the layers' one-way calls, read from src/rx/: NM_RX_F_SPLIT is tested
 *    only in rx.c (option checking, the stage's choice) and split.c; an
 *    engine that cannot split names it in its table entry's refuse_flags
 *    and nowhere else (the core refuses it at create); an engine file (one
 *    that defines a struct nm_rx_engine) names no split or stage
 *    internals; rx.c calls split only through its table.
 */
#include "test_rx_util.h"
#include "rx/rx_int.h"
#include <dirent.h>
#include <libgen.h>

static int on_data(struct nm_rx *rx, struct nm_rx_conn *c,
		   const struct nm_rx_msg *m, void *user)
{
	return 0;
}

/* Whether every NM_RX_F_SPLIT in @text stands on a ".refuse_flags" line. */
static int split_only_refused(const char *text)
{
	for (const char *p = strstr(text, "NM_RX_F_SPLIT"); p; p = strstr(p + 1, "NM_RX_F_SPLIT")) {
		const char *bol = p, *eol = strchr(p, '\n');
		char line[512];
		size_t n;

		while (bol > text && bol[-1] != '\n')
			bol--;
		n = (size_t)((eol ? eol : p + strlen(p)) - bol);
		if (n >= sizeof(line))
			n = sizeof(line) - 1;
		memcpy(line, bol, n);
		line[n] = 0;
		if (!strstr(line, ".refuse_flags"))
			return 0;
	}
	return 1;
}

static void engine_table(void)
{
	const char *names[32], *few[2];
	struct nm_pool *p = t_pool(16, 4);
	int n = nm_rx_engines(NULL, 0);

	REQUIRE(n >= 2 && n < 32);
	for (int i = 0; i < 32; i++)
		names[i] = "sentinel";
	CHECK_EQ(nm_rx_engines(names, 32), n);
	CHECK(!strcmp(names[n], "sentinel"));	/* no more than the table */
	few[0] = few[1] = "sentinel";
	CHECK_EQ(nm_rx_engines(few, 1), n);	/* the count, one name filled */
	CHECK(!strcmp(few[0], names[0]) && !strcmp(few[1], "sentinel"));

	for (int i = 0; i < n; i++) {
		NM_OPTS(nm_rx_opts, o, .pool = p, .on_data = on_data, .engine = names[i]);
		struct nm_rx_info info;
		struct nm_rx *rx;

		REQUIRE(names[i] && names[i][0]);
		for (int j = 0; j < i; j++)
			CHECK(strcmp(names[i], names[j]));	/* one entry each */
		rx = nm_rx_create(&o);
		if (!rx) {
			printf("%s: refused (%s)\n", names[i], nm_strerror(-errno));
			CHECK(errno != ENOENT);	/* found, then refused */
			continue;
		}
		REQUIRE(!nm_rx_info(rx, &info, sizeof(info)));
		CHECK(!strcmp(info.engine, names[i]));
		printf("%s: made\n", names[i]);
		CHECK_EQ(nm_rx_destroy(rx), 0);
	}
	{
		NM_OPTS(nm_rx_opts, o, .pool = p, .on_data = on_data, .engine = "no-such");

		CHECK(nm_rx_create(&o) == NULL && errno == ENOENT);
	}
	CHECK_EQ(t_pool_done(p), 0);
}

static void stage_choice(void)
{
	struct nm_pool *p = t_pool(16, 4), *h = t_pool(16, 0);
	NM_OPTS(nm_rx_opts, plain, .pool = p, .on_data = on_data, .engine = "socket");
	NM_OPTS(nm_rx_opts, split, .pool = p, .hdr_pool = h, .on_data = on_data,
		.engine = "socket", .flags = NM_RX_F_SPLIT);
	struct nm_rx *rx;

	rx = nm_rx_create(&plain);
	REQUIRE(rx);
	CHECK(rx->stage == &nm_rx_stage_plain);
	CHECK(rx->q[0].rx_pool == p && !rx->q[0].hdr_pool);
	CHECK_EQ(nm_rx_destroy(rx), 0);
	rx = nm_rx_create(&split);
	REQUIRE(rx);
	CHECK(rx->stage == &nm_rx_stage_split);
	CHECK(rx->q[0].rx_pool == p && rx->q[0].hdr_pool == h);
	CHECK_EQ(nm_rx_destroy(rx), 0);
	CHECK_EQ(t_pool_done(p), 0);
	CHECK_EQ(t_pool_done(h), 0);
}

/* Whether the file's text holds @word. */
static int has(const char *text, const char *word)
{
	return strstr(text, word) != NULL;
}

static void layers(void)
{
	char file[4096], dir[4096], path[8192];
	static char text[1 << 20];
	struct dirent *de;
	DIR *d;
	int engines = 0, files = 0;

	/* The tree: this file is <root>/tests/test_rx_engine_table.c (CMake
	 * compiles it by its absolute path). */
	snprintf(file, sizeof(file), "%s", __FILE__);
	if (file[0] != '/') {
		printf("compiled by a relative path: layers not checked\n");
		return;
	}
	snprintf(dir, sizeof(dir), "%s/src/rx", dirname(dirname(file)));
	d = opendir(dir);
	if (!d) {
		printf("no %s: layers not checked\n", dir);
		return;
	}
	while ((de = readdir(d))) {
		size_t l = strlen(de->d_name), got;
		FILE *f;

		if (l < 3 || strcmp(de->d_name + l - 2, ".c"))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		f = fopen(path, "r");
		REQUIRE(f);
		got = fread(text, 1, sizeof(text) - 1, f);
		fclose(f);
		text[got] = 0;
		files++;
		/* Outside rx.c and split.c the flag may only be named in an
		 * engine's table entry, as a flag it refuses (refuse_flags:
		 * the core tests it at create time). */
		if (strcmp(de->d_name, "rx.c") && strcmp(de->d_name, "split.c") &&
		    !split_only_refused(text)) {
			printf("%s tests NM_RX_F_SPLIT\n", de->d_name);
			CHECK(0);
		}
		if (!strcmp(de->d_name, "rx.c") && has(text, "nm_split_")) {
			printf("rx.c calls split directly\n");
			CHECK(0);
		}
		if (strcmp(de->d_name, "rx.c") &&	/* the core declares them all */
		    has(text, "const struct nm_rx_engine nm_rx_engine_")) {
			engines++;
			if (has(text, "nm_split_") || has(text, "nm_rx_stage") ||
			    has(text, "->stage") || has(text, "hdr_pool")) {
				printf("engine %s names the stage's internals\n", de->d_name);
				CHECK(0);
			}
		}
	}
	closedir(d);
	printf("%d files, %d engines read\n", files, engines);
	CHECK(engines >= 2);
	/* every engine file is in the table, and nothing else is */
	CHECK_EQ(engines, nm_rx_engines(NULL, 0));
}

int main(void)
{
	engine_table();
	stage_choice();
	layers();
	return t_done();
}

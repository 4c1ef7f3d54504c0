/* SPDX-License-Identifier: MIT */
#include "harness.h"
#include <unistd.h>

int nm_test_failures;

struct nm_area *t_host_area(size_t chunks, unsigned int order)
{
	NM_OPTS(nm_area_opts, o, .size = chunks << (12 + order), .order = order);
	struct nm_area *a = nm_area_create("host", &o);
	if (!a) {
		fprintf(stderr, "host area: %s\n", strerror(errno));
		exit(1);
	}
	return a;
}

int t_is_root(void)
{
	return geteuid() == 0;
}

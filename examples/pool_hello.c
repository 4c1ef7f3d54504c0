/* SPDX-License-Identifier: MIT */
/*
 * pool_hello.c - the smallest complete use of libnetmem: an area from a
 * provider, a pool over it, a buffer taken, filled, put back, and the
 * stats that show where it went.  Build: cc pool_hello.c $(pkg-config
 * --cflags --libs netmem).  Run: ./pool_hello [provider]
 */
#include <stdio.h>
#include <string.h>
#include <errno.h>
#include <netmem/netmem.h>

int main(int argc, char **argv)
{
	const char *provider = argc > 1 ? argv[1] : "host";
	NM_OPTS(nm_area_opts, ao, .size = 4 << 20, .order = 4); /* 64 KiB chunks */
	struct nm_area_info info;
	struct nm_pool_stats st;
	struct nm_area *area;
	struct nm_pool *pool;
	struct nm_buf buf;
	int err;

	area = nm_area_create(provider, &ao);
	if (!area) {
		fprintf(stderr, "area from %s: %s\n", provider, nm_strerror(errno));
		return 1;
	}
	nm_area_info(area, &info, sizeof(info));
	printf("area: %s, %zu bytes, %u chunks of %u bytes, %s\n", info.provider,
	       info.size, info.nr_chunks, info.chunk_size, info.detail);

	pool = nm_pool_create(area, NULL);
	if (!pool) {
		fprintf(stderr, "pool: %s\n", nm_strerror(errno));
		return 1;
	}
	err = nm_pool_alloc(pool, &buf);
	if (err) {
		fprintf(stderr, "alloc: %s\n", nm_strerror(err));
		return 1;
	}
	if (nm_buf_data(&buf))
		snprintf(nm_buf_data(&buf), buf.len, "hello from chunk %d",
			 nm_buf_chunk_index(&buf));
	else
		printf("buffer is unreadable (device memory)\n");
	err = nm_pool_put(pool, &buf);
	printf("put: %s; double put: %s\n", nm_strerror(err),
	       nm_strerror(nm_pool_put(pool, &buf)));

	nm_pool_get_stats(pool, &st, sizeof(st));
	printf("alloc fast %llu slow %llu area %llu; recycled to cache %llu; "
	       "double puts caught %llu\n",
	       (unsigned long long)st.alloc_fast, (unsigned long long)st.alloc_slow,
	       (unsigned long long)st.alloc_area, (unsigned long long)st.recycle_cached,
	       (unsigned long long)st.err_double_put);
	nm_pool_destroy(pool);
	nm_area_destroy(area);
	return 0;
}

/* SPDX-License-Identifier: MIT */
/*
 * nm_rx_create() failing late gives back everything it took: the token
 * table, queues already set up (engine, io_uring ring, eventfd, locks) and
 * the receiver's own locks.  Failures after each stage, both engines, with
 * and without tokens; the sanitizer builds report any leak.
 */
#include "test_rx_util.h"

static int on_data(struct nm_rx *rx, struct nm_rx_conn *c, const struct nm_rx_msg *m,
		   void *user)
{
	return 0;
}

static void run(const char *engine, unsigned int flags)
{
	/* Queue 1's chunks (4 KiB) are smaller than buf_size: it fails after
	 * queue 0 is up. */
	struct nm_pool *pools[2] = { t_pool(8, 4), t_pool(8, 0) };
	struct nm_rx *rx;

	{
		NM_OPTS(nm_rx_opts, o, .engine = "no-such-engine", .pool = pools[0],
			.on_data = on_data, .flags = flags);
		errno = 0;
		CHECK(nm_rx_create(&o) == NULL);
		CHECK_EQ(errno, ENOENT);
	}
	{
		NM_OPTS(nm_rx_opts, o, .engine = engine, .pools = pools, .nr_queues = 2,
			.buf_size = 65536, .on_data = on_data, .flags = flags);
		errno = 0;
		CHECK(nm_rx_create(&o) == NULL);
		CHECK_EQ(errno, EINVAL);
	}
	{
		/* The pools are untouched and a good receiver still works. */
		NM_OPTS(nm_rx_opts, o, .engine = engine, .pools = pools, .nr_queues = 2,
			.buf_size = 4096, .on_data = on_data, .flags = flags);
		rx = nm_rx_create(&o);
		REQUIRE(rx);
		CHECK_EQ(nm_rx_run(rx, 10), 0);
		CHECK_EQ(nm_rx_destroy(rx), 0);
	}
	CHECK_EQ(t_pool_done(pools[0]), 0);
	CHECK_EQ(t_pool_done(pools[1]), 0);
}

int main(void)
{
	run("uring", 0);
	run("uring", NM_RX_F_TOKENS);
	run("socket", 0);
	run("socket", NM_RX_F_TOKENS);
	return t_done();
}

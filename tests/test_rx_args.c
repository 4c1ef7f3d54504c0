/* SPDX-License-Identifier: MIT */
/*
 * Every public receive entry point checks its arguments: NULLs, unknown
 * flags and engines, contradictory options, bad sizes, pools shared
 * between queues, split without a (readable) header pool, non-zero bytes
 * past the known options (E2BIG), bad fds and queues, release of tokens
 * on a receiver without them.
 */
#include "test_rx_util.h"

static int on_data(struct nm_rx *rx, struct nm_rx_conn *c, const struct nm_rx_msg *m,
		   void *user)
{
	return 0;
}

#define CREATE_FAILS(err, ...) do { \
	NM_OPTS(nm_rx_opts, _o, __VA_ARGS__); \
	errno = 0; \
	CHECK(nm_rx_create(&_o) == NULL); \
	CHECK_EQ(errno, err); \
} while (0)

int main(void)
{
	struct nm_pool *p = t_pool(8, 4), *p2 = t_pool(8, 4), *h = t_pool(4, 0);
	struct nm_pool *two_same[2] = { p, p };
	struct nm_rx_stats st;
	struct nm_rx_info info;
	const char *names[4];
	struct {
		struct nm_rx_opts o;
		char tail[16];
	} big;
	struct nm_rx *rx;
	uint32_t tok = 1;
	int sv[2];

	errno = 0;
	CHECK(nm_rx_create(NULL) == NULL);
	CHECK_EQ(errno, EINVAL);
	CREATE_FAILS(EINVAL, .pool = p);				/* no on_data */
	CREATE_FAILS(EINVAL, .on_data = on_data);			/* no pool */
	CREATE_FAILS(EINVAL, .pool = p, .on_data = on_data, .flags = 1u << 31);
	CREATE_FAILS(ENOENT, .pool = p, .on_data = on_data, .engine = "nope");
	CREATE_FAILS(EINVAL, .pool = p, .on_data = on_data,
		     .flags = NM_RX_F_NO_INC | NM_RX_F_REQUIRE_INC);
	CREATE_FAILS(EINVAL, .pool = p, .on_data = on_data,
		     .flags = NM_RX_F_NO_BUNDLE | NM_RX_F_REQUIRE_BUNDLE);
	CREATE_FAILS(EINVAL, .pool = p, .on_data = on_data, .ring_entries = 100);
	CREATE_FAILS(EINVAL, .pool = p, .on_data = on_data, .nr_queues = NM_RX_MAX_QUEUES + 1);
	CREATE_FAILS(EINVAL, .pools = two_same, .nr_queues = 2, .on_data = on_data);
	CREATE_FAILS(EINVAL, .pool = p, .nr_queues = 2, .on_data = on_data);
	CREATE_FAILS(EINVAL, .pool = p, .on_data = on_data, .flags = NM_RX_F_SPLIT);
	CREATE_FAILS(EINVAL, .pool = p, .hdr_pool = p, .on_data = on_data, .flags = NM_RX_F_SPLIT);
	CREATE_FAILS(EINVAL, .pool = p, .on_data = on_data, .max_frame = 100);	/* not split */
	/* lent buffers: packet engines only (xdp, udp), never with tokens */
	CREATE_FAILS(EINVAL, .pool = p, .on_data = on_data, .flags = NM_RX_F_LEND);
	CREATE_FAILS(EINVAL, .pool = p, .on_data = on_data, .flags = NM_RX_F_LEND,
		     .engine = "socket");
	CREATE_FAILS(EINVAL, .pool = p, .on_data = on_data, .engine = "xdp",
		     .ifname = "lo", .flags = NM_RX_F_LEND | NM_RX_F_TOKENS);
	CREATE_FAILS(EINVAL, .pool = p, .on_data = on_data, .buf_size = 1 << 20);	/* > chunk */
	memset(&big, 0, sizeof(big));
	big.o.sz = sizeof(big);
	big.o.pool = p;
	big.o.on_data = on_data;
	big.tail[3] = 1;
	errno = 0;
	CHECK(nm_rx_create(&big.o) == NULL);
	CHECK_EQ(errno, E2BIG);

	CHECK_EQ(nm_rx_destroy(NULL), -EINVAL);
	CHECK_EQ(nm_rx_listen(NULL, NULL, 0), -EINVAL);
	CHECK_EQ(nm_rx_add_fd(NULL, 0, -1), -EINVAL);
	CHECK_EQ(nm_rx_run(NULL, 0), -EINVAL);
	CHECK_EQ(nm_rx_poll(NULL, 0), -EINVAL);
	CHECK_EQ(nm_rx_stop(NULL), -EINVAL);
	CHECK_EQ(nm_rx_release_tokens(NULL, &tok, 1), -EINVAL);
	CHECK_EQ(nm_rx_stats(NULL, &st, sizeof(st)), -EINVAL);
	CHECK_EQ(nm_rx_info(NULL, &info, sizeof(info)), -EINVAL);
	CHECK_EQ(nm_rx_conn_fd(NULL), -EINVAL);
	CHECK_EQ(nm_rx_conn_queue(NULL), -EINVAL);
	CHECK_EQ(nm_rx_conn_id(NULL), 0);
	CHECK(nm_rx_conn_user(NULL) == NULL);
	CHECK_EQ(nm_rx_conn_set_user(NULL, NULL), -EINVAL);
	CHECK_EQ(nm_rx_conn_close(NULL, 0), -EINVAL);
	/* the stream engines first; packet engines (xdp, udp) may follow */
	CHECK(nm_rx_engines(NULL, 0) >= 2 && nm_rx_engines(names, 4) == nm_rx_engines(NULL, 0));
	CHECK(!strcmp(names[0], "uring") && !strcmp(names[1], "socket"));

	for (int e = 0; e < 2; e++) {
		NM_OPTS(nm_rx_opts, o, .pool = p, .on_data = on_data, .engine = names[e]);
		rx = nm_rx_create(&o);
		if (!rx && errno == EOPNOTSUPP)
			continue;
		REQUIRE(rx);
		CHECK_EQ(nm_rx_listen(rx, "not-an-address", 0), -EINVAL);
		CHECK_EQ(nm_rx_listen(rx, NULL, -1), -EINVAL);
		CHECK_EQ(nm_rx_listen(rx, NULL, 70000), -EINVAL);
		CHECK_EQ(nm_rx_add_fd(rx, -1, -1), -EINVAL);
		CHECK_EQ(nm_rx_add_fd(rx, 0x7fff0000, -1), -EINVAL);	/* not an fd */
		REQUIRE(!socketpair(AF_UNIX, SOCK_DGRAM, 0, sv));
		CHECK_EQ(nm_rx_add_fd(rx, sv[0], -1), -EINVAL);	/* not a stream */
		close(sv[0]);
		close(sv[1]);
		REQUIRE(!socketpair(AF_UNIX, SOCK_STREAM, 0, sv));
		CHECK_EQ(nm_rx_add_fd(rx, sv[0], 1), -EINVAL);	/* no queue 1 */
		CHECK_EQ(nm_rx_add_fd(rx, sv[0], 0), 0);
		CHECK_EQ(nm_rx_release_tokens(rx, NULL, 1), -EINVAL);
		CHECK_EQ(nm_rx_release_tokens(rx, &tok, 1), -EOPNOTSUPP);
		CHECK_EQ(nm_rx_stats(rx, NULL, sizeof(struct nm_rx_stats)), -EINVAL);
		CHECK_EQ(nm_rx_info(rx, NULL, sizeof(struct nm_rx_info)), -EINVAL);
		/* a size below the first version's: refused */
		CHECK_EQ(nm_rx_stats(rx, &st, sizeof(void *)), -EINVAL);
		{
			struct nm_rx_info ri;

			CHECK_EQ(nm_rx_info(rx, &ri, sizeof(void *)), -EINVAL);
			CHECK_EQ(nm_rx_info(rx, &ri, sizeof(ri)), 0);
			CHECK_EQ(ri.nr_queues, 1);
		}
		CHECK_EQ(nm_rx_poll(rx, 0), 0);
		CHECK_EQ(nm_rx_stop(rx), 0);
		CHECK_EQ(nm_rx_run(rx, 0), 0);
		REQUIRE(!nm_rx_stats(rx, &st, sizeof(st)));
		CHECK_EQ(st.conns_active, 1);
		CHECK_EQ(nm_rx_destroy(rx), 0);	/* closes sv[0] */
		close(sv[1]);
	}
	/* A queue per pool: two pools, two queues is fine. */
	{
		struct nm_pool *pp[2] = { p, p2 };
		NM_OPTS(nm_rx_opts, o, .pools = pp, .nr_queues = 2, .on_data = on_data,
			.engine = "socket");
		rx = nm_rx_create(&o);
		REQUIRE(rx);
		CHECK_EQ(nm_rx_poll(rx, 0), -EINVAL);	/* poll is for one queue */
		CHECK_EQ(nm_rx_destroy(rx), 0);
	}
	CHECK_EQ(t_pool_done(p), 0);
	CHECK_EQ(t_pool_done(p2), 0);
	CHECK_EQ(t_pool_done(h), 0);
	return t_done();
}

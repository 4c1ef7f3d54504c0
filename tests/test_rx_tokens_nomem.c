/* SPDX-License-Identifier: MIT */
/*
 * A delivery of more than 8 buffers with tokens needs an array for the
 * tokens; when that allocation fails the message cannot be delivered as
 * rx.h promises (a token per buffer).  The connection ends with -ENOMEM,
 * on_data never sees those buffers, and they go back to their pools.
 * (Before: the message went out with its count intact and a token array
 * of 8 uninitialised entries, read past its end; buffers were leaked.)
 *
 * Split mode over a readable pool with 4 KiB receive buffers, so one
 * 64 KiB frame is one message of at least 16 buffers.  Every fallible call
 * from sending the frame to its delivery is made to fail in turn (the
 * fault injection's sweep); each run ends with the frame delivered whole
 * (tokens all valid) or the connection closed with an error, nothing
 * held; the run whose failure is the token array's (a site in rx/rx.c)
 * closes with -ENOMEM and delivers nothing.  Both engines.
 */
#include "test_rx_util.h"
#include "util/fault.h"
#include <sys/socket.h>

#define PAYLOAD (64u << 10)

static int unsupported;

struct st {
	int opened, closed, close_err, datas;
	uint64_t bytes;
	unsigned int max_nr;
	int bad_tokens;
};

static int on_conn(struct nm_rx *rx, struct nm_rx_conn *c, void *user)
{
	((struct st *)user)->opened++;
	return 0;
}

static void on_close(struct nm_rx *rx, struct nm_rx_conn *c, int err, void *user)
{
	struct st *s = user;

	s->closed++;
	s->close_err = err;
}

static int on_data(struct nm_rx *rx, struct nm_rx_conn *c, const struct nm_rx_msg *m,
		   void *user)
{
	struct st *s = user;

	s->datas++;
	s->bytes += m->bytes;
	if (m->nr > s->max_nr)
		s->max_nr = m->nr;
	REQUIRE(m->tokens);
	for (unsigned int i = 0; i < m->nr; i++) {
		if (m->tokens[i] == NM_RX_NO_TOKEN)
			CHECK_EQ(nm_buf_put(&m->bufs[i]), 0);
		else if (nm_rx_release_tokens(rx, &m->tokens[i], 1) != 1)
			s->bad_tokens++;
	}
	if (m->hdr_token == NM_RX_NO_TOKEN)
		CHECK_EQ(nm_buf_put(m->hdr), 0);
	else if (nm_rx_release_tokens(rx, &m->hdr_token, 1) != 1)
		s->bad_tokens++;
	return 0;
}

/* One run with the @n-th fallible call failing (0: none).  Return the
 * site that failed, or NULL when the run made fewer than @n calls. */
static const char *one_run(const char *engine, unsigned long n, int *hit_emit)
{
	struct nm_pool *pool = t_pool(64, 4), *hpool = t_pool(16, 0);
	struct st s = { 0 };
	NM_OPTS(nm_rx_opts, o, .engine = engine, .pool = pool, .hdr_pool = hpool,
		.flags = NM_RX_F_SPLIT | NM_RX_F_TOKENS, .buf_size = 4096,
		.on_data = on_data, .on_conn = on_conn, .on_close = on_close, .user = &s);
	static uint8_t frame[4 + PAYLOAD];
	struct nm_rx *rx = nm_rx_create(&o);
	const char *site = NULL;
	int sv[2], fails = nm_test_failures;

	if (!rx && errno == EOPNOTSUPP) {
		unsupported = 1;
		t_pool_done(pool);
		t_pool_done(hpool);
		return NULL;
	}
	REQUIRE(rx);
	REQUIRE(!socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv));
	REQUIRE(!nm_rx_add_fd(rx, sv[0], 0));
	for (int i = 0; i < 1000 && !s.opened; i++)
		REQUIRE(nm_rx_poll(rx, 1) >= 0);
	REQUIRE(s.opened == 1);

	frame[0] = (uint8_t)(PAYLOAD >> 24);
	frame[1] = (uint8_t)(PAYLOAD >> 16);
	frame[2] = (uint8_t)(PAYLOAD >> 8);
	frame[3] = (uint8_t)PAYLOAD;
	REQUIRE(t_send_all(sv[1], frame, sizeof(frame)) == 0);
	if (n)
		nm_fault_arm(n);
	/* Passes, not time: each pass either makes progress or retries a
	 * pool that a failed call left dry for a moment. */
	for (int i = 0; i < 2000 && !s.closed && s.bytes < PAYLOAD; i++)
		if (nm_rx_poll(rx, 1) < 0)
			break;
	if (n) {
		site = nm_fault_site();
		nm_fault_off();
	}
	if (s.closed) {
		CHECK(s.close_err < 0);
	} else {
		CHECK_EQ(s.bytes, PAYLOAD);
		CHECK_EQ(s.datas, 1);
		CHECK(s.max_nr > 8);	/* the path under test was taken */
	}
	CHECK_EQ(s.bad_tokens, 0);
	if (site && strstr(site, "rx/rx.c")) {
		/* The token array (the only fallible call of rx.c on this
		 * path): nothing delivered, the connection ended. */
		(*hit_emit)++;
		CHECK_EQ(s.datas, 0);
		CHECK_EQ(s.closed, 1);
		CHECK_EQ(s.close_err, -ENOMEM);
	}
	if (nm_test_failures > fails)
		fprintf(stderr, "%s: run %lu failed at %s\n", engine, n, site ? site : "-");
	/* Nothing held: the pools get every buffer back (the engine's own
	 * at the teardown). */
	CHECK_EQ(nm_rx_destroy(rx), 0);
	close(sv[1]);
	CHECK_EQ(t_pool_done(pool), 0);
	CHECK_EQ(t_pool_done(hpool), 0);
	return site;
}

static void sweep(const char *engine)
{
	int hit_emit = 0, fails_before = nm_test_failures;
	unsigned long n;

	unsupported = 0;
	one_run(engine, 0, &hit_emit);
	if (unsupported) {
		printf("%s: not on this kernel\n", engine);
		return;
	}
	for (n = 1; n < 500 && nm_test_failures == fails_before; n++)
		if (!one_run(engine, n, &hit_emit))
			break;
	printf("%s: %lu fallible calls on the delivery path, token array hit %d time(s)\n",
	       engine, n - 1, hit_emit);
	CHECK(hit_emit > 0);
}

int main(void)
{
	sweep("socket");
	sweep("uring");
	return t_done();
}

/* SPDX-License-Identifier: MIT */
/*
 * The cuda provider's logic against a stand-in driver, so it is tested on
 * hosts without a GPU.  The test builds a small libcuda look-alike with
 * the system C compiler (skips if there is none) and points the library
 * at it with NM_CUDA_LIB.  The stand-in keeps "device memory" in host
 * memory and completes GPU work on a clock the test moves by hand, so the
 * ordering rules can be checked exactly: placements complete only from
 * poll, a deferred buffer stays held until its event's time, streams are
 * independent, GONE frees the memory once and never twice, and no event
 * or allocation is leaked.  It says nothing about a real driver; the
 * test_gpu_* tests do that on a GPU.
 */
#include "cuda_mock.h"
#include <netmem/cuda.h>


static void (*mock_busy)(unsigned long long);
static void (*mock_now)(unsigned long long);
static int (*mock_live_events)(void), (*mock_live_mem)(void), (*mock_frees)(void),
	(*mock_depth)(void), (*mock_copies)(void), (*mock_batches)(void);
static void (*mock_batch_fail)(int), (*mock_push_fail)(int);

static int done_ok, done_gone;

static void on_done(void *arg, int status)
{
	(*(int *)arg)++;
	if (!status)
		done_ok++;
	else if (status == -ENODEV)
		done_gone++;
}

static struct nm_area *cuda_area(size_t chunks, unsigned int flags)
{
	NM_OPTS(nm_cuda_args, ca, .flags = flags);
	NM_OPTS(nm_area_opts, o, .size = chunks << 16, .order = 4, .provider_arg = &ca);
	struct nm_area *a = nm_area_create("cuda", &o);
	if (!a) {
		fprintf(stderr, "cuda area: %s\n", strerror(errno));
		exit(1);
	}
	return a;
}

static void test_place(void)
{
	struct nm_area *a = cuda_area(64, 0);
	struct nm_pool *p = nm_pool_create(a, NULL);
	struct nm_area_info ai;
	struct nm_cuda_stats st;
	struct nm_buf b[300];
	/* a source each: one may be reused only once its done() has run */
	static unsigned char srcs[300][3000];
	unsigned char *src;
	int calls = 0;
	uint64_t io;

	REQUIRE(p);
	REQUIRE(nm_area_info(a, &ai, sizeof(ai)) == 0);
	CHECK(ai.cpu_base == NULL);
	CHECK(ai.dmabuf_fd >= 0);
	CHECK(strstr(ai.detail, "dmabuf fd") != NULL);
	CHECK(nm_cuda_area_stream(a) != NULL);
	mock_busy(0);
	mock_now(0);
	for (int i = 0; i < 300; i++) {
		REQUIRE(nm_pool_alloc_frag(p, &b[i], 3000, 64) == 0);
		CHECK(nm_buf_data(&b[i]) == NULL);
		src = srcs[i];
		memset(src, i & 0xff, sizeof(srcs[i]));
		CHECK_EQ(nm_buf_place(&b[i], src, sizeof(srcs[i]), on_done, &calls), 0);
	}
	/* Completions run from poll only, and all of them. */
	CHECK_EQ(calls, 0);
	for (int k = 0; k < 10 && calls < 300; k++)
		nm_area_poll(a);
	CHECK_EQ(calls, 300);
	for (int i = 0; i < 300; i++) {
		REQUIRE(nm_buf_io_addr(&b[i], &io) == 0);
		const unsigned char *d = (const unsigned char *)(uintptr_t)io;
		CHECK(d[0] == (i & 0xff) && d[2999] == (i & 0xff));
	}
	REQUIRE(nm_cuda_area_stats(a, &st, sizeof(st)) == 0);
	CHECK_EQ(st.place_calls, 300);
	CHECK_EQ(st.place_bytes, 300 * 3000);
	CHECK_EQ(st.place_done, 300);
	CHECK_EQ(st.place_pending, 0);
	/* one event covers what was queued up to the poll */
	CHECK(st.events_recorded >= 1 && st.events_recorded <= 3);

	/* Completion waits for the stream's time. */
	calls = 0;
	mock_busy(100);
	CHECK_EQ(nm_buf_place(&b[0], srcs[0], 10, on_done, &calls), 0);
	for (int k = 0; k < 5; k++)
		nm_area_poll(a);
	CHECK_EQ(calls, 0);
	mock_now(100);
	nm_area_poll(a);
	CHECK_EQ(calls, 1);
	CHECK_EQ(nm_pool_put_bulk(p, b, 300), 300);
	CHECK_EQ(mock_depth(), 0); /* every context push popped */
	CHECK_EQ(nm_pool_destroy(p), 0);
	CHECK_EQ(nm_area_destroy(a), 0);
}

/* Places that continue each other in source and destination go as one
 * copy; a break in either starts another.  The bytes land all the same. */
static void test_merge(void)
{
	struct nm_area *a = cuda_area(64, 0);
	struct nm_pool *p = nm_pool_create(a, NULL);
	static unsigned char src[64 * 4096];
	struct nm_buf b[64];
	int calls = 0, c0;
	uint64_t io, io0 = 0;

	REQUIRE(p);
	mock_busy(0);
	mock_now(0);
	for (size_t i = 0; i < sizeof(src); i++)
		src[i] = (unsigned char)(i * 7 + i / 4096);
	c0 = mock_copies();
	for (int i = 0; i < 64; i++) {
		REQUIRE(nm_pool_alloc_frag(p, &b[i], 4096, 64) == 0);
		/* the 40th skips a page of the source: the run breaks there */
		CHECK_EQ(nm_buf_place(&b[i], src + (size_t)(i < 40 ? i : i + 1) * 4096 % sizeof(src),
				      4096, on_done, &calls), 0);
	}
	for (int k = 0; k < 10 && calls < 64; k++)
		nm_area_poll(a);
	CHECK_EQ(calls, 64);
	/* 64 places, 4 chunks of 16 fragments: at most a copy per chunk
	 * and one for the break, fewer where chunks are adjacent */
	printf("merge: 64 places, %d copies\n", mock_copies() - c0);
	CHECK(mock_copies() - c0 >= 2 && mock_copies() - c0 <= 8);
	for (int i = 0; i < 64; i++) {
		const unsigned char *want = src + (size_t)(i < 40 ? i : i + 1) * 4096 % sizeof(src);
		REQUIRE(nm_buf_io_addr(&b[i], &io) == 0);
		CHECK(!memcmp((const void *)(uintptr_t)io, want, 4096));
		if (i == 0)
			io0 = io;
	}
	(void)io0;
	CHECK_EQ(nm_pool_put_bulk(p, b, 64), 64);

	/* 600 small places in one run under one event: more than a poll
	 * runs (256), so it takes several, and none is lost */
	static struct nm_buf f[600];
	struct nm_cuda_stats st0, st1;
	int polls = 0;

	REQUIRE(nm_cuda_area_stats(a, &st0, sizeof(st0)) == 0);
	calls = 0;
	c0 = mock_copies();
	for (int i = 0; i < 600; i++) {
		REQUIRE(nm_pool_alloc_frag(p, &f[i], 64, 64) == 0);
		REQUIRE(nm_buf_place(&f[i], src + (size_t)i * 64, 64, on_done, &calls) == 0);
	}
	while (calls < 600 && polls < 20) {
		nm_area_poll(a);
		polls++;
	}
	REQUIRE(nm_cuda_area_stats(a, &st1, sizeof(st1)) == 0);
	printf("600 places of 64 bytes: %d copies, %llu events, %d polls\n", mock_copies() - c0,
	       (unsigned long long)(st1.events_recorded - st0.events_recorded), polls);
	CHECK_EQ(calls, 600);
	CHECK(polls >= 3);
	CHECK_EQ(st1.place_pending, 0);
	CHECK(mock_copies() - c0 <= 2);
	/* the area counts the copies the driver was asked for */
	CHECK_EQ(st1.copies - st0.copies, (uint64_t)(mock_copies() - c0));
	CHECK_EQ(st1.place_calls - st0.place_calls, 600);
	for (int i = 0; i < 600; i++) {
		REQUIRE(nm_buf_io_addr(&f[i], &io) == 0);
		CHECK(!memcmp((const void *)(uintptr_t)io, src + (size_t)i * 64, 64));
	}
	CHECK_EQ(nm_pool_put_bulk(p, f, 600), 600);
	CHECK_EQ(nm_pool_destroy(p), 0);
	CHECK_EQ(nm_area_destroy(a), 0);
}

/* Places whose sources never continue each other (staging reused out of
 * address order) are one copy each, but go to the driver in batch calls;
 * a refused batch makes the area issue each copy alone from then on, and
 * NM_CUDA_NO_BATCH does that from the start.  Every byte lands, every
 * completion runs once with status 0. */
static int scatter(struct nm_area *a, struct nm_pool *p, struct nm_buf *b, int n,
		   const unsigned char *src, struct nm_cuda_stats *d)
{
	struct nm_cuda_stats s0, s1;
	int calls = 0, ok0 = done_ok;
	uint64_t io;

	REQUIRE(nm_cuda_area_stats(a, &s0, sizeof(s0)) == 0);
	for (int i = 0; i < n; i++) {
		REQUIRE(nm_pool_alloc_frag(p, &b[i], 4096, 64) == 0);
		/* backwards through the source: no place continues another */
		CHECK_EQ(nm_buf_place(&b[i], src + (size_t)(n - 1 - i) * 4096, 4096, on_done,
				      &calls), 0);
	}
	for (int k = 0; k < 10 && calls < n; k++)
		nm_area_poll(a);
	CHECK_EQ(calls, n);
	CHECK_EQ(done_ok - ok0, n);
	for (int i = 0; i < n; i++) {
		REQUIRE(nm_buf_io_addr(&b[i], &io) == 0);
		CHECK(!memcmp((const void *)(uintptr_t)io, src + (size_t)(n - 1 - i) * 4096, 4096));
	}
	CHECK_EQ(nm_pool_put_bulk(p, b, n), n);
	REQUIRE(nm_cuda_area_stats(a, &s1, sizeof(s1)) == 0);
	d->copies = s1.copies - s0.copies;
	d->copy_calls = s1.copy_calls - s0.copy_calls;
	d->batch_refused = s1.batch_refused - s0.batch_refused;
	return 0;
}

static void test_batch(void)
{
	struct nm_area *a = cuda_area(64, 0);
	struct nm_pool *p = nm_pool_create(a, NULL);
	static unsigned char src[200 * 4096];
	static struct nm_buf b[200];
	struct nm_cuda_stats d;
	int b0, c0;

	REQUIRE(p);
	mock_busy(0);
	mock_now(0);
	for (size_t i = 0; i < sizeof(src); i++)
		src[i] = (unsigned char)(i * 13 + i / 4096);
	b0 = mock_batches();
	c0 = mock_copies();
	scatter(a, p, b, 200, src, &d);
	printf("batch: 200 scattered places, %llu copies in %llu calls (%d batches)\n",
	       (unsigned long long)d.copies, (unsigned long long)d.copy_calls,
	       mock_batches() - b0);
	CHECK_EQ(d.copies, 200);
	CHECK_EQ(d.copies, (uint64_t)(mock_copies() - c0));
	/* 64 a batch, the rest at poll: 4 calls, a few more if a poll
	 * comes between */
	CHECK(d.copy_calls >= 4 && d.copy_calls <= 8);
	CHECK_EQ(d.copy_calls, (uint64_t)(mock_batches() - b0));
	CHECK_EQ(d.batch_refused, 0);

	/* the driver refuses a batch: each copy alone, then and after */
	mock_batch_fail(1);
	scatter(a, p, b, 100, src, &d);
	CHECK_EQ(d.batch_refused, 1);
	CHECK_EQ(d.copies, 100);
	CHECK_EQ(d.copy_calls, 100);
	b0 = mock_batches();
	scatter(a, p, b, 100, src, &d);
	CHECK_EQ(d.copy_calls, 100);
	CHECK_EQ(mock_batches(), b0);
	CHECK_EQ(nm_pool_destroy(p), 0);
	CHECK_EQ(nm_area_destroy(a), 0);

	/* asked not to batch */
	setenv("NM_CUDA_NO_BATCH", "1", 1);
	a = cuda_area(64, 0);
	p = nm_pool_create(a, NULL);
	REQUIRE(p);
	b0 = mock_batches();
	scatter(a, p, b, 100, src, &d);
	CHECK_EQ(d.copies, 100);
	CHECK_EQ(d.copy_calls, 100);
	CHECK_EQ(mock_batches(), b0);
	unsetenv("NM_CUDA_NO_BATCH");
	CHECK_EQ(nm_pool_destroy(p), 0);
	CHECK_EQ(nm_area_destroy(a), 0);
}

/* The batch fills while the context cannot be entered: the place that
 * would have flushed it fails (not queued, never completed), later ones
 * go on without writing past the batch, and once the context is back a
 * poll issues everything: every place that was taken lands, once. */
static void test_batch_full_no_ctx(void)
{
	struct nm_area *a = cuda_area(64, 0);
	struct nm_pool *p = nm_pool_create(a, NULL);
	static unsigned char src[300 * 1024];
	static struct nm_buf b[300];
	static int taken[300];
	int calls = 0, ok = 0, refused = 0, ok0 = done_ok;
	uint64_t io;

	REQUIRE(p);
	mock_busy(0);
	mock_now(0);
	for (size_t i = 0; i < sizeof(src); i++)
		src[i] = (unsigned char)(i * 29 + i / 1024);
	mock_push_fail(1 << 20);
	for (int i = 0; i < 300; i++) {
		REQUIRE(nm_pool_alloc_frag(p, &b[i], 1024, 64) == 0);
		/* backwards: no place continues another */
		taken[i] = nm_buf_place(&b[i], src + (size_t)(299 - i) * 1024, 1024, on_done,
					&calls) == 0;
		ok += taken[i];
		refused += !taken[i];
	}
	printf("batch full, no context: %d places taken, %d refused\n", ok, refused);
	CHECK(refused > 0);
	CHECK(ok > 64);
	CHECK_EQ(calls, 0);
	mock_push_fail(0);
	for (int k = 0; k < 10 && calls < ok; k++)
		nm_area_poll(a);
	CHECK_EQ(calls, ok);
	CHECK_EQ(done_ok - ok0, ok);
	for (int i = 0; i < 300; i++) {
		if (!taken[i])
			continue;
		REQUIRE(nm_buf_io_addr(&b[i], &io) == 0);
		CHECK(!memcmp((const void *)(uintptr_t)io, src + (size_t)(299 - i) * 1024, 1024));
	}
	CHECK_EQ(nm_pool_put_bulk(p, b, 300), 300);
	CHECK_EQ(mock_depth(), 0);
	CHECK_EQ(nm_pool_destroy(p), 0);
	CHECK_EQ(nm_area_destroy(a), 0);
}

static void test_put_after(void)
{
	struct nm_area *a = cuda_area(16, NM_CUDA_F_NO_DMABUF);
	struct nm_pool *p = nm_pool_create(a, NULL);
	struct nm_area_info ai;
	struct nm_cuda_stats st;
	struct nm_buf b[4];
	void *s1 = (void *)0x1000, *s2 = (void *)0x2000;

	REQUIRE(p);
	REQUIRE(nm_area_info(a, &ai, sizeof(ai)) == 0);
	CHECK_EQ(ai.dmabuf_fd, -1);
	REQUIRE(nm_pool_alloc_bulk(p, b, 4) == 4);
	mock_now(200);
	mock_busy(1000);                  /* a long kernel on s1 */
	CHECK_EQ(nm_cuda_put_after(&b[0], s1), 0);
	CHECK_EQ(nm_cuda_put_after(&b[1], s1), 0);
	mock_busy(500);                   /* shorter work on s2 */
	CHECK_EQ(nm_cuda_put_after(&b[2], s2), 0);
	CHECK_EQ(nm_cuda_put_after(&b[3], (void *)1), -EINVAL); /* refused by the driver */
	for (int k = 0; k < 5; k++)
		nm_area_poll(a);
	CHECK_EQ(nm_pool_inflight(p), 4);
	mock_now(500);
	nm_area_poll(a);
	CHECK_EQ(nm_pool_inflight(p), 3); /* s2 done, s1 still busy */
	REQUIRE(nm_cuda_area_stats(a, &st, sizeof(st)) == 0);
	CHECK_EQ(st.deferred, 3);
	CHECK_EQ(st.released, 1);
	CHECK_EQ(st.deferred_pending, 2);
	mock_now(1000);
	nm_area_poll(a);
	CHECK_EQ(nm_pool_inflight(p), 1);
	CHECK_EQ(nm_buf_put(&b[0]), -EALREADY);      /* it went back already */
	CHECK_EQ(nm_cuda_put_after(&b[0], s1), -EALREADY);
	CHECK_EQ(nm_pool_put(p, &b[3]), 0);
	CHECK_EQ(mock_depth(), 0);
	CHECK_EQ(nm_pool_destroy(p), 0);
	CHECK_EQ(nm_area_destroy(a), 0);
}

static void test_revoke(unsigned int flags)
{
	int frees0 = mock_frees(), calls = 0;
	struct nm_area *a = cuda_area(16, 0);
	struct nm_pool *p = nm_pool_create(a, NULL);
	struct nm_area_info ai;
	struct nm_buf b[6];
	char src[64] = { 1 };

	done_ok = done_gone = 0;
	REQUIRE(p);
	REQUIRE(nm_pool_alloc_bulk(p, b, 6) == 6);
	mock_now(2000);
	mock_busy(3000);
	for (int i = 0; i < 3; i++)
		CHECK_EQ(nm_buf_place(&b[i], src, sizeof(src), on_done, &calls), 0);
	CHECK_EQ(nm_cuda_put_after(&b[5], (void *)0x3000), 0);
	CHECK(nm_area_revoke(a, flags) >= 6);
	REQUIRE(nm_area_info(a, &ai, sizeof(ai)) == 0);
	if (flags) {
		/* GONE: freed now (after the GPU work, which the stand-in's
		 * CtxSynchronize finishes), dmabuf closed. */
		CHECK_EQ(mock_frees(), frees0 + 1);
		CHECK_EQ(ai.dmabuf_fd, -1);
		CHECK(ai.state == NM_AREA_DEAD);
	} else {
		CHECK_EQ(mock_frees(), frees0);
		CHECK(ai.state == NM_AREA_REVOKING);
		mock_now(3000);
	}
	CHECK_EQ(nm_buf_place(&b[3], src, 8, on_done, &calls), -ENODEV);
	/* The pool notices on its next allocation and gives its cache back. */
	struct nm_buf x;
	CHECK_EQ(nm_pool_alloc(p, &x), -ENODEV);
	nm_area_poll(a);
	nm_area_poll(a);
	CHECK_EQ(calls, 3);
	CHECK_EQ(flags ? done_gone : done_ok, 3);
	CHECK_EQ(nm_pool_inflight(p), 5); /* the deferred one went */
	for (int i = 0; i < 5; i++)
		CHECK_EQ(nm_pool_put(p, &b[i]), 0);
	/* Last chunk back: freed exactly once either way. */
	CHECK_EQ(mock_frees(), frees0 + 1);
	CHECK_EQ(nm_area_poll(a), 0);
	struct nm_cuda_stats st;
	CHECK_EQ(nm_cuda_area_stats(a, &st, sizeof(st)), -ENODEV);
	CHECK_EQ(nm_pool_destroy(p), 0);
	CHECK_EQ(nm_area_destroy(a), 0);
	CHECK_EQ(mock_depth(), 0);
}

/* A place still queued when the area is torn down completes from fini. */
static void test_fini_completes(void)
{
	struct nm_area *a = cuda_area(4, 0);
	struct nm_pool *p = nm_pool_create(a, NULL);
	struct nm_buf b;
	char src[16] = { 0 };
	int calls = 0;

	REQUIRE(p && nm_pool_alloc(p, &b) == 0);
	mock_busy(0);
	CHECK_EQ(nm_buf_place(&b, src, sizeof(src), on_done, &calls), 0);
	CHECK_EQ(nm_pool_put(p, &b), 0);    /* put before polling: caller's risk */
	CHECK_EQ(nm_pool_destroy(p), 0);
	CHECK_EQ(calls, 0);
	CHECK_EQ(nm_area_destroy(a), 0);     /* fini runs the completion */
	CHECK_EQ(calls, 1);
}

int main(void)
{
	struct t_cuda_mock mock;
	void *h;

	t_cuda_mock_load(&mock);
	h = mock.h;
	*(void **)&mock_busy = dlsym(h, "mock_busy");
	*(void **)&mock_now = dlsym(h, "mock_now");
	*(void **)&mock_live_events = dlsym(h, "mock_live_events");
	*(void **)&mock_live_mem = dlsym(h, "mock_live_mem");
	*(void **)&mock_frees = dlsym(h, "mock_frees");
	*(void **)&mock_depth = dlsym(h, "mock_depth");
	*(void **)&mock_copies = dlsym(h, "mock_copies");
	*(void **)&mock_batches = dlsym(h, "mock_batches");
	*(void **)&mock_batch_fail = dlsym(h, "mock_batch_fail");
	*(void **)&mock_push_fail = dlsym(h, "mock_push_fail");
	REQUIRE(mock_busy && mock_now && mock_live_events && mock_live_mem && mock_frees &&
		mock_depth && mock_copies && mock_batches && mock_batch_fail &&
		mock_push_fail);

	CHECK_EQ(nm_cuda_available(), 1);
	CHECK(strstr(nm_cuda_status(), "CUDA driver 13.0, 1 device") != NULL);
	struct nm_cuda_device_info di;
	CHECK_EQ(nm_cuda_device_info(0, &di, sizeof(di)), 0);
	CHECK(!strcmp(di.name, "mock GPU") && di.dmabuf_supported && di.export_api);
	CHECK_EQ(nm_cuda_device_info(1, &di, sizeof(di)), -ENODEV);
	{
		NM_OPTS(nm_cuda_args, ca, .device = 1);
		NM_OPTS(nm_area_opts, o, .size = 1 << 20, .provider_arg = &ca);
		errno = 0;
		CHECK(nm_area_create("cuda", &o) == NULL && errno == ENODEV);
		NM_OPTS(nm_area_opts, big, .size = 2ull << 30, .order = 9);
		errno = 0;
		CHECK(nm_area_create("cuda", &big) == NULL && errno == ENOMEM);
	}
	void *pin = nm_cuda_host_alloc(4096);
	CHECK(pin != NULL);
	CHECK_EQ(nm_cuda_host_free(pin), 0);
	struct nm_area *h2 = t_host_area(4, 0);
	CHECK_EQ(nm_cuda_pin_area(h2), 0);
	CHECK_EQ(nm_cuda_pin_area(h2), -EALREADY);
	CHECK_EQ(nm_cuda_unpin_area(h2), 0);
	CHECK_EQ(nm_cuda_unpin_area(h2), -ENOENT);
	nm_area_destroy(h2);

	test_place();
	test_merge();
	test_batch();
	test_batch_full_no_ctx();
	test_put_after();
	test_revoke(0);
	test_revoke(NM_REVOKE_GONE);
	test_fini_completes();
	CHECK_EQ(mock_live_events(), 0);
	CHECK_EQ(mock_live_mem(), 0);

	t_cuda_mock_unlink(&mock);
	return t_done();
}

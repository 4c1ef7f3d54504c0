/* SPDX-License-Identifier: MIT */
/*
 * An xdp queue the application drives: it waits on nm_rx_queue_fd() in an
 * epoll set of its own and calls nm_rx_queue_poll(.., 0) only when that
 * fd is readable.  10000 packets arrive (or are counted as dropped: sent
 * == delivered + the veths' drops), every one checked; and once traffic
 * stops the fd goes quiet (a level-triggered loop does not spin: at most
 * a few wake-ups in half a second).  Then the application holds every
 * frame: the fill ring runs dry and no packet can land, so once it lets
 * go only the queue's fd can bring its loop back (a pass that leaves the
 * fill ring empty keeps the fd readable): packets sent after arrive.
 * Skips without root, netns or AF_XDP.
 */
#include "test_xdp_util.h"
#include <sys/epoll.h>

#define COUNT 10000

/* The application's loop for @ms milliseconds: a pass whenever the fd
 * is readable.  Return the passes. */
static uint64_t drive(struct xt *t, int ep, unsigned int ms)
{
	uint64_t end = rig_now_ns() + ms * 1000000ull, passes = 0;
	struct epoll_event got;

	while (rig_now_ns() < end) {
		if (epoll_wait(ep, &got, 1, 10) <= 0)
			continue;
		REQUIRE(nm_rx_queue_poll(t->rx, 0, 0) >= 0);
		passes++;
	}
	return passes;
}

int main(void)
{
	struct xt t;
	struct rig_tx tx = { .size = 64, .count = COUNT, .pps = 100000 };
	struct epoll_event ev = { .events = EPOLLIN }, got;
	uint64_t end, idle_wakes = 0, passes = 0;
	int ep, fd, r;

	xt_setup(&t, "xdpqfd", 1, 2048);
	xt_rx_or_skip(&t, 0, 1024);
	tx.rig = &t.rig;
	fd = nm_rx_queue_fd(t.rx, 0);
	REQUIRE(fd >= 0);
	CHECK_EQ(nm_rx_queue_fd(t.rx, 0), fd);
	ep = epoll_create1(EPOLL_CLOEXEC);
	REQUIRE(ep >= 0 && !epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev));

	xt_track_init(&t, COUNT);
	xt_drops_mark(&t);
	REQUIRE(!rig_tx_start(&tx));
	end = rig_now_ns() + (t_sanitized() ? 60 : 20) * 1000000000ull;
	while (atomic_load(&t.track.good) + xt_drops(&t) < COUNT && rig_now_ns() < end) {
		if (epoll_wait(ep, &got, 1, 100) <= 0)
			continue;
		r = nm_rx_queue_poll(t.rx, 0, 0);
		REQUIRE(r >= 0);
		passes++;
	}
	REQUIRE(!rig_tx_wait(&tx));
	CHECK_EQ(tx.sent, COUNT);
	CHECK_EQ(atomic_load(&t.track.good) + xt_drops(&t), COUNT);
	CHECK_EQ(atomic_load(&t.track.bad), 0);
	CHECK_EQ(atomic_load(&t.conns), 1);
	printf("%llu packets in %llu passes, dropped %llu\n",
	       (unsigned long long)atomic_load(&t.track.good), (unsigned long long)passes,
	       (unsigned long long)xt_drops(&t));

	/* quiet now: the fd must not stay readable */
	for (int i = 0; i < 3; i++)	/* what is left in flight */
		if (epoll_wait(ep, &got, 1, 10) > 0)
			nm_rx_queue_poll(t.rx, 0, 0);
	end = rig_now_ns() + 500000000ull;
	while (rig_now_ns() < end) {
		if (epoll_wait(ep, &got, 1, 50) <= 0)
			continue;
		idle_wakes++;
		REQUIRE(nm_rx_queue_poll(t.rx, 0, 0) >= 0);
	}
	printf("idle: %llu wake-ups in 0.5 s\n", (unsigned long long)idle_wakes);
	CHECK(idle_wakes <= 20);
	xt_track_fini(&t);

	/* every frame held: the fill ring runs dry */
	struct rig_tx tx2 = { .rig = &t.rig, .size = 64, .count = 4000, .pps = 50000 };
	struct nm_rx_stats st;
	uint64_t before;
	unsigned int held;

	atomic_store(&t.hold, 1);
	REQUIRE(!rig_tx_start(&tx2));
	drive(&t, ep, 300);
	REQUIRE(!rig_tx_wait(&tx2));
	drive(&t, ep, 100);
	REQUIRE(!nm_rx_stats(t.rx, &st, sizeof(st)));
	pthread_mutex_lock(&t.held_lock);
	held = t.nheld;
	pthread_mutex_unlock(&t.held_lock);
	printf("holding: %u frames held, fill ring empty %llu\n", held,
	       (unsigned long long)st.xdp_fill_empty);
	CHECK(held > 0);
	CHECK(st.xdp_fill_empty > 0);
	/* let go: nothing but the queue's fd can resume the loop */
	atomic_store(&t.hold, 0);
	CHECK_EQ(xt_release_held(&t), held);
	before = atomic_load(&t.pkts);
	tx2.count = 2000;
	REQUIRE(!rig_tx_start(&tx2));
	drive(&t, ep, t_sanitized() ? 3000 : 1000);
	REQUIRE(!rig_tx_wait(&tx2));
	drive(&t, ep, 100);
	printf("after letting go: %llu of 2000 delivered\n",
	       (unsigned long long)(atomic_load(&t.pkts) - before));
	CHECK(atomic_load(&t.pkts) - before > 0);
	close(ep);
	CHECK_EQ(nm_rx_destroy(t.rx), 0);
	CHECK_EQ(nm_pool_inflight(t.pools[0]), 0);
	nm_pool_destroy(t.pools[0]);
	nm_area_destroy(t.area);
	rig_down(&t.rig);
	return nm_test_failures ? 1 : 0;
}

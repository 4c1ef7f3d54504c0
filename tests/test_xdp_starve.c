/* SPDX-License-Identifier: MIT */
/*
 * The application holds every frame: with 512 frames and a fill ring of
 * 256, an application that keeps every packet it gets stops the receive
 * once the pool is dry; the kernel finds the fill ring empty and says so
 * (xdp_fill_empty, and rx_dropped: nothing is lost silently, sent ==
 * delivered + dropped).  When the application gives the frames back, from
 * a thread other than the queue's, receive resumes (packets sent after
 * arrive) and the accounting holds again.  Every frame is back at the end.
 * Skips without root, netns or AF_XDP.
 */
#include "test_xdp_util.h"

#define FRAMES 512

int main(void)
{
	struct xt t;

	xt_setup(&t, "xdpstarve", 1, FRAMES);
	xt_rx_or_skip(&t, 0, 256);
	xt_run_start(&t);
	xt_starve_resume(&t, FRAMES);
	return xt_finish(&t);
}

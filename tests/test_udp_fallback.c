/* SPDX-License-Identifier: MIT */
/*
 * test_udp_fallback: where io_uring is refused, the udp engine takes
 * recvmmsg by itself.  A seccomp filter makes io_uring_setup fail with
 * EPERM (what io_uring_disabled=2 or a container's policy say), then
 * without NM_UDP_RECVMMSG the receiver is made all the same, without
 * multishot, and every datagram arrives with its metadata.
 */
#include "test_udp_util.h"
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <sys/prctl.h>
#include <sys/syscall.h>

static struct u_rx u;

static int refuse_io_uring(void)
{
	struct sock_filter f[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_io_uring_setup, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = { .len = sizeof(f) / sizeof(f[0]), .filter = f };

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0))
		return -errno;
	return prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) ? -errno : 0;
}

int main(void)
{
	struct nm_pool *pool = t_pool(64, 0);
	NM_OPTS(nm_rx_opts, o, .engine = "udp", .pool = pool, .buf_size = 2048,
		.flags = NM_RX_F_TIMESTAMP, .on_data = u_on_data, .user = &u);
	struct nm_rx_info info;
	struct nm_rx_stats st;
	struct nm_rx *rx;
	uint8_t dg[1024];
	int port, fd, r;

	unsetenv("NM_UDP_RECVMMSG");
	r = refuse_io_uring();
	if (r)
		SKIP("no seccomp filter here: %s", strerror(-r));
	REQUIRE(syscall(__NR_io_uring_setup, 4, NULL) < 0 && errno == EPERM);
	rx = nm_rx_create(&o);
	REQUIRE(rx);
	REQUIRE(!nm_rx_info(rx, &info, sizeof(info)));
	CHECK(!strcmp(info.engine, "udp"));
	CHECK_EQ(info.features & NM_RX_FEAT_MULTISHOT, 0);
	port = nm_rx_listen(rx, "127.0.0.1", 0);
	REQUIRE(port > 0);
	fd = u_client(port, &u.src);
	u.check_src = u.check_ts = 1;
	u.t0_ns = u_real_ns();
	for (uint32_t s = 0; s < 200; s++) {
		uint32_t len = 16 + s * 5;

		u_fill(dg, s, len);
		REQUIRE(send(fd, dg, len, 0) == (ssize_t)len);
		if (s % 32 == 31)
			CHECK_EQ(T_RUN_UNTIL(rx, u.dgrams + u.bad > s, t_small_ms()), 0);
	}
	CHECK_EQ(T_RUN_UNTIL(rx, u.dgrams + u.bad >= 200, t_small_ms()), 0);
	CHECK_EQ(u.bad, 0);
	CHECK_EQ(u.dup, 0);
	CHECK_EQ(u.dgrams, 200);
	REQUIRE(!nm_rx_stats(rx, &st, sizeof(st)));
	CHECK_EQ(st.pkts, 200);
	close(fd);
	CHECK_EQ(nm_rx_destroy(rx), 0);
	CHECK_EQ(t_pool_done(pool), 0);
	return nm_test_failures ? 1 : 0;
}

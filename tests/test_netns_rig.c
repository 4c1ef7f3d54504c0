/* SPDX-License-Identifier: MIT */
/*
 * The packet rig itself (tests/netns_rig.h): two namespaces and a veth
 * pair with two queues come up; the sender sends 10000 packets over two
 * flows to plain recvmmsg receivers in the other namespace; every seq
 * arrives once with its checksum right, or the kernel's counters account
 * for each one missing (SO_RXQ_OVFL, the UDP MIB, the veths' drops); the
 * checker refuses corrupted payloads; afterwards nothing of the rig is
 * left.
 */
#include "harness.h"
#include "netns_rig.h"
#include <poll.h>

#define NPKT	10000
#define NFLOW	2
#define SIZE	200

struct rcv {
	const struct rig *rig;
	uint16_t port;
	uint32_t flow;
	struct rig_track *track;
	sem_t *bound;
	atomic_int *stop;
	int err;
	uint64_t got, wrong_flow, ovfl;	/* ovfl: SO_RXQ_OVFL's last count */
	struct stat ns;			/* the netns the thread ran in */
};

static void *rcv_main(void *p)
{
	struct rcv *c = p;
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(c->port),
				 .sin_addr = c->rig->addr[RIG_RX] };
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), one = 1, big = 32 << 20;
	struct timeval tv = { .tv_usec = 100000 };
	static __thread uint8_t bufs[RIG_BATCH][2048];
	static __thread char ctl[RIG_BATCH][CMSG_SPACE(sizeof(uint32_t))];
	struct mmsghdr mm[RIG_BATCH];
	struct iovec iov[RIG_BATCH];

	stat("/proc/thread-self/ns/net", &c->ns);
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_RXQ_OVFL, &one, sizeof(one)) ||
	    setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &big, sizeof(big)) ||
	    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) ||
	    bind(fd, (struct sockaddr *)&a, sizeof(a))) {
		c->err = -errno;
		sem_post(c->bound);
		return NULL;
	}
	sem_post(c->bound);
	for (;;) {
		int n;

		memset(mm, 0, sizeof(mm));
		for (int i = 0; i < RIG_BATCH; i++) {
			iov[i] = (struct iovec){ bufs[i], sizeof(bufs[i]) };
			mm[i].msg_hdr.msg_iov = &iov[i];
			mm[i].msg_hdr.msg_iovlen = 1;
			mm[i].msg_hdr.msg_control = ctl[i];
			mm[i].msg_hdr.msg_controllen = sizeof(ctl[i]);
		}
		n = recvmmsg(fd, mm, RIG_BATCH, MSG_WAITFORONE, NULL);
		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR) {
				if (atomic_load(c->stop))
					break;
				continue;
			}
			c->err = -errno;
			break;
		}
		for (int i = 0; i < n; i++) {
			struct cmsghdr *cm;
			uint32_t flow;

			rig_track(c->track, bufs[i], mm[i].msg_len);
			c->got++;
			if (rig_check_payload(bufs[i], mm[i].msg_len, NULL, &flow) == RIG_OK &&
			    flow != c->flow)
				c->wrong_flow++;
			for (cm = CMSG_FIRSTHDR(&mm[i].msg_hdr); cm;
			     cm = CMSG_NXTHDR(&mm[i].msg_hdr, cm))
				if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SO_RXQ_OVFL)
					memcpy(&c->ovfl, CMSG_DATA(cm), sizeof(uint32_t));
		}
	}
	close(fd);
	return NULL;
}

/* The checker refuses what it must: a flipped body byte, another seq, a
 * bad magic, a cut payload. */
static void check_checker(void)
{
	_Alignas(8) uint8_t p[SIZE];
	struct rig_pkt_hdr *h = (void *)p;
	uint64_t seq = 0;

	for (size_t i = 0; i < SIZE - RIG_HDR_LEN; i++)
		p[RIG_HDR_LEN + i] = rig_body_byte(77, i);
	*h = (struct rig_pkt_hdr){ .magic = RIG_MAGIC, .len = SIZE, .seq = 77, .flow = 1,
				   .csum = rig_csum(77, p + RIG_HDR_LEN, SIZE - RIG_HDR_LEN) };
	CHECK_EQ(rig_check_payload(p, SIZE, &seq, NULL), RIG_OK);
	CHECK_EQ(seq, 77);
	p[SIZE - 1] ^= 4;
	CHECK_EQ(rig_check_payload(p, SIZE, NULL, NULL), RIG_BAD_CSUM);
	p[SIZE - 1] ^= 4;
	h->seq = 78;
	CHECK_EQ(rig_check_payload(p, SIZE, NULL, NULL), RIG_BAD_CSUM);
	h->seq = 77;
	h->magic ^= 1;
	CHECK_EQ(rig_check_payload(p, SIZE, NULL, NULL), RIG_BAD_MAGIC);
	h->magic ^= 1;
	CHECK_EQ(rig_check_payload(p, SIZE - 1, NULL, NULL), RIG_BAD_LEN);
	CHECK_EQ(rig_check_payload(p, 10, NULL, NULL), RIG_BAD_SHORT);
	CHECK_EQ(rig_check_payload(p, SIZE, NULL, NULL), RIG_OK);
}

static uint64_t ns_ino(void);

/* @raw 0: the UDP socket sender; 1: the AF_PACKET one (frames built by the
 * rig).  NPKT packets over NFLOW flows, each seq once with its checksum
 * right, each flow to its own port, or a counter for every one missing. */
static void flood(struct rig *rp, int raw)
{
	uint16_t ports[NFLOW] = { RIG_PORT, RIG_PORT + 1 };
	struct rig_track tr;
	struct rcv rc[NFLOW];
	pthread_t th[NFLOW];
	struct rig_drops d0, d1;
	atomic_int stop = 0;
	sem_t bound;
	struct rig_tx tx = { .rig = rp, .size = SIZE, .count = NPKT, .ports = ports,
			     .nports = NFLOW, .raw = raw };
	uint64_t counted, missing, got = 0, last = 0, t_end, ovfl = 0;

	printf("%s sender:\n", raw ? "raw (AF_PACKET)" : "UDP socket");
	REQUIRE(rig_track_init(&tr, NPKT) == 0);
	sem_init(&bound, 0, 0);
	for (int i = 0; i < NFLOW; i++) {
		rc[i] = (struct rcv){ .rig = rp, .port = ports[i], .flow = (uint32_t)i,
				      .track = &tr, .bound = &bound, .stop = &stop };
		REQUIRE(rig_thread(rp, RIG_RX, rcv_main, &rc[i], &th[i]) == 0);
		sem_wait(&bound);
		REQUIRE(rc[i].err == 0);
		/* the receiver runs in the receiving namespace, not ours */
		CHECK(rc[i].ns.st_ino != ns_ino());
	}
	REQUIRE(rig_drops(rp, &d0) == 0);
	REQUIRE(rig_tx_start(&tx) == 0);
	CHECK_EQ(rig_tx_wait(&tx), 0);
	CHECK_EQ(tx.sent, NPKT);
	/* wait for what is on its way: until all came, or 2 s with none */
	t_end = rig_now_ns() + 2000000000ull;
	while (rig_now_ns() < t_end) {
		got = atomic_load(&tr.good) + atomic_load(&tr.dup) + atomic_load(&tr.bad);
		if (got >= NPKT)
			break;
		if (got != last)
			t_end = rig_now_ns() + 2000000000ull;
		last = got;
		usleep(10000);
	}
	atomic_store(&stop, 1);
	for (int i = 0; i < NFLOW; i++) {
		pthread_join(th[i], NULL);
		CHECK_EQ(rc[i].err, 0);
		CHECK_EQ(rc[i].wrong_flow, 0);
		ovfl += rc[i].ovfl;
		/* flows take turns batch by batch: each port got its share */
		CHECK(rc[i].got > 0);
	}
	REQUIRE(rig_drops(rp, &d1) == 0);
	CHECK_EQ(atomic_load(&tr.bad), 0);
	CHECK_EQ(atomic_load(&tr.dup), 0);
	CHECK_EQ(atomic_load(&tr.out_of_range), 0);
	missing = rig_track_missing(&tr);
	/* a full socket counts in SO_RXQ_OVFL and in the MIB's InErrors:
	 * only the latter is added */
	counted = (d1.tx_dropped - d0.tx_dropped) + (d1.rx_dropped - d0.rx_dropped) +
		  (d1.udp_in_errors - d0.udp_in_errors);
	printf("sent %llu, arrived %llu, missing %llu; counted drops %llu (veth tx %llu rx %llu,"
	       " UDP InErrors %llu, of which the sockets' SO_RXQ_OVFL %llu; softnet backlog"
	       " machine-wide %llu)\n",
	       (unsigned long long)tx.sent, (unsigned long long)atomic_load(&tr.good),
	       (unsigned long long)missing, (unsigned long long)counted,
	       (unsigned long long)(d1.tx_dropped - d0.tx_dropped),
	       (unsigned long long)(d1.rx_dropped - d0.rx_dropped),
	       (unsigned long long)(d1.udp_in_errors - d0.udp_in_errors),
	       (unsigned long long)ovfl, (unsigned long long)(d1.softnet - d0.softnet));
	CHECK(ovfl <= d1.udp_in_errors - d0.udp_in_errors);
	/* no packet lost without a counter saying so */
	if (missing > counted) {
		rig_track_print_missing(&tr, stderr, 10);
		CHECK(missing <= counted);
	}
	CHECK_EQ(d1.udp_no_ports - d0.udp_no_ports, 0);
	rig_track_fini(&tr);
	sem_destroy(&bound);
}

static uint64_t ns_ino(void)
{
	struct stat st;

	return stat("/proc/thread-self/ns/net", &st) ? 0 : st.st_ino;
}

int main(void)
{
	struct rig_opts o = { .tag = "rigtest", .queues = NFLOW };
	struct rig r;
	char path[96];

	check_checker();
	RIG_UP_OR_SKIP(&r, &o);
	for (int s = 0; s < 2; s++) {
		snprintf(path, sizeof(path), "/run/netns/%s", r.ns[s]);
		CHECK(access(path, F_OK) == 0);
		CHECK(r.ifindex[s] > 0);
	}
	flood(&r, 0);
	flood(&r, 1);

	/* a paced sender: 2000 packets at 20000/s cannot take less than
	 * ~0.1 s (it sleeps until each batch is due); the socket that takes
	 * them is made from this thread moved into the receiving namespace */
	{
		struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(RIG_PORT + 7),
					 .sin_addr = r.addr[RIG_RX] };
		struct rig_tx slow = { .rig = &r, .size = 64, .count = 2000, .pps = 20000,
				       .ports = (uint16_t[]){ RIG_PORT + 7 }, .nports = 1 };
		int big = 8 << 20, fd, n = 0;
		struct timeval tv = { .tv_usec = 200000 };
		uint64_t ino = ns_ino();
		char b[256];

		REQUIRE(rig_enter(&r, RIG_RX) == 0);
		CHECK(ns_ino() != ino);
		fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
		REQUIRE(fd >= 0);
		setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &big, sizeof(big));
		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		REQUIRE(bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0);
		REQUIRE(rig_leave() == 0);
		CHECK_EQ(ns_ino(), ino);
		REQUIRE(rig_tx_start(&slow) == 0);
		CHECK_EQ(rig_tx_wait(&slow), 0);
		CHECK_EQ(slow.sent, 2000);
		CHECK(slow.ns >= 90000000ull);
		while (recv(fd, b, sizeof(b), 0) == 64)
			n++;
		printf("paced: 2000 packets in %.3f s, %d received\n", slow.ns / 1e9, n);
		CHECK(n > 0);
		close(fd);
	}

	rig_down(&r);
	CHECK(rig_gone(&r));
	CHECK_EQ(r.nsfd[RIG_RX], -1);
	rig_down(&r);	/* twice is harmless */
	return t_done();
}

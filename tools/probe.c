/* SPDX-License-Identifier: MIT */
/*
 * probe.c - `netmem probe [--json]`: which receive features this host
 * has, each with yes or no and the reason, found by asking the kernel
 * (and the CUDA driver) rather than by reading version numbers.
 *
 * Text: one line per feature, "feature: yes|no — reason"; per-interface
 * features are named "feature[ifname]".  JSON (--json): one object,
 *   {"probe":"netmem","kernel":"...","features":[
 *     {"feature":"io_uring_pbuf_ring","iface":null,"available":true,
 *      "reason":"..."}, ...]}
 * so that a script reads it with one parse.  Exit status 0 whenever the
 * probe itself ran, whatever it found.
 *
 * Kernel constants newer than this build's headers are defined here,
 * guarded, with their values from include/uapi/linux/{io_uring,netdev}.h.
 * The netdev and ethtool generic-netlink families are spoken over a raw
 * netlink socket: the probe needs a handful of attributes, not libnl.
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <liburing.h>
#include <linux/genetlink.h>
#include <linux/netlink.h>
#include <linux/ethtool_netlink.h>
#include <netinet/in.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <netmem/netmem.h>
#include <netmem/cuda.h>
#include "cmds.h"

#ifndef IOU_PBUF_RING_INC
#define IOU_PBUF_RING_INC 2            /* incremental buffer consumption, 6.12 */
#endif
#ifndef IORING_FEAT_RECVSEND_BUNDLE
#define IORING_FEAT_RECVSEND_BUNDLE (1U << 14) /* 6.10 */
#endif
#ifndef IORING_REGISTER_ZCRX_IFQ
#define IORING_REGISTER_ZCRX_IFQ 32    /* 6.15 */
#endif
#ifndef IORING_SETUP_SINGLE_ISSUER
#define IORING_SETUP_SINGLE_ISSUER (1U << 12)
#endif
#ifndef IORING_SETUP_DEFER_TASKRUN
#define IORING_SETUP_DEFER_TASKRUN (1U << 13)
#endif
#ifndef AF_XDP
#define AF_XDP 44
#endif
#ifndef SO_DEVMEM_DONTNEED
#define SO_DEVMEM_DONTNEED 80          /* asm-generic/socket.h, 6.12 */
#endif

/* include/uapi/linux/netdev.h */
#define NM_NETDEV_CMD_DEV_GET               1
#define NM_NETDEV_CMD_QUEUE_GET             10
#define NM_NETDEV_A_DEV_IFINDEX             1
#define NM_NETDEV_A_DEV_XDP_FEATURES        3
#define NM_NETDEV_A_DEV_XDP_ZC_MAX_SEGS     4
#define NM_NETDEV_XDP_ACT_XSK_ZEROCOPY      8
#define NM_NETDEV_A_QUEUE_ID                1
#define NM_NETDEV_A_QUEUE_IFINDEX           2
#define NM_NETDEV_A_QUEUE_TYPE              3
#define NM_NETDEV_A_QUEUE_DMABUF            5
#define NM_NETDEV_A_QUEUE_IO_URING          6
#define NM_NETDEV_QUEUE_TYPE_RX             0

#define MAX_FEATS 256
#define MAX_IFS   64

struct feat {
	char name[48];
	char iface[IF_NAMESIZE];
	bool yes;
	char reason[224];
};
static struct feat feats[MAX_FEATS];
static int nfeats;

static void add(const char *name, const char *iface, bool yes, const char *fmt, ...)
{
	struct feat *f;
	va_list ap;

	if (nfeats == MAX_FEATS)
		return;
	f = &feats[nfeats++];
	snprintf(f->name, sizeof(f->name), "%s", name);
	snprintf(f->iface, sizeof(f->iface), "%s", iface ? iface : "");
	f->yes = yes;
	va_start(ap, fmt);
	vsnprintf(f->reason, sizeof(f->reason), fmt, ap);
	va_end(ap);
}

/* ------------------------------------------------------------------ */
/* io_uring                                                             */
/* ------------------------------------------------------------------ */

/* Register an 8-entry buffer ring with @flags; return 0 or -errno. */
static int try_pbuf_ring(struct io_uring *ring, unsigned short bgid, unsigned short flags)
{
	struct io_uring_buf_reg reg;
	void *mem;
	int ret;

	mem = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (mem == MAP_FAILED)
		return -errno;
	memset(&reg, 0, sizeof(reg));
	reg.ring_addr = (unsigned long)mem;
	reg.ring_entries = 8;
	reg.bgid = bgid;
	reg.pad = flags; /* "flags" in newer headers */
	ret = io_uring_register_buf_ring(ring, &reg, 0);
	if (!ret)
		io_uring_unregister_buf_ring(ring, bgid);
	munmap(mem, 4096);
	return ret;
}

static void probe_zcrx(void)
{
	struct io_uring_params p;
	struct io_uring ring;
	void *bad;
	long ret;

	memset(&p, 0, sizeof(p));
	p.flags = IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN |
		  IORING_SETUP_CQE32;
	ret = io_uring_queue_init_params(8, &ring, &p);
	if (ret) {
		add("io_uring_zcrx", NULL, false,
		    "cannot create a DEFER_TASKRUN|CQE32 ring, which zcrx requires (%s)",
		    strerror((int)-ret));
		return;
	}
	/* A registration argument the kernel cannot read: a kernel that
	 * implements zcrx gets past its ring and capability checks and
	 * fails to copy it (EFAULT); one that does not know the opcode says
	 * EINVAL; one built without CONFIG_IO_URING_ZCRX says EOPNOTSUPP.
	 * Nothing is registered either way. */
	bad = mmap(NULL, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ret = syscall(__NR_io_uring_register, ring.ring_fd, IORING_REGISTER_ZCRX_IFQ,
		      bad, 1);
	ret = ret < 0 ? -errno : 0;
	munmap(bad, 4096);
	io_uring_queue_exit(&ring);
	switch (-ret) {
	case EFAULT:
		add("io_uring_zcrx", NULL, true,
		    "kernel implements IORING_REGISTER_ZCRX_IFQ; a NIC needs header split, "
		    "flow steering and the queue API (see zcrx_ready per interface)");
		break;
	case EPERM:
		add("io_uring_zcrx", NULL, false, "kernel has zcrx but it needs CAP_NET_ADMIN");
		break;
	case EOPNOTSUPP:
		add("io_uring_zcrx", NULL, false,
		    "kernel built without CONFIG_IO_URING_ZCRX (register says EOPNOTSUPP)");
		break;
	case EINVAL:
		add("io_uring_zcrx", NULL, false,
		    "kernel does not know IORING_REGISTER_ZCRX_IFQ (EINVAL; needs 6.15+)");
		break;
	case 0:
		add("io_uring_zcrx", NULL, false, "unexpected: an unreadable registration was accepted");
		break;
	default:
		add("io_uring_zcrx", NULL, false, "registration probe failed: %s",
		    strerror((int)-ret));
	}
}

static void probe_uring(void)
{
	struct io_uring_params p;
	struct io_uring ring;
	int ret;

	memset(&p, 0, sizeof(p));
	ret = io_uring_queue_init_params(8, &ring, &p);
	if (ret) {
		const char *why = ret == -ENOSYS ? "kernel without io_uring" :
				  ret == -EPERM ? "disabled (kernel.io_uring_disabled or seccomp)" :
				  strerror(-ret);
		add("io_uring", NULL, false, "io_uring_queue_init: %s", why);
		add("io_uring_pbuf_ring", NULL, false, "no io_uring");
		add("io_uring_pbuf_ring_inc", NULL, false, "no io_uring");
		add("io_uring_recvsend_bundle", NULL, false, "no io_uring");
		add("io_uring_zcrx", NULL, false, "no io_uring");
		return;
	}
	add("io_uring", NULL, true, "ring created, features 0x%x", p.features);
	ret = try_pbuf_ring(&ring, 0, 0);
	if (ret)
		add("io_uring_pbuf_ring", NULL, false,
		    "IORING_REGISTER_PBUF_RING: %s (needs 5.19+)", strerror(-ret));
	else
		add("io_uring_pbuf_ring", NULL, true,
		    "IORING_REGISTER_PBUF_RING accepted an 8-entry ring");
	ret = try_pbuf_ring(&ring, 1, IOU_PBUF_RING_INC);
	if (ret)
		add("io_uring_pbuf_ring_inc", NULL, false,
		    "kernel refused IOU_PBUF_RING_INC: %s (needs 6.12+)", strerror(-ret));
	else
		add("io_uring_pbuf_ring_inc", NULL, true,
		    "kernel accepted a ring with IOU_PBUF_RING_INC (incremental consumption)");
	add("io_uring_recvsend_bundle", NULL, p.features & IORING_FEAT_RECVSEND_BUNDLE,
	    p.features & IORING_FEAT_RECVSEND_BUNDLE ?
	    "ring features have IORING_FEAT_RECVSEND_BUNDLE" :
	    "ring features lack IORING_FEAT_RECVSEND_BUNDLE (needs 6.10+)");
	io_uring_queue_exit(&ring);
	probe_zcrx();
}

/* ------------------------------------------------------------------ */
/* generic netlink                                                      */
/* ------------------------------------------------------------------ */

struct nlbuf {
	char b[1024];
	size_t len;
};

static void nl_begin(struct nlbuf *m, uint16_t type, uint16_t flags, uint8_t cmd,
		     uint8_t version)
{
	struct nlmsghdr *nh = (struct nlmsghdr *)m->b;
	struct genlmsghdr *gh = NLMSG_DATA(nh);

	memset(m->b, 0, sizeof(m->b));
	nh->nlmsg_type = type;
	nh->nlmsg_flags = NLM_F_REQUEST | flags;
	nh->nlmsg_seq = 1;
	gh->cmd = cmd;
	gh->version = version;
	m->len = NLMSG_LENGTH(GENL_HDRLEN);
}

/* Append an attribute; return its header, for nests. */
static struct nlattr *nl_put(struct nlbuf *m, uint16_t type, const void *data, size_t len)
{
	struct nlattr *na = (struct nlattr *)(m->b + NLMSG_ALIGN(m->len));

	if (NLMSG_ALIGN(m->len) + NLA_HDRLEN + NLA_ALIGN(len) > sizeof(m->b))
		return NULL;
	na->nla_type = type;
	na->nla_len = (uint16_t)(NLA_HDRLEN + len);
	if (len)
		memcpy((char *)na + NLA_HDRLEN, data, len);
	m->len = NLMSG_ALIGN(m->len) + NLA_ALIGN(na->nla_len);
	return na;
}

static void nl_end_nest(struct nlbuf *m, struct nlattr *nest)
{
	nest->nla_len = (uint16_t)((m->b + m->len) - (char *)nest);
}

typedef void (*nl_cb)(uint16_t type, const void *data, size_t len, void *arg);
typedef void (*nl_msg_cb)(const struct nlmsghdr *nh, void *arg);

/* Walk the attributes of a generic netlink message. */
static void nl_attrs(const struct nlmsghdr *nh, nl_cb cb, void *arg)
{
	const char *p = (const char *)NLMSG_DATA(nh) + GENL_HDRLEN;
	const char *end = (const char *)nh + nh->nlmsg_len;

	while (p + NLA_HDRLEN <= end) {
		const struct nlattr *na = (const struct nlattr *)p;
		if (na->nla_len < NLA_HDRLEN || p + na->nla_len > end)
			break;
		cb(na->nla_type & NLA_TYPE_MASK, p + NLA_HDRLEN, na->nla_len - NLA_HDRLEN, arg);
		p += NLA_ALIGN(na->nla_len);
	}
}

/* Send @m and feed every reply message to @cb until done.  Return 0 or
 * the kernel's -errno. */
static int nl_talk(int fd, struct nlbuf *m, nl_msg_cb cb, void *arg)
{
	static char rb[65536];
	struct nlmsghdr *nh = (struct nlmsghdr *)m->b;
	bool ack = nh->nlmsg_flags & NLM_F_ACK;
	/* Dumps end with NLMSG_DONE; not every family marks the parts
	 * NLM_F_MULTI, so do not rely on it. */
	bool dump = (nh->nlmsg_flags & NLM_F_DUMP) == NLM_F_DUMP;
	ssize_t n;

	nh->nlmsg_len = (uint32_t)m->len;
	if (send(fd, m->b, m->len, 0) < 0)
		return -errno;
	for (;;) {
		n = recv(fd, rb, sizeof(rb), 0);
		if (n < 0)
			return -errno;
		for (nh = (struct nlmsghdr *)rb; NLMSG_OK(nh, (size_t)n); nh = NLMSG_NEXT(nh, n)) {
			if (nh->nlmsg_type == NLMSG_DONE)
				return 0;
			if (nh->nlmsg_type == NLMSG_ERROR) {
				const struct nlmsgerr *e = NLMSG_DATA(nh);
				return e->error;
			}
			if (cb)
				cb(nh, arg);
			/* A single answer ends the exchange, unless an ACK
			 * was asked for: then it follows and must be read, or
			 * the next request would take it for its answer. */
			if (!(nh->nlmsg_flags & NLM_F_MULTI) && !ack && !dump)
				return 0;
		}
	}
}

static int nl_open(void)
{
	struct timeval tv = { .tv_sec = 2 };
	int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_GENERIC);

	if (fd >= 0)
		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	return fd;
}

static void family_cb(uint16_t type, const void *d, size_t len, void *arg)
{
	if (type == CTRL_ATTR_FAMILY_ID && len >= 2)
		memcpy(arg, d, 2);
}

static void family_msg(const struct nlmsghdr *nh, void *arg)
{
	nl_attrs(nh, family_cb, arg);
}

/* The id of generic netlink family @name, or -errno. */
static int genl_family(int fd, const char *name)
{
	struct nlbuf m;
	uint16_t id = 0;
	int err;

	nl_begin(&m, GENL_ID_CTRL, NLM_F_ACK, CTRL_CMD_GETFAMILY, 1);
	nl_put(&m, CTRL_ATTR_FAMILY_NAME, name, strlen(name) + 1);
	err = nl_talk(fd, &m, family_msg, &id);
	if (err)
		return err;
	return id ? id : -ENOENT;
}

/* ------------------------------------------------------------------ */
/* interfaces: AF_XDP zero-copy, header split, queues                   */
/* ------------------------------------------------------------------ */

struct ifrec {
	uint32_t ifindex;
	uint64_t xdp_features;
	uint32_t zc_max_segs;
	bool have_zc_segs;
	int rx_queues, dmabuf_queues, uring_queues;
	int split;      /* ETHTOOL_TCP_DATA_SPLIT_*, or -errno */
};
static struct ifrec ifs[MAX_IFS];
static int nifs;

static struct ifrec *ifrec_get(uint32_t ifindex)
{
	for (int i = 0; i < nifs; i++)
		if (ifs[i].ifindex == ifindex)
			return &ifs[i];
	if (nifs == MAX_IFS)
		return NULL;
	memset(&ifs[nifs], 0, sizeof(ifs[nifs]));
	ifs[nifs].ifindex = ifindex;
	return &ifs[nifs++];
}

struct dev_acc {
	uint32_t ifindex;
	uint64_t xdp;
	uint32_t segs;
	bool segs_set;
	uint32_t qtype;
	bool dmabuf, uring;
};

static void dev_cb(uint16_t type, const void *d, size_t len, void *arg)
{
	struct dev_acc *a = arg;

	if (type == NM_NETDEV_A_DEV_IFINDEX && len >= 4)
		memcpy(&a->ifindex, d, 4);
	else if (type == NM_NETDEV_A_DEV_XDP_FEATURES && len >= 8)
		memcpy(&a->xdp, d, 8);
	else if (type == NM_NETDEV_A_DEV_XDP_ZC_MAX_SEGS && len >= 4) {
		memcpy(&a->segs, d, 4);
		a->segs_set = true;
	}
}

static void dev_msg(const struct nlmsghdr *nh, void *arg)
{
	struct dev_acc a = { 0 };
	struct ifrec *r;

	(void)arg;
	nl_attrs(nh, dev_cb, &a);
	r = a.ifindex ? ifrec_get(a.ifindex) : NULL;
	if (!r)
		return;
	r->xdp_features = a.xdp;
	r->zc_max_segs = a.segs;
	r->have_zc_segs = a.segs_set;
}

static void queue_cb(uint16_t type, const void *d, size_t len, void *arg)
{
	struct dev_acc *a = arg;

	if (type == NM_NETDEV_A_QUEUE_IFINDEX && len >= 4)
		memcpy(&a->ifindex, d, 4);
	else if (type == NM_NETDEV_A_QUEUE_TYPE && len >= 4)
		memcpy(&a->qtype, d, 4);
	else if (type == NM_NETDEV_A_QUEUE_DMABUF)
		a->dmabuf = true;
	else if (type == NM_NETDEV_A_QUEUE_IO_URING)
		a->uring = true;
}

static void queue_msg(const struct nlmsghdr *nh, void *arg)
{
	struct dev_acc a = { 0 };
	struct ifrec *r;

	(void)arg;
	a.qtype = 99;
	nl_attrs(nh, queue_cb, &a);
	r = a.ifindex ? ifrec_get(a.ifindex) : NULL;
	if (!r || a.qtype != NM_NETDEV_QUEUE_TYPE_RX)
		return;
	r->rx_queues++;
	r->dmabuf_queues += a.dmabuf;
	r->uring_queues += a.uring;
}

static void rings_cb(uint16_t type, const void *d, size_t len, void *arg)
{
	if (type == ETHTOOL_A_RINGS_TCP_DATA_SPLIT && len >= 1)
		*(int *)arg = *(const uint8_t *)d;
}

static void rings_msg(const struct nlmsghdr *nh, void *arg)
{
	nl_attrs(nh, rings_cb, arg);
}

/* tcp-data-split of one interface through ethtool netlink. */
static int header_split(int fd, int fam, uint32_t ifindex)
{
	struct nlbuf m;
	struct nlattr *nest;
	int split = ETHTOOL_TCP_DATA_SPLIT_UNKNOWN, err;

	nl_begin(&m, (uint16_t)fam, NLM_F_ACK, ETHTOOL_MSG_RINGS_GET, ETHTOOL_GENL_VERSION);
	nest = nl_put(&m, ETHTOOL_A_RINGS_HEADER | NLA_F_NESTED, NULL, 0);
	nl_put(&m, ETHTOOL_A_HEADER_DEV_INDEX, &ifindex, 4);
	nl_end_nest(&m, nest);
	err = nl_talk(fd, &m, rings_msg, &split);
	return err ? err : split;
}

static int devmem_known(char *why, size_t len)
{
	struct { uint32_t start, count; } tok = { 0xffffffffu, 1 };
	int fd = socket(AF_INET, SOCK_STREAM, 0), r, e;

	if (fd < 0) {
		snprintf(why, len, "no TCP socket: %s", strerror(errno));
		return 0;
	}
	/* A token nobody holds: a kernel that knows the option looks it up
	 * and frees nothing (returns >= 0) or rejects it (EINVAL); one that
	 * does not says ENOPROTOOPT. */
	r = setsockopt(fd, SOL_SOCKET, SO_DEVMEM_DONTNEED, &tok, sizeof(tok));
	e = errno;
	close(fd);
	if (r >= 0 || e == EINVAL || e == EFAULT) {
		snprintf(why, len, "kernel knows SO_DEVMEM_DONTNEED (%s)",
			 r >= 0 ? "accepted an unknown token" : strerror(e));
		return 1;
	}
	snprintf(why, len, "SO_DEVMEM_DONTNEED unknown to the kernel (%s; needs 6.12+ with page_pool)",
		 strerror(e));
	return 0;
}

/* The xdp receive engine: AF_XDP sockets, and libxdp (which the engine
 * loads at run time) loadable.  Copy mode then works on any interface with
 * XDP; zero-copy where af_xdp_zerocopy[IF] says so. */
static void xdp_engine(bool sockets)
{
	void *h = dlopen("libxdp.so.1", RTLD_LAZY | RTLD_LOCAL);

	if (!sockets)
		add("xdp_engine", NULL, false, "no AF_XDP sockets (see af_xdp)");
	else if (!h)
		add("xdp_engine", NULL, false, "libxdp cannot be loaded: %s (apt-get install libxdp1)",
		    dlerror());
	else
		add("xdp_engine", NULL, true, "AF_XDP sockets and libxdp: rx --engine xdp, "
		    "copy mode on any interface, zero-copy where af_xdp_zerocopy says");
	if (h)
		dlclose(h);
}

static void probe_interfaces(void)
{
	char devmem_why[160], name[IF_NAMESIZE];
	int fd, fam, efam, err, dm;
	struct nlbuf m;
	int s;

	s = socket(AF_XDP, SOCK_RAW | SOCK_CLOEXEC, 0);
	if (s >= 0) {
		add("af_xdp", NULL, true, "socket(AF_XDP) works");
		close(s);
	} else {
		add("af_xdp", NULL, false, "socket(AF_XDP): %s%s", strerror(errno),
		    errno == EAFNOSUPPORT ? " (kernel without CONFIG_XDP_SOCKETS)" :
		    errno == EPERM ? " (needs CAP_NET_RAW)" : "");
	}
	xdp_engine(s >= 0);
	dm = devmem_known(devmem_why, sizeof(devmem_why));
	add("devmem_tcp_kernel", NULL, dm, "%s", devmem_why);

	fd = nl_open();
	if (fd < 0) {
		add("netdev_netlink", NULL, false, "no generic netlink socket: %s", strerror(errno));
		return;
	}
	fam = genl_family(fd, "netdev");
	if (fam < 0) {
		add("netdev_netlink", NULL, false,
		    "generic netlink family \"netdev\" not found (%s; needs 6.3+)", strerror(-fam));
		close(fd);
		return;
	}
	nl_begin(&m, (uint16_t)fam, NLM_F_DUMP, NM_NETDEV_CMD_DEV_GET, 1);
	err = nl_talk(fd, &m, dev_msg, NULL);
	if (err)
		add("netdev_netlink", NULL, false, "netdev dev-get dump: %s", strerror(-err));
	else
		add("netdev_netlink", NULL, true, "family \"netdev\" (id %d) answers dev-get", fam);
	nl_begin(&m, (uint16_t)fam, NLM_F_DUMP, NM_NETDEV_CMD_QUEUE_GET, 1);
	err = nl_talk(fd, &m, queue_msg, NULL);
	efam = genl_family(fd, "ethtool");

	for (int i = 0; i < nifs; i++) {
		struct ifrec *r = &ifs[i];
		bool zc = r->xdp_features & NM_NETDEV_XDP_ACT_XSK_ZEROCOPY;

		if (!if_indextoname(r->ifindex, name))
			snprintf(name, sizeof(name), "if%u", r->ifindex);
		if (zc)
			add("af_xdp_zerocopy", name, true,
			    "driver advertises XSK zero-copy (xdp-features 0x%llx, zc max segs %u)",
			    (unsigned long long)r->xdp_features, r->zc_max_segs);
		else
			add("af_xdp_zerocopy", name, false,
			    "driver lacks NETDEV_XDP_ACT_XSK_ZEROCOPY (xdp-features 0x%llx): copy mode only",
			    (unsigned long long)r->xdp_features);

		r->split = efam > 0 ? header_split(fd, efam, r->ifindex) : efam;
		const char *split_s = r->split == ETHTOOL_TCP_DATA_SPLIT_ENABLED ? "on" :
				      r->split == ETHTOOL_TCP_DATA_SPLIT_DISABLED ? "off" :
				      r->split == ETHTOOL_TCP_DATA_SPLIT_UNKNOWN ? "not reported" :
				      strerror(-r->split);
		bool split_on = r->split == ETHTOOL_TCP_DATA_SPLIT_ENABLED;
		bool ready = dm && split_on && r->rx_queues > 0;
		char why[224];

		if (!dm)
			snprintf(why, sizeof(why), "kernel lacks devmem TCP");
		else if (!split_on)
			snprintf(why, sizeof(why),
				 "tcp-data-split: %s (ethtool -G %s tcp-data-split on needs a NIC "
				 "with header split)", split_s, name);
		else if (!r->rx_queues)
			snprintf(why, sizeof(why), "header split on but no rx queues listed by netdev queue-get");
		else
			snprintf(why, sizeof(why),
				 "header split on, %d rx queue(s), %d bound to a dmabuf; binding also "
				 "needs the driver's queue API", r->rx_queues, r->dmabuf_queues);
		add("devmem_tcp", name, ready, "%s", why);
		if (ready)
			add("zcrx_ready", name, true,
			    "header split on and %d rx queue(s); %d already used by io_uring zcrx",
			    r->rx_queues, r->uring_queues);
		else
			add("zcrx_ready", name, false, "same requirements as devmem TCP: %s", why);
	}
	if (err && err != -EOPNOTSUPP)
		add("netdev_queue_get", NULL, false, "queue-get dump: %s (needs 6.8+)", strerror(-err));
	close(fd);
}

/* ------------------------------------------------------------------ */
/* hugepages, CUDA                                                      */
/* ------------------------------------------------------------------ */

static void probe_hugepages(void)
{
	FILE *f = fopen("/proc/meminfo", "r");
	long total = -1, freep = -1, size_kb = 0;
	char line[256], thp[128] = "unknown", *a, *b;

	if (f) {
		while (fgets(line, sizeof(line), f)) {
			sscanf(line, "HugePages_Total: %ld", &total);
			sscanf(line, "HugePages_Free: %ld", &freep);
			sscanf(line, "Hugepagesize: %ld", &size_kb);
		}
		fclose(f);
	}
	f = fopen("/sys/kernel/mm/transparent_hugepage/enabled", "r");
	if (f) {
		if (fgets(line, sizeof(line), f) && (a = strchr(line, '[')) &&
		    (b = strchr(a, ']'))) {
			*b = 0;
			snprintf(thp, sizeof(thp), "%s", a + 1);
		}
		fclose(f);
	}
	add("hugetlb_pages", NULL, freep > 0,
	    "%ld of %ld %ld kB hugepages free (vm.nr_hugepages)%s", freep < 0 ? 0 : freep,
	    total < 0 ? 0 : total, size_kb, freep > 0 ? "" : "; the hugepage provider falls back to THP");
	add("thp", NULL, !strcmp(thp, "always") || !strcmp(thp, "madvise"),
	    "transparent hugepages: %s", thp);
}

static void probe_cuda(void)
{
	int n = nm_cuda_available();
	struct nm_cuda_device_info di;
	char name[16];

	add("cuda", NULL, n > 0, "%s", nm_cuda_status());
	for (int i = 0; i < n; i++) {
		snprintf(name, sizeof(name), "cuda%d", i);
		if (nm_cuda_device_info(i, &di, sizeof(di)))
			continue;
		add("cuda_dmabuf", name, di.dmabuf_supported && di.export_api,
		    "%s (cc %d.%d, %s): dmabuf %s, GPUDirect RDMA %s%s", di.name, di.cc_major,
		    di.cc_minor, di.pci_bus_id[0] ? di.pci_bus_id : "?",
		    di.dmabuf_supported ? "supported" : "unsupported (needs nvidia-open modules)",
		    di.gdr_supported ? "yes" : "no",
		    di.export_api ? "" : "; driver lacks cuMemGetHandleForAddressRange");
	}
}

/* ------------------------------------------------------------------ */
/* output                                                               */
/* ------------------------------------------------------------------ */

static void json_str(const char *s)
{
	putchar('"');
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\')
			printf("\\%c", c);
		else if (c < 0x20)
			printf("\\u%04x", c);
		else
			putchar(c);
	}
	putchar('"');
}

int cmd_probe(int argc, char **argv)
{
	struct utsname u;
	bool json = false;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--json")) {
			json = true;
		} else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			printf("usage: netmem probe [--json]\n");
			return 0;
		} else {
			fprintf(stderr, "netmem probe: unknown option '%s'\n", argv[i]);
			return 2;
		}
	}
	probe_uring();
	probe_interfaces();
	probe_hugepages();
	probe_cuda();
	if (uname(&u))
		snprintf(u.release, sizeof(u.release), "unknown");

	if (!json) {
		printf("kernel: %s\n", u.release);
		for (int i = 0; i < nfeats; i++) {
			struct feat *f = &feats[i];
			if (f->iface[0])
				printf("%s[%s]: %s — %s\n", f->name, f->iface,
				       f->yes ? "yes" : "no", f->reason);
			else
				printf("%s: %s — %s\n", f->name, f->yes ? "yes" : "no", f->reason);
		}
		return 0;
	}
	printf("{\"probe\":\"netmem\",\"version\":");
	json_str(nm_version());
	printf(",\"kernel\":");
	json_str(u.release);
	printf(",\"features\":[");
	for (int i = 0; i < nfeats; i++) {
		struct feat *f = &feats[i];
		printf("%s\n{\"feature\":", i ? "," : "");
		json_str(f->name);
		printf(",\"iface\":");
		if (f->iface[0])
			json_str(f->iface);
		else
			printf("null");
		printf(",\"available\":%s,\"reason\":", f->yes ? "true" : "false");
		json_str(f->reason);
		putchar('}');
	}
	printf("]}\n");
	return 0;
}

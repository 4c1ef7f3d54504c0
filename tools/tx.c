/* SPDX-License-Identifier: MIT */
/*
 * tx.c - `netmem tx`: send a deterministic test stream over TCP, the
 * sender half of `netmem rx`, the demo and `netmem bench rx`.
 *
 *   netmem tx (-c HOST [-p PORT] | --connect HOST:PORT) [--bytes N | --seconds T]
 *             [OPTIONS]
 *
 * The options are the table nm_cmd_tx below, which also prints the usage
 * (tools/opts.h).  iperf3's habits work: -c HOST -p PORT (default 5201),
 * -t SECS, -n BYTES, -P conns, -l write size, -i SECS interval reports
 * as it goes (every second by default with -c), -J JSON, -A pins the
 * command to CPUs.  With -c and neither
 * -t nor -n it sends for 10 s, as iperf3 does; --connect wants one of them.
 *
 * --bytes is per connection: every connection carries the same stream
 * (byte i is the pattern's byte i, see txrx.h), so the receiver checks each
 * connection on its own from offset 0 and the total is N x C.  --seconds
 * sends for that long instead (whole messages).  Each write is one message
 * of S bytes (the last one shorter); MIN:MAX draws each message's size from
 * a fixed pseudo-random sequence, so a run can be repeated exactly.
 *
 * --framed puts the rx engines' length prefix (include/netmem/rx.h) in
 * front of every message, header and payload in one sendmsg(), as a
 * producer of framed traffic for `netmem rx --split` would.  The pattern
 * runs over the payload bytes only; --bytes counts payload bytes.
 *
 * One connection is driven by blocking writes; several by one thread
 * polling non-blocking sockets, so the sender takes at most one core
 * whatever C is and leaves the other to the receiver being measured.
 * With -i SECS a line per interval (bytes, GB = 10^9, Gbit/s) goes to
 * stdout while it sends, a JSON line each with -J.  At the end: bytes,
 * seconds, Gbit/s and CPU time (getrusage, user+sys) as a line of text, or
 * one JSON object with --json, on stdout; errors go to stderr with exit
 * status 1, bad arguments with 2.
 *
 * --udp sends datagrams instead, for `netmem rx --engine udp`: --size
 * bytes each (an 8-byte sequence number, then the pattern: txrx.h), from
 * one connected socket by sendmmsg, --pps of them a second (0: as fast as
 * it can), for -t SECS or --count N.  A refused send (no receiver yet:
 * ICMP) or a full queue (ENOBUFS) is retried and counted.  It reports
 * datagrams, packets per second and CPU per packet.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <netmem/netmem.h>
#include "txrx.h"
#include <netmem/rx.h>
#include "cmds.h"
#include "opts.h"

#define TX_MAX_CONNS   1024
#define TX_MAX_MSG     (16u << 20)
/* rx.h's built-in framing: a 4-byte big-endian payload length */
#define TX_HDR_LEN     4
#define TX_DEFAULT_PORT 5201  /* iperf3's */
#define TX_DEFAULT_SECS 10.0  /* iperf3's -t */
#define TX_UDP_BATCH   64
#define TX_UDP_MAX     65507u /* UDP over IPv4 */

struct tx_conn {
	int fd;
	uint64_t sent;        /* payload bytes fully or partly written */
	uint64_t wire;        /* bytes written, headers included */
	uint64_t rng;         /* message-size sequence state */
	uint32_t msg_len;     /* payload bytes of the current message */
	uint32_t msg_done;    /* bytes of the current message written, header first */
	uint32_t hdr_len;
	uint8_t hdr[TX_HDR_LEN];
	uint64_t msg_base;    /* stream offset of the current message's payload */
	bool done;
};

struct tx_cfg {
	const char *connect, *client;
	char connect_buf[300];
	uint64_t bytes;
	double seconds, interval;
	uint32_t msg_min, msg_max;
	unsigned int conns, port;
	struct nm_pat pat;
	bool framed, json, quiet, have_port, have_cpus;
	cpu_set_t cpus;
	double wait;
	bool udp;             /* --udp: datagrams */
	uint32_t size;        /* --size: bytes per datagram */
	uint64_t pps, count;  /* --pps (0: flat out), --count (0: -t) */
};

/* Interval reports (-i): the interval under way. */
struct tx_iv {
	double t0, start, next;
	uint64_t bytes0;
};

enum {
	O_CLIENT = 1, O_PORT, O_CONNECT, O_TIME, O_BYTES, O_PARALLEL, O_LENGTH,
	O_PATTERN, O_FRAMED, O_WAIT, O_INTERVAL, O_JSON, O_AFFINITY, O_QUIET, O_HELP,
	O_UDP, O_SIZE, O_PPS, O_COUNT,
};

static const struct nm_opt tx_opts[] = {
	NM_OPT(O_CLIENT, 'c', "--client", "HOST", "connect to HOST, port 5201 or -p (iperf3's -c)"),
	NM_OPT(O_PORT, 'p', "--port", "PORT", "with -c: the port (default 5201)"),
	NM_OPT(O_CONNECT, 0, "--connect", "HOST:PORT", "connect here"),
	NM_OPT(O_TIME, 't', "--seconds", "T", "send for T seconds (with -c: default 10)"),
	NM_OPT(O_BYTES, 'n', "--bytes", "N", "send N payload bytes per connection (K/M/G suffixes)"),
	NM_OPT(O_PARALLEL, 'P', "--conns", "C", "connections, each carrying the whole stream (default 1)"),
	NM_OPT(O_LENGTH, 'l', "--msg-size", "S|MIN:MAX", "bytes per write (default 64K, at most 16M)"),
	NM_OPT(O_PATTERN, 0, "--pattern", "P", "seq (default) or random SEED (also random:SEED)"),
	NM_OPT(O_FRAMED, 0, "--framed", NULL, "length-prefix each message (for rx --split)"),
	NM_OPT(O_WAIT, 0, "--wait", "SECS", "keep retrying a refused connect for this long"),
	NM_OPT(O_UDP, 0, "--udp", NULL, "send UDP datagrams (for rx --engine udp), not a stream"),
	NM_OPT(O_SIZE, 0, "--size", "N", "--udp: bytes per datagram, 8 to 65507 (default 64)"),
	NM_OPT(O_PPS, 0, "--pps", "N", "--udp: datagrams per second (default 0: as fast as it can)"),
	NM_OPT(O_COUNT, 0, "--count", "N", "--udp: send N datagrams (instead of -t)"),
	NM_OPT(O_INTERVAL, 'i', "--interval", "SECS", "a report line every SECS while sending\n(default: 1 with -c, else none; 0: none)"),
	NM_OPT(O_JSON, 'J', "--json", NULL, "JSON: one object at the end, a JSON line per interval"),
	NM_OPT(O_AFFINITY, 'A', "--affinity", "CPUS", "run on CPUS (\"1\", \"0,2\", \"0-3\")"),
	NM_OPT(O_QUIET, 'q', "--quiet", NULL, "no summary or interval lines (JSON is still printed)"),
	NM_OPT(O_HELP, 'h', "--help", NULL, "this text"),
	{ 0 },
};

const struct nm_cmd nm_cmd_tx = {
	.name = "tx",
	.synopsis = "(-c HOST [-p PORT] | --connect HOST:PORT) [-t SECS | -n BYTES] [OPTIONS]",
	.summary = "Send a deterministic test stream over TCP (the sender for netmem rx).",
	.opts = tx_opts,
	.footer = "Sizes take binary suffixes (64K, 1G = 2^30); reports give bytes, GB (10^9) and Gbit/s.\n"
		  "Exit: 0; 1 when a connect or a send failed; 2 for bad arguments.\n",
};

static int usage(void)
{
	nm_opt_usage(&nm_cmd_tx, stderr);
	return 2;
}

static uint64_t xorshift(uint64_t *s)
{
	uint64_t x = *s;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return *s = x;
}

static int tx_connect(const struct tx_cfg *cfg, const struct sockaddr_storage *ss,
		      socklen_t sslen)
{
	double deadline = nm_now() + cfg->wait;
	int one = 1;

	for (;;) {
		int fd = socket(ss->ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);

		if (fd < 0)
			return -errno;
		if (!connect(fd, (const struct sockaddr *)ss, sslen)) {
			/* small frames must not wait for Nagle on the last one */
			setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
			return fd;
		}
		int err = errno;
		close(fd);
		if ((err != ECONNREFUSED && err != EAGAIN) || nm_now() >= deadline)
			return -err;
		usleep(20000);
	}
}

/* Start the next message of @c; false when the connection is finished. */
static bool next_msg(const struct tx_cfg *cfg, struct tx_conn *c, double t_end)
{
	uint64_t left;
	uint32_t len;

	if (cfg->seconds > 0) {
		if (nm_now() >= t_end)
			return false;
		left = UINT64_MAX;
	} else {
		left = cfg->bytes - c->sent;
		if (!left)
			return false;
	}
	len = cfg->msg_min;
	if (cfg->msg_max > cfg->msg_min)
		len += xorshift(&c->rng) % (cfg->msg_max - cfg->msg_min + 1);
	if (len > left)
		len = left;
	c->msg_base = c->sent;
	c->msg_len = len;
	c->msg_done = 0;
	c->hdr_len = 0;
	if (cfg->framed) {
		c->hdr[0] = len >> 24;
		c->hdr[1] = len >> 16;
		c->hdr[2] = len >> 8;
		c->hdr[3] = len;
		c->hdr_len = TX_HDR_LEN;
	}
	return true;
}

/*
 * Write as much of @c's current message as the socket takes.
 * Return: 1 when the message is out, 0 on EAGAIN, -errno on error.
 */
static int send_msg(const struct tx_cfg *cfg, struct tx_conn *c)
{
	while (c->msg_done < c->hdr_len + c->msg_len) {
		struct iovec iov[2];
		struct msghdr mh = { .msg_iov = iov };
		uint32_t pdone;
		ssize_t n;

		if (c->msg_done < c->hdr_len) {
			iov[mh.msg_iovlen].iov_base = c->hdr + c->msg_done;
			iov[mh.msg_iovlen++].iov_len = c->hdr_len - c->msg_done;
			pdone = 0;
		} else {
			pdone = c->msg_done - c->hdr_len;
		}
		iov[mh.msg_iovlen].iov_base = (void *)nm_pat_at(&cfg->pat, c->msg_base + pdone);
		iov[mh.msg_iovlen++].iov_len = c->msg_len - pdone;
		n = sendmsg(c->fd, &mh, MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return errno == EAGAIN ? 0 : -errno;
		}
		c->msg_done += n;
		c->wire += n;
		if (c->msg_done > c->hdr_len)
			c->sent = c->msg_base + (c->msg_done - c->hdr_len);
	}
	return 1;
}

/*
 * Report the interval under way if it is over (or, @last, what is left of
 * it): seconds since the start, bytes sent (every connection), GB (10^9),
 * Gbit/s; a JSON line with -J.  Cheap when there is nothing to print.
 */
static void iv_tick(const struct tx_cfg *cfg, const struct tx_conn *cs, struct tx_iv *iv,
		    bool last)
{
	double now, secs;
	uint64_t b = 0, db;

	if (cfg->interval <= 0 || (cfg->quiet && !cfg->json))
		return;
	now = nm_now();
	if (!last && now < iv->next)
		return;
	for (unsigned int i = 0; i < cfg->conns; i++)
		b += cs[i].sent;
	secs = now - iv->start;
	db = b - iv->bytes0;
	if (last && (secs <= 0 || (!db && secs < cfg->interval / 2)))
		return;
	if (cfg->json)
		printf("{\"event\":\"interval\",\"cmd\":\"tx\",\"start\":%.3f,\"end\":%.3f,"
		       "\"bytes\":%llu,\"gbit_per_s\":%.3f}\n", iv->start - iv->t0, now - iv->t0,
		       (unsigned long long)db, nm_gbit(db, secs));
	else
		printf("tx: %6.2f-%6.2f s  %8.3f GB  %7.2f Gbit/s\n", iv->start - iv->t0,
		       now - iv->t0, db / 1e9, nm_gbit(db, secs));
	fflush(stdout);
	iv->start = now;
	iv->next = now + cfg->interval;
	iv->bytes0 = b;
}

/* How long the poll may wait: 10 s, less when an interval ends sooner. */
static int poll_ms(const struct tx_cfg *cfg, const struct tx_iv *iv)
{
	double left = cfg->interval > 0 ? iv->next - nm_now() : 10;

	return left <= 0 ? 0 : left < 10 ? (int)(left * 1000) + 1 : 10000;
}

/* Drive every connection to its end; 0 or -errno of the first failure. */
static int tx_run(const struct tx_cfg *cfg, struct tx_conn *cs, double t_end,
		  struct tx_iv *iv)
{
	unsigned int live = cfg->conns;
	struct pollfd *pfd;
	int rc = 0;

	if (cfg->conns == 1) {
		struct tx_conn *c = &cs[0];
		while (next_msg(cfg, c, t_end)) {
			if ((rc = send_msg(cfg, c)) < 0)
				return rc;
			iv_tick(cfg, cs, iv, false);
		}
		c->done = true;
		return 0;
	}
	pfd = calloc(cfg->conns, sizeof(*pfd));
	if (!pfd)
		return -ENOMEM;
	for (unsigned int i = 0; i < cfg->conns; i++) {
		fcntl(cs[i].fd, F_SETFL, fcntl(cs[i].fd, F_GETFL) | O_NONBLOCK);
		cs[i].msg_done = cs[i].msg_len = cs[i].hdr_len = 0;
	}
	while (live) {
		unsigned int np = 0;

		for (unsigned int i = 0; i < cfg->conns; i++) {
			struct tx_conn *c = &cs[i];

			while (!c->done) {
				if (c->msg_done == c->hdr_len + c->msg_len &&
				    !next_msg(cfg, c, t_end)) {
					c->done = true;
					live--;
					break;
				}
				rc = send_msg(cfg, c);
				if (rc < 0)
					goto out;
				if (!rc) {
					pfd[np].fd = c->fd;
					pfd[np++].events = POLLOUT;
					break;
				}
			}
		}
		if (np && poll(pfd, np, poll_ms(cfg, iv)) < 0 && errno != EINTR) {
			rc = -errno;
			goto out;
		}
		iv_tick(cfg, cs, iv, false);
	}
	rc = 0;
out:
	free(pfd);
	return rc;
}

static int parse_args(int argc, char **argv, struct tx_cfg *cfg)
{
	bool have_pat = false;
	uint64_t v;

	for (int i = 1; i < argc; i++) {
		const char *next;
		int k = nm_opt_parse(&nm_cmd_tx, argc, argv, &i, &next);

		switch (k) {
		case O_JSON: cfg->json = true; break;
		case O_QUIET: cfg->quiet = true; break;
		case O_FRAMED: cfg->framed = true; break;
		case O_UDP: cfg->udp = true; break;
		case O_SIZE:
			if (nm_parse_size(next, &v) || v < NM_UDP_SEQ_LEN || v > TX_UDP_MAX) {
				fprintf(stderr, "netmem tx: --size '%s': expected 8 to 65507\n", next);
				return -EINVAL;
			}
			cfg->size = v;
			break;
		case O_PPS:
			if (nm_parse_uint(next, 0, 1000000000, &cfg->pps)) {
				fprintf(stderr, "netmem tx: --pps '%s': expected a rate, 0 for no limit\n", next);
				return -EINVAL;
			}
			break;
		case O_COUNT:
			if (nm_parse_uint(next, 1, UINT64_MAX, &cfg->count)) {
				fprintf(stderr, "netmem tx: --count '%s': expected a count >= 1\n", next);
				return -EINVAL;
			}
			break;
		case O_HELP:
			nm_opt_usage(&nm_cmd_tx, stdout);
			exit(0);
		case O_CONNECT: cfg->connect = next; break;
		case O_CLIENT: cfg->client = next; break;
		case O_PORT:
			if (nm_parse_uint(next, 1, 65535, &v)) {
				fprintf(stderr, "netmem tx: -p '%s': expected a port, 1 to 65535\n", next);
				return -EINVAL;
			}
			cfg->port = v;
			cfg->have_port = true;
			break;
		case O_BYTES:
			if (nm_parse_size(next, &cfg->bytes) || !cfg->bytes) {
				fprintf(stderr, "netmem tx: --bytes '%s': expected a size > 0 (e.g. 4G)\n", next);
				return -EINVAL;
			}
			break;
		case O_TIME:
			if (nm_parse_secs(next, &cfg->seconds)) {
				fprintf(stderr, "netmem tx: --seconds '%s': expected a number > 0\n", next);
				return -EINVAL;
			}
			break;
		case O_INTERVAL:
			if (!strcmp(next, "0")) {
				cfg->interval = 0;
			} else if (nm_parse_secs(next, &cfg->interval) || cfg->interval < 0.1) {
				fprintf(stderr, "netmem tx: -i '%s': expected seconds >= 0.1, or 0\n", next);
				return -EINVAL;
			}
			break;
		case O_AFFINITY:
			if (nm_parse_cpus(next, &cfg->cpus)) {
				fprintf(stderr, "netmem tx: -A '%s': expected CPUs such as 1, 0,2 or 0-3\n", next);
				return -EINVAL;
			}
			cfg->have_cpus = true;
			break;
		case O_LENGTH: {
			const char *colon = strchr(next, ':');
			uint64_t lo, hi;
			char tmp[64];

			snprintf(tmp, sizeof(tmp), "%.*s", colon ? (int)(colon - next) : 63, next);
			if (nm_parse_size(tmp, &lo) || (colon && nm_parse_size(colon + 1, &hi))) {
				fprintf(stderr, "netmem tx: --msg-size '%s': expected S or MIN:MAX\n", next);
				return -EINVAL;
			}
			if (!colon)
				hi = lo;
			if (!lo || hi < lo || hi > TX_MAX_MSG) {
				fprintf(stderr, "netmem tx: --msg-size '%s': need 1 <= MIN <= MAX <= 16M\n", next);
				return -EINVAL;
			}
			cfg->msg_min = lo;
			cfg->msg_max = hi;
			break;
		}
		case O_PARALLEL:
			if (nm_parse_uint(next, 1, TX_MAX_CONNS, &v)) {
				fprintf(stderr, "netmem tx: --conns '%s': expected 1 to %d\n", next, TX_MAX_CONNS);
				return -EINVAL;
			}
			cfg->conns = v;
			break;
		case O_PATTERN: {
			const char *seed = NULL;

			if (!strcmp(next, "random")) {
				if (i + 1 >= argc) {
					fprintf(stderr, "netmem tx: --pattern random needs a SEED\n");
					return -EINVAL;
				}
				seed = argv[++i];
			}
			if (nm_pat_parse(&cfg->pat, next, seed)) {
				fprintf(stderr, "netmem tx: --pattern '%s%s%s': expected seq or random SEED\n",
					next, seed ? " " : "", seed ? seed : "");
				return -EINVAL;
			}
			have_pat = true;
			break;
		}
		case O_WAIT:
			if (nm_parse_secs(next, &cfg->wait)) {
				fprintf(stderr, "netmem tx: --wait '%s': expected seconds > 0\n", next);
				return -EINVAL;
			}
			break;
		default:
			return -EINVAL;
		}
	}
	if (cfg->client && cfg->connect) {
		fprintf(stderr, "netmem tx: give -c HOST [-p PORT] or --connect HOST:PORT, not both\n");
		return -EINVAL;
	}
	if (cfg->have_port && !cfg->client) {
		fprintf(stderr, "netmem tx: -p goes with -c\n");
		return -EINVAL;
	}
	if (cfg->client) {
		bool v6 = strchr(cfg->client, ':') && cfg->client[0] != '[';

		snprintf(cfg->connect_buf, sizeof(cfg->connect_buf), "%s%s%s:%u", v6 ? "[" : "",
			 cfg->client, v6 ? "]" : "", cfg->have_port ? cfg->port : TX_DEFAULT_PORT);
		cfg->connect = cfg->connect_buf;
		if (!cfg->bytes && !(cfg->seconds > 0) && !cfg->count)
			cfg->seconds = TX_DEFAULT_SECS;
	}
	if (!cfg->udp && (cfg->size || cfg->pps || cfg->count)) {
		fprintf(stderr, "netmem tx: --size, --pps and --count go with --udp\n");
		return -EINVAL;
	}
	if (cfg->udp && (cfg->bytes || cfg->framed || cfg->conns > 1)) {
		fprintf(stderr, "netmem tx: --udp sends --count N datagrams or for -t SECS, from one "
			"socket: not with --bytes, --framed or --conns\n");
		return -EINVAL;
	}
	if (cfg->udp) {
		if (!cfg->size)
			cfg->size = 64;
		if (!cfg->count == !(cfg->seconds > 0)) {
			fprintf(stderr, "netmem tx: --udp: give one of --count N or --seconds T\n");
			return -EINVAL;
		}
		if (cfg->interval < 0)
			cfg->interval = 0;
	}
	if (cfg->interval < 0)
		cfg->interval = cfg->client ? 1.0 : 0;	/* iperf3's -c: every second */
	if (!cfg->connect) {
		fprintf(stderr, "netmem tx: --connect HOST:PORT is required (or -c HOST [-p PORT])\n");
		return -EINVAL;
	}
	if (!cfg->udp && !cfg->bytes == !(cfg->seconds > 0)) {
		fprintf(stderr, "netmem tx: give one of --bytes N or --seconds T\n");
		return -EINVAL;
	}
	if (!have_pat)
		nm_pat_parse(&cfg->pat, "seq", NULL);
	return 0;
}

/* The CPU a send spent: perf's task clock, as netmem rx reads it
 * (txrx.h); a sender on the veth rig has a NAPI thread beside it too. */
struct tx_cpu {
	int fd;                 /* nm_cpuclock_open's, or -errno */
	struct nm_cpumark m0;
	struct nm_cpuspan spent;
};

static void tx_cpu_start(struct tx_cpu *t)
{
	t->fd = nm_cpuclock_open();
	nm_cpumark_take(t->fd, &t->m0);
}

static void tx_cpu_stop(struct tx_cpu *t)
{
	struct nm_cpumark m1;

	nm_cpumark_take(t->fd, &m1);
	nm_cpu_spent(&t->m0, &m1, &t->spent);
	if (t->fd >= 0)
		close(t->fd);
	t->fd = -1;
}

/*
 * --udp: datagrams from one connected socket, in sendmmsg batches, paced
 * to cfg->pps.  Return 0, or 1 with the error said.
 */
static int tx_udp(const struct tx_cfg *cfg, const struct sockaddr_storage *ss,
		  socklen_t sslen)
{
	static uint8_t bufs[TX_UDP_BATCH][TX_UDP_MAX];
	struct mmsghdr mm[TX_UDP_BATCH];
	struct iovec iov[TX_UDP_BATCH];
	uint64_t seq = 0, retries = 0, bytes;
	double t0, t1, t_end, secs;
	struct tx_cpu cpu = { .fd = -1 };
	char pname[32];
	int fd, rc = 1;

	fd = socket(ss->ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (const struct sockaddr *)ss, sslen)) {
		fprintf(stderr, "netmem tx: --udp %s: %s\n", cfg->connect, strerror(errno));
		if (fd >= 0)
			close(fd);
		return 1;
	}
	memset(mm, 0, sizeof(mm));
	for (unsigned int i = 0; i < TX_UDP_BATCH; i++) {
		iov[i].iov_base = bufs[i];
		iov[i].iov_len = cfg->size;
		mm[i].msg_hdr.msg_iov = &iov[i];
		mm[i].msg_hdr.msg_iovlen = 1;
	}
	tx_cpu_start(&cpu);
	t0 = nm_now();
	t_end = cfg->seconds > 0 ? t0 + cfg->seconds : 0;
	while (!cfg->count || seq < cfg->count) {
		uint64_t n = TX_UDP_BATCH;
		double now = nm_now();
		int k;

		if (t_end && now >= t_end)
			break;
		if (cfg->pps) {
			/* What the rate allows by now; sleep until one more is due. */
			uint64_t due = (uint64_t)((now - t0) * (double)cfg->pps) + 1;

			if (due <= seq) {
				double wait = (double)(seq + 1) / (double)cfg->pps - (now - t0);

				usleep(wait > 1e-3 ? 1000 : (useconds_t)(wait * 1e6) + 1);
				continue;
			}
			if (n > due - seq)
				n = due - seq;
		}
		if (cfg->count && n > cfg->count - seq)
			n = cfg->count - seq;
		for (uint64_t i = 0; i < n; i++) {
			uint64_t s = seq + i;

			for (int b = 0; b < 8; b++)
				bufs[i][b] = (uint8_t)(s >> (8 * b));
			memcpy(bufs[i] + NM_UDP_SEQ_LEN,
			       nm_pat_at(&cfg->pat, s * cfg->size + NM_UDP_SEQ_LEN),
			       cfg->size - NM_UDP_SEQ_LEN);
		}
		k = sendmmsg(fd, mm, (unsigned int)n, 0);
		if (k < 0) {
			if (errno == EINTR || errno == ENOBUFS || errno == EAGAIN ||
			    errno == ECONNREFUSED) {
				retries++;
				if (errno == ENOBUFS || errno == EAGAIN)
					usleep(50);
				continue;
			}
			fprintf(stderr, "netmem tx: --udp send to %s: %s (after %llu datagrams)\n",
				cfg->connect, strerror(errno), (unsigned long long)seq);
			goto out;
		}
		seq += (uint64_t)k;
	}
	t1 = nm_now();
	tx_cpu_stop(&cpu);
	secs = t1 - t0;
	bytes = seq * cfg->size;
	nm_pat_name(&cfg->pat, pname, sizeof(pname));
	if (cfg->json)
		printf("{\"cmd\":\"tx\",\"udp\":true,\"connect\":\"%s\",\"size\":%u,"
		       "\"pattern\":\"%s\",\"target_pps\":%llu,\"pkts\":%llu,\"bytes\":%llu,"
		       "\"retries\":%llu,\"seconds\":%.6f,\"pps\":%.0f,\"gbit_per_s\":%.3f,"
		       NM_CPU_JSON ",\"cpu_ns_per_pkt\":%.1f}\n",
		       cfg->connect, cfg->size, pname, (unsigned long long)cfg->pps,
		       (unsigned long long)seq, (unsigned long long)bytes,
		       (unsigned long long)retries, secs, secs > 0 ? seq / secs : 0.0,
		       nm_gbit(bytes, secs), NM_CPU_JSON_ARGS(&cpu.spent),
		       seq ? cpu.spent.cpu * 1e9 / seq : 0.0);
	else if (!cfg->quiet)
		printf("tx: %llu datagrams of %u bytes (%s) in %.3f s: %.0f packets/s, "
		       "%.2f Gbit/s, " NM_CPU_TEXT ", %.0f ns per packet, %llu retries\n",
		       (unsigned long long)seq, cfg->size, pname, secs, secs > 0 ? seq / secs : 0.0,
		       nm_gbit(bytes, secs), NM_CPU_TEXT_ARGS(&cpu.spent),
		       seq ? cpu.spent.cpu * 1e9 / seq : 0.0, (unsigned long long)retries);
	rc = 0;
out:
	if (cpu.fd >= 0)
		close(cpu.fd);	/* a send failed before tx_cpu_stop */
	close(fd);
	return rc;
}

int cmd_tx(int argc, char **argv)
{
	struct tx_cfg cfg = { .msg_min = 64 << 10, .msg_max = 64 << 10, .conns = 1,
			      .interval = -1 };
	struct sockaddr_storage ss;
	struct tx_conn *cs;
	socklen_t sslen;
	char err[160], pname[32], msz[48];
	double t0, t1, secs;
	struct tx_cpu cpu = { .fd = -1 };
	uint64_t bytes = 0, wire = 0;
	struct tx_iv iv = { 0 };
	int rc;

	if (parse_args(argc, argv, &cfg))
		return usage();
	if (cfg.have_cpus && sched_setaffinity(0, sizeof(cfg.cpus), &cfg.cpus)) {
		fprintf(stderr, "netmem tx: -A: %s\n", strerror(errno));
		return 1;
	}
	if (nm_parse_hostport(cfg.connect, false, &ss, &sslen, err, sizeof(err))) {
		fprintf(stderr, "netmem tx: --connect %s\n", err);
		return 2;
	}
	if (nm_pat_init(&cfg.pat, cfg.udp ? cfg.size : cfg.msg_max)) {
		fprintf(stderr, "netmem tx: out of memory\n");
		return 1;
	}
	if (cfg.udp) {
		rc = tx_udp(&cfg, &ss, sslen);
		nm_pat_fini(&cfg.pat);
		return rc;
	}
	cs = calloc(cfg.conns, sizeof(*cs));
	if (!cs) {
		fprintf(stderr, "netmem tx: out of memory\n");
		return 1;
	}
	signal(SIGPIPE, SIG_IGN);
	for (unsigned int i = 0; i < cfg.conns; i++)
		cs[i].fd = -1;
	tx_cpu_start(&cpu);
	t0 = nm_now();
	for (unsigned int i = 0; i < cfg.conns; i++) {
		cs[i].rng = 0x2545f4914f6cdd1dull ^ (cfg.pat.seed + i + 1) * 0x9e3779b97f4a7c15ull;
		rc = tx_connect(&cfg, &ss, sslen);
		if (rc < 0) {
			fprintf(stderr, "netmem tx: connect %s (connection %u): %s\n",
				cfg.connect, i + 1, strerror(-rc));
			rc = 1;
			goto out;
		}
		cs[i].fd = rc;
	}
	iv.t0 = iv.start = t0;
	iv.next = t0 + cfg.interval;
	rc = tx_run(&cfg, cs, t0 + cfg.seconds, &iv);
	iv_tick(&cfg, cs, &iv, true);
	t1 = nm_now();
	tx_cpu_stop(&cpu);
	for (unsigned int i = 0; i < cfg.conns; i++) {
		bytes += cs[i].sent;
		wire += cs[i].wire;
	}
	if (rc < 0) {
		fprintf(stderr, "netmem tx: send to %s: %s (after %llu bytes)\n",
			cfg.connect, strerror(-rc), (unsigned long long)bytes);
		rc = 1;
		goto out;
	}
	secs = t1 - t0;
	nm_pat_name(&cfg.pat, pname, sizeof(pname));
	if (cfg.msg_min == cfg.msg_max)
		snprintf(msz, sizeof(msz), "%u", cfg.msg_max);
	else
		snprintf(msz, sizeof(msz), "%u:%u", cfg.msg_min, cfg.msg_max);
	if (cfg.json) {
		printf("{\"cmd\":\"tx\",\"connect\":\"%s\",\"conns\":%u,\"msg_min\":%u,"
		       "\"msg_max\":%u,\"pattern\":\"%s\",\"framed\":%s,\"bytes\":%llu,"
		       "\"wire_bytes\":%llu,\"seconds\":%.6f,\"gbit_per_s\":%.3f,"
		       NM_CPU_JSON ",\"cpu_s_per_gb\":%.4f}\n",
		       cfg.connect, cfg.conns, cfg.msg_min, cfg.msg_max, pname,
		       cfg.framed ? "true" : "false", (unsigned long long)bytes,
		       (unsigned long long)wire, secs, nm_gbit(bytes, secs),
		       NM_CPU_JSON_ARGS(&cpu.spent), nm_cpu_per_gb(cpu.spent.cpu, bytes));
	} else if (!cfg.quiet) {
		printf("tx: %llu bytes (%s, %u conn%s, %s-byte writes%s) in %.3f s: "
			"%.2f Gbit/s, " NM_CPU_TEXT ", %.3f CPU s/GB\n",
			(unsigned long long)bytes, pname, cfg.conns, cfg.conns > 1 ? "s" : "",
			msz, cfg.framed ? ", framed" : "", secs,
			nm_gbit(bytes, secs), NM_CPU_TEXT_ARGS(&cpu.spent),
			nm_cpu_per_gb(cpu.spent.cpu, bytes));
	}
	rc = 0;
out:
	if (cpu.fd >= 0)
		close(cpu.fd);	/* a connect failed before tx_cpu_stop */
	for (unsigned int i = 0; i < cfg.conns; i++)
		if (cs[i].fd >= 0)
			close(cs[i].fd);
	free(cs);
	nm_pat_fini(&cfg.pat);
	return rc;
}

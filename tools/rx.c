/* SPDX-License-Identifier: MIT */
/*
 * rx.c - `netmem rx`: listen, receive TCP streams into pooled buffers with
 * one of the receive engines (include/netmem/rx.h), and say how fast and at
 * what CPU cost, checking what arrived on the way.
 *
 *   netmem rx (-s [-p PORT] [-B HOST] | --listen HOST:PORT) [OPTIONS]
 *
 * The options are the table nm_cmd_rx below, which also prints the usage
 * (tools/opts.h).  iperf3's habits work: -s listens on port 5201 of every
 * address (-p, -B to change that), -1 exits after one run, -i SEC prints
 * a line per interval (every second by default with -s), -J is --json,
 * -A pins the command's threads.
 *
 * The memory: one area from the provider, chunks of 4 KiB << --chunk-order
 * (default 4: 64 KiB, a whole chunk per receive buffer), and one pool per
 * queue over it.  With --split, frames (rx.h's built-in 4-byte big-endian
 * length prefix, as `netmem tx --framed` sends) have their headers land in
 * a host pool of their own and their payloads in the provider's pool.
 *
 * What happens to the bytes: every delivered buffer is checked against the
 * tx pattern (--verify, per connection from offset 0, payload bytes only)
 * and/or appended to --out (one connection: header and payload, so the
 * file is the stream exactly as sent), then put straight back to its pool.
 * Payload memory without a CPU mapping (cuda) cannot be read by the CPU:
 * there --verify is done by a kernel on the GPU (tools/gpuverify.h), each
 * buffer going back to its pool once the kernel that read it is done
 * (nm_cuda_put_after); --out needs readable memory.
 *
 * --once exits after the connections it accepted have closed (at least
 * --expect of them, default 1), which is what a script wants; otherwise it
 * runs until SIGINT/SIGTERM.  Throughput is measured from the first
 * connection to the last close; CPU time is getrusage (user + sys, every
 * thread of the process, io_uring's included) over the same span.  With
 * -i SEC a line per interval goes to stdout (a JSON line each with -J);
 * without it, runs longer than two seconds print a progress line to
 * stderr every second.  The summary goes to stdout: text, or one JSON
 * object with --json.  Sizes: bytes, GB (10^9) and Gbit/s; chunk sizes
 * KiB.
 *
 * Packets (--engine udp): the receiver's UDP socket is bound at start;
 * each datagram is one message (a GRO batch, its datagrams).  Throughput
 * runs from the first datagram to the last; --once exits once datagrams
 * stop for a second after the first.  --verify checks `netmem tx --udp`'s
 * datagrams (txrx.h: a sequence number, then the pattern) each on its own,
 * and counts the sequence's gaps as lost.  The report adds packets, packets
 * per second, the kernel's drops (udp_drops, udp_truncated) and CPU ns per
 * packet.
 *
 * Live stats: unless --no-stats, the pools, the area and the receiver are
 * served on a unix socket (nm_stats_srv_create, netmem.h) for
 * `netmem stat`; the "listening on" line names it.
 * Exit status: 0; 1 when a check failed, a connection ended with an error,
 * --timeout passed, or setup failed; 2 for bad arguments.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <netinet/in.h>
#include <netmem/netmem.h>
#include <netmem/rx.h>
#include <netmem/cuda.h>
#include <netmem/provider.h>
#include "txrx.h"
#include "gpuverify.h"
#include "cmds.h"
#include "opts.h"

#define RX_DEFAULT_PORT 5201   /* iperf3's */

struct rx_cfg {
	const char *listen, *engine, *provider, *out, *bind, *stats_path;
	char listen_buf[300];
	unsigned int queues, order, ring, expect, port;
	uint32_t buf_size;
	double timeout, interval;  /* interval < 0: not given */
	struct nm_pat pat;
	unsigned int eng_flags;  /* NM_RX_F_NO_INC/NO_LOWAT, NM_RX_F_{NO,REQUIRE}_BUNDLE */
	bool split, once, json, quiet, server, no_stats, have_port;
	/* --engine xdp */
	const char *iface;
	unsigned int xdp_flags;  /* NM_RX_XDP_COPY or _ZEROCOPY */
	bool lend;               /* --lend: NM_RX_F_LEND */
	bool xdp, have_order;
	bool have_cpus;
	cpu_set_t cpus;
};

/* Per connection, hung off nm_rx_conn_set_user(). */
struct rx_conn_st {
	uint64_t id;
	uint64_t off;         /* payload bytes so far: the pattern offset */
	bool bad;             /* a check failed; reported once */
};

struct rx_state {
	struct rx_cfg *cfg;
	struct nm_rx *rx;
	struct nm_pool **pools, **hdr_pools;
	bool readable;
	struct nm_gpuv *gpuv; /* --verify on unreadable (cuda) payload */
	struct nm_gpuv_result gres;
	struct nm_cuda_stats cstats;	/* a cuda area's, at the end */
	bool have_cstats;
	int out_fd;
	atomic_uint_fast64_t bytes, hdr_bytes, frames;
	atomic_uint opened, closed, conn_errs, check_errs, put_errs;
	/* packets (--engine udp) */
	bool pkt;
	atomic_uint_fast64_t pkts, pkt_seqs;   /* pkt_seqs: highest seq + 1 */
	_Atomic double t_pkt_last;
	atomic_bool done;
	_Atomic double t_first, t_last;
	int cpuclk;           /* nm_cpuclock_open's fd, or -errno */
	struct nm_cpumark cpu0; /* both clocks at the first connection */
	uint64_t csw_v0, csw_i0;
	atomic_flag cpu_taken;
	char memory[96];      /* what the provider got: the area's detail */
};

/* Interval reports (-i): the interval under way. */
struct rx_iv {
	double start;         /* 0: none yet (no connection) */
	uint64_t bytes0;
};

static volatile sig_atomic_t stop_signal;

static void on_signal(int sig)
{
	stop_signal = sig;
}

enum {
	O_SERVER = 1, O_PORT, O_BIND, O_LISTEN, O_ONCE, O_EXPECT, O_TIMEOUT,
	O_ENGINE, O_PROVIDER, O_CHUNK_ORDER, O_QUEUES, O_SPLIT, O_OUT, O_VERIFY,
	O_RING, O_BUF_SIZE, O_NO_INC, O_NO_LOWAT, O_BUNDLE, O_NO_BUNDLE, O_INTERVAL, O_JSON,
	O_AFFINITY, O_STATS_SOCKET, O_NO_STATS, O_QUIET, O_HELP, O_IFACE, O_ZEROCOPY, O_COPY, O_LEND,
};

static const struct nm_opt rx_opts[] = {
	NM_OPT(O_SERVER, 's', "--server", NULL, "listen on every address, port 5201 (iperf3's -s)"),
	NM_OPT(O_PORT, 'p', "--port", "PORT", "with -s: port to listen on (0: any free port, printed)"),
	NM_OPT(O_BIND, 'B', "--bind", "HOST", "with -s: listen on this address only"),
	NM_OPT(O_LISTEN, 0, "--listen", "HOST:PORT",
	  "address to listen on (port 0: any free port, printed)"),
	NM_OPT(O_IFACE, 0, "--iface", "IF",
	  "xdp: receive the packets of interface IF (not --listen)"),
	NM_OPT(O_ONCE, '1', "--once", NULL, "exit when the accepted connections have closed"),
	NM_OPT(O_EXPECT, 0, "--expect", "N", "with --once, wait for N connections (default 1)"),
	NM_OPT(O_TIMEOUT, 0, "--timeout", "SECS", "give up (exit 1) after SECS"),
	NM_OPT(O_ENGINE, 0, "--engine", "uring|socket|udp|xdp",
	  "receive engine (default: uring where the kernel has it;\n"
	  "udp: datagrams on HOST:PORT, from netmem tx --udp;\n"
	  "xdp: every packet of --iface's queues, by AF_XDP)"),
	NM_OPT(O_PROVIDER, 0, "--provider", "host|hugepage|memfd|cuda",
	  "payload memory provider (default host); what memory it got is printed"),
	NM_OPT(O_CHUNK_ORDER, 0, "--chunk-order", "N", "chunks of 4 KiB << N (default 4: 64 KiB; 6 with --provider cuda)"),
	NM_OPT(O_QUEUES, 0, "--queues", "Q", "receive queues, one thread each (default 1)"),
	NM_OPT(O_SPLIT, 0, "--split", NULL, "header/data split on 4-byte big-endian length frames"),
	NM_OPT(O_OUT, 0, "--out", "FILE", "write the received stream to FILE (one connection)"),
	NM_OPT(O_VERIFY, 0, "--verify", "seq|random:SEED", "check payload against tx's pattern"),
	NM_OPT(O_RING, 0, "--ring", "N", "uring: provided buffers per queue, all posted (power of 2;\n"
	  "default: a ring of 256 with 16 posted)"),
	NM_OPT(O_BUF_SIZE, 0, "--buf-size", "N", "bytes per receive buffer (default: a whole chunk)"),
	NM_OPT(O_NO_INC, 0, "--no-inc", NULL, "uring: without incremental buffer consumption"),
	NM_OPT(O_NO_LOWAT, 0, "--no-lowat", NULL, "uring: no batching by the socket (SO_RCVLOWAT)"),
	NM_OPT(O_BUNDLE, 0, "--bundle", NULL, "uring: recv bundles (off by default; fails without them)"),
	NM_OPT(O_NO_BUNDLE, 0, "--no-bundle", NULL, "uring: without recv bundles (the default)"),
	NM_OPT(O_ZEROCOPY, 0, "--zerocopy", NULL, "xdp: zero-copy only (fails where the driver has none)"),
	NM_OPT(O_COPY, 0, "--copy", NULL, "xdp: copy mode only (default: zero-copy where the driver has it)"),
	NM_OPT(O_LEND, 0, "--lend", NULL, "xdp, udp: buffers lent to the callback, taken back when it returns (no put)"),
	NM_OPT(O_INTERVAL, 'i', "--interval", "SECS",
	  "a report line every SECS (default: 1 with -s, else none; 0: none)"),
	NM_OPT(O_JSON, 'J', "--json", NULL, "JSON: one object at the end, a JSON line per interval"),
	NM_OPT(O_AFFINITY, 'A', "--affinity", "CPUS", "run the command's threads on CPUS (\"1\", \"0,2\", \"0-3\")"),
	NM_OPT(O_STATS_SOCKET, 0, "--stats-socket", "PATH",
	  "serve live stats here (\"@NAME\": abstract; default\n"
	  "$XDG_RUNTIME_DIR or /tmp/netmem-PID.sock)"),
	NM_OPT(O_NO_STATS, 0, "--no-stats", NULL, "do not serve live stats (netmem stat)"),
	NM_OPT(O_QUIET, 'q', "--quiet", NULL, "no listening, progress or interval lines"),
	NM_OPT(O_HELP, 'h', "--help", NULL, "this text"),
	{ 0 },
};

const struct nm_cmd nm_cmd_rx = {
	.name = "rx",
	.synopsis = "(-s [-p PORT] [-B HOST] | --listen HOST:PORT | --engine xdp --iface IF) [OPTIONS]",
	.summary = "Receive TCP streams into pooled buffers and say how fast, at what CPU cost.",
	.opts = rx_opts,
	.footer = "Sizes take binary suffixes (64K, 1M); reports give bytes, GB (10^9) and Gbit/s.\n"
		  "Exit: 0; 1 when a check, a connection or setup failed; 2 for bad arguments.\n",
};

static int usage(void)
{
	nm_opt_usage(&nm_cmd_rx, stderr);
	return 2;
}

static void conn_fail(struct rx_state *st, struct rx_conn_st *cs, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void conn_fail(struct rx_state *st, struct rx_conn_st *cs, const char *fmt, ...)
{
	va_list ap;

	atomic_fetch_add(&st->check_errs, 1);
	if (cs->bad)
		return;
	cs->bad = true;
	fprintf(stderr, "netmem rx: connection %llu: ", (unsigned long long)cs->id);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static int write_all(int fd, const void *p, size_t len)
{
	while (len) {
		ssize_t n = write(fd, p, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p = (const char *)p + n;
		len -= n;
	}
	return 0;
}

static int rx_on_conn(struct nm_rx *rx, struct nm_rx_conn *c, void *user)
{
	struct rx_state *st = user;
	struct rx_conn_st *cs;
	double zero = 0;

	if (st->pkt) {
		/* The queue's socket: timing starts with the first datagram.
		 * (The engine gives it a 4 MiB receive buffer itself.) */
		atomic_fetch_add(&st->opened, 1);
		return 0;
	}
	if (st->out_fd >= 0 && atomic_load(&st->opened) > 0) {
		fprintf(stderr, "netmem rx: --out takes one connection; refusing connection %llu\n",
			(unsigned long long)nm_rx_conn_id(c));
		return -EBUSY;
	}
	cs = calloc(1, sizeof(*cs));
	if (!cs)
		return -ENOMEM;
	cs->id = nm_rx_conn_id(c);
	nm_rx_conn_set_user(c, cs);
	atomic_compare_exchange_strong(&st->t_first, &zero, nm_now());
	if (!atomic_flag_test_and_set(&st->cpu_taken)) {
		nm_cpumark_take(st->cpuclk, &st->cpu0);
		nm_csw(&st->csw_v0, &st->csw_i0);
	}
	atomic_fetch_add(&st->opened, 1);
	return 0;
}

/* One `netmem tx --udp` datagram of @len bytes at @d: its seq, pattern. */
static void pkt_check(struct rx_state *st, const uint8_t *d, uint32_t len)
{
	struct rx_cfg *cfg = st->cfg;
	uint64_t seq, max;
	long bad;

	if (len < NM_UDP_SEQ_LEN) {
		if (!atomic_fetch_add(&st->check_errs, 1))
			fprintf(stderr, "netmem rx: a datagram of %u bytes: too short\n", len);
		return;
	}
	seq = nm_udp_seq(d);
	bad = nm_pat_check(&cfg->pat, seq * len + NM_UDP_SEQ_LEN, d + NM_UDP_SEQ_LEN,
			   len - NM_UDP_SEQ_LEN);
	if (bad >= 0 && !atomic_fetch_add(&st->check_errs, 1))
		fprintf(stderr, "netmem rx: datagram %llu (%u bytes) differs at byte %ld\n",
			(unsigned long long)seq, len, bad + (long)NM_UDP_SEQ_LEN);
	max = atomic_load(&st->pkt_seqs);
	while (seq + 1 > max && !atomic_compare_exchange_weak(&st->pkt_seqs, &max, seq + 1))
		;
}

/* A packet engine's message: one datagram, or a GRO batch of them. */
static int rx_on_pkt(struct rx_state *st, struct nm_rx_conn *c, const struct nm_rx_msg *msg)
{
	const struct nm_buf *b = &msg->bufs[0];
	/* the engine gives the packet's address (no lookup) */
	const uint8_t *d = !msg->nr ? NULL : msg->pkt->data ? msg->pkt->data : nm_buf_data(b);
	uint32_t seg = msg->pkt->seg_size, len = msg->nr ? b->len : 0;
	uint64_t n = seg && len > seg ? (len + seg - 1) / seg : 1;
	double now = nm_now(), zero = 0;

	if (atomic_compare_exchange_strong(&st->t_first, &zero, now) &&
	    !atomic_flag_test_and_set(&st->cpu_taken)) {
		nm_cpumark_take(st->cpuclk, &st->cpu0);
		nm_csw(&st->csw_v0, &st->csw_i0);
	}
	if (d && st->cfg->pat.kind)
		for (uint32_t off = 0; off < len; off += seg ? seg : len)
			pkt_check(st, d + off, seg && len - off > seg ? seg : len - off);
	atomic_fetch_add(&st->pkts, n);
	atomic_fetch_add(&st->bytes, msg->bytes);
	atomic_store(&st->t_pkt_last, now);
	if (msg->nr && !st->cfg->lend &&	/* lent: the engine takes it back */
	    nm_pool_put_bulk(st->pools[nm_rx_conn_queue(c)], msg->bufs, msg->nr) != (int)msg->nr)
		atomic_fetch_add(&st->put_errs, 1);
	return 0;
}

/* --verify on the GPU: launch the check of @b, which then owns the
 * buffer.  0, or -errno with the buffer still ours (counted as an error:
 * those bytes went unchecked). */
static int gpu_check(struct rx_state *st, struct rx_conn_st *cs, const struct nm_buf *b)
{
	int err = nm_gpuv_check(st->gpuv, b, cs->off);

	if (err)
		conn_fail(st, cs, "GPU check at stream offset %llu not run: %s",
			  (unsigned long long)cs->off, nm_strerror(err));
	return err;
}

static int rx_on_data(struct nm_rx *rx, struct nm_rx_conn *c,
		      const struct nm_rx_msg *msg, void *user)
{
	struct rx_state *st = user;
	struct rx_cfg *cfg = st->cfg;
	struct rx_conn_st *cs = nm_rx_conn_user(c);
	int q = nm_rx_conn_queue(c), rc = 0;

	if (msg->flags & NM_RX_MSG_PKT)
		return rx_on_pkt(st, c, msg);
	if (msg->hdr) {
		const uint8_t *h = nm_buf_data(msg->hdr);

		if (cfg->pat.kind && !cs->bad) {
			uint32_t be = h && msg->hdr_len == 4 ?
				(uint32_t)h[0] << 24 | h[1] << 16 | h[2] << 8 | h[3] : 0;
			if (!h || msg->hdr_len != 4 || be != msg->bytes)
				conn_fail(st, cs, "frame at payload offset %llu: header of %u bytes "
					  "says %u, payload has %llu",
					  (unsigned long long)cs->off, msg->hdr_len, be,
					  (unsigned long long)msg->bytes);
		}
		if (st->out_fd >= 0 && h && !rc)
			rc = write_all(st->out_fd, h, msg->hdr_len);
		atomic_fetch_add(&st->hdr_bytes, msg->hdr_len);
		atomic_fetch_add(&st->frames, 1);
	}
	for (unsigned int i = 0; i < msg->nr; i++) {
		const struct nm_buf *b = &msg->bufs[i];
		const uint8_t *d = st->readable ? nm_buf_data(b) : NULL;

		if (d && cfg->pat.kind && !cs->bad) {
			long bad = nm_pat_check(&cfg->pat, cs->off, d, b->len);
			if (bad >= 0) {
				uint64_t at = cs->off + bad;
				conn_fail(st, cs, "data differs at stream offset %llu: "
					  "expected 0x%02x, got 0x%02x",
					  (unsigned long long)at, *nm_pat_at(&cfg->pat, at), d[bad]);
			}
		}
		if (st->out_fd >= 0 && d && !rc)
			rc = write_all(st->out_fd, d, b->len);
		/* Checked on the GPU: the buffer goes back once the kernel
		 * has read it; if the launch failed, now. */
		if (st->gpuv && gpu_check(st, cs, b) && nm_pool_put(st->pools[q], b))
			atomic_fetch_add(&st->put_errs, 1);
		cs->off += b->len;
	}
	atomic_fetch_add(&st->bytes, msg->bytes);
	if (!st->gpuv && msg->nr && nm_pool_put_bulk(st->pools[q], msg->bufs, msg->nr) != (int)msg->nr)
		atomic_fetch_add(&st->put_errs, 1);
	if (msg->hdr && nm_pool_put(st->hdr_pools[q], msg->hdr))
		atomic_fetch_add(&st->put_errs, 1);
	if (rc)
		fprintf(stderr, "netmem rx: --out %s: %s\n", cfg->out, strerror(-rc));
	return rc;
}

static void rx_on_close(struct nm_rx *rx, struct nm_rx_conn *c, int err, void *user)
{
	struct rx_state *st = user;
	struct rx_conn_st *cs = nm_rx_conn_user(c);
	unsigned int closed;

	if (err == -ECANCELED && st->pkt)
		err = 0;	/* the queue's socket, closed as the command ends */
	if (err) {
		atomic_fetch_add(&st->conn_errs, 1);
		fprintf(stderr, "netmem rx: connection %llu ended with an error: %s\n",
			(unsigned long long)nm_rx_conn_id(c), strerror(-err));
	}
	free(cs);
	nm_rx_conn_set_user(c, NULL);
	atomic_store(&st->t_last, nm_now());
	closed = atomic_fetch_add(&st->closed, 1) + 1;
	if (st->cfg->once && closed >= st->cfg->expect &&
	    closed >= atomic_load(&st->opened)) {
		atomic_store(&st->done, true);
		nm_rx_stop(rx);
	}
}

/* --engine xdp: an interface, not an address; frames are 4 KiB chunks;
 * packets have no stream to split, write or check against tx's pattern
 * (the rig's or any sender's packets come whole, headers and all). */
static int xdp_args(struct rx_cfg *cfg)
{
	if (!cfg->iface || cfg->listen || cfg->server) {
		fprintf(stderr, "netmem rx: --engine xdp takes --iface IF (not --listen or -s)\n");
		return -EINVAL;
	}
	if (cfg->have_order && cfg->order) {
		fprintf(stderr, "netmem rx: --engine xdp: an XDP frame is a 4 KiB chunk: "
			"--chunk-order 0\n");
		return -EINVAL;
	}
	if (cfg->split || cfg->out || cfg->pat.kind) {
		fprintf(stderr, "netmem rx: --engine xdp: packets, not a stream: "
			"no --split, --out or --verify\n");
		return -EINVAL;
	}
	cfg->order = 0;
	return 0;
}

static int parse_args(int argc, char **argv, struct rx_cfg *cfg)
{
	uint64_t v;

	for (int i = 1; i < argc; i++) {
		const char *next;
		int k = nm_opt_parse(&nm_cmd_rx, argc, argv, &i, &next);

		switch (k) {
		case O_JSON: cfg->json = true; break;
		case O_QUIET: cfg->quiet = true; break;
		case O_SPLIT: cfg->split = true; break;
		case O_ONCE: cfg->once = true; break;
		case O_SERVER: cfg->server = true; break;
		case O_NO_STATS: cfg->no_stats = true; break;
		case O_NO_INC: cfg->eng_flags |= NM_RX_F_NO_INC; break;
		case O_NO_LOWAT: cfg->eng_flags |= NM_RX_F_NO_LOWAT; break;
		case O_NO_BUNDLE:
			cfg->eng_flags = (cfg->eng_flags & ~NM_RX_F_REQUIRE_BUNDLE) |
					 NM_RX_F_NO_BUNDLE;
			break;
		case O_BUNDLE:
			cfg->eng_flags = (cfg->eng_flags & ~NM_RX_F_NO_BUNDLE) |
					 NM_RX_F_REQUIRE_BUNDLE;
			break;
		case O_HELP:
			nm_opt_usage(&nm_cmd_rx, stdout);
			exit(0);
		case O_LISTEN: cfg->listen = next; break;
		case O_BIND: cfg->bind = next; break;
		case O_ENGINE: cfg->engine = next; break;
		case O_IFACE: cfg->iface = next; break;
		case O_ZEROCOPY: cfg->xdp_flags = NM_RX_XDP_ZEROCOPY; break;
		case O_COPY: cfg->xdp_flags = NM_RX_XDP_COPY; break;
		case O_LEND:
			cfg->lend = true;
			cfg->eng_flags |= NM_RX_F_LEND;
			break;
		case O_PROVIDER: cfg->provider = next; break;
		case O_OUT: cfg->out = next; break;
		case O_STATS_SOCKET: cfg->stats_path = next; break;
		case O_PORT:
			if (nm_parse_uint(next, 0, 65535, &v)) {
				fprintf(stderr, "netmem rx: -p '%s': expected a port, 0 to 65535\n", next);
				return -EINVAL;
			}
			cfg->port = v;
			cfg->have_port = true;
			break;
		case O_INTERVAL:
			if (!strcmp(next, "0")) {
				cfg->interval = 0;
			} else if (nm_parse_secs(next, &cfg->interval) || cfg->interval < 0.1) {
				fprintf(stderr, "netmem rx: -i '%s': expected seconds >= 0.1, or 0\n", next);
				return -EINVAL;
			}
			break;
		case O_AFFINITY:
			if (nm_parse_cpus(next, &cfg->cpus)) {
				fprintf(stderr, "netmem rx: -A '%s': expected CPUs such as 1, 0,2 or 0-3\n", next);
				return -EINVAL;
			}
			cfg->have_cpus = true;
			break;
		case O_VERIFY:
			if (nm_pat_parse(&cfg->pat, next, NULL)) {
				fprintf(stderr, "netmem rx: --verify '%s': expected seq or random:SEED\n", next);
				return -EINVAL;
			}
			break;
		case O_QUEUES:
			if (nm_parse_uint(next, 1, NM_RX_MAX_QUEUES, &v)) {
				fprintf(stderr, "netmem rx: --queues '%s': expected 1 to %d\n",
					next, NM_RX_MAX_QUEUES);
				return -EINVAL;
			}
			cfg->queues = v;
			break;
		case O_CHUNK_ORDER:
			if (nm_parse_uint(next, 0, 9, &v)) {
				fprintf(stderr, "netmem rx: --chunk-order '%s': expected 0 (4 KiB) to 9 (2 MiB)\n", next);
				return -EINVAL;
			}
			cfg->order = v;
			cfg->have_order = true;
			break;
		case O_EXPECT:
			if (nm_parse_uint(next, 1, 1u << 20, &v)) {
				fprintf(stderr, "netmem rx: --expect '%s': expected a count >= 1\n", next);
				return -EINVAL;
			}
			cfg->expect = v;
			break;
		case O_TIMEOUT:
			if (nm_parse_secs(next, &cfg->timeout)) {
				fprintf(stderr, "netmem rx: --timeout '%s': expected seconds > 0\n", next);
				return -EINVAL;
			}
			break;
		case O_RING:
			if (nm_parse_uint(next, 1, 32768, &v) || (v & (v - 1))) {
				fprintf(stderr, "netmem rx: --ring '%s': expected a power of 2 up to 32768\n", next);
				return -EINVAL;
			}
			cfg->ring = v;
			break;
		case O_BUF_SIZE:
			if (nm_parse_size(next, &v) || !v || v > (2u << 20)) {
				fprintf(stderr, "netmem rx: --buf-size '%s': expected 1 to 2M\n", next);
				return -EINVAL;
			}
			cfg->buf_size = v;
			break;
		default:
			return -EINVAL;
		}
	}
	if (cfg->server && cfg->listen) {
		fprintf(stderr, "netmem rx: give -s [-p PORT] or --listen HOST:PORT, not both\n");
		return -EINVAL;
	}
	if (!cfg->server && (cfg->have_port || cfg->bind)) {
		fprintf(stderr, "netmem rx: -p and -B go with -s\n");
		return -EINVAL;
	}
	if (cfg->server) {
		const char *h = cfg->bind ? cfg->bind : "";
		bool v6 = strchr(h, ':') && h[0] != '[';

		snprintf(cfg->listen_buf, sizeof(cfg->listen_buf), "%s%s%s:%u", v6 ? "[" : "", h,
			 v6 ? "]" : "", cfg->have_port ? cfg->port : RX_DEFAULT_PORT);
		cfg->listen = cfg->listen_buf;
	}
	if (cfg->interval < 0)
		cfg->interval = cfg->server ? 1.0 : 0;
	cfg->xdp = cfg->engine && !strcmp(cfg->engine, "xdp");
	if (cfg->xdp && xdp_args(cfg))
		return -EINVAL;
	if (!cfg->xdp && (cfg->iface || cfg->xdp_flags)) {
		fprintf(stderr, "netmem rx: --iface, --zerocopy and --copy go with --engine xdp\n");
		return -EINVAL;
	}
	if (cfg->lend && !cfg->xdp && !(cfg->engine && !strcmp(cfg->engine, "udp"))) {
		fprintf(stderr, "netmem rx: --lend goes with --engine xdp or udp (packets)\n");
		return -EINVAL;
	}
	if (!cfg->listen && !cfg->xdp) {
		fprintf(stderr, "netmem rx: --listen HOST:PORT is required (or -s [-p PORT])\n");
		return -EINVAL;
	}
	if (cfg->engine) {
		const char *names[16];
		int n = nm_rx_engines(names, 16);
		bool found = false;

		for (int k = 0; k < n && k < 16; k++)
			found |= !strcmp(names[k], cfg->engine);
		if (!found) {
			fprintf(stderr, "netmem rx: --engine '%s': no such engine (built in:", cfg->engine);
			for (int k = 0; k < n && k < 16; k++)
				fprintf(stderr, " %s", names[k]);
			fprintf(stderr, ")\n");
			return -EINVAL;
		}
	}
	if (!nm_provider_find(cfg->provider)) {
		const char *names[16];
		int n = nm_provider_list(names, 16);

		fprintf(stderr, "netmem rx: --provider '%s': no such provider (registered:",
			cfg->provider);
		for (int k = 0; k < n && k < 16; k++)
			fprintf(stderr, " %s", names[k]);
		fprintf(stderr, ")\n");
		return -EINVAL;
	}
	if (!strcmp(cfg->provider, "cuda")) {
		if (!cfg->split) {
			fprintf(stderr, "netmem rx: --provider cuda: the CPU cannot receive into "
				"GPU memory; add --split (headers in host memory, payload "
				"placed on the GPU)\n");
			return -EINVAL;
		}
		/* Each copy to the GPU costs its own work on the copy engine
		 * (docs/benchmarks.md): fewer, larger payload chunks. */
		if (!cfg->have_order)
			cfg->order = 6;
	}
	if (cfg->buf_size > (4096u << cfg->order)) {
		fprintf(stderr, "netmem rx: --buf-size %u is larger than a chunk (%u bytes)\n",
			cfg->buf_size, 4096u << cfg->order);
		return -EINVAL;
	}
	if (cfg->out && cfg->queues > 1) {
		fprintf(stderr, "netmem rx: --out takes one connection; it cannot go with --queues %u\n",
			cfg->queues);
		return -EINVAL;
	}
	if (cfg->expect && !cfg->once) {
		fprintf(stderr, "netmem rx: --expect goes with --once\n");
		return -EINVAL;
	}
	if (cfg->out && cfg->expect > 1) {
		fprintf(stderr, "netmem rx: --out takes one connection; --expect must be 1\n");
		return -EINVAL;
	}
	if (!cfg->expect)
		cfg->expect = 1;
	if (cfg->engine && !strcmp(cfg->engine, "udp") && (cfg->split || cfg->out)) {
		fprintf(stderr, "netmem rx: --engine udp: datagrams have no frames to split "
			"and no stream for --out\n");
		return -EINVAL;
	}
	return 0;
}

/* The area and the per-queue pools; the message says what failed. */
static int make_pools(struct rx_cfg *cfg, struct rx_state *st, struct nm_area **area,
		      struct nm_area **hdr_area)
{
	uint32_t chunk = 4096u << cfg->order;
	/* Enough per queue for a full ring plus what is being looked at, in a
	 * bounded amount of memory whatever the chunk size. */
	uint64_t per_q = (32ull << 20) / chunk;
	struct nm_area_info ai;

	if (per_q < 32)
		per_q = 32;
	if (per_q > 1024)
		per_q = 1024;
	if (cfg->ring && per_q < 2ull * cfg->ring)
		per_q = 2ull * cfg->ring;
	if (cfg->xdp && per_q < 2ull * (cfg->ring ? cfg->ring : 4096))
		per_q = 2ull * (cfg->ring ? cfg->ring : 4096);	/* xdp's RX ring: 4096 */
	uint64_t size = per_q * chunk * cfg->queues;
	size = (size + (2u << 20) - 1) & ~((2ull << 20) - 1);

	NM_OPTS(nm_area_opts, ao, .size = size, .order = cfg->order, .name = "rx");
	*area = nm_area_create(cfg->provider, &ao);
	if (!*area) {
		int e = errno;

		fprintf(stderr, "netmem rx: provider %s: %llu MiB area of %u KiB chunks: %s%s%s\n",
			cfg->provider, (unsigned long long)(size >> 20), chunk >> 10,
			e == ENOENT ? "no such provider" : nm_strerror(-e),
			!strcmp(cfg->provider, "cuda") ? ": " : "",
			!strcmp(cfg->provider, "cuda") ? nm_cuda_status() : "");
		return -1;
	}
	nm_area_info(*area, &ai, sizeof(ai));
	st->readable = ai.cpu_base != NULL;
	snprintf(st->memory, sizeof(st->memory), "%s", ai.detail[0] ? ai.detail : "?");
	if (!st->readable && cfg->pat.kind && !strcmp(cfg->provider, "cuda")) {
		char why[1100];

		/* The area is device 0's (no provider arguments). */
		st->gpuv = nm_gpuv_create(&cfg->pat, 0, why, sizeof(why));
		if (!st->gpuv) {
			fprintf(stderr, "netmem rx: --verify on GPU memory: %s\n", why);
			return -1;
		}
	}
	if (!st->readable && (cfg->out || (cfg->pat.kind && !st->gpuv))) {
		fprintf(stderr, "netmem rx: provider %s memory has no CPU mapping; "
			"--out and --verify need readable memory\n", cfg->provider);
		return -1;
	}
	st->pools = calloc(cfg->queues, sizeof(*st->pools));
	st->hdr_pools = calloc(cfg->queues, sizeof(*st->hdr_pools));
	if (!st->pools || !st->hdr_pools)
		return -1;
	for (unsigned int q = 0; q < cfg->queues; q++) {
		NM_OPTS(nm_pool_opts, po, .max_chunks = per_q, .name = "rx");
		st->pools[q] = nm_pool_create(*area, &po);
		if (!st->pools[q]) {
			fprintf(stderr, "netmem rx: pool: %s\n", nm_strerror(-errno));
			return -1;
		}
	}
	if (!cfg->split)
		return 0;
	/* Headers, and payload staging for unreadable memory: host 64 KiB,
	 * 16 MiB a queue, or twice a --ring's buffers: staging, the ring may
	 * take only half (the other half is the headers'). */
	uint64_t hq = 16ull << 20;

	if (cfg->ring && hq < 2ull * cfg->ring * (64u << 10))
		hq = 2ull * cfg->ring * (64u << 10);
	NM_OPTS(nm_area_opts, ho, .size = hq * cfg->queues, .order = 4, .name = "rx-hdr");
	*hdr_area = nm_area_create("host", &ho);
	if (!*hdr_area) {
		fprintf(stderr, "netmem rx: header area: %s\n", nm_strerror(-errno));
		return -1;
	}
	/* GPU payload is copied out of this area: pinned, the copies are
	 * DMA from it; pageable, the driver stages each one synchronously. */
	if (!strcmp(cfg->provider, "cuda")) {
		int err = nm_cuda_pin_area(*hdr_area);

		if (err)
			fprintf(stderr, "netmem rx: staging for the GPU not pinned (%s): "
				"placement will be slow\n", nm_strerror(err));
	}
	for (unsigned int q = 0; q < cfg->queues; q++) {
		NM_OPTS(nm_pool_opts, po, .max_chunks = (unsigned int)(hq >> 16), .name = "rx-hdr");
		st->hdr_pools[q] = nm_pool_create(*hdr_area, &po);
		if (!st->hdr_pools[q]) {
			fprintf(stderr, "netmem rx: header pool: %s\n", nm_strerror(-errno));
			return -1;
		}
	}
	return 0;
}

static void sum_stats(struct nm_pool **pools, unsigned int n, struct nm_pool_stats *sum)
{
	memset(sum, 0, sizeof(*sum));
	for (unsigned int q = 0; q < n; q++) {
		struct nm_pool_stats s;
		uint64_t *d = (uint64_t *)sum, *x = (uint64_t *)&s;

		if (!pools[q] || nm_pool_get_stats(pools[q], &s, sizeof(s)))
			continue;
		for (size_t k = 0; k < sizeof(s) / sizeof(uint64_t); k++)
			d[k] += x[k];
	}
}

#define POOL_FIELDS(X) \
	X(alloc_fast) X(alloc_slow) X(alloc_empty) X(alloc_refill) X(alloc_area) \
	X(alloc_frag) X(recycle_cached) X(recycle_ring) X(recycle_ring_full) \
	X(recycle_released) X(err_double_put) X(err_foreign) X(err_not_buf) \
	X(err_range) X(err_inval) X(err_revoked) X(err_sync) X(inflight) X(hold) \
	X(release)

#define RX_FIELDS(X) \
	X(bytes) X(bufs) X(msgs) X(frames) X(hdr_bytes) X(conns_opened) \
	X(conns_closed) X(conns_err) X(recv_calls) X(enobufs) X(rearm) X(refill) \
	X(refill_batches) X(pool_empty) X(bundles) X(inc_partial) X(places) \
	X(place_errors) X(frame_too_big) X(held_waits)

static void json_pool(const char *key, const struct nm_pool_stats *s)
{
	const char *sep = "";

	printf(",\"%s\":{", key);
#define X(f) printf("%s\"" #f "\":%llu", sep, (unsigned long long)s->f), sep = ",";
	POOL_FIELDS(X)
#undef X
	printf("}");
}

static const char *feature_list(unsigned int f, char *buf, size_t len, bool json)
{
	static const struct { unsigned int bit; const char *name; } names[] = {
		{ NM_RX_FEAT_MULTISHOT, "multishot" }, { NM_RX_FEAT_INC, "inc" },
		{ NM_RX_FEAT_BUNDLE, "bundle" }, { NM_RX_FEAT_ACCEPT_MULTI, "accept_multi" },
		{ NM_RX_FEAT_PLACE, "place" }, { NM_RX_FEAT_UDP_GRO, "udp_gro" },
		{ NM_RX_FEAT_MIN_WAIT, "min_wait" },
	};
	size_t o = 0;

	buf[0] = 0;
	for (size_t k = 0; k < sizeof(names) / sizeof(names[0]); k++) {
		if (!(f & names[k].bit))
			continue;
		o += snprintf(buf + o, len - o, json ? "%s\"%s\"" : "%s%s",
			      o ? (json ? "," : " ") : "", names[k].name);
		if (o >= len)
			break;
	}
	return buf;
}

/* @s as a JSON string body (the area's detail is the provider's text). */
static const char *json_str(const char *s, char *buf, size_t len)
{
	size_t o = 0;

	for (; *s && o + 3 < len; s++) {
		if (*s == '"' || *s == '\\')
			buf[o++] = '\\';
		buf[o++] = (unsigned char)*s >= 0x20 ? *s : ' ';
	}
	buf[o] = 0;
	return buf;
}

/* Packets: what was lost by the sequence's gaps (with --verify: one
 * sender), and what the kernel said it dropped. */
static uint64_t pkt_lost(struct rx_state *st)
{
	uint64_t seqs = atomic_load(&st->pkt_seqs), got = atomic_load(&st->pkts);

	return st->cfg->pat.kind && seqs > got ? seqs - got : 0;
}

/* What the kernel said it dropped: at the UDP sockets, or at the XSKs
 * (rx_dropped, which counts a fill ring found empty, and a full RX ring). */
static uint64_t pkt_drops(const struct nm_rx_stats *rs)
{
	return rs->udp_drops + rs->udp_truncated + rs->xdp_rx_dropped + rs->xdp_rx_ring_full;
}

static void pkt_json(struct rx_state *st, const struct nm_rx_stats *rs, double secs, double cpu)
{
	uint64_t n = atomic_load(&st->pkts);

	printf("\"pkts\":%llu,\"pps\":%.0f,\"drops\":%llu,\"xdp_rx_dropped\":%llu,"
	       "\"xdp_rx_ring_full\":%llu,\"xdp_fill_empty\":%llu,\"xdp_rx_invalid\":%llu,",
	       (unsigned long long)n, secs > 0 ? n / secs : 0.0, (unsigned long long)pkt_drops(rs),
	       (unsigned long long)rs->xdp_rx_dropped, (unsigned long long)rs->xdp_rx_ring_full,
	       (unsigned long long)rs->xdp_fill_empty, (unsigned long long)rs->xdp_rx_invalid);
	printf("\"udp_drops\":%llu,"
	       "\"udp_truncated\":%llu,\"lost\":%llu,\"cpu_ns_per_pkt\":%.1f,",
	       (unsigned long long)rs->udp_drops, (unsigned long long)rs->udp_truncated,
	       (unsigned long long)pkt_lost(st), n ? cpu * 1e9 / n : 0.0);
}

static void pkt_text(struct rx_state *st, const struct nm_rx_stats *rs, double secs, double cpu)
{
	uint64_t n = atomic_load(&st->pkts), bytes = atomic_load(&st->bytes);

	printf("rx: %llu packets (%llu bytes) in %.3f s: %.0f packets/s, %.2f Gbit/s\n",
	       (unsigned long long)n, (unsigned long long)bytes, secs, secs > 0 ? n / secs : 0.0,
	       nm_gbit(bytes, secs));
	if (st->cfg->xdp)
		printf("rx: drops %llu (fill ring empty %llu, RX ring full %llu, other %llu), "
		       "invalid descriptors %llu, CPU %.0f ns per packet\n",
		       (unsigned long long)pkt_drops(rs), (unsigned long long)rs->xdp_fill_empty,
		       (unsigned long long)rs->xdp_rx_ring_full,
		       (unsigned long long)(rs->xdp_rx_dropped > rs->xdp_fill_empty ?
					    rs->xdp_rx_dropped - rs->xdp_fill_empty : 0),
		       (unsigned long long)rs->xdp_rx_invalid, n ? cpu * 1e9 / n : 0.0);
	else
	printf("rx: drops %llu (socket full %llu, too long for a buffer %llu), "
	       "CPU %.0f ns per packet\n",
	       (unsigned long long)(rs->udp_drops + rs->udp_truncated),
	       (unsigned long long)rs->udp_drops, (unsigned long long)rs->udp_truncated,
	       n ? cpu * 1e9 / n : 0.0);
	if (st->cfg->pat.kind)
		printf("rx: lost (gaps in the sequence) %llu\n", (unsigned long long)pkt_lost(st));
}

static void report(struct rx_cfg *cfg, struct rx_state *st, const struct nm_rx_info *info,
		   double secs, const struct nm_cpuspan *cs, uint64_t csw_v, uint64_t csw_i,
		   bool timed_out)
{
	struct nm_pool_stats ps, hs;
	struct nm_rx_stats rs = { 0 };
	uint64_t bytes = atomic_load(&st->bytes);
	/* perf's task clock where it could be opened: getrusage's figure
	 * under-counts a receiver that its NAPI thread preempts (txrx.h) */
	double cpu = cs->cpu;
	char feats[128], pname[32], mem[200];
	unsigned int checks = atomic_load(&st->check_errs);

	sum_stats(st->pools, cfg->queues, &ps);
	sum_stats(st->hdr_pools, cfg->queues, &hs);
	nm_rx_stats(st->rx, &rs, sizeof(rs));
	nm_pat_name(&cfg->pat, pname, sizeof(pname));
	if (cfg->json) {
		printf("{\"cmd\":\"rx\",\"engine\":\"%s\",\"provider\":\"%s\",\"split\":%s,"
		       "\"memory\":\"%s\",\"queues\":%u,\"chunk_size\":%u,\"buf_size\":%u,\"ring_entries\":%u,"
		       "\"features\":[%s],\"conns\":%u,\"conn_errors\":%u,\"bytes\":%llu,"
		       "\"hdr_bytes\":%llu,\"frames\":%llu,\"seconds\":%.6f,\"gbit_per_s\":%.3f,"
		       NM_CPU_JSON ","
		       "\"cpu_s_per_gb\":%.4f,\"csw_voluntary\":%llu,\"csw_involuntary\":%llu,",
		       info->engine, cfg->provider, cfg->split ? "true" : "false",
		       json_str(st->memory, mem, sizeof(mem)), info->nr_queues, 4096u << cfg->order, info->buf_size,
		       info->ring_entries, feature_list(info->features, feats, sizeof(feats), true),
		       atomic_load(&st->opened), atomic_load(&st->conn_errs),
		       (unsigned long long)bytes,
		       (unsigned long long)atomic_load(&st->hdr_bytes),
		       (unsigned long long)atomic_load(&st->frames), secs,
		       nm_gbit(bytes, secs), NM_CPU_JSON_ARGS(cs), nm_cpu_per_gb(cpu, bytes),
		       (unsigned long long)csw_v, (unsigned long long)csw_i);
		if (cfg->pat.kind)
			printf("\"verify\":\"%s\",\"verify_ok\":%s,\"verify_errors\":%u,",
			       pname, checks ? "false" : "true", checks);
		else
			printf("\"verify\":null,");
		if (st->gpuv)
			printf("\"verify_gpu_bytes\":%llu,\"verify_gpu_differ\":%llu,",
			       (unsigned long long)st->gres.checked,
			       (unsigned long long)st->gres.bad);
		if (st->pkt)
			pkt_json(st, &rs, secs, cpu);
		printf("\"timed_out\":%s,\"put_errors\":%u", timed_out ? "true" : "false",
		       atomic_load(&st->put_errs));
		json_pool("pool", &ps);
		if (cfg->split)
			json_pool("hdr_pool", &hs);
		printf(",\"rx\":{");
		const char *sep = "";
#define X(f) printf("%s\"" #f "\":%llu", sep, (unsigned long long)rs.f), sep = ",";
		RX_FIELDS(X)
#undef X
		printf("}}\n");
		fflush(stdout);
		return;
	}
	if (st->pkt)
		pkt_text(st, &rs, secs, cpu);
	else
	printf("rx: %llu bytes on %u connection%s in %.3f s: %.2f Gbit/s\n",
	       (unsigned long long)bytes, atomic_load(&st->opened),
	       atomic_load(&st->opened) == 1 ? "" : "s", secs, nm_gbit(bytes, secs));
	printf("rx: " NM_CPU_TEXT ": %.3f CPU s/GB; "
	       "%llu sleeps (%.0f KiB each), %llu preemptions\n", NM_CPU_TEXT_ARGS(cs),
	       nm_cpu_per_gb(cpu, bytes),
	       (unsigned long long)csw_v, csw_v ? bytes / 1024.0 / csw_v : 0.0,
	       (unsigned long long)csw_i);
	feature_list(info->features, feats, sizeof(feats), false);
	printf("rx: engine %s%s%s%s, provider %s (%s), %u queue%s, %u KiB chunks, %u-byte buffers",
	       info->engine, feats[0] ? " [" : "", feats, feats[0] ? "]" : "", cfg->provider,
	       st->memory, info->nr_queues, info->nr_queues == 1 ? "" : "s",
	       (4096u << cfg->order) >> 10, info->buf_size);
	if (info->ring_entries)
		printf(", ring %u", info->ring_entries);
	printf("\n");
	if (cfg->split)
		printf("rx: split: %llu frames, %llu header bytes\n",
		       (unsigned long long)atomic_load(&st->frames),
		       (unsigned long long)atomic_load(&st->hdr_bytes));
	if (st->have_cstats)	/* a driver call each copy: what merging saved */
		printf("rx: cuda: %llu placements in %llu copies (%.2f a copy) in %llu driver "
		       "calls, %llu events\n",
		       (unsigned long long)st->cstats.place_calls,
		       (unsigned long long)st->cstats.copies,
		       st->cstats.copies ? (double)st->cstats.place_calls / st->cstats.copies : 0.0,
		       (unsigned long long)st->cstats.copy_calls,
		       (unsigned long long)st->cstats.events_recorded);
	if (cfg->pat.kind && st->gpuv)
		printf("rx: verify %s: %s (on the GPU: %llu bytes compared, %llu differ)\n", pname,
		       checks ? "FAILED" : "ok", (unsigned long long)st->gres.checked,
		       (unsigned long long)st->gres.bad);
	else if (cfg->pat.kind)
		printf("rx: verify %s: %s\n", pname, checks ? "FAILED" : "ok");
	printf("rx: pool: alloc fast %llu slow %llu empty %llu refill %llu area %llu; "
	       "recycle cached %llu ring %llu ring_full %llu released %llu; inflight %llu\n",
	       (unsigned long long)ps.alloc_fast, (unsigned long long)ps.alloc_slow,
	       (unsigned long long)ps.alloc_empty, (unsigned long long)ps.alloc_refill,
	       (unsigned long long)ps.alloc_area, (unsigned long long)ps.recycle_cached,
	       (unsigned long long)ps.recycle_ring, (unsigned long long)ps.recycle_ring_full,
	       (unsigned long long)ps.recycle_released, (unsigned long long)ps.inflight);
	printf("rx: engine: %llu recv completions (%.1f KiB each), %llu buffers, %llu enobufs, "
	       "%llu rearms (%.3f a completion), %llu refills in %llu batches, %llu bundles, "
	       "%llu partial, %llu held waits\n",
	       (unsigned long long)rs.recv_calls,
	       rs.recv_calls ? rs.bytes / 1024.0 / rs.recv_calls : 0.0,
	       (unsigned long long)rs.bufs, (unsigned long long)rs.enobufs,
	       (unsigned long long)rs.rearm,
	       rs.recv_calls ? (double)rs.rearm / (double)rs.recv_calls : 0.0,
	       (unsigned long long)rs.refill,
	       (unsigned long long)rs.refill_batches, (unsigned long long)rs.bundles,
	       (unsigned long long)rs.inc_partial, (unsigned long long)rs.held_waits);
	if (timed_out)
		printf("rx: timed out after %.1f s\n", cfg->timeout);
	fflush(stdout);
}

/* Run the area's deferred releases (the buffers the GPU checks still
 * held) until none is left, for at most about 5 s. */
static void gpu_drain(struct nm_area *area)
{
	struct nm_cuda_stats cs;

	for (int i = 0; i < 50000; i++) {
		nm_area_poll(area);
		if (nm_cuda_area_stats(area, &cs, sizeof(cs)) || !cs.deferred_pending)
			return;
		usleep(100);
	}
}

/*
 * The end of --verify on the GPU: wait for the checks, read what they
 * found, and count it as check errors: bytes that differ, and bytes
 * received that the GPU did not compare (every payload byte must be).
 */
static void gpu_finish(struct rx_state *st, struct nm_area *area)
{
	struct nm_gpuv_result *r = &st->gres;
	uint64_t bytes = atomic_load(&st->bytes);
	int err = nm_gpuv_finish(st->gpuv, r);

	gpu_drain(area);
	if (err) {
		fprintf(stderr, "netmem rx: GPU check results: %s\n", nm_strerror(err));
		atomic_fetch_add(&st->check_errs, 1);
		return;
	}
	if (r->bad) {
		fprintf(stderr, "netmem rx: data differs at stream offset %llu of a connection "
			"(GPU check: %llu of %llu bytes differ)\n", (unsigned long long)r->first_bad,
			(unsigned long long)r->bad, (unsigned long long)r->checked);
		atomic_fetch_add(&st->check_errs, 1);
	}
	if (r->checked != r->launched || r->launched != bytes) {
		fprintf(stderr, "netmem rx: the GPU compared %llu bytes of the %llu launched, "
			"%llu received\n", (unsigned long long)r->checked,
			(unsigned long long)r->launched, (unsigned long long)bytes);
		atomic_fetch_add(&st->check_errs, 1);
	}
}

/* How long the loop may wait: up to @dflt ms, less when an interval ends. */
static int iv_wait_ms(const struct rx_cfg *cfg, struct rx_state *st, const struct rx_iv *iv,
		      int dflt)
{
	double left;

	if (cfg->interval <= 0 || !iv->start)
		return dflt;
	left = iv->start + cfg->interval - nm_now();
	return left <= 0 ? 0 : left * 1000 < dflt ? (int)(left * 1000) + 1 : dflt;
}

/*
 * Print the interval under way when it is over (or, @last, whatever is
 * left of it): seconds since the first connection, bytes, GB (10^9) and
 * Gbit/s, connections open; a JSON line with -J.
 */
static void iv_tick(const struct rx_cfg *cfg, struct rx_state *st, struct rx_iv *iv,
		    double now, bool last)
{
	double first = atomic_load(&st->t_first), secs;
	uint64_t b = atomic_load(&st->bytes), db;
	unsigned int open = atomic_load(&st->opened) - atomic_load(&st->closed);

	if (!first)
		return;
	if (!iv->start)
		iv->start = first;
	if (!last && now < iv->start + cfg->interval)
		return;
	secs = now - iv->start;
	db = b - iv->bytes0;
	if (last && (secs <= 0 || (!db && secs < cfg->interval / 2)))
		return;
	if (!db && !open) {
		/* idle between runs (no --once): nothing to say, as iperf3 -s */
		iv->start = now;
		return;
	}
	if (cfg->json)
		printf("{\"event\":\"interval\",\"cmd\":\"rx\",\"start\":%.3f,\"end\":%.3f,"
		       "\"bytes\":%llu,\"gbit_per_s\":%.3f,\"conns\":%u}\n",
		       iv->start - first, now - first, (unsigned long long)db,
		       nm_gbit(db, secs), open);
	else
		printf("rx: %6.2f-%6.2f s  %8.3f GB  %7.2f Gbit/s  %u connection%s open\n",
		       iv->start - first, now - first, db / 1e9, nm_gbit(db, secs), open,
		       open == 1 ? "" : "s");
	fflush(stdout);
	iv->start = now;
	iv->bytes0 = b;
}

/* Serve live stats (netmem stat): the area(s), the pools, the receiver.
 * A failure costs the stats only, with a warning. */
static struct nm_stats_srv *stats_start(const struct rx_cfg *cfg, struct rx_state *st,
					struct nm_area *area, struct nm_area *hdr_area)
{
	NM_OPTS(nm_stats_srv_opts, so, .path = cfg->stats_path);
	struct nm_stats_srv *srv = nm_stats_srv_create(&so);

	if (!srv) {
		fprintf(stderr, "netmem rx: live stats off: %s%s%s\n",
			cfg->stats_path ? cfg->stats_path : "", cfg->stats_path ? ": " : "",
			nm_strerror(-errno));
		return NULL;
	}
	nm_stats_srv_add_rx(srv, st->rx, "rx");
	nm_stats_srv_add_area(srv, area, "rx");
	if (hdr_area)
		nm_stats_srv_add_area(srv, hdr_area, "rx-hdr");
	for (unsigned int q = 0; q < cfg->queues; q++) {
		nm_stats_srv_add_pool(srv, st->pools[q], "rx", (int)q);
		if (st->hdr_pools[q])
			nm_stats_srv_add_pool(srv, st->hdr_pools[q], "rx-hdr", (int)q);
	}
	return srv;
}

/* "HOST:PORT" into a numeric host for nm_rx_listen() and a port. */
static int listen_addr(const char *s, char *host, size_t hlen, int *port)
{
	struct sockaddr_storage ss;
	socklen_t sslen;
	char err[160];

	if (nm_parse_hostport(s, true, &ss, &sslen, err, sizeof(err))) {
		fprintf(stderr, "netmem rx: --listen %s\n", err);
		return -EINVAL;
	}
	if (ss.ss_family == AF_INET6) {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
		inet_ntop(AF_INET6, &a->sin6_addr, host, hlen);
		*port = ntohs(a->sin6_port);
	} else {
		struct sockaddr_in *a = (struct sockaddr_in *)&ss;
		inet_ntop(AF_INET, &a->sin_addr, host, hlen);
		*port = ntohs(a->sin_port);
	}
	return 0;
}

int cmd_rx(int argc, char **argv)
{
	struct rx_cfg cfg = { .provider = "host", .queues = 1, .order = 4, .interval = -1 };
	struct rx_state st = { .cfg = &cfg, .out_fd = -1, .cpu_taken = ATOMIC_FLAG_INIT,
			       .cpuclk = -1 };
	struct nm_area *area = NULL, *hdr_area = NULL;
	struct nm_rx_info info = { 0 };
	struct sigaction sa = { .sa_handler = on_signal };
	char host[INET6_ADDRSTRLEN];
	double t_start, t_next, t_prev = 0, t_end;
	struct nm_cpumark cpu1;
	struct nm_cpuspan spent;
	uint64_t last_bytes = 0, csw_v1, csw_i1;
	struct rx_iv iv = { 0 };
	struct nm_stats_srv *srv = NULL;
	bool timed_out = false;
	int port = 0, rc = 1;

	if (parse_args(argc, argv, &cfg) ||
	    (cfg.listen && listen_addr(cfg.listen, host, sizeof(host), &port)))
		return usage();
	/* Before any thread starts: the queue threads and the stats thread
	 * inherit the mask. */
	if (cfg.have_cpus && sched_setaffinity(0, sizeof(cfg.cpus), &cfg.cpus)) {
		fprintf(stderr, "netmem rx: -A: %s\n", strerror(errno));
		return 1;
	}
	/* Before any thread starts too: the counter counts the threads
	 * created after it (the queues', the stats server's). */
	st.cpuclk = nm_cpuclock_open();
	if (cfg.pat.kind && nm_pat_init(&cfg.pat, 0)) {
		fprintf(stderr, "netmem rx: out of memory\n");
		return 1;
	}
	if (make_pools(&cfg, &st, &area, &hdr_area))
		goto out;
	if (cfg.out) {
		st.out_fd = open(cfg.out, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (st.out_fd < 0) {
			fprintf(stderr, "netmem rx: --out %s: %s\n", cfg.out, strerror(errno));
			goto out;
		}
	}

	NM_OPTS(nm_rx_opts, ro, .engine = cfg.engine, .nr_queues = cfg.queues,
		.flags = (cfg.split ? NM_RX_F_SPLIT : 0) | cfg.eng_flags, .buf_size = cfg.buf_size,
		.ring_entries = cfg.ring, .on_data = rx_on_data, .on_conn = rx_on_conn,
		.on_close = rx_on_close, .user = &st, .ifname = cfg.iface,
		.xdp_flags = cfg.xdp_flags);
	if (cfg.queues == 1) {
		ro.pool = st.pools[0];
		ro.hdr_pool = st.hdr_pools[0];
	} else {
		ro.pools = st.pools;
		ro.hdr_pools = cfg.split ? st.hdr_pools : NULL;
	}
	st.rx = nm_rx_create(&ro);
	if (!st.rx) {
		int e = errno;
		fprintf(stderr, "netmem rx: engine %s: %s%s\n", cfg.engine ? cfg.engine : "(default)",
			nm_strerror(-e),
			e == EOPNOTSUPP ? " (see `netmem probe` for what this kernel has)" : "");
		goto out;
	}
	nm_rx_info(st.rx, &info, sizeof(info));
	st.pkt = !strcmp(info.engine, "udp") || cfg.xdp;
	if (!cfg.no_stats) {
		srv = stats_start(&cfg, &st, area, hdr_area);
		if (!srv && cfg.stats_path)
			goto out;	/* asked for by name: not optional */
	}
	if (cfg.xdp) {
		if (!cfg.quiet)
			fprintf(stderr, "rx: receiving on %s, queues 0 to %u (engine xdp, provider %s: "
				"%s, 4 KiB frames)\n", cfg.iface, cfg.queues - 1, cfg.provider,
				st.memory);
		rc = 1;
		goto run;
	}
	rc = nm_rx_listen(st.rx, host, port);
	if (rc < 0) {
		fprintf(stderr, "netmem rx: listen on %s: %s\n", cfg.listen, nm_strerror(rc));
		rc = 1;
		goto out;
	}
	port = rc;
	rc = 1;
	if (!cfg.quiet) {
		fprintf(stderr, "rx: listening on %s%s%s:%d (engine %s, provider %s: %s, %u KiB chunks%s)\n",
			strchr(host, ':') ? "[" : "", host, strchr(host, ':') ? "]" : "", port,
			info.engine, cfg.provider, st.memory, (4096u << cfg.order) >> 10,
			cfg.split ? ", split" : "");
	}
run:
	if (!cfg.quiet) {
		if (srv)
			fprintf(stderr, "rx: live stats: netmem stat %s\n", nm_stats_srv_path(srv));
		fflush(stderr);
	}

	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	t_start = nm_now();
	t_next = 0;
	while (!atomic_load(&st.done) && !stop_signal) {
		double now, first;
		int r;

		/* Short slices: the loop notices signals, the timeout and the
		 * progress line without a thread of its own. */
		r = nm_rx_run(st.rx, iv_wait_ms(&cfg, &st, &iv, 250));
		if (r < 0) {
			fprintf(stderr, "netmem rx: engine: %s\n", nm_strerror(r));
			goto out;
		}
		now = nm_now();
		if (cfg.timeout > 0 && now - t_start >= cfg.timeout && !atomic_load(&st.done)) {
			timed_out = true;
			break;
		}
		first = atomic_load(&st.t_first);
		if (st.pkt && cfg.once && first && now - atomic_load(&st.t_pkt_last) >= 1.0)
			break;	/* the sender is done: a second without a datagram */
		if (cfg.interval > 0 && !cfg.quiet) {
			iv_tick(&cfg, &st, &iv, now, false);
			continue;
		}
		if (cfg.quiet || first == 0 || now - first < 2.0 || atomic_load(&st.done))
			continue;
		if (t_next == 0) {
			t_next = now;
			t_prev = first;
		}
		if (now >= t_next) {
			uint64_t b = atomic_load(&st.bytes);
			fprintf(stderr, "rx: %.1f s: %.2f GB, %.2f Gbit/s now, %u connection%s open\n",
				now - first, b / 1e9, nm_gbit(b - last_bytes, now - t_prev),
				atomic_load(&st.opened) - atomic_load(&st.closed),
				atomic_load(&st.opened) - atomic_load(&st.closed) == 1 ? "" : "s");
			last_bytes = b;
			t_prev = now;
			t_next = now + 1.0;
		}
	}
	nm_cpumark_take(st.cpuclk, &cpu1);
	nm_csw(&csw_v1, &csw_i1);
	if (st.gpuv)
		gpu_finish(&st, area);
	st.have_cstats = !strcmp(cfg.provider, "cuda") &&
			 !nm_cuda_area_stats(area, &st.cstats, sizeof(st.cstats));
	t_end = atomic_load(&st.done) ? atomic_load(&st.t_last) : nm_now();
	if (st.pkt && atomic_load(&st.t_first))
		t_end = atomic_load(&st.t_pkt_last);
	if (cfg.interval > 0 && !cfg.quiet)
		iv_tick(&cfg, &st, &iv, t_end, true);
	if (atomic_load(&st.t_first) == 0) {
		st.t_first = t_end;
		st.cpu0 = cpu1;
		st.csw_v0 = csw_v1;
		st.csw_i0 = csw_i1;
	}
	nm_cpu_spent(&st.cpu0, &cpu1, &spent);
	report(&cfg, &st, &info, t_end - atomic_load(&st.t_first), &spent,
	       csw_v1 - st.csw_v0, csw_i1 - st.csw_i0, timed_out);
	rc = atomic_load(&st.check_errs) || atomic_load(&st.conn_errs) ||
	     atomic_load(&st.put_errs) || timed_out ? 1 : 0;
	if (timed_out && !cfg.json)
		fprintf(stderr, "netmem rx: --timeout %.1f s passed before the connections closed\n",
			cfg.timeout);
out:
	/* The server reads the pools and the receiver: it goes first. */
	if (srv)
		nm_stats_srv_destroy(srv);
	if (st.rx)
		nm_rx_destroy(st.rx);
	if (st.cpuclk >= 0)
		close(st.cpuclk);
	if (st.gpuv) {
		/* Checks launched since gpu_finish (or without it) hold buffers. */
		struct nm_gpuv_result r;

		nm_gpuv_finish(st.gpuv, &r);
		gpu_drain(area);
	}
	if (st.out_fd >= 0 && close(st.out_fd) && !rc) {
		fprintf(stderr, "netmem rx: --out %s: %s\n", cfg.out, strerror(errno));
		rc = 1;
	}
	for (unsigned int q = 0; st.pools && q < cfg.queues; q++)
		if (st.pools[q])
			nm_pool_destroy(st.pools[q]);
	for (unsigned int q = 0; st.hdr_pools && q < cfg.queues; q++)
		if (st.hdr_pools[q])
			nm_pool_destroy(st.hdr_pools[q]);
	if (area)
		nm_area_destroy(area);
	if (hdr_area) {
		if (!strcmp(cfg.provider, "cuda"))
			nm_cuda_unpin_area(hdr_area);
		nm_area_destroy(hdr_area);
	}
	nm_gpuv_destroy(st.gpuv);
	free(st.pools);
	free(st.hdr_pools);
	nm_pat_fini(&cfg.pat);
	return rc;
}

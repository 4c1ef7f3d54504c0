/* SPDX-License-Identifier: MIT */
/*
 * rx.h - receiving network data into pooled buffers.
 *
 * An nm_rx is a receiver: one or more queues, each with its own thread (the
 * caller's for queue 0), its own payload pool and, for header/data split,
 * its own host header pool.  A receive engine, chosen at run time by name,
 * moves bytes from sockets into the pools' buffers:
 *
 *   "uring"   io_uring multishot recv over a provided-buffer ring refilled
 *             from the pool; incremental consumption (IOU_PBUF_RING_INC) and
 *             recv bundles where the kernel has them; multishot accept.
 *   "socket"  non-blocking recv() into pool buffers driven by epoll; the
 *             portable fallback.
 *   "xdp"     AF_XDP: the payload pool's area is the UMEM (host, hugepage
 *             or memfd memory, 4 KiB chunks: order 0), each chunk a frame;
 *             one XSK socket per queue, bound to (opts.ifname,
 *             opts.queue_id + queue), queues whose pools share an area
 *             sharing one UMEM; libxdp's redirect program on the interface
 *             while the receiver lives.  One packet per message (its bytes
 *             past the XDP headroom of its frame; pkt->queue_id); the
 *             socket is one connection of its queue, opened on its first
 *             pass.  The kernel's drop counters are in the stats (xdp_*).
 *             Revoking the area closes the socket (on_close: -ENODEV) and
 *             gives back every frame.  libxdp is loaded at run time.
 *   "udp"     datagrams: io_uring multishot recvmsg over a provided-buffer
 *             ring, or recvmmsg() where io_uring is refused (or
 *             NM_UDP_RECVMMSG=1 is set); one datagram, or one UDP GRO batch,
 *             per buffer and per message, with its source address, GRO
 *             segment size and, with NM_RX_F_TIMESTAMP, receive timestamp
 *             (struct nm_rx_pkt).  Each UDP
 *             socket is one connection of its queue: nm_rx_listen() binds
 *             one per queue (SO_REUSEPORT when several), nm_rx_add_fd()
 *             takes a bound one.  The first 128 bytes of each buffer hold
 *             the kernel's per-datagram header, the payload follows (so
 *             buf_size must be 192 or more); a datagram longer than
 *             buf_size - 128 is dropped and counted (udp_truncated).  GRO is
 *             on only when buffers hold the largest batch (buf_size of
 *             65663 or more: 128 KiB chunks, say), else each datagram comes
 *             alone.  Datagrams the kernel drops at the socket are counted
 *             (udp_drops); each socket gets a 4 MiB receive buffer (never
 *             lowered; up to rmem_max without CAP_NET_ADMIN) so that the
 *             engine's batched waits do not overflow it.
 *
 * Delivery: the application's on_data callback receives, per connection and
 * in stream order, one message: a list of nm_bufs (chunk, offset, length)
 * and, with NM_RX_F_TOKENS, a token per buffer.  The "xdp" engine can
 * instead hand on_pkts a burst of packets at once (an array of struct
 * nm_rx_pktbuf), as rte_eth_rx_burst() or an xsk RX ring peek would.
 *
 * Ownership: every buffer delivered to on_data belongs to the application
 * from that moment, whatever the callback returns.  It gives each back
 * exactly once, from any thread, at any time before nm_rx_destroy()'s pools
 * go away: nm_buf_put()/nm_pool_put()/nm_pool_put_bulk(), or, when tokens
 * were delivered, nm_rx_release_tokens() (then not by put).  A buffer that
 * is never given back keeps its chunk out of circulation: that is the
 * backpressure a slow consumer exerts, and the engines survive it (they stop
 * receiving on a dry pool and resume, without loss, once buffers return).
 *
 * Who runs the queues: either netmem, or the application.
 *   - nm_rx_run() runs every queue: queue 0 on the calling thread, the
 *     others on threads it starts (kept between runs), each optionally
 *     pinned to a CPU (opts.cpus) and announced to opts.on_thread.
 *   - Or the application drives each queue from a thread of its own: it
 *     waits for nm_rx_queue_fd(rx, q) to become readable (epoll, poll,
 *     libuv, ...) and calls nm_rx_queue_poll(rx, q, 0), one bounded pass.
 *   A receiver is driven one way at a time: nm_rx_run() is refused
 *   (-EBUSY) while a queue pass runs, and a queue pass while nm_rx_run()
 *   runs.  Choose one way for the receiver's life: with the uring engine a
 *   queue's ring belongs to the thread of its first pass, and the kernel
 *   refuses it to any other (the pass fails, -EEXIST).
 *
 * Threading rules:
 *   - A queue is driven from one thread at a time (a second concurrent
 *     nm_rx_queue_poll() of the same queue gets -EBUSY); keep it on one
 *     thread: that thread becomes the owner of the queue's pools
 *     (nm_pool_set_owner: only it allocates from them), and with the
 *     uring engine the io_uring belongs to the thread of the queue's
 *     first pass (IORING_SETUP_SINGLE_ISSUER).  Different queues may be
 *     driven from different threads at once.
 *   - Callbacks run on the thread driving the connection's queue;
 *     nm_rx_conn_*() are called from those callbacks.
 *   - Any thread: nm_rx_stop(), nm_rx_stats(), nm_rx_queue_stats(),
 *     nm_rx_info(), nm_rx_release_tokens(), nm_rx_add_fd(), and putting
 *     buffers back.
 *   - nm_rx_create(), nm_rx_destroy(), nm_rx_listen(): one thread, while
 *     no queue is being driven (nm_rx_destroy says -EBUSY otherwise).
 *   - nm_rx_queue_fd(): before the queue's first pass, or on the thread
 *     that drives it.
 *
 * Errors follow netmem.h: 0/count or -errno; constructors NULL + errno.
 */
#ifndef NETMEM_RX_H
#define NETMEM_RX_H

#include <netmem/netmem.h>
#include <sys/socket.h>

#ifdef __cplusplus
extern "C" {
#endif

struct nm_rx;
struct nm_rx_conn;

#define NM_RX_MAX_QUEUES  64
#define NM_RX_NO_TOKEN    UINT32_MAX  /* a buffer delivered without a token */
#define NM_RX_MAX_HDR     256         /* the longest frame header (split) */

/* One delivery to on_data: bytes of one connection, in stream order. */
struct nm_rx_msg {
	const struct nm_buf *bufs;  /* payload pieces; len = bytes in each */
	const uint32_t *tokens;     /* per buf with NM_RX_F_TOKENS (an entry
				     * may be NM_RX_NO_TOKEN: token table full,
				     * put that buffer instead); else NULL */
	unsigned int nr;            /* entries in bufs (0 for an empty frame) */
	unsigned int flags;         /* NM_RX_MSG_* */
	uint64_t bytes;             /* sum of bufs[i].len */
	/* Header/data split (NM_RX_F_SPLIT): one whole frame per message. */
	const struct nm_buf *hdr;   /* the frame header, in hdr_pool; else NULL */
	uint32_t hdr_token;         /* its token, with NM_RX_F_TOKENS */
	uint32_t hdr_len;           /* header bytes (== hdr->len) */
	/* Added in 0.3.  Packet engines ("xdp", "udp"): one packet (or one
	 * GRO batch of datagrams) per message, NM_RX_MSG_PKT set, its
	 * metadata here; NULL for streams. */
	const struct nm_rx_pkt *pkt;
};

/* What a packet engine knows of one delivered packet. */
struct nm_rx_pkt {
	uint64_t ts_ns;             /* udp with NM_RX_F_TIMESTAMP: kernel receive
				     * time, CLOCK_REALTIME ns (SO_TIMESTAMPNS);
				     * 0: not asked for, or not known */
	uint32_t seg_size;          /* udp GRO: the buffer holds datagrams of
				     * this size back to back (the last may be
				     * shorter); 0: one datagram */
	uint32_t queue_id;          /* xdp: the NIC queue it came in on */
	uint32_t src_len;           /* udp: bytes of @src used; 0: none */
	uint32_t reserved;
	struct sockaddr_storage src; /* udp: the sender's address */
	/* Added in 0.4.  The packet's first byte (bufs[0]'s) where the
	 * payload memory has a CPU mapping, else NULL: what nm_buf_data()
	 * gives, without its lookup of the descriptor. */
	const void *data;
};

#define NM_RX_MSG_FRAME    (1u << 0) /* a complete frame (split mode) */
#define NM_RX_MSG_UNREADABLE (1u << 1) /* payload memory has no CPU mapping */
#define NM_RX_MSG_PKT      (1u << 2) /* a packet engine's message: see pkt */

/*
 * A framing callback for header/data split: look at the first @avail bytes
 * of a frame (@avail grows by what arrived, up to NM_RX_MAX_HDR).
 * Return: the header length (1..NM_RX_MAX_HDR) with *payload_len set when
 * @avail bytes hold a whole header; 0 when more bytes are needed; -errno to
 * close the connection with that error.  A length beyond @avail, or one the
 * bytes of an earlier call already held (that call said 0), closes it with
 * -EPROTO; a header still not whole at NM_RX_MAX_HDR bytes, with -EMSGSIZE;
 * a *payload_len over max_frame, with -EMSGSIZE.  NULL in the options
 * selects the built-in framing: a 4-byte big-endian payload length, then
 * the payload.
 */
typedef ssize_t (*nm_rx_frame_fn)(const void *hdr, size_t avail,
				  size_t *payload_len, void *user);

/* on_data: return 0 to go on, or -errno to close this connection with that
 * error (on_close then reports it).  The buffers are the app's either way. */
typedef int (*nm_rx_data_fn)(struct nm_rx *rx, struct nm_rx_conn *c,
			     const struct nm_rx_msg *msg, void *user);
/*
 * Added in 0.5.  One packet of a burst handed to on_pkts.  The array is the
 * engine's: read-only to the callback and valid only while it runs (copy
 * an entry to keep it).  The stride is this struct's size in the release
 * the program was built against; a later release that needs more per
 * packet adds a new callback rather than grow this.
 */
struct nm_rx_pktbuf {
	struct nm_buf buf;          /* the packet: its chunk, offset, length */
	const void *data;           /* its first byte where the payload memory
				     * has a CPU mapping (nm_buf_data()'s
				     * answer, without its lookup), else NULL
				     * (the area revoked under it) */
	uint32_t queue_id;          /* xdp: the NIC queue it came in on */
	uint32_t flags;             /* 0 (reserved) */
};

/*
 * on_pkts (added in 0.5): a packet engine's burst of @n (>= 1) packets of
 * connection @c, in arrival order, in one call, where on_data would be
 * called once per packet.  Ownership is on_data's for each packet: the
 * buffers are the application's to put (or, with NM_RX_F_LEND, lent and
 * taken back after the call returns; nm_buf_get() keeps one).  Return 0 to
 * go on, or -errno to close @c with that error (on_close reports it): the
 * whole burst counts as delivered (the application owns, or was lent, all
 * @n), and no packet after it is delivered.
 */
typedef int (*nm_rx_pkts_fn)(struct nm_rx *rx, struct nm_rx_conn *c,
			     const struct nm_rx_pktbuf *pkts, unsigned int n,
			     void *user);
/* A connection arrived (accepted or added); return -errno to refuse it:
 * nothing of it is delivered, and on_close follows with that error. */
typedef int (*nm_rx_conn_fn)(struct nm_rx *rx, struct nm_rx_conn *c, void *user);
/* A connection ended: @err 0 for an orderly end of stream, else -errno:
 * -EMSGSIZE (split: a frame longer than max_frame, or a header longer than
 * NM_RX_MAX_HDR), -EPROTO (split: the framing callback returned a header
 * length it cannot mean), -EPIPE (split: the peer closed in the middle of
 * a frame), -ECONNRESET or another socket error, -ENOMEM (no memory to
 * deliver a message with its tokens: its buffers went back unseen), or
 * what on_conn/on_data/the framing callback returned or
 * nm_rx_conn_close() was given; -ECANCELED when nm_rx_destroy() ended it
 * (or the error nm_rx_conn_close() gave one closed between runs).  Once
 * per connection on_conn saw.  Split: an error in the stream (too long, a
 * framing error, a failed place) comes after the frames whole before it
 * were delivered (placed ones once their places land, as with readable
 * memory), nothing after it (on_data failing for one of those is the
 * error then); an error after an orderly end was seen and
 * before this ran (on_data's, a place's) is the one reported, and stops
 * delivery.  The fd is closed after this returns. */
typedef void (*nm_rx_close_fn)(struct nm_rx *rx, struct nm_rx_conn *c, int err,
			       void *user);

/* nm_rx_opts.flags */
#define NM_RX_F_SPLIT        (1u << 0) /* header/data split with framing */
#define NM_RX_F_TOKENS       (1u << 1) /* deliver tokens (devmem TCP style) */
#define NM_RX_F_NO_INC       (1u << 2) /* uring: no incremental consumption */
#define NM_RX_F_NO_BUNDLE    (1u << 3) /* uring: no recv bundles */
#define NM_RX_F_REQUIRE_INC  (1u << 4) /* uring: fail (EOPNOTSUPP) without INC */
#define NM_RX_F_REQUIRE_BUNDLE (1u << 5) /* uring: fail without bundles */
/* uring: no batching by the socket.  By default a connection that streams
 * (a completion of 32 KiB or more) gets an SO_RCVLOWAT mark: 16 MiB shared
 * among the queue's streaming connections, from 64 KiB to 1 MiB each.  Its
 * socket wakes the queue once that much waits, which keeps TCP's ACKs on
 * the sender's side (docs/benchmarks.md); after 1 ms without a completion
 * it wakes on any byte again, so a burst's last bytes wait up to ~1 ms. */
#define NM_RX_F_NO_LOWAT     (1u << 6)
/* udp: the kernel's receive time of each datagram in nm_rx_pkt.ts_ns
 * (SO_TIMESTAMPNS).  Off by default: the kernel then stamps nothing and
 * builds no control message for it (about a tenth of the per-datagram
 * cost at 64 B, docs/benchmarks.md); ts_ns is 0.  Other engines refuse it
 * (-EINVAL). */
#define NM_RX_F_TIMESTAMP    (1u << 7)
/* Packet engines (xdp, udp): a delivered buffer is lent to on_data (or
 * on_pkts), not given: the engine takes it back when the callback returns
 * (in bulk, by the end of the pass), with no put and none of a put's
 * checks (it made the descriptor itself), as the kernel's XDP programs
 * and libxdp's samples reuse a frame once it is looked at.  To keep one past the callback, take
 * a reference on it there (nm_buf_get()) and put that later.  Putting a
 * lent buffer is a double put: the take-back counts it (err_double_put)
 * where the buffer is its chunk's only one (a slice's is not detectable,
 * as for any slice put twice).  The stream engines refuse it (-EINVAL),
 * and so does NM_RX_F_TOKENS beside it. */
#define NM_RX_F_LEND         (1u << 8)
#define NM_RX_F_ALL          0x1ffu

struct nm_rx_opts {
	size_t sz;                  /* sizeof(struct nm_rx_opts) */
	const char *engine;         /* "uring", "socket"; NULL: "uring" if the
				     * kernel allows it, else "socket" */
	unsigned int flags;         /* NM_RX_F_* */
	unsigned int nr_queues;     /* 0 or 1: one queue, run by the caller */
	/* Payload pool(s): @pool for one queue, or @pools[nr_queues].  Each
	 * queue's thread becomes its pool's owner (nm_pool_set_owner). */
	struct nm_pool *pool;
	struct nm_pool *const *pools;
	/* Header pool(s), host memory, for NM_RX_F_SPLIT: @hdr_pool or
	 * @hdr_pools[nr_queues].  When the payload memory is unreadable the
	 * bytes are received here first and placed (nm_buf_place). */
	struct nm_pool *hdr_pool;
	struct nm_pool *const *hdr_pools;
	uint32_t buf_size;          /* bytes per receive buffer: 0 = one whole
				     * chunk (best: 64 KiB+ chunks); smaller
				     * carves fragments of chunks */
	unsigned int ring_entries;  /* uring: provided buffers per queue, power
				     * of 2, 0 = 256 (capped by the pool) */
	unsigned int cq_entries;    /* uring: CQ size, 0 = 4 * ring_entries + 2
				     * per connection headroom (auto) */
	unsigned int max_conns;     /* per queue; 0 = 4096 */
	unsigned int tok_capacity;  /* live tokens; 0 = 65536 */
	uint64_t max_frame;         /* split: largest payload; 0 = 16 MiB */
	int backlog;                /* listen(); 0 = 1024 */
	nm_rx_data_fn on_data;      /* required, unless on_pkts is set */
	nm_rx_conn_fn on_conn;      /* optional */
	nm_rx_close_fn on_close;    /* optional */
	nm_rx_frame_fn frame;       /* split: NULL = built-in 4-byte BE length */
	void *user;                 /* passed to the callbacks */
	/* Added in 0.2 (an older caller's smaller sz leaves them 0). */
	/* nm_rx_run(): cpus[q] >= 0 pins queue q's thread to that CPU, -1
	 * leaves it alone; nr_queues entries (queue 0 is nm_rx_run()'s
	 * calling thread, pinned when a run starts).  NULL: no pinning. */
	const int *cpus;
	/* nm_rx_run(): called once on each thread it starts (queues 1..),
	 * on that thread, before its first pass: name it, set its priority,
	 * set up per-thread state.  NULL: none. */
	void (*on_thread)(struct nm_rx *rx, unsigned int queue, void *user);
	unsigned int listen_flags;  /* NM_RX_LISTEN_*, for nm_rx_listen() */
	/* Added in 0.3: packet engines. */
	const char *ifname;         /* xdp: the interface to receive on */
	unsigned int queue_id;      /* xdp: receiver queue i binds the NIC's
				     * queue queue_id + i */
	unsigned int xdp_flags;     /* NM_RX_XDP_* */
	/* Added in 0.5.  Packet bursts: the "xdp" engine calls on_pkts once
	 * per run of packets (up to 64) instead of on_data once per packet,
	 * which is then not called (and may be NULL): one indirect call and
	 * one stats update per run, the array filled straight from the RX
	 * ring.  Stats count as on_data's would (msgs, bufs, pkts: one per
	 * packet; bytes).  Refused (-EINVAL) by the engines that do not
	 * burst ("uring", "socket", "udp": its datagrams' metadata is
	 * nm_rx_pkt's) and beside NM_RX_F_TOKENS (no token per entry).
	 * NULL: on_data. */
	nm_rx_pkts_fn on_pkts;
};

/* nm_rx_opts.xdp_flags ("xdp" engine).  Neither COPY nor ZEROCOPY: zero-copy
 * where the driver allows it, else copy. */
#define NM_RX_XDP_COPY      (1u << 0) /* copy mode only */
#define NM_RX_XDP_ZEROCOPY  (1u << 1) /* zero-copy only: EOPNOTSUPP if refused */
#define NM_RX_XDP_SKB       (1u << 2) /* generic (skb) XDP, not the driver's */
#define NM_RX_XDP_ALL       0x7u

/* nm_rx_opts.listen_flags */
#define NM_RX_LISTEN_REUSEPORT (1u << 0) /* one SO_REUSEPORT listener per
					   * queue: the kernel spreads the
					   * connections (a hash of each one's
					   * addresses and ports), each queue
					   * accepts and keeps its own */
#define NM_RX_LISTEN_ALL       0x1u

/**
 * nm_rx_create - make a receiver.
 * Return: the receiver, or NULL with errno: EINVAL (NULL opts, neither
 * on_data nor on_pkts, on_pkts with an engine that does not burst (all but
 * "xdp") or with NM_RX_F_TOKENS,
 * no pool, a payload pool over memory with no CPU mapping (dmabuf, CUDA,
 * NM_AREA_F_NO_CPU_MAP) without SPLIT: the kernel can receive only into
 * CPU-mapped memory, so such memory is reached only by split's placement;
 * SPLIT without a header pool or with an unreadable header pool,
 * unknown flags, bad ring_entries/nr_queues (uring: also a ring_entries
 * over half the header pool's buffers when SPLIT receives into that pool,
 * unreadable payload: the stage needs the rest for headers), REQUIRE with NO of the same
 * feature, a cpus entry below -1 or not below CPU_SETSIZE, unknown
 * listen_flags), E2BIG (unknown non-zero opts bytes), ENOENT (no such engine),
 * EOPNOTSUPP (the engine or a REQUIREd feature is refused by the kernel),
 * ENOMEM, or the kernel's errno from setting up the engine.
 * The "xdp" engine's options: EINVAL (ifname, queue_id or xdp_flags with
 * another engine; unknown xdp_flags, or COPY with ZEROCOPY; xdp: no
 * ifname, SPLIT, a pool over memory without a CPU mapping, a chunk size
 * no XDP frame can have (not a power of 2 from 2048 to the page size),
 * buf_size other than 0 or the chunk size, a queue id the interface does
 * not have), ENODEV (xdp: no such interface), EOPNOTSUPP (xdp: libxdp
 * cannot be loaded, or NM_RX_XDP_ZEROCOPY and the driver refuses
 * zero-copy), EBUSY (xdp: another AF_XDP socket has the queue).
 * The "udp" engine: EINVAL (SPLIT, a REQUIRE flag, a buf_size below 192).
 */
NM_API struct nm_rx *nm_rx_create(const struct nm_rx_opts *opts);

/**
 * nm_rx_destroy - close every connection and listener, stop the queue
 * threads, give the ring's buffers back to the pools.  Buffers delivered
 * and not yet given back stay valid (the pools outlive the receiver: the
 * caller destroys them after).  Tokens not released are put now.
 * Return: 0, -EINVAL (NULL), -EBUSY (called from a callback or while
 * nm_rx_run() or a queue pass (nm_rx_poll, nm_rx_queue_poll) runs on
 * another thread).
 */
NM_API int nm_rx_destroy(struct nm_rx *rx);

/**
 * nm_rx_listen - listen on @host:@port (IPv4 or IPv6 literal, or NULL for
 * 0.0.0.0; port 0 picks one) and accept connections.  By default queue 0
 * accepts and hands the connections round-robin to the queues.  With
 * NM_RX_LISTEN_REUSEPORT in opts.listen_flags every queue gets a listener
 * of its own on the port (SO_REUSEPORT): the kernel spreads the
 * connections, and each queue accepts and keeps its own, no hand-over
 * between threads.  Up to 8 calls per receiver.  (With REUSEPORT, when a
 * later queue's listener fails, those made before it stay, accepting, to
 * nm_rx_destroy.)  With the "udp" engine: a UDP socket bound per queue
 * (SO_REUSEPORT when several, whatever listen_flags say), each one
 * connection of its queue (on_conn, on_data per datagram, on_close).
 * Return: the port listened on (> 0), or -EINVAL, -ENOSPC (too many
 * listeners), or the socket call's -errno (-EADDRINUSE, ...).
 */
NM_API int nm_rx_listen(struct nm_rx *rx, const char *host, int port);

/**
 * nm_rx_add_fd - receive from a connected stream socket the caller made
 * (with the "udp" engine: a bound UDP socket).
 * The receiver takes the fd over (makes it non-blocking, closes it at the
 * end).  @queue: which queue, or -1 for round-robin.
 * Return: 0, -EINVAL (bad fd or queue, a socket of the wrong type), -ENOSPC (max_conns reached; the fd
 * stays the caller's).
 */
NM_API int nm_rx_add_fd(struct nm_rx *rx, int fd, int queue);

/**
 * nm_rx_run - run the receiver until nm_rx_stop() or @timeout_ms passes
 * (< 0: no timeout).  Queue 0 runs in the calling thread; queues 1.. in
 * threads started here and joined before it returns.
 * Threads it starts are pinned to opts.cpus and announced to
 * opts.on_thread (see nm_rx_opts).
 * Return: 0 (stopped or timed out); -EINVAL (NULL, or opts.cpus names a
 * CPU this process may not run on); -EBUSY (already running, or
 * nm_rx_poll() or nm_rx_queue_poll() is); -EAGAIN (a queue thread could
 * not be started); or the -errno of a fatal engine error: what the kernel said to
 * the engine's wait (io_uring_enter, epoll_wait), after which the
 * receiver is stopped; -EFAULT: a receive buffer had no CPU address (its
 * memory has no CPU mapping): it was not handed to the kernel, and the
 * queue has failed (every later run or poll returns -EFAULT).
 */
NM_API int nm_rx_run(struct nm_rx *rx, int timeout_ms);

/**
 * nm_rx_poll - one pass over queue 0: wait up to @timeout_ms (0: do not
 * wait) for completions, deliver what arrived, refill.  For a caller with
 * its own loop; only with one queue.
 * Return: the number of messages delivered (>= 0), -EINVAL (NULL, more
 * than one queue), -EBUSY (nm_rx_run() or another nm_rx_poll() is
 * running), or the -errno of a fatal engine error (as nm_rx_run).
 */
NM_API int nm_rx_poll(struct nm_rx *rx, int timeout_ms);

/**
 * nm_rx_queue_fd - the fd that becomes readable when queue @queue has work
 * (data, a connection, a buffer-starved connection to retry, a stop or an
 * fd handed to it), for an event loop the application owns: add it to an
 * epoll set (level-triggered) or poll it, and call nm_rx_queue_poll() when
 * it is readable.  With the "uring" engine it is an eventfd registered with
 * the queue's io_uring (io_uring_register_eventfd); with "socket", the
 * engine's epoll fd.  The receiver owns it: do not read, write or close it.
 * The same fd is returned on every call.  Call it before the queue's first
 * pass or on the thread that drives the queue.
 * Return: the fd (>= 0); -EINVAL (NULL, @queue out of range); -EEXIST
 * (uring: first asked for on a thread other than the one that owns the
 * queue's ring); or the -errno of making it (-EMFILE, -ENOMEM, ...).
 */
NM_API int nm_rx_queue_fd(struct nm_rx *rx, unsigned int queue);

/**
 * nm_rx_queue_poll - one bounded pass of queue @queue on the calling thread:
 * take fds handed to it, wait up to @timeout_ms (0: do not wait; < 0: no
 * limit) for completions, deliver what arrived (callbacks run here),
 * refill, finish closes.  The thread becomes the owner of the queue's
 * pools.  Each pass does a bounded amount of work; when it leaves work
 * undone (more completions, connections waiting for buffers) the queue's
 * fd stays readable, so a level-triggered loop comes back.  A loop that
 * keeps every buffer of a dry pool spins on that fd until it gives some
 * back.  Different queues may be polled from different threads at once.
 * Return: the number of messages delivered (>= 0); -EINVAL (NULL, @queue
 * out of range); -EBUSY (nm_rx_run() runs, this queue is in a pass on
 * another thread, or called from one of this queue's callbacks); or the
 * -errno of a fatal engine error (as nm_rx_run), after which the queue has
 * failed.
 */
NM_API int nm_rx_queue_poll(struct nm_rx *rx, unsigned int queue, int timeout_ms);

/** nm_rx_stop - make nm_rx_run() return soon.  Any thread, and from a
 * callback.  Return: 0, -EINVAL. */
NM_API int nm_rx_stop(struct nm_rx *rx);

/**
 * nm_rx_release_tokens - give back the buffers of @n tokens (NM_RX_F_TOKENS),
 * as SO_DEVMEM_DONTNEED does.  Any thread.  Unknown, stale and repeated
 * tokens are skipped and counted (stats tok_rejected); they touch nothing.
 * Return: how many were valid and released; -EINVAL (NULL arguments, or all
 * @n tokens were invalid, n > 0); -EOPNOTSUPP (receiver without tokens).
 */
NM_API int nm_rx_release_tokens(struct nm_rx *rx, const uint32_t *tokens,
				unsigned int n);

/* Per-connection, from a callback on the connection's queue. */
/** nm_rx_conn_fd - the connection's socket (the receiver's: do not close
 * it).  Return: the fd, or -EINVAL for NULL. */
NM_API int nm_rx_conn_fd(const struct nm_rx_conn *c);
/** nm_rx_conn_id - the connection's id, unique in the receiver, from 1.
 * Return: the id; 0 for NULL.  Never fails otherwise. */
NM_API uint64_t nm_rx_conn_id(const struct nm_rx_conn *c);
/** nm_rx_conn_queue - the queue the connection is received on.
 * Return: the queue index (>= 0), or -EINVAL for NULL. */
NM_API int nm_rx_conn_queue(const struct nm_rx_conn *c);
/** nm_rx_conn_user - the pointer nm_rx_conn_set_user() stored.
 * Return: that pointer; NULL when none was set or @c is NULL.  Never sets
 * errno. */
NM_API void *nm_rx_conn_user(const struct nm_rx_conn *c);
/** nm_rx_conn_set_user - store a pointer of the application's with the
 * connection.  Return: 0, or -EINVAL for NULL. */
NM_API int nm_rx_conn_set_user(struct nm_rx_conn *c, void *user);
/** nm_rx_conn_close - close a connection from a callback on its queue:
 * on_close(@err) follows.  Return: 0, -EINVAL, -EALREADY. */
NM_API int nm_rx_conn_close(struct nm_rx_conn *c, int err);

/* nm_rx_info.features: what the engine actually uses. */
#define NM_RX_FEAT_MULTISHOT   (1u << 0) /* uring: multishot recv */
#define NM_RX_FEAT_INC         (1u << 1) /* uring: incremental buffer ring */
#define NM_RX_FEAT_BUNDLE      (1u << 2) /* uring: recv bundles */
#define NM_RX_FEAT_ACCEPT_MULTI (1u << 3) /* uring: multishot accept */
#define NM_RX_FEAT_PLACE       (1u << 4) /* split: payloads placed (unreadable) */
#define NM_RX_FEAT_MIN_WAIT    (1u << 5) /* uring: batching waits (min-wait, 6.12+),
					  * held under many streams (held_waits) */
#define NM_RX_FEAT_UDP_GRO     (1u << 8) /* udp: UDP GRO on (batches) */

struct nm_rx_info {
	const char *engine;
	unsigned int nr_queues;
	unsigned int features;      /* NM_RX_FEAT_* */
	uint32_t buf_size;          /* bytes per receive buffer */
	unsigned int ring_entries;  /* uring: provided buffers per queue */
	unsigned int cq_entries;    /* uring: CQ entries per queue */
};
/** nm_rx_info - describe @rx into @info, of @size bytes (sizeof(*info)).
 * Return: 0, -EINVAL (NULL, @size too small). */
NM_API int nm_rx_info(const struct nm_rx *rx, struct nm_rx_info *info, size_t size);

/** nm_rx_engines - names of the engines built in, up to @max of them into
 * @names (which may be NULL to count them).
 * Return: how many engines there are (may exceed @max); never fails. */
NM_API int nm_rx_engines(const char **names, int max);

struct nm_rx_stats {
	uint64_t bytes;          /* payload bytes delivered */
	uint64_t bufs;           /* buffers delivered */
	uint64_t msgs;           /* on_data calls */
	uint64_t frames;         /* split: frames delivered */
	uint64_t hdr_bytes;      /* split: header bytes delivered */
	uint64_t conns_opened;   /* accepted or added */
	uint64_t conns_closed;   /* ended, for any reason */
	uint64_t conns_err;      /* of which with an error (also one with no
				  * memory to open: no on_conn/on_close) */
	uint64_t conns_active;   /* open now */
	uint64_t recv_calls;     /* socket: recv() calls; uring: CQEs with data */
	uint64_t enobufs;        /* no buffer to receive into: ring or pool dry */
	uint64_t rearm;          /* uring: multishot recv re-armed */
	uint64_t refill;         /* buffers posted to the ring / taken for recv */
	uint64_t refill_batches; /* ring tail updates */
	uint64_t pool_empty;     /* refill found the pool empty */
	uint64_t bundles;        /* uring: CQEs covering more than one buffer */
	uint64_t inc_partial;    /* uring: CQEs with IORING_CQE_F_BUF_MORE */
	uint64_t places;         /* split: nm_buf_place calls */
	uint64_t place_errors;   /* split: places that failed */
	uint64_t frame_too_big;  /* split: connections closed with -EMSGSIZE */
	uint64_t tok_rejected;   /* bad tokens given to nm_rx_release_tokens */
	uint64_t tok_full;       /* buffers delivered without a token */
	uint64_t unreadable;     /* buffers not handed to the kernel: no CPU
				  * address (the queue failed, -EFAULT, or
				  * their area was revoked) */
	/* Added in 0.3: packet engines. */
	uint64_t pkts;           /* packets (datagrams) delivered */
	uint64_t xdp_rx_dropped; /* xdp: XDP_STATISTICS rx_dropped */
	uint64_t xdp_rx_invalid; /* xdp: rx_invalid_descs */
	uint64_t xdp_rx_ring_full; /* xdp: rx_ring_full */
	uint64_t xdp_fill_empty; /* xdp: rx_fill_ring_empty_descs */
	uint64_t udp_truncated;  /* udp: datagrams cut short (MSG_TRUNC) */
	uint64_t udp_drops;      /* udp: datagrams the kernel dropped at the
				  * sockets (receive buffer full: SO_RXQ_OVFL,
				  * SO_MEMINFO), counted since each was added */
	/* Added in 0.5: the uring engine's hold. */
	uint64_t held_waits;     /* uring: waits that held (up to 1 ms) because
				  * many connections streamed (docs/rx.md) */
};
/** nm_rx_stats - sum of the queues' counters into @st, of @size bytes
 * (sizeof(*st)).  Any thread (read racily, monotonic).  Return: 0, -EINVAL
 * (NULL, @size too small). */
NM_API int nm_rx_stats(const struct nm_rx *rx, struct nm_rx_stats *st, size_t size);

/** nm_rx_queue_stats - the counters of queue @queue alone into @st, of
 * @size bytes (sizeof(*st)); tok_rejected, which belongs to no queue, is 0.
 * Any thread (read racily, monotonic).  Return: 0, -EINVAL (NULL, @queue
 * out of range, @size too small). */
NM_API int nm_rx_queue_stats(const struct nm_rx *rx, unsigned int queue,
			     struct nm_rx_stats *st, size_t size);

#ifdef __cplusplus
}
#endif
#endif /* NETMEM_RX_H */

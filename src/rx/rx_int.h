/* SPDX-License-Identifier: MIT */
/*
 * rx_int.h - internals of the receive side, in three layers with one-way
 * calls (DESIGN.md):
 *
 *   delivery stage   plain.c, split.c     struct nm_rx_stage, one per receiver
 *   queue core       rx.c                 queues, connections and their keys,
 *                                         parking, delivery, tokens, stats
 *   engines          uring.c, socket.c,   struct nm_rx_engine, one file each
 *                    xdp.c, udp.c         (one entry each in rx.c's engines[]);
 *                                         ur_common.c: uring's and udp's
 *                                         shared io_uring plumbing
 *
 * An engine calls the core's nm_rxq_* functions below; the core calls an
 * engine and the stage only through their tables; a stage calls the
 * core's nm_rxq_* (nm_rxq_emit to hand a message to the application).
 * An engine knows nothing of the stage: what it needs of it (the pool to
 * receive into, how much of it a ring may hold) is in struct nm_rxq.
 */
#ifndef NM_RX_INT_H
#define NM_RX_INT_H

#include "core/core.h"
#include <netmem/rx.h>
#include <stddef.h>

struct nm_rxq;
struct nm_rx_conn;

/*
 * An engine.  Every slot is called on the queue's thread (init and fini on
 * the thread that creates/destroys the receiver, while no queue runs).
 */
struct nm_rx_engine {
	const char *name;
	/* A datagram engine: nm_rx_listen() binds a datagram socket per
	 * queue, each one connection of its queue; nm_rx_add_fd() takes
	 * datagram sockets.  0: streams (listen() and accept). */
	int dgram;
	/* NM_RX_F_* flags the engine cannot honour: nm_rx_create() refuses
	 * them with -EINVAL before the engine is set up (a packet engine has
	 * no stream to split). */
	unsigned int refuse_flags;
	/* A packet engine that honours nm_rx_opts.on_pkts (delivers with
	 * nm_rxq_deliver_burst); 0: nm_rx_create() refuses on_pkts. */
	int burst;
	/* Set up q->eng.  Return 0 or -errno (-EOPNOTSUPP: not here). */
	int (*init)(struct nm_rxq *q);
	/* Tear down; connections are already gone. */
	void (*fini)(struct nm_rxq *q);
	/* Accept on a listening socket, on this queue; call
	 * nm_rxq_accepted() per new fd. */
	int (*listen)(struct nm_rxq *q, int fd);
	/* Start receiving on c->fd. */
	int (*conn_add)(struct nm_rxq *q, struct nm_rx_conn *c);
	/* Stop receiving on c; call nm_rxq_conn_free() once nothing of the
	 * engine refers to c any more (at once, or after a cancel). */
	void (*conn_close)(struct nm_rxq *q, struct nm_rx_conn *c);
	/* One pass: wait up to timeout_ms, deliver, refill.  Return messages
	 * delivered or a fatal -errno. */
	int (*poll)(struct nm_rxq *q, int timeout_ms);
	/* The fd that becomes readable when the queue has work, for a loop
	 * the application owns (nm_rx_queue_fd); made on the first call, on
	 * the queue's driving thread or before its first pass.  Return the
	 * fd or -errno. */
	int (*queue_fd)(struct nm_rxq *q);
	/* Optional: at the start of an application-driven pass, consume the
	 * readiness that queue_fd's fd signalled (an eventfd's count). */
	void (*fd_ack)(struct nm_rxq *q);
	/* Optional: does the engine hold work a pass left undone (ready
	 * completions)?  The core then keeps queue_fd's fd readable. */
	int (*pending)(struct nm_rxq *q);
};

/* The engines themselves: each file defines `const struct nm_rx_engine
 * nm_rx_engine_NAME`, and rx.c's NM_RX_ENGINES lists the names. */

/*
 * A delivery stage: what becomes of the bytes an engine received, between
 * the core and the application.  Chosen at nm_rx_create() (plain, or
 * split with NM_RX_F_SPLIT); its per-queue state hangs off q->stage, its
 * per-connection state is the conn_size bytes at c->stage.  Every slot
 * runs on the queue's thread (init and fini where the engine's do).
 * Optional slots may be NULL.
 */
struct nm_rx_stage {
	const char *name;
	size_t conn_size;            /* bytes at c->stage */
	/* Set up q->stage; choose q->rx_pool (what the engine receives
	 * into), q->hdr_pool (another pool the queue's thread owns, or
	 * NULL) and q->rx_share.  Before the engine's init.  0 or -errno. */
	int (*init)(struct nm_rxq *q);
	/* Optional.  Tear down, after the engine's fini; connections are
	 * gone.  Also after a failed or partial init (q->stage may be NULL). */
	void (*fini)(struct nm_rxq *q);
	/* Optional.  A connection opens: reset the bytes at c->stage. */
	void (*conn_open)(struct nm_rxq *q, struct nm_rx_conn *c);
	/* Bytes received on open connection @c, in stream order (one
	 * reference each, the queue's): nm_rxq_deliver after its checks.
	 * Deliver with nm_rxq_emit.  Return messages delivered or -errno
	 * (the connection is ended). */
	int (*deliver)(struct nm_rxq *q, struct nm_rx_conn *c,
		       struct nm_buf *bufs, unsigned int n);
	/* Optional.  The core finalises closing @c with *@err: return 1 to
	 * wait (the stage still delivers what came before the end and calls
	 * nm_rxq_close_again() when done), or 0 with the stage's state let
	 * go and *@err the close's error (the stage may set one for a clean
	 * end: a stream that stopped inside a frame). */
	int (*conn_end)(struct nm_rxq *q, struct nm_rx_conn *c, int *err);
	/* Optional.  @c is closing with close_err set, not yet final, and a
	 * new error comes (one found for bytes before the end): return 1 if
	 * it replaces close_err.  NULL: only a clean end is replaced. */
	int (*conn_err)(struct nm_rxq *q, struct nm_rx_conn *c);
	/* Optional.  @c goes without a say (receiver destroyed): let go of
	 * everything; may be called again for the same connection. */
	void (*conn_abort)(struct nm_rxq *q, struct nm_rx_conn *c);
	/* Optional.  At the start of a pass, before the closing sweep and the
	 * engine: work of its own (a backlog); may lower *@timeout_ms.
	 * Return messages delivered. */
	int (*pass_begin)(struct nm_rxq *q, int *timeout_ms);
	/* Optional.  After the engine's poll, before the closing sweep. */
	void (*pass_end)(struct nm_rxq *q);
	/* Optional.  Work left that a pass should come back for soon. */
	int (*pending)(struct nm_rxq *q);
};

extern const struct nm_rx_stage nm_rx_stage_plain;
extern const struct nm_rx_stage nm_rx_stage_split;

enum { CONN_FREE = 0, CONN_OPEN, CONN_CLOSING };

struct nm_rx_conn {
	struct nm_rxq *q;
	int fd;
	int state;
	uint32_t slot, gen;          /* slot in q->conns; gen against stale ids */
	uint64_t id;
	void *user;
	int close_err;               /* set by nm_rx_conn_close() in a callback */
	int want_close;
	/* engine state */
	unsigned int armed : 1;      /* uring: a multishot recv is live */
	unsigned int starved : 1;    /* parked (nm_rxq_park) */
	unsigned int cancelled : 1;
	unsigned int on_closing : 1; /* on q->closing */
	unsigned int closed : 1;     /* on_close ran (or is running): once */
	struct nm_rx_conn *next_starved; /* on q->parked */
	max_align_t stage[];         /* the stage's: conn_size bytes */
};

#define NM_RXS_N (sizeof(struct nm_rx_stats) / sizeof(uint64_t))

struct nm_rxq {
	struct nm_rx *rx;
	unsigned int id;
	struct nm_pool *pool;        /* payload */
	struct nm_pool *hdr_pool;    /* the stage's host pool (split: headers
				      * and staging), or NULL */
	struct nm_pool *rx_pool;     /* what the engine receives into */
	/* An engine that sizes its ring by default posts at most 1/rx_share
	 * of rx_pool's buffers (the stage draws from it too); 0: no limit. */
	unsigned int rx_share;
	uint32_t buf_size;
	int readable;                /* payload pool has a CPU mapping */
	void *eng;                   /* engine state */
	void *stage;                 /* stage state */
	int evfd;                    /* wakes the queue: stop, inbox */
	_Atomic uint32_t wakes;      /* writes to evfd (nm_rxq_wake) */
	uint32_t wakes_acked;        /* wakes as last seen by a drain */
	pthread_t thr;
	int thr_started;
	int fatal;                   /* sticky -errno: the queue has failed */
	_Atomic int busy;            /* nm_rx_queue_poll() is in a pass */
	unsigned int seen_run;       /* last run generation this thread ran */
	int run_ret;

	/* connections */
	struct nm_rx_conn **conns;   /* slot table */
	uint32_t *free_slots;
	uint32_t nr_free;
	_Atomic unsigned int nconn;  /* open + in the inbox (reserved) */
	struct nm_rx_conn *parked;   /* waiting for buffers: nm_rxq_park,
				      * oldest first */
	struct nm_rx_conn *parked_tail;
	uint32_t starved_cnt;        /* parked (and engines' own waits):
				      * the pass comes back within 1 ms */
	struct nm_rx_conn **closing; /* marked, finalised after the pass */
	unsigned int nclosing;       /* room for max_conns */

	/* fds handed in from other threads */
	pthread_mutex_t inbox_lock;
	int *inbox;
	unsigned int inbox_n;
	_Atomic unsigned int inbox_pending;

	_Atomic uint64_t st[NM_RXS_N];
};

struct nm_rx {
	const struct nm_rx_engine *eng;
	const struct nm_rx_stage *stage;
	struct nm_rx_opts o;
	unsigned int nq;
	struct nm_rxq *q;
	int listen_fds[8 * NM_RX_MAX_QUEUES]; /* REUSEPORT: one per queue */
	unsigned int nr_listen;      /* fds in listen_fds */
	unsigned int nr_listen_calls;
	_Atomic unsigned int rr;     /* round-robin for accepted fds */
	_Atomic uint64_t next_id;
	_Atomic int stop;
	_Atomic int running;         /* RUN_*: run or destroy claimed (run_claim) */
	_Atomic unsigned int qpolls; /* nm_rx_queue_poll() passes in progress */
	/* Queue threads live as long as the receiver: io_uring cancels the
	 * requests of a thread that exits, so the thread that armed a queue's
	 * requests must stay.  Each nm_rx_run() wakes them for one run. */
	pthread_mutex_t run_lock;
	pthread_cond_t run_cv, done_cv;
	unsigned int run_gen, nactive;
	int64_t deadline;
	int quit;
	unsigned int features;
	unsigned int ring_entries, cq_entries;

	pthread_mutex_t tok_lock;
	struct nm_token_table *tok;
	_Atomic uint64_t tok_rejected;
};

/* nm_rx.running: no run or destroy; one deciding whether it may go
 * (queue passes wait for the answer); one that went (run_claim). */
enum { RUN_IDLE = 0, RUN_CLAIMING = 1, RUN_HELD = 2 };

/* Stats: relaxed add, owner thread only; nm_rx_stats() reads racily. */
#define RXS_IDX(f) (offsetof(struct nm_rx_stats, f) / sizeof(uint64_t))
#define RXS_ADD(q, f, n) \
	atomic_store_explicit(&(q)->st[RXS_IDX(f)], \
		atomic_load_explicit(&(q)->st[RXS_IDX(f)], memory_order_relaxed) + (n), \
		memory_order_relaxed)
#define RXS_SUB(q, f, n) RXS_ADD(q, f, -(uint64_t)(n))

/* rx.c: for engines */
int nm_rxq_accepted(struct nm_rxq *q, int fd);
int nm_rxq_conn_open(struct nm_rxq *q, int fd);
/* Received @bufs (one reference each, the queue's) on @c, in stream
 * order, to the stage.  Return messages delivered (0/1, or more for
 * split), or -errno when the connection is to be closed. */
int nm_rxq_deliver(struct nm_rxq *q, struct nm_rx_conn *c,
		   struct nm_buf *bufs, unsigned int n);
void nm_rxq_conn_end(struct nm_rxq *q, struct nm_rx_conn *c, int err);
void nm_rxq_conn_free(struct nm_rxq *q, struct nm_rx_conn *c);
struct nm_rx_conn *nm_rxq_conn_lookup(struct nm_rxq *q, uint32_t slot, uint32_t gen);
void nm_rxq_drain_wake(struct nm_rxq *q);
/* Wake q's thread (any thread): a write to evfd, counted in q->wakes. */
void nm_rxq_wake(struct nm_rxq *q);
/* An app-driven pass begins (queue thread): drain evfd if a wake was
 * written since the last drain, with no system call when none was. */
void nm_rxq_ack_wake(struct nm_rxq *q);
int nm_rxq_put_bufs(struct nm_rxq *q, struct nm_buf *bufs, unsigned int n);
void *nm_rxq_post_refused(struct nm_rxq *q, struct nm_buf *b);
/* Packet engines: deliver one packet (or one GRO batch, pkt->seg_size) in
 * @b as its own message, with its metadata; counts stats pkts.  Like
 * nm_rxq_deliver: the buffer is the application's, or put back when @c is
 * not open; an on_data error ends @c.  Return 1, 0 (not open) or -errno. */
int nm_rxq_deliver_pkt(struct nm_rxq *q, struct nm_rx_conn *c, struct nm_buf *b,
		       const struct nm_rx_pkt *pkt);
/* Packet engines: a run of packets @b[0..n) of @c, each its own message
 * as nm_rxq_deliver_pkt makes it, @pkt their shared metadata with
 * pkt->data set from @data[i] (NULL: none) and pkt->seg_size 0 (a packet
 * a buffer).  The stats are counted once
 * for the run.  Return how many leading packets on_data saw; the rest
 * were put back (@c ended on the way, by an on_data error or a close). */
unsigned int nm_rxq_deliver_pkts(struct nm_rxq *q, struct nm_rx_conn *c, struct nm_buf *b,
				 unsigned int n, const void *const *data,
				 struct nm_rx_pkt *pkt);

/* Packet engines with opts.on_pkts: the burst @p[0..n) of @c (one packet
 * a buffer, one reference each, @bytes their lengths' sum) in one on_pkts
 * call, stats counted once as per-packet messages.  When @c is not open
 * the buffers are put and 0 returned; else n: the application saw them
 * all (an error it returned has ended @c: deliver nothing more to it). */
unsigned int nm_rxq_deliver_burst(struct nm_rxq *q, struct nm_rx_conn *c,
				  const struct nm_rx_pktbuf *p, unsigned int n,
				  uint64_t bytes);

/*
 * Parking: a connection the engine cannot receive for now (no buffer)
 * waits on q->parked; its bytes wait in the socket.  The core unparks a
 * connection it finalises.  The queue is first in, first out, so an
 * engine that resumes a few at a time serves every connection in turn.
 * nm_rxq_park returns 1 if @c was parked now (at the back), 0 if it
 * already was.  nm_rxq_unpark_all takes every parked connection off (each
 * c->starved cleared) and returns the list, oldest first, linked by
 * next_starved, for the engine to resume; nm_rxq_unpark_first takes the
 * oldest one only (NULL: none).
 */
int nm_rxq_park(struct nm_rxq *q, struct nm_rx_conn *c);
void nm_rxq_unpark(struct nm_rxq *q, struct nm_rx_conn *c);
struct nm_rx_conn *nm_rxq_unpark_all(struct nm_rxq *q);
struct nm_rx_conn *nm_rxq_unpark_first(struct nm_rxq *q);

/*
 * A connection's key, for an engine's completion tags (epoll data,
 * user_data): its slot and generation, so a completion for a connection
 * gone and its slot reused finds nothing.  The low NM_RXQ_KEY_TAG_BITS
 * bits are 0, left for the engine's own tag.
 */
#define NM_RXQ_KEY_TAG_BITS 2
static inline uint64_t nm_rxq_conn_key(const struct nm_rx_conn *c)
{
	return ((uint64_t)c->gen << 32) | ((uint64_t)c->slot << NM_RXQ_KEY_TAG_BITS);
}

/* The connection of a key (its tag bits ignored), or NULL if it is gone. */
static inline struct nm_rx_conn *nm_rxq_conn_by_key(struct nm_rxq *q, uint64_t key)
{
	return nm_rxq_conn_lookup(q, (uint32_t)key >> NM_RXQ_KEY_TAG_BITS,
				  (uint32_t)(key >> 32));
}

/* rx.c: for stages */
/* Deliver a message built by the stage: tokens, stats, on_data; an
 * on_data error ends @c.  Return 1 or -errno. */
int nm_rxq_emit(struct nm_rxq *q, struct nm_rx_conn *c, struct nm_buf *bufs,
		unsigned int n, const struct nm_buf *hdr, unsigned int flags);
/* A stage's conn_end said wait: finalise @c (still closing, its
 * close_err kept) at the end of this pass. */
void nm_rxq_close_again(struct nm_rxq *q, struct nm_rx_conn *c);

/* split.c: the built-in framing, and white-box views for tests and
 * fuzzers (the core never calls these). */
ssize_t nm_split_len32(const void *hdr, size_t avail, size_t *payload_len,
		       void *user);
int nm_split_retry(struct nm_rxq *q);
unsigned int nm_split_backlog(const struct nm_rx_conn *c);
int nm_split_eof_pending(const struct nm_rx_conn *c);
unsigned int nm_split_places_inflight(const struct nm_rxq *q);
int nm_split_describe(const struct nm_rx_conn *c, char *buf, size_t size);

/* The receive buffer of a queue: whole chunks, or fragments of buf_size. */
static inline int nm_rxq_alloc(struct nm_rxq *q, struct nm_buf *b)
{
	if (q->buf_size == nm_pool_chunk_size(q->rx_pool))
		return nm_pool_alloc(q->rx_pool, b);
	return nm_pool_alloc_frag(q->rx_pool, b, q->buf_size, 64);
}

/*
 * The CPU address at which the kernel may write into @b, a buffer the
 * engine has just taken to receive into; call it where the buffer is
 * handed to the kernel (a buffer-ring entry, a recv() target).  An engine
 * never hands the kernel an address that did not come from a CPU mapping
 * of the area (DESIGN.md): nm_rx_create() refuses an unreadable payload
 * pool without split, and this holds the line even if that check were
 * missed.  NULL: @b has no CPU address; it has been given back, the
 * refusal counted (stats unreadable), and, unless its area was merely
 * revoked, the queue failed with -EFAULT (q->fatal).  Post nothing then.
 */
static inline void *nm_rxq_post_addr(struct nm_rxq *q, struct nm_buf *b)
{
	void *p = nm_buf_data(b);

	return nm_likely(p != NULL) ? p : nm_rxq_post_refused(q, b);
}

#endif /* NM_RX_INT_H */

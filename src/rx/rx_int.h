/* SPDX-License-Identifier: MIT */
/*
 * rx_int.h - internals of the receive side: the receiver, its queues, its
 * connections, and the ops table each engine file fills (as redis's
 * ae_*.c backends do).  Engines see queues and connections; rx.c owns their
 * lives, delivery, tokens and stats; split.c owns framing.
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

extern const struct nm_rx_engine nm_rx_engine_uring;
extern const struct nm_rx_engine nm_rx_engine_socket;
extern const struct nm_rx_engine nm_rx_engine_xdp;

/* Split (framing) state of one connection; see split.c. */
struct nm_split_frame;
struct nm_split {
	uint8_t acc[NM_RX_MAX_HDR];  /* header bytes gathered so far */
	uint32_t acc_n;
	int in_payload;
	uint64_t left;               /* payload bytes still to come */
	struct nm_split_frame *cur;  /* frame being received */
	struct nm_split_frame *head, *tail; /* complete, waiting for places */
	struct nm_buf dst;           /* unreadable: payload buffer being filled */
	uint32_t dst_fill;
	/* Received buffers not yet consumed: the payload or header pool ran
	 * dry.  Waits here (backpressure) and is retried every pass. */
	struct nm_buf *back;
	unsigned int nback, back_cap;
	uint32_t back_pos;           /* bytes of back[0] already consumed */
	int stalled;                 /* on q->stalled */
	/* A stream error ended the connection: the frames whole before it
	 * are delivered (once placed) before the close, nothing after. */
	int drain;
};

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
	unsigned int starved : 1;    /* waiting for buffers to re-arm / recv */
	unsigned int cancelled : 1;
	unsigned int eof_pending : 1;/* split: EOF seen, frames still placing */
	unsigned int on_closing : 1; /* on q->closing */
	unsigned int closed : 1;     /* on_close ran (or is running): once */
	struct nm_rx_conn *next_starved;
	struct nm_rx_conn *next_stalled;
	struct nm_split sp;
};

#define NM_RXS_N (sizeof(struct nm_rx_stats) / sizeof(uint64_t))

struct nm_rxq {
	struct nm_rx *rx;
	unsigned int id;
	struct nm_pool *pool;        /* payload */
	struct nm_pool *hdr_pool;    /* split headers (and staging) */
	struct nm_pool *rx_pool;     /* what the engine receives into */
	uint32_t buf_size;
	int readable;                /* payload pool has a CPU mapping */
	void *eng;                   /* engine state */
	int evfd;                    /* wakes the queue: stop, inbox */
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
	uint32_t starved_cnt;
	struct nm_rx_conn **closing; /* marked, finalised after the pass */
	unsigned int nclosing;       /* room for max_conns */

	/* fds handed in from other threads */
	pthread_mutex_t inbox_lock;
	int *inbox;
	unsigned int inbox_n;
	_Atomic unsigned int inbox_pending;

	/* split: free frame objects */
	struct nm_split_frame *frame_cache;
	struct nm_split_place *place_cache;
	unsigned int places_inflight;
	struct nm_rx_conn *stalled;  /* split: connections with a backlog */

	_Atomic uint64_t st[NM_RXS_N];
};

struct nm_rx {
	const struct nm_rx_engine *eng;
	struct nm_rx_opts o;
	unsigned int nq;
	struct nm_rxq *q;
	int listen_fds[8 * NM_RX_MAX_QUEUES]; /* REUSEPORT: one per queue */
	unsigned int nr_listen;      /* fds in listen_fds */
	unsigned int nr_listen_calls;
	_Atomic unsigned int rr;     /* round-robin for accepted fds */
	_Atomic uint64_t next_id;
	_Atomic int stop;
	_Atomic int running;         /* run, poll or destroy in progress */
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
	nm_rx_frame_fn frame;
	uint64_t max_frame;

	pthread_mutex_t tok_lock;
	struct nm_token_table *tok;
	_Atomic uint64_t tok_rejected;
};

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
int nm_rxq_deliver(struct nm_rxq *q, struct nm_rx_conn *c,
		   struct nm_buf *bufs, unsigned int n);
void nm_rxq_conn_end(struct nm_rxq *q, struct nm_rx_conn *c, int err);
void nm_rxq_conn_free(struct nm_rxq *q, struct nm_rx_conn *c);
struct nm_rx_conn *nm_rxq_conn_lookup(struct nm_rxq *q, uint32_t slot, uint32_t gen);
void nm_rxq_drain_wake(struct nm_rxq *q);
int nm_rxq_put_bufs(struct nm_rxq *q, struct nm_buf *bufs, unsigned int n);
void *nm_rxq_post_refused(struct nm_rxq *q, struct nm_buf *b);
/* Packet engines: deliver one packet (or one GRO batch, pkt->seg_size) in
 * @b as its own message, with its metadata; counts stats pkts.  Like
 * nm_rxq_deliver: the buffer is the application's, or put back when @c is
 * not open; an on_data error ends @c.  Return 1, 0 (not open) or -errno. */
int nm_rxq_deliver_pkt(struct nm_rxq *q, struct nm_rx_conn *c, struct nm_buf *b,
		       const struct nm_rx_pkt *pkt);
/* Deliver a message built by the caller (split uses it). */
int nm_rxq_emit(struct nm_rxq *q, struct nm_rx_conn *c, struct nm_buf *bufs,
		unsigned int n, const struct nm_buf *hdr, unsigned int flags);

/* split.c */
int nm_split_feed(struct nm_rxq *q, struct nm_rx_conn *c, struct nm_buf *raw);
int nm_split_end(struct nm_rxq *q, struct nm_rx_conn *c);   /* EOF: 0/-EPIPE */
void nm_split_abort(struct nm_rxq *q, struct nm_rx_conn *c);
/* An error ends c: 1 when frames whole before a stream error still place
 * (the close waits for nm_split_flush), else 0. */
int nm_split_drain(struct nm_rxq *q, struct nm_rx_conn *c);
void nm_split_fini(struct nm_rxq *q);
void nm_split_flush(struct nm_rxq *q, struct nm_rx_conn *c);
int nm_split_retry(struct nm_rxq *q);
ssize_t nm_split_len32(const void *hdr, size_t avail, size_t *payload_len,
		       void *user);

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

/* SPDX-License-Identifier: MIT */
/*
 * plain.c - the plain delivery stage: what an engine received goes to the
 * application as it came, one message per nm_rxq_deliver(), in the pool
 * the engine received into (the payload pool, which must be readable).
 */
#include "rx_int.h"

static int plain_init(struct nm_rxq *q)
{
	q->rx_pool = q->pool;
	q->hdr_pool = NULL;
	q->rx_share = 0;
	return 0;
}

static int plain_deliver(struct nm_rxq *q, struct nm_rx_conn *c,
			 struct nm_buf *bufs, unsigned int n)
{
	return nm_rxq_emit(q, c, bufs, n, NULL, 0);
}

const struct nm_rx_stage nm_rx_stage_plain = {
	.name    = "plain",
	.init    = plain_init,
	.deliver = plain_deliver,
};

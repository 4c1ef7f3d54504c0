/* SPDX-License-Identifier: MIT */
/*
 * Parking in the queue core (white-box): a connection waiting for buffers
 * waits in line, first in first out, so an engine that resumes a few at a
 * time (the uring engine with many parked: one per four buffers posted)
 * serves every connection in turn.  Checked: the order nm_rxq_unpark_first and
 * nm_rxq_unpark_all give; parking twice is a no-op; taking one out of the
 * middle or the back keeps the line whole (a later park goes to the back);
 * starved_cnt follows; an empty line gives NULL.
 */
#include "harness.h"
#include "rx/rx_int.h"

#define N 6

static struct nm_rxq q;
static struct nm_rx_conn c[N];

static int idx(const struct nm_rx_conn *p)
{
	return p ? (int)(p - c) : -1;
}

int main(void)
{
	struct nm_rx_conn *l;
	int n;

	CHECK(nm_rxq_unpark_first(&q) == NULL);
	for (int i = 0; i < N; i++)
		CHECK_EQ(nm_rxq_park(&q, &c[i]), 1);
	CHECK_EQ(nm_rxq_park(&q, &c[2]), 0);	/* already in line */
	CHECK_EQ(q.starved_cnt, N);

	/* first in, first out */
	CHECK_EQ(idx(nm_rxq_unpark_first(&q)), 0);
	CHECK_EQ(idx(nm_rxq_unpark_first(&q)), 1);
	CHECK(!c[0].starved && !c[1].starved);
	CHECK_EQ(q.starved_cnt, N - 2);

	/* out of the middle (3) and the back (5): the line stays whole */
	nm_rxq_unpark(&q, &c[3]);
	nm_rxq_unpark(&q, &c[5]);
	nm_rxq_unpark(&q, &c[5]);		/* not in line: nothing */
	CHECK_EQ(q.starved_cnt, 2);
	CHECK_EQ(nm_rxq_park(&q, &c[0]), 1);	/* to the back, after 4 */
	CHECK_EQ(nm_rxq_park(&q, &c[5]), 1);

	/* all of it, oldest first: 2, 4, 0, 5 */
	l = nm_rxq_unpark_all(&q);
	{
		const int want[] = { 2, 4, 0, 5 };

		n = 0;
		for (; l; l = l->next_starved, n++) {
			CHECK(n < 4);
			if (n < 4)
				CHECK_EQ(idx(l), want[n]);
			CHECK(!l->starved);
		}
		CHECK_EQ(n, 4);
	}
	CHECK_EQ(q.starved_cnt, 0);
	CHECK(nm_rxq_unpark_first(&q) == NULL);

	/* an emptied line takes new ones from the front again */
	CHECK_EQ(nm_rxq_park(&q, &c[1]), 1);
	nm_rxq_unpark(&q, &c[1]);
	CHECK_EQ(nm_rxq_park(&q, &c[3]), 1);
	CHECK_EQ(nm_rxq_park(&q, &c[1]), 1);
	CHECK_EQ(idx(nm_rxq_unpark_first(&q)), 3);
	CHECK_EQ(idx(nm_rxq_unpark_first(&q)), 1);
	CHECK(nm_rxq_unpark_first(&q) == NULL);
	CHECK_EQ(q.starved_cnt, 0);
	return t_done();
}

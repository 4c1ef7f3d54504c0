/* SPDX-License-Identifier: MIT */
/*
 * fuzz_pool - the pool, its area, fragments, references, tokens and
 * revocation against a model, in sequences of calls the fuzzer's bytes
 * choose (libFuzzer).  The model is tests/pool_model.h, the one
 * tests/test_pool_model.c drives with a random number generator: it knows
 * which handles the program holds and predicts every call's return
 * exactly, the error counters, what nm_pool_held() lists and
 * nm_pool_destroy() reports; it checks that no chunk is handed to two
 * holders (windows never overlap, and a tag written into each buffer is
 * still there when it is put), that -ENOMEM comes only when the pool
 * really has nothing, and that after the input's ending (everything put
 * back, the area revoked with buffers held, revoked as memory gone, or
 * the pools destroyed first) the area has every chunk again and nothing
 * leaks.  Any mismatch aborts with what differed.
 *
 * An input: 6 bytes of setup (chunk order, chunk count, pool 1's cap and
 * ring size, the token table's capacity, the ending), then one operation
 * per byte, each taking its arguments from the bytes after it.
 */
#include "fuzz_util.h"
#include "core/core.h"
#include <errno.h>
#include <sys/mman.h>

static struct fz_in input;

static unsigned int pm_below(unsigned int n)
{
	return fz_below(&input, n);
}

#define PM_MAXCH   64		/* chunks in the area at most */
#define PM_MAXH    512		/* handles the program may hold */
#define PM_NSTALE  16		/* handles put recently, for double puts */
#define PM_MAXBULK 24
#define PM_MAXTOK  16
#define PM_FAIL    FAIL
#define REQUIRE    CHECK
#include "../tests/pool_model.h"

/* A put from a thread that does not own the pool takes another path (the
 * put slots).  White-box, to stay fast and repeatable: the pool is made to
 * see another owner for the call.  (A destroyed pool has none, and may be
 * freed by the put: left alone.  The threads themselves are what TSan's
 * tests are for: tests/test_pool_model.c runs this model with a real
 * thread.) */
static char other_thread;

static int pm_remote_put(int pool, const struct nm_buf *b, unsigned int n, int bulk)
{
	struct nm_pool *p = pools[pool];
	const void *owner;
	int r;

	if (destroyed[pool])
		return bulk ? nm_pool_put_bulk(p, b, n) : nm_pool_put(p, b);
	owner = atomic_load(&p->owner);
	atomic_store(&p->owner, (const void *)&other_thread);
	r = bulk ? nm_pool_put_bulk(p, b, n) : nm_pool_put(p, b);
	atomic_store(&p->owner, owner);
	return r;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	unsigned int order, chunks, ring, cap, ending;
	struct nm_area *a;
	struct nm_token_table *t;

	if (!not_buf) {
		pm_skip_null_bulk = fz_skip("null-bulk");
		pm_skip_data_range = fz_skip("buf-data-range");
		pm_skip_frag_double = fz_skip("frag-double-put");
		not_buf = mmap(NULL, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		CHECK(not_buf != MAP_FAILED);
	}
	if (size < 6)
		return 0;
	input.p = data;
	input.left = size;
	order = fz_byte(&input) % 3;
	chunks = 1 + fz_byte(&input) % PM_MAXCH;
	max_chunks[0] = 0;
	max_chunks[1] = fz_byte(&input) % 8;
	ring = fz_byte(&input) % 10;	/* 0: default; else 2^(ring-1) entries */
	cap = 1 + fz_byte(&input) % PM_MAXTOK;
	ending = fz_byte(&input) % 4;

	NM_OPTS(nm_area_opts, ao, .size = (size_t)chunks << (12 + order), .order = order);
	a = nm_area_create("host", &ao);
	CHECK(a);
	for (int i = 0; i < 2; i++) {
		NM_OPTS(nm_pool_opts, po, .max_chunks = (unsigned int)max_chunks[i],
			.ring_size = i && ring ? 1u << (ring - 1) : 0,
			.flags = i ? NM_POOL_F_SYNC_FOR_DEVICE : 0);

		pools[i] = nm_pool_create(a, &po);
		CHECK(pools[i]);
	}
	/* a ring size that is not a power of 2 is refused */
	{
		NM_OPTS(nm_pool_opts, bad, .ring_size = 3 + 2 * (ring & 7));
		CHECK(nm_pool_create(a, &bad) == NULL && errno == EINVAL);
	}
	t = nm_token_table_create(cap);
	CHECK(t);
	pm_reset(a, t, cap);
	CHECK_EQ(nch, chunks);
	CHECK_EQ(chunk_size, 4096u << order);

	for (unsigned int k = 0; input.left; k++) {
		switch (fz_byte(&input) % 16) {
		case 0: case 1: pm_op_alloc(); break;
		case 2:         pm_op_alloc_bulk(); break;
		case 3: case 4: pm_op_alloc_frag(); break;
		case 5: case 6: pm_op_put_one(); break;
		case 7:         pm_op_put_bulk(); break;
		case 8: case 9: pm_op_bad_put(); break;
		case 10:        pm_op_get(); break;
		case 11:        pm_op_use(); break;
		case 12:        pm_op_put_remote_all(); break;
		case 13: case 14: pm_op_token(); break;
		default:
			if (pm_below(8) == 0)
				pm_op_destroy_one();
			else
				pm_op_bad_frag();
			break;
		}
		if (k % 16 == 15)
			pm_check();
	}
	pm_check();
	if (destroyed[0] || destroyed[1])
		ending = 3;
	switch (ending) {
	case 0: pm_end_normal(); break;
	case 1: pm_end_revoke(0); break;
	case 2: pm_end_revoke(1); break;
	default: pm_end_destroy_first(); break;
	}
	return 0;
}

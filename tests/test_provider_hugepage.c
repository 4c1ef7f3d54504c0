/* SPDX-License-Identifier: MIT */
/*
 * The hugepage provider.  With the hugetlb pool unable to supply the area
 * it falls back to THP and says why in the detail; NM_AREA_F_HUGE_STRICT
 * fails with ENOMEM instead; sizes round up to 2 MiB.  Then, as root, the
 * test reserves hugetlb pages (raising /proc/sys/vm/nr_hugepages and
 * putting the old value back at exit, on a signal and on every failure
 * path) and checks the area really is in 2 MiB pages (smaps
 * KernelPageSize, HugePages_Free), that 2 MiB chunks (order 9) and 4 KiB
 * chunks (order 0) both work through a pool, that NO_CPU_MAP hides the
 * memory, and that a GONE revoke gives the huge pages back at once.
 * Without root (or when the kernel cannot find the pages) that part is
 * reported as skipped and the test passes on the part it ran.
 */
#include "harness.h"
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <sys/mman.h>
#include <unistd.h>

#define HP (2ul << 20)
#define NR_HUGETLB_WANT 8	/* pages this test reserves on top */

static const char *nr_path = "/proc/sys/vm/nr_hugepages";
static long saved_nr = -1;	/* nr_hugepages to put back, -1: untouched */
static char saved_str[32];

/* Async-signal-safe: called from atexit and from signal handlers. */
static void restore_nr(void)
{
	int fd;

	if (saved_nr < 0)
		return;
	fd = open(nr_path, O_WRONLY);
	if (fd >= 0) {
		if (write(fd, saved_str, strlen(saved_str)) < 0) {
			/* nothing more a dying test can do */
		}
		close(fd);
	}
	saved_nr = -1;
}

static void on_signal(int sig)
{
	restore_nr();
	signal(sig, SIG_DFL);
	raise(sig);
}

static long read_long(const char *path)
{
	FILE *f = fopen(path, "r");
	long v = -1;

	if (!f)
		return -1;
	if (fscanf(f, "%ld", &v) != 1)
		v = -1;
	fclose(f);
	return v;
}

static int write_long(const char *path, long v)
{
	FILE *f = fopen(path, "w");
	int ok;

	if (!f)
		return -1;
	ok = fprintf(f, "%ld\n", v) > 0;
	ok = (fclose(f) == 0) && ok;
	return ok ? 0 : -1;
}

/* A /proc/meminfo value ("HugePages_Free"), -1 if absent. */
static long meminfo(const char *key)
{
	FILE *f = fopen("/proc/meminfo", "r");
	char line[128];
	size_t kl = strlen(key);
	long v = -1;

	REQUIRE(f);
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, key, kl) && line[kl] == ':') {
			v = strtol(line + kl + 1, NULL, 10);
			break;
		}
	fclose(f);
	return v;
}

/* A numeric field ("KernelPageSize", "THPeligible") of the smaps entry
 * of the mapping holding addr, -1 if not found. */
static long smaps_field(const void *addr, const char *key)
{
	FILE *f = fopen("/proc/self/smaps", "r");
	unsigned long lo, hi, a = (unsigned long)(uintptr_t)addr;
	size_t kl = strlen(key);
	char line[512];
	int in = 0;
	long v = -1;

	REQUIRE(f);
	while (fgets(line, sizeof(line), f)) {
		/* entry headers start with a lowercase hex address, fields
		 * with a capitalised name */
		if (((line[0] >= '0' && line[0] <= '9') ||
		     (line[0] >= 'a' && line[0] <= 'f')) &&
		    sscanf(line, "%lx-%lx ", &lo, &hi) == 2) {
			in = a >= lo && a < hi;
			continue;
		}
		if (in && !strncmp(line, key, kl) && line[kl] == ':') {
			v = strtol(line + kl + 1, NULL, 10);
			break;
		}
	}
	fclose(f);
	return v;
}

static struct nm_area *hp_area(size_t size, unsigned int order, unsigned int flags)
{
	NM_OPTS(nm_area_opts, o, .size = size, .order = order, .flags = flags,
		.name = "hp-test");
	return nm_area_create("hugepage", &o);
}

/* Every chunk of the area through a pool: distinct, aligned, writable,
 * IO address = CPU address; the pool runs dry and recycles. */
static void pool_roundtrip(struct nm_area *a, unsigned int order)
{
	struct nm_area_info info;
	struct nm_pool *p = nm_pool_create(a, NULL);
	struct nm_buf *bufs, extra;
	uint32_t n, csz = 4096u << order;
	int got;

	REQUIRE(p);
	REQUIRE(nm_area_info(a, &info, sizeof(info)) == 0);
	n = info.nr_chunks;
	CHECK_EQ(info.chunk_size, csz);
	bufs = calloc(n, sizeof(*bufs));
	REQUIRE(bufs);
	got = nm_pool_alloc_bulk(p, bufs, n);
	CHECK_EQ(got, n);
	for (int i = 0; i < got; i++) {
		unsigned char *d = nm_buf_data(&bufs[i]);
		uint64_t io = 0;
		int idx = nm_buf_chunk_index(&bufs[i]);

		CHECK(d != NULL);
		if (!d)
			continue;
		CHECK(d == (unsigned char *)info.cpu_base + ((size_t)idx << (12 + order)));
		CHECK_EQ(bufs[i].len, csz);
		CHECK_EQ(nm_buf_io_addr(&bufs[i], &io), 0);
		CHECK(io == (uint64_t)(uintptr_t)d);
		d[0] = (unsigned char)i;
		d[csz - 1] = (unsigned char)~i;
	}
	CHECK_EQ(nm_pool_alloc(p, &extra), -ENOMEM);
	for (int i = 0; i < got; i++) {
		unsigned char *d = nm_buf_data(&bufs[i]);
		if (d) {
			CHECK_EQ(d[0], (unsigned char)i);
			CHECK_EQ(d[csz - 1], (unsigned char)~i);
		}
	}
	CHECK_EQ(nm_pool_put_bulk(p, bufs, (unsigned int)got), got);
	/* recycled, and carved into fragments */
	CHECK_EQ(nm_pool_alloc(p, &extra), 0);
	CHECK_EQ(nm_pool_put(p, &extra), 0);
	CHECK_EQ(nm_pool_alloc_frag(p, &bufs[0], 1500, 0), 0);
	CHECK_EQ(nm_pool_alloc_frag(p, &bufs[1], 1500, 0), 0);
	CHECK(bufs[0].iov == bufs[1].iov);
	CHECK_EQ(nm_pool_put(p, &bufs[0]), 0);
	CHECK_EQ(nm_pool_put(p, &bufs[1]), 0);
	CHECK_EQ(nm_pool_inflight(p), 0);
	CHECK_EQ(nm_pool_destroy(p), 0);
	free(bufs);
}

/* The hugetlb pool cannot supply the area: THP, or ENOMEM when strict. */
static int fallback_part(void)
{
	long free_hp = meminfo("HugePages_Free");
	long over = read_long("/proc/sys/vm/nr_overcommit_hugepages");
	struct nm_area_info info;
	struct nm_area *a;
	size_t size;

	if (free_hp < 0) {
		printf("fallback part skipped: no HugePages_Free in /proc/meminfo\n");
		return 0;
	}
	if (over > 0) {
		printf("fallback part skipped: nr_overcommit_hugepages=%ld can "
		       "supply any size\n", over);
		return 0;
	}
	/* One page more than the pool has free. */
	size = (size_t)(free_hp + 1) * HP;
	a = hp_area(size, 0, 0);
	REQUIRE(a);
	REQUIRE(nm_area_info(a, &info, sizeof(info)) == 0);
	printf("pool of %ld free: %s\n", free_hp, info.detail);
	CHECK(!strncmp(info.detail, "THP fallback", 12) ||
	      !strncmp(info.detail, "4K pages: no THP", 16));
	CHECK(strstr(info.detail, "hugetlb: Cannot allocate memory") != NULL);
	CHECK(strstr(info.detail, "nr_hugepages=") != NULL);
	CHECK_EQ(info.size, size);
	CHECK(info.cpu_base != NULL);
	CHECK(((uintptr_t)info.cpu_base & (HP - 1)) == 0);
	if (!strncmp(info.detail, "THP fallback", 12) &&
	    !strstr(info.detail, "(never)")) {
		long elig;

		memset(info.cpu_base, 0x5a, HP);
		elig = smaps_field(info.cpu_base, "THPeligible");
		CHECK(elig == 1 || elig == -1);	/* -1: kernel without the field */
		printf("THP: eligible %ld, AnonHugePages %ld kB after touching 2M\n",
		       elig, smaps_field(info.cpu_base, "AnonHugePages"));
	}
	CHECK(smaps_field(info.cpu_base, "KernelPageSize") == 4);
	CHECK_EQ(nm_area_destroy(a), 0);

	errno = 0;
	CHECK(hp_area(size, 0, NM_AREA_F_HUGE_STRICT) == NULL);
	CHECK_EQ(errno, ENOMEM);

	/* Rounded up to whole 2 MiB pages, and a pool works at both ends of
	 * the chunk sizes. */
	a = hp_area(4096, 0, NM_AREA_F_POPULATE);
	REQUIRE(a);
	REQUIRE(nm_area_info(a, &info, sizeof(info)) == 0);
	CHECK_EQ(info.size, HP);
	CHECK_EQ(info.nr_chunks, 512);
	pool_roundtrip(a, 0);
	CHECK_EQ(nm_area_destroy(a), 0);
	a = hp_area(3 * HP, 9, 0);
	REQUIRE(a);
	pool_roundtrip(a, 9);
	CHECK_EQ(nm_area_destroy(a), 0);
	return 1;
}

/* Raise the hugetlb pool by NR_HUGETLB_WANT pages; 1 if it has them. */
static int reserve_hugetlb(void)
{
	long cur = read_long(nr_path), now;

	if (!t_is_root()) {
		printf("hugetlb part skipped: not root, cannot raise %s\n", nr_path);
		return 0;
	}
	if (cur < 0) {
		printf("hugetlb part skipped: cannot read %s\n", nr_path);
		return 0;
	}
	saved_nr = cur;
	snprintf(saved_str, sizeof(saved_str), "%ld\n", cur);
	atexit(restore_nr);
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	signal(SIGHUP, on_signal);
	if (write_long(nr_path, cur + NR_HUGETLB_WANT)) {
		printf("hugetlb part skipped: cannot write %s: %s\n", nr_path,
		       strerror(errno));
		restore_nr();
		return 0;
	}
	now = read_long(nr_path);
	if (now < cur + NR_HUGETLB_WANT || meminfo("HugePages_Free") < NR_HUGETLB_WANT) {
		printf("hugetlb part skipped: asked for %ld hugepages, kernel found "
		       "%ld (free %ld)\n", cur + NR_HUGETLB_WANT, now,
		       meminfo("HugePages_Free"));
		restore_nr();
		return 0;
	}
	return 1;
}

/* Hugepage-backed shared memory the memfd provider's way: a sealed
 * MFD_HUGETLB memfd, imported.  The area is whole huge pages even when a
 * smaller size is asked for, so a GONE revoke can replace all of it. */
static void memfd_hugetlb_import(void)
{
	NM_OPTS(nm_area_opts, o, .size = 4096, .flags = NM_AREA_F_IMPORT_FD);
	struct nm_area_info info;
	struct nm_area *a;
	int fd = memfd_create("hp-memfd", MFD_CLOEXEC | MFD_HUGETLB |
			      MFD_ALLOW_SEALING);

	if (fd < 0) {
		printf("hugetlb memfd import skipped: memfd_create(MFD_HUGETLB): %s\n",
		       strerror(errno));
		return;
	}
	REQUIRE(ftruncate(fd, (off_t)HP) == 0);
	REQUIRE(fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK) == 0);
	o.fd = fd;
	a = nm_area_create("memfd", &o);
	REQUIRE(a);
	REQUIRE(nm_area_info(a, &info, sizeof(info)) == 0);
	printf("hugetlb memfd: %s\n", info.detail);
	CHECK_EQ(info.size, HP);
	CHECK_EQ(info.nr_chunks, 512);
	REQUIRE(info.cpu_base);
	memset(info.cpu_base, 0x2b, HP);
	CHECK_EQ(smaps_field(info.cpu_base, "KernelPageSize"), 2048);
	CHECK_EQ(nm_area_revoke(a, NM_REVOKE_GONE), 0);
	CHECK_EQ(nm_area_destroy(a), 0);
	{
		char c = 0;
		CHECK_EQ(pread(fd, &c, 1, 4095), 1);
		CHECK_EQ(c, 0x2b);	/* an imported file's bytes are the owner's */
	}
	close(fd);
}

static void hugetlb_part(void)
{
	struct nm_area_info info;
	struct nm_area *a, *b;
	struct nm_pool *p;
	struct nm_buf held[2];
	long free0, free1;

	/* 2 MiB chunks, populated: the pages leave the free count now. */
	free0 = meminfo("HugePages_Free");
	a = hp_area(4 * HP, 9, NM_AREA_F_POPULATE | NM_AREA_F_HUGE_STRICT);
	REQUIRE(a);
	REQUIRE(nm_area_info(a, &info, sizeof(info)) == 0);
	printf("with %ld free: %s\n", free0, info.detail);
	CHECK(!strcmp(info.detail, "hugetlb 2M x 4, populated"));
	CHECK_EQ(smaps_field(info.cpu_base, "KernelPageSize"), 2048);
	free1 = meminfo("HugePages_Free");
	CHECK(free0 - free1 >= 4);
	pool_roundtrip(a, 9);

	/* 4 KiB chunks out of a 2 MiB page, rounded up from one page */
	b = hp_area(4096, 0, 0);
	REQUIRE(b);
	REQUIRE(nm_area_info(b, &info, sizeof(info)) == 0);
	CHECK(!strcmp(info.detail, "hugetlb 2M x 1"));
	CHECK_EQ(info.size, HP);
	CHECK_EQ(smaps_field(info.cpu_base, "KernelPageSize"), 2048);
	pool_roundtrip(b, 0);
	CHECK_EQ(nm_area_destroy(b), 0);

	/* GONE with buffers held: the huge pages go back at once. */
	p = nm_pool_create(a, NULL);
	REQUIRE(p);
	REQUIRE(nm_pool_alloc(p, &held[0]) == 0);
	REQUIRE(nm_pool_alloc(p, &held[1]) == 0);
	/* the pool took every chunk into its cache, two are held */
	CHECK_EQ(nm_area_revoke(a, NM_REVOKE_GONE), 4);
	CHECK(meminfo("HugePages_Free") >= free0);
	CHECK(nm_buf_data(&held[0]) == NULL);
	CHECK_EQ(nm_pool_put(p, &held[0]), 0);
	CHECK_EQ(nm_pool_put(p, &held[1]), 0);
	CHECK_EQ(nm_pool_destroy(p), 0);
	CHECK_EQ(nm_area_destroy(a), 0);

	/* NO_CPU_MAP: unreadable, but the pages are there and addressed. */
	a = hp_area(HP, 0, NM_AREA_F_NO_CPU_MAP);
	REQUIRE(a);
	REQUIRE(nm_area_info(a, &info, sizeof(info)) == 0);
	CHECK(info.cpu_base == NULL);
	CHECK(!strcmp(info.detail, "hugetlb 2M x 1"));
	p = nm_pool_create(a, NULL);
	REQUIRE(p);
	REQUIRE(nm_pool_alloc(p, &held[0]) == 0);
	{
		uint64_t io = 0;

		CHECK(nm_buf_data(&held[0]) == NULL);
		CHECK_EQ(nm_buf_io_addr(&held[0], &io), 0);
		CHECK(io != 0 && (io & 4095) == 0);
		CHECK_EQ(smaps_field((void *)(uintptr_t)io, "KernelPageSize"), 2048);
	}
	CHECK_EQ(nm_pool_put(p, &held[0]), 0);
	CHECK_EQ(nm_pool_destroy(p), 0);
	CHECK_EQ(nm_area_destroy(a), 0);
	CHECK(meminfo("HugePages_Free") >= free0);
	memfd_hugetlb_import();
}

int main(void)
{
	int ran = fallback_part();

	if (reserve_hugetlb()) {
		long before = saved_nr;

		hugetlb_part();
		ran++;
		restore_nr();
		CHECK_EQ(read_long(nr_path), before);
	}
	if (!ran)
		SKIP("neither the THP fallback nor hugetlb could be set up here");
	return t_done();
}

/* SPDX-License-Identifier: MIT */
/*
 * NM_REVOKE_GONE: the memory is already gone.  With buffers in flight the
 * area is DEAD at once, its pages are released at once (mincore: none
 * resident) and its CPU range is mapped PROT_NONE, so a stray read through
 * an address taken before the revoke faults: a forked child that reads it
 * must die of SIGSEGV.  Stale buffers still put fine (0), the pool
 * accounts for every chunk, and the reserved range is unmapped with the
 * last put.  A GONE revoke with nothing out releases everything at once.
 */
#include "harness.h"
#include <signal.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#define NR   16
#define HELD 4

/* The permissions of the mapping holding addr ("rw-p"), or "" if none. */
static void maps_perms(const void *addr, char perms[8])
{
	FILE *f = fopen("/proc/self/maps", "r");
	unsigned long lo, hi, a = (unsigned long)(uintptr_t)addr;
	char line[512], p[8];

	perms[0] = 0;
	REQUIRE(f);
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "%lx-%lx %7s", &lo, &hi, p) == 3 && a >= lo && a < hi) {
			snprintf(perms, 8, "%s", p);
			break;
		}
	fclose(f);
}

/* Resident pages of [addr, addr+len), or -1 if unmapped. */
static long resident(void *addr, size_t len)
{
	unsigned char vec[NR * 4];
	long n = 0;

	REQUIRE(len / 4096 <= sizeof(vec));
	if (mincore(addr, len, vec))
		return -1;
	for (size_t i = 0; i < len / 4096; i++)
		n += vec[i] & 1;
	return n;
}

/* Read addr in a child: how did the child end? */
static int child_reads(volatile unsigned char *addr)
{
	int status;
	pid_t pid;

	fflush(NULL);
	pid = fork();
	REQUIRE(pid >= 0);
	if (pid == 0) {
		struct rlimit no_core = { 0, 0 };

		setrlimit(RLIMIT_CORE, &no_core);
		/* Sanitizers catch SIGSEGV to report it; the default action
		 * is what is being tested. */
		signal(SIGSEGV, SIG_DFL);
		signal(SIGBUS, SIG_DFL);
		(void)*addr;
		_exit(0);
	}
	REQUIRE(waitpid(pid, &status, 0) == pid);
	return status;
}

int main(void)
{
	struct nm_area *a = t_host_area(NR, 0);
	struct nm_pool *p = nm_pool_create(a, NULL);
	struct nm_buf held[HELD], b;
	unsigned char *cpu[HELD];
	struct nm_area_info info;
	struct nm_pool_stats st;
	char perms[8];
	void *base;
	size_t size;
	int status;

	REQUIRE(p);
	for (int i = 0; i < HELD; i++) {
		REQUIRE(nm_pool_alloc(p, &held[i]) == 0);
		cpu[i] = nm_buf_data(&held[i]);	/* before revoking */
		REQUIRE(cpu[i]);
		memset(cpu[i], 0xc0 + i, held[i].len);
	}
	REQUIRE(nm_area_info(a, &info, sizeof(info)) == 0);
	base = info.cpu_base;
	size = info.size;
	CHECK_EQ(resident(base, size), HELD);
	status = child_reads(cpu[0]);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);

	CHECK_EQ(nm_area_revoke(a, NM_REVOKE_GONE), NR);

	/* Dead at once; pages released; the range reserved, inaccessible. */
	REQUIRE(nm_area_info(a, &info, sizeof(info)) == 0);
	CHECK_EQ(info.state, NM_AREA_DEAD);
	CHECK(info.cpu_base == NULL);
	CHECK_EQ(resident(base, size), 0);
	maps_perms(base, perms);
	CHECK(!strcmp(perms, "---p"));
	for (int i = 0; i < HELD; i++) {
		CHECK(nm_buf_data(&held[i]) == NULL);
		status = child_reads(cpu[i] + 100);
		if (!(WIFSIGNALED(status) && WTERMSIG(status) == SIGSEGV)) {
			fprintf(stderr, "read of %p after GONE: status 0x%x, want SIGSEGV\n",
				(void *)cpu[i], status);
			nm_test_failures++;
		}
	}
	CHECK_EQ(nm_pool_alloc(p, &b), -ENODEV);
	CHECK_EQ(nm_buf_get(&held[0]), -ENODEV);

	/* Stale buffers still go back; the range goes with the last. */
	for (int i = 0; i < HELD - 1; i++)
		CHECK_EQ(nm_pool_put(p, &held[i]), 0);
	maps_perms(base, perms);
	CHECK(!strcmp(perms, "---p"));
	CHECK_EQ(nm_pool_put(p, &held[HELD - 1]), 0);
	REQUIRE(nm_area_info(a, &info, sizeof(info)) == 0);
	CHECK_EQ(info.state, NM_AREA_DEAD);
	CHECK_EQ(info.nr_outstanding, 0);
	CHECK_EQ(resident(base, size), -1);
	REQUIRE(nm_pool_get_stats(p, &st, sizeof(st)) == 0);
	CHECK_EQ(st.inflight, 0);
	CHECK_EQ(st.hold, st.release);
	CHECK_EQ(nm_pool_destroy(p), 0);
	CHECK_EQ(nm_area_destroy(a), 0);

	/* Nothing out: everything released by the revoke itself. */
	a = t_host_area(NR, 0);
	REQUIRE(nm_area_info(a, &info, sizeof(info)) == 0);
	base = info.cpu_base;
	CHECK_EQ(nm_area_revoke(a, NM_REVOKE_GONE), 0);
	REQUIRE(nm_area_info(a, &info, sizeof(info)) == 0);
	CHECK_EQ(info.state, NM_AREA_DEAD);
	CHECK_EQ(resident(base, info.size), -1);
	errno = 0;
	CHECK(nm_pool_create(a, NULL) == NULL);
	CHECK_EQ(errno, ENODEV);
	CHECK_EQ(nm_area_destroy(a), 0);
	return t_done();
}

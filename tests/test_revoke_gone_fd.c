/* SPDX-License-Identifier: MIT */
/*
 * A GONE revoke of an fd-backed area (memfd, dmabuf) lets go of the file
 * at once but keeps the descriptor number, pointing at /dev/null, until
 * the area is torn down: a thread that read the number just before the
 * revoke (a sync, nm_area_info) can never reach a file opened since under
 * the same number.  Checked: while a reader thread calls nm_area_info and
 * nm_buf_sync in a loop, the area is revoked; afterwards the old number
 * is a character device (/dev/null), a new open gets another number, the
 * info says no fd, sync says -ENODEV, and after destroy the number is
 * closed.
 */
#include "harness.h"
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <netmem/dmabuf.h>

#define NR 8

static struct nm_area *area;
static struct nm_buf buf;
static _Atomic int stop;

static void *reader(void *arg)
{
	struct nm_area_info info;

	(void)arg;
	while (!atomic_load(&stop)) {
		CHECK_EQ(nm_area_info(area, &info, sizeof(info)), 0);
		(void)nm_buf_sync(&buf, NM_SYNC_FOR_CPU);
	}
	return NULL;
}

static void check_one(const char *provider, int fd, const struct nm_dmabuf_args *da)
{
	NM_OPTS(nm_area_opts, o, .size = NR * 4096, .order = 0, .fd = fd,
		.flags = NM_AREA_F_ALLOW_ANY_FD, .name = "gone-fd",
		.provider_arg = (void *)da);
	struct nm_area_info info;
	struct nm_pool *p;
	struct stat st;
	pthread_t th;
	int old, other;

	area = nm_area_create(provider, &o);
	if (!area) {
		fprintf(stderr, "%s: %s\n", provider, strerror(errno));
		REQUIRE(area);
	}
	p = nm_pool_create(area, NULL);
	REQUIRE(p);
	REQUIRE(nm_pool_alloc(p, &buf) == 0);
	REQUIRE(nm_area_info(area, &info, sizeof(info)) == 0);
	old = info.dmabuf_fd;
	REQUIRE(old >= 0);
	REQUIRE(fstat(old, &st) == 0);
	CHECK(!S_ISCHR(st.st_mode));

	REQUIRE(pthread_create(&th, NULL, reader, NULL) == 0);
	usleep(2000);
	CHECK(nm_area_revoke(area, NM_REVOKE_GONE) > 0);	/* chunks still out */
	usleep(2000);
	atomic_store(&stop, 1);
	pthread_join(th, NULL);
	atomic_store(&stop, 0);

	/* The number is still ours, and now /dev/null. */
	REQUIRE(fstat(old, &st) == 0);
	CHECK(S_ISCHR(st.st_mode));
	other = open("/dev/null", O_RDONLY | O_CLOEXEC);
	REQUIRE(other >= 0);
	CHECK(other != old);
	close(other);
	REQUIRE(nm_area_info(area, &info, sizeof(info)) == 0);
	CHECK_EQ(info.dmabuf_fd, -1);
	CHECK_EQ(info.state, NM_AREA_DEAD);
	CHECK_EQ(nm_buf_sync(&buf, NM_SYNC_FOR_CPU), -ENODEV);

	/* The last buffer back and the area gone: the number is closed. */
	CHECK_EQ(nm_pool_put(p, &buf), 0);
	nm_pool_destroy(p);
	nm_area_destroy(area);
	CHECK(fcntl(old, F_GETFD) < 0 && errno == EBADF);
}

int main(void)
{
	NM_OPTS(nm_dmabuf_args, map, .flags = NM_DMABUF_F_CPU_MAP);
	int fd;
	char *peer;

	/* memfd: the area makes (and seals) its own file. */
	check_one("memfd", -1, NULL);

	/* dmabuf, with a memfd standing in for the exporter's fd. */
	fd = memfd_create("gone-standin", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	REQUIRE(fd >= 0);
	REQUIRE(ftruncate(fd, NR * 4096) == 0);
	peer = mmap(NULL, NR * 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	REQUIRE(peer != MAP_FAILED);
	peer[0] = 'x';
	check_one("dmabuf", fd, &map);
	/* The caller's own fd is untouched by the area's retire. */
	CHECK(fcntl(fd, F_GETFD) >= 0);
	CHECK_EQ(peer[0], 'x');
	munmap(peer, NR * 4096);
	close(fd);
	return t_done();
}

/* SPDX-License-Identifier: MIT */
/*
 * The dmabuf provider.  Refusals: a non-dmabuf fd (ENOTTY), no fd or a
 * closed one (EBADF), a size beyond the fd (ERANGE), bad arguments.  With
 * NM_AREA_F_ALLOW_ANY_FD a memfd stands in for a dmabuf where no exporter
 * exists: buffers are unreadable (nm_buf_data NULL, nm_buf_place
 * -EOPNOTSUPP), their IO address is their offset in the fd, and they go
 * through a pool whole and as fragments; with NM_DMABUF_F_CPU_MAP what is
 * written through the mapping (directly or by nm_buf_place) is in the fd
 * (pread); an exporter refusing the mapping leaves the area unreadable, or
 * fails it under NM_DMABUF_F_REQUIRE_CPU_MAP.  A GONE revoke lets go of
 * the fd.  Where /dev/udmabuf or /dev/dma_heap/system exists the same runs
 * against a real dmabuf; otherwise that part is reported as skipped and
 * the test passes on the parts it ran.
 */
#include "harness.h"
#include <netmem/dmabuf.h>
#include <fcntl.h>
#include <stdint.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

/* UAPI of the two exporters a test machine may have
 * (include/uapi/linux/udmabuf.h, dma-heap.h). */
struct t_udmabuf_create {
	uint32_t memfd;
	uint32_t flags;
	uint64_t offset;
	uint64_t size;
};
#define T_UDMABUF_FLAGS_CLOEXEC 0x01
#define T_UDMABUF_CREATE _IOW('u', 0x42, struct t_udmabuf_create)
struct t_dma_heap_alloc {
	uint64_t len;
	uint32_t fd;
	uint32_t fd_flags;
	uint64_t heap_flags;
};
#define T_DMA_HEAP_IOCTL_ALLOC _IOWR('H', 0x0, struct t_dma_heap_alloc)

#define NR 8

static struct nm_area *dmabuf_area(int fd, size_t size, unsigned int order,
				   unsigned int flags, const struct nm_dmabuf_args *da)
{
	NM_OPTS(nm_area_opts, o, .size = size, .order = order, .flags = flags,
		.fd = fd, .name = "dmabuf-test", .provider_arg = (void *)da);
	return nm_area_create("dmabuf", &o);
}

static int t_memfd(size_t size)
{
	int fd = memfd_create("dmabuf-standin", MFD_CLOEXEC | MFD_ALLOW_SEALING);

	REQUIRE(fd >= 0);
	REQUIRE(ftruncate(fd, (off_t)size) == 0);
	return fd;
}

static void expect_fail(struct nm_area *a, int err, const char *what)
{
	int e = errno;

	if (a || e != err) {
		fprintf(stderr, "%s: %s (errno %d), want errno %d\n", what,
			a ? "accepted" : strerror(e), e, err);
		nm_test_failures++;
		if (a)
			nm_area_destroy(a);
	}
}

static void refusals(void)
{
	NM_OPTS(nm_dmabuf_args, bad_flags, .flags = 0x80);
	NM_OPTS(nm_dmabuf_args, map, .flags = NM_DMABUF_F_CPU_MAP);
	struct { struct nm_dmabuf_args a; uint64_t tail; } big;
	int fd = t_memfd(2 * 4096), pfd[2], closed;

	errno = 0;
	expect_fail(dmabuf_area(fd, 0, 0, 0, NULL), ENOTTY, "a memfd without ALLOW_ANY_FD");
	REQUIRE(pipe(pfd) == 0);
	errno = 0;
	expect_fail(dmabuf_area(pfd[0], 4096, 0, NM_AREA_F_ALLOW_ANY_FD, NULL),
		    ENOTTY, "a pipe, even with ALLOW_ANY_FD");
	close(pfd[0]);
	close(pfd[1]);
	errno = 0;
	expect_fail(dmabuf_area(-1, 4096, 0, NM_AREA_F_ALLOW_ANY_FD, NULL), EBADF, "fd -1");
	closed = dup(0);
	REQUIRE(closed >= 0);
	close(closed);
	errno = 0;
	expect_fail(dmabuf_area(closed, 4096, 0, NM_AREA_F_ALLOW_ANY_FD, NULL),
		    EBADF, "a closed fd");
	errno = 0;
	expect_fail(dmabuf_area(fd, 3 * 4096, 0, NM_AREA_F_ALLOW_ANY_FD, NULL),
		    ERANGE, "a size beyond the fd");
	errno = 0;
	expect_fail(dmabuf_area(fd, 0, 2, NM_AREA_F_ALLOW_ANY_FD, NULL),
		    EINVAL, "an fd smaller than one chunk");
	errno = 0;
	expect_fail(dmabuf_area(fd, 0, 0, NM_AREA_F_ALLOW_ANY_FD, &bad_flags),
		    EINVAL, "unknown nm_dmabuf_args flags");
	errno = 0;
	expect_fail(dmabuf_area(fd, 0, 0, NM_AREA_F_ALLOW_ANY_FD | NM_AREA_F_NO_CPU_MAP, &map),
		    EINVAL, "CPU_MAP with NO_CPU_MAP");
	memset(&big, 0, sizeof(big));
	big.a.sz = sizeof(big);
	big.tail = 1;
	errno = 0;
	expect_fail(dmabuf_area(fd, 0, 0, NM_AREA_F_ALLOW_ANY_FD, &big.a),
		    E2BIG, "nm_dmabuf_args with unknown non-zero tail");
	big.tail = 0;
	{
		struct nm_area *a = dmabuf_area(fd, 0, 0, NM_AREA_F_ALLOW_ANY_FD, &big.a);
		CHECK(a != NULL);	/* a zero tail is fine */
		if (a)
			nm_area_destroy(a);
	}
	close(fd);
}

/* Unreadable: offsets and lengths only, through a pool. */
static void unreadable(int fd, size_t fsize, unsigned int flags, const char *what)
{
	struct nm_area *a = dmabuf_area(fd, 0, 0, flags, NULL);
	NM_OPTS(nm_pool_opts, po, .flags = NM_POOL_F_SYNC_FOR_DEVICE);
	struct nm_buf b[NR + 2], extra;
	struct nm_area_info info;
	struct nm_pool *p;
	uint64_t io = 0;
	char c = 1;
	int got;

	REQUIRE(a);
	REQUIRE(nm_area_info(a, &info, sizeof(info)) == 0);
	printf("%s: %s\n", what, info.detail);
	CHECK(strstr(info.detail, "unreadable") != NULL);
	CHECK(info.cpu_base == NULL);
	CHECK_EQ(info.io_base, 0);
	CHECK_EQ(info.size, fsize);
	CHECK(info.dmabuf_fd >= 0 && info.dmabuf_fd != fd);
	p = nm_pool_create(a, &po);
	REQUIRE(p);
	got = nm_pool_alloc_bulk(p, b, NR);
	CHECK_EQ(got, NR);
	for (int i = 0; i < got; i++) {
		CHECK(nm_buf_data(&b[i]) == NULL);
		CHECK_EQ(nm_buf_io_addr(&b[i], &io), 0);
		CHECK_EQ(io, (uint64_t)nm_buf_chunk_index(&b[i]) << 12);
		CHECK_EQ(nm_buf_place(&b[i], &c, 1, NULL, NULL), -EOPNOTSUPP);
		CHECK_EQ(nm_buf_sync(&b[i], NM_SYNC_FOR_CPU), 0);
	}
	CHECK_EQ(nm_pool_alloc(p, &extra), -ENOMEM);
	CHECK_EQ(nm_pool_put_bulk(p, b, (unsigned int)got), got);
	/* fragments share a chunk; their IO addresses carry the offset */
	REQUIRE(nm_pool_alloc_frag(p, &b[0], 1000, 0) == 0);
	REQUIRE(nm_pool_alloc_frag(p, &b[1], 1000, 0) == 0);
	CHECK(b[0].iov == b[1].iov);
	CHECK_EQ(nm_buf_io_addr(&b[1], &io), 0);
	CHECK_EQ(io, ((uint64_t)nm_buf_chunk_index(&b[1]) << 12) + b[1].off);
	CHECK(b[1].off >= 1000);
	CHECK(nm_buf_data(&b[1]) == NULL);
	CHECK_EQ(nm_buf_put(&b[0]), 0);
	CHECK_EQ(nm_buf_put(&b[1]), 0);
	CHECK_EQ(nm_pool_inflight(p), 0);

	/* GONE: the fd goes at once; a held buffer still goes back */
	REQUIRE(nm_pool_alloc(p, &b[0]) == 0);
	CHECK(nm_area_revoke(a, NM_REVOKE_GONE) > 0);
	REQUIRE(nm_area_info(a, &info, sizeof(info)) == 0);
	CHECK_EQ(info.dmabuf_fd, -1);
	CHECK_EQ(nm_buf_io_addr(&b[0], &io), -ENODEV);
	CHECK_EQ(nm_pool_put(p, &b[0]), 0);
	CHECK_EQ(nm_pool_destroy(p), 0);
	CHECK_EQ(nm_area_destroy(a), 0);
}

/* Mapped: bytes written through the area are in the fd.  @check_fd reads
 * the memory behind it (the fd itself, or a udmabuf's memfd). */
static void mapped(int fd, int check_fd, unsigned int flags, const char *what)
{
	NM_OPTS(nm_dmabuf_args, da, .flags = NM_DMABUF_F_REQUIRE_CPU_MAP);
	struct nm_area *a = dmabuf_area(fd, 0, 0, flags, &da);
	struct nm_area_info info;
	struct nm_pool *p;
	struct nm_buf b[3];
	unsigned char src[300], got[300];
	uint64_t io = 0;

	REQUIRE(a);
	REQUIRE(nm_area_info(a, &info, sizeof(info)) == 0);
	printf("%s: %s\n", what, info.detail);
	CHECK(strstr(info.detail, "CPU-mapped") != NULL);
	CHECK(info.cpu_base != NULL);
	p = nm_pool_create(a, NULL);
	REQUIRE(p);
	REQUIRE(nm_pool_alloc(p, &b[0]) == 0);
	REQUIRE(nm_pool_alloc_frag(p, &b[2], 300, 0) == 0);
	REQUIRE(nm_pool_alloc_frag(p, &b[1], 300, 0) == 0);
	CHECK(b[1].off != 0);

	/* straight through the mapping, bracketed by syncs */
	CHECK_EQ(nm_buf_sync(&b[0], NM_SYNC_FOR_CPU), 0);
	REQUIRE(nm_buf_data(&b[0]));
	memset(nm_buf_data(&b[0]), 0x5c, b[0].len);
	CHECK_EQ(nm_buf_sync(&b[0], NM_SYNC_FOR_DEVICE), 0);
	CHECK_EQ(nm_buf_io_addr(&b[0], &io), 0);
	CHECK(nm_buf_data(&b[0]) == (unsigned char *)info.cpu_base + io);
	CHECK_EQ(pread(check_fd, got, 100, (off_t)io + 50), 100);
	for (int i = 0; i < 100; i++)
		CHECK_EQ(got[i], 0x5c);

	/* by nm_buf_place, into a fragment at a non-zero offset */
	for (int i = 0; i < 300; i++)
		src[i] = (unsigned char)(i * 13 + 1);
	CHECK_EQ(nm_buf_place(&b[1], src, sizeof(src), NULL, NULL), 0);
	CHECK_EQ(nm_buf_io_addr(&b[1], &io), 0);
	CHECK_EQ(pread(check_fd, got, sizeof(got), (off_t)io), (long)sizeof(got));
	CHECK(!memcmp(src, got, sizeof(src)));
	CHECK_EQ(nm_buf_put(&b[0]), 0);
	CHECK_EQ(nm_pool_destroy(p), 1);	/* the fragments' chunk is out */
	CHECK_EQ(nm_buf_put(&b[1]), 0);
	CHECK_EQ(nm_buf_put(&b[2]), 0);
	CHECK_EQ(nm_area_destroy(a), 0);
}

static void standin(void)
{
	size_t fsize = NR * 4096 + 512;	/* the tail short of a chunk is dropped */
	NM_OPTS(nm_dmabuf_args, try_map, .flags = NM_DMABUF_F_CPU_MAP);
	NM_OPTS(nm_dmabuf_args, need_map, .flags = NM_DMABUF_F_REQUIRE_CPU_MAP);
	struct nm_area_info info;
	struct nm_area *a;
	char path[64];
	int fd = t_memfd(fsize), ro;

	unreadable(fd, NR * 4096, NM_AREA_F_ALLOW_ANY_FD, "memfd stand-in");
	mapped(fd, fd, NM_AREA_F_ALLOW_ANY_FD, "memfd stand-in, mapped");

	/* An "exporter" that refuses a writable mapping: a read-only fd. */
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	ro = open(path, O_RDONLY | O_CLOEXEC);
	REQUIRE(ro >= 0);
	a = dmabuf_area(ro, 0, 0, NM_AREA_F_ALLOW_ANY_FD, &try_map);
	REQUIRE(a);
	REQUIRE(nm_area_info(a, &info, sizeof(info)) == 0);
	printf("mapping refused: %s\n", info.detail);
	CHECK(info.cpu_base == NULL);
	CHECK(strstr(info.detail, "refused mmap") != NULL);
	CHECK_EQ(nm_area_destroy(a), 0);
	errno = 0;
	expect_fail(dmabuf_area(ro, 0, 0, NM_AREA_F_ALLOW_ANY_FD, &need_map),
		    EACCES, "REQUIRE_CPU_MAP on a read-only fd");
	close(ro);
	close(fd);
}

/* A real dmabuf, where this machine has an exporter; 1 if it ran. */
static int real_dmabuf(void)
{
	size_t size = NR * 4096;
	int dev, mfd, dbuf;

	dev = open("/dev/udmabuf", O_RDWR | O_CLOEXEC);
	if (dev >= 0) {
		struct t_udmabuf_create c = { .flags = T_UDMABUF_FLAGS_CLOEXEC,
					      .size = size };

		mfd = t_memfd(size);
		REQUIRE(fcntl(mfd, F_ADD_SEALS, F_SEAL_SHRINK) == 0);
		c.memfd = (uint32_t)mfd;
		dbuf = ioctl(dev, T_UDMABUF_CREATE, &c);
		close(dev);
		if (dbuf < 0) {
			printf("udmabuf: UDMABUF_CREATE failed: %s\n", strerror(errno));
			close(mfd);
		} else {
			unreadable(dbuf, size, 0, "udmabuf");
			mapped(dbuf, mfd, 0, "udmabuf, mapped");
			close(dbuf);
			close(mfd);
			return 1;
		}
	}
	dev = open("/dev/dma_heap/system", O_RDONLY | O_CLOEXEC);
	if (dev >= 0) {
		struct t_dma_heap_alloc h = { .len = size,
					      .fd_flags = O_RDWR | O_CLOEXEC };

		if (ioctl(dev, T_DMA_HEAP_IOCTL_ALLOC, &h) < 0) {
			printf("dma_heap/system: alloc failed: %s\n", strerror(errno));
			close(dev);
			return 0;
		}
		close(dev);
		dbuf = (int)h.fd;
		unreadable(dbuf, size, 0, "dma_heap/system");
		/* a dmabuf cannot be pread: check through a second mapping */
		{
			NM_OPTS(nm_dmabuf_args, da, .flags = NM_DMABUF_F_CPU_MAP);
			struct nm_area *a = dmabuf_area(dbuf, 0, 0, 0, &da);
			struct nm_area_info info;
			struct nm_pool *p;
			struct nm_buf b;
			unsigned char *m;
			char src[64];
			uint64_t io = 0;

			REQUIRE(a);
			REQUIRE(nm_area_info(a, &info, sizeof(info)) == 0);
			printf("dma_heap/system, mapped: %s\n", info.detail);
			CHECK(info.cpu_base != NULL);
			p = nm_pool_create(a, NULL);
			REQUIRE(p);
			REQUIRE(nm_pool_alloc(p, &b) == 0);
			memset(src, 0x42, sizeof(src));
			CHECK_EQ(nm_buf_place(&b, src, sizeof(src), NULL, NULL), 0);
			CHECK_EQ(nm_buf_io_addr(&b, &io), 0);
			m = mmap(NULL, size, PROT_READ, MAP_SHARED, dbuf, 0);
			CHECK(m != MAP_FAILED);
			if (m != MAP_FAILED) {
				CHECK(!memcmp(m + io, src, sizeof(src)));
				munmap(m, size);
			}
			CHECK_EQ(nm_pool_put(p, &b), 0);
			CHECK_EQ(nm_pool_destroy(p), 0);
			CHECK_EQ(nm_area_destroy(a), 0);
		}
		close(dbuf);
		return 1;
	}
	return 0;
}

int main(void)
{
	refusals();
	standin();
	if (!real_dmabuf())
		printf("real-dmabuf part skipped: no usable /dev/udmabuf or "
		       "/dev/dma_heap/system on this machine; the import was "
		       "checked with memfd stand-ins (ALLOW_ANY_FD) only\n");
	return t_done();
}

/* SPDX-License-Identifier: MIT */
/*
 * The memfd provider.  A second process (this program re-executed as a
 * peer, so nothing is inherited) receives the area's fd over a unix socket
 * with SCM_RIGHTS, as a real consumer would, maps it and finds every byte
 * the first process wrote into whole buffers and fragments at the offset
 * nm_buf_io_addr() reports (chunk index << shift + off); it writes a reply
 * the first process then reads through nm_buf_data().  The file is sealed
 * against shrinking (ftruncate down: EPERM) but may grow.  Importing an fd
 * (NM_AREA_F_IMPORT_FD) takes its size from fstat and refuses fds of the
 * wrong kind with the documented errnos.  NO_CPU_MAP leaves the memory to
 * the fd.  A GONE revoke punches an owned memfd's pages out and closes the
 * area's fd, but leaves an imported file's bytes alone.
 */
#include "harness.h"
#include <fcntl.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef TMPFS_MAGIC
#define TMPFS_MAGIC 0x01021994
#endif

#define NR     16
#define NSEG   4	/* segments the peer checks */

/* What the peer is told about one buffer. */
struct seg {
	uint64_t off;    /* offset in the file */
	uint32_t len;
	uint32_t seed;   /* byte i is (seed + i * 7) & 0xff; seed 0: reply here */
};

static unsigned char pat(uint32_t seed, size_t i)
{
	return (unsigned char)(seed + i * 7);
}

static void fill(unsigned char *d, uint32_t len, uint32_t seed)
{
	for (uint32_t i = 0; i < len; i++)
		d[i] = pat(seed, i);
}

static int send_fd(int sock, int fd, const void *data, size_t len)
{
	char cbuf[CMSG_SPACE(sizeof(int))];
	struct iovec iov = { .iov_base = (void *)data, .iov_len = len };
	struct msghdr msg = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = cbuf, .msg_controllen = sizeof(cbuf),
	};
	struct cmsghdr *c;

	memset(cbuf, 0, sizeof(cbuf));
	c = CMSG_FIRSTHDR(&msg);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &fd, sizeof(int));
	return sendmsg(sock, &msg, 0) == (ssize_t)len ? 0 : -1;
}

static int recv_fd(int sock, void *data, size_t len)
{
	char cbuf[CMSG_SPACE(sizeof(int))];
	struct iovec iov = { .iov_base = data, .iov_len = len };
	struct msghdr msg = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = cbuf, .msg_controllen = sizeof(cbuf),
	};
	struct cmsghdr *c;
	int fd = -1;

	if (recvmsg(sock, &msg, MSG_WAITALL) != (ssize_t)len)
		return -1;
	c = CMSG_FIRSTHDR(&msg);
	if (!c || c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
		return -1;
	memcpy(&fd, CMSG_DATA(c), sizeof(int));
	return fd;
}

/* The peer process: exit 0 when every byte was where it should be. */
static int peer(int sock)
{
	struct seg segs[NSEG];
	struct stat st;
	unsigned char *m;
	int fd, bad = 0;
	char ok;

	fd = recv_fd(sock, segs, sizeof(segs));
	if (fd < 0 || fstat(fd, &st)) {
		fprintf(stderr, "peer: no fd: %s\n", strerror(errno));
		return 1;
	}
	m = mmap(NULL, (size_t)st.st_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (m == MAP_FAILED) {
		fprintf(stderr, "peer: mmap: %s\n", strerror(errno));
		return 1;
	}
	for (int s = 0; s < NSEG; s++) {
		if (segs[s].off + segs[s].len > (uint64_t)st.st_size) {
			fprintf(stderr, "peer: segment %d beyond the file\n", s);
			bad++;
			continue;
		}
		if (!segs[s].seed) {
			fill(m + segs[s].off, segs[s].len, 0xabu);
			continue;
		}
		for (uint32_t i = 0; i < segs[s].len; i++)
			if (m[segs[s].off + i] != pat(segs[s].seed, i)) {
				fprintf(stderr, "peer: segment %d byte %u: %02x, want %02x\n",
					s, i, m[segs[s].off + i], pat(segs[s].seed, i));
				bad++;
				break;
			}
	}
	/* Shrinking is sealed off for the peer too. */
	if (ftruncate(fd, 0) == 0 || errno != EPERM) {
		fprintf(stderr, "peer: ftruncate(0) was not refused with EPERM\n");
		bad++;
	}
	ok = bad ? 'n' : 'y';
	if (write(sock, &ok, 1) != 1)
		return 1;
	return bad ? 1 : 0;
}

static struct nm_area *mfd_area(size_t size, unsigned int order,
				unsigned int flags, int fd)
{
	NM_OPTS(nm_area_opts, o, .size = size, .order = order, .flags = flags,
		.fd = fd, .name = "mfd-test");
	return nm_area_create("memfd", &o);
}

static void share_with_peer(const char *self)
{
	struct nm_area *a = mfd_area(NR * 4096, 0, 0, -1);
	struct nm_area_info info;
	struct nm_pool *p;
	struct nm_buf b[NSEG];
	struct seg segs[NSEG];
	int sv[2], status;
	char ok = 0, arg[16];
	pid_t pid;

	REQUIRE(a);
	REQUIRE(nm_area_info(a, &info, sizeof(info)) == 0);
	printf("memfd area: %s\n", info.detail);
	CHECK(info.dmabuf_fd >= 0);
	CHECK(info.cpu_base != NULL);
	CHECK_EQ(info.io_base, 0);
	p = nm_pool_create(a, NULL);
	REQUIRE(p);
	/* two whole chunks and two fragments of a third */
	REQUIRE(nm_pool_alloc(p, &b[0]) == 0);
	REQUIRE(nm_pool_alloc(p, &b[1]) == 0);
	REQUIRE(nm_pool_alloc_frag(p, &b[2], 1000, 0) == 0);
	REQUIRE(nm_pool_alloc_frag(p, &b[3], 1500, 0) == 0);
	CHECK(b[3].off != 0);
	for (int i = 0; i < NSEG; i++) {
		uint64_t io = 0;
		unsigned char *d = nm_buf_data(&b[i]);

		REQUIRE(d);
		CHECK_EQ(nm_buf_io_addr(&b[i], &io), 0);
		segs[i].off = ((uint64_t)nm_buf_chunk_index(&b[i]) << 12) + b[i].off;
		CHECK_EQ(io, segs[i].off);
		CHECK(d == (unsigned char *)info.cpu_base + segs[i].off);
		segs[i].len = b[i].len;
		segs[i].seed = i == 1 ? 0 : 0x10u * (i + 1);
		if (segs[i].seed)
			fill(d, b[i].len, segs[i].seed);
		else
			memset(d, 0, b[i].len);
	}

	REQUIRE(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
	REQUIRE(fcntl(sv[1], F_SETFD, 0) == 0);	/* the peer's end survives exec */
	snprintf(arg, sizeof(arg), "%d", sv[1]);
	fflush(NULL);
	pid = fork();
	REQUIRE(pid >= 0);
	if (pid == 0) {
		execl(self, self, "--peer", arg, (char *)NULL);
		_exit(127);
	}
	close(sv[1]);
	CHECK_EQ(send_fd(sv[0], info.dmabuf_fd, segs, sizeof(segs)), 0);
	CHECK_EQ(read(sv[0], &ok, 1), 1);
	CHECK_EQ(ok, 'y');
	REQUIRE(waitpid(pid, &status, 0) == pid);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	close(sv[0]);

	/* the peer's reply, through our own mapping */
	{
		unsigned char *d = nm_buf_data(&b[1]);
		for (uint32_t i = 0; i < b[1].len; i++)
			if (d[i] != pat(0xab, i)) {
				fprintf(stderr, "reply byte %u: %02x\n", i, d[i]);
				nm_test_failures++;
				break;
			}
	}

	/* Sealed: no shrinking, no more seals; growing is fine. */
	{
		int fd = info.dmabuf_fd;
		int seals = fcntl(fd, F_GET_SEALS);
		struct stat st;

		CHECK(seals >= 0 && (seals & F_SEAL_SHRINK) && (seals & F_SEAL_SEAL));
		errno = 0;
		CHECK(ftruncate(fd, 4096) == -1 && errno == EPERM);
		CHECK_EQ(ftruncate(fd, 2 * NR * 4096), 0);
		CHECK(fstat(fd, &st) == 0 && st.st_size == 2 * NR * 4096);
		errno = 0;
		CHECK(fcntl(fd, F_ADD_SEALS, F_SEAL_GROW) == -1 && errno == EPERM);
		REQUIRE(nm_area_info(a, &info, sizeof(info)) == 0);
		CHECK_EQ(info.size, NR * 4096);
	}
	for (int i = 0; i < NSEG; i++)
		CHECK_EQ(nm_pool_put(p, &b[i]), 0);
	CHECK_EQ(nm_pool_destroy(p), 0);
	CHECK_EQ(nm_area_destroy(a), 0);
}

static int sealed_memfd(size_t size, unsigned int mflags, int seals)
{
	int fd = memfd_create("mfd-import", MFD_CLOEXEC | mflags);

	REQUIRE(fd >= 0);
	REQUIRE(ftruncate(fd, (off_t)size) == 0);
	if (seals)
		REQUIRE(fcntl(fd, F_ADD_SEALS, seals) == 0);
	return fd;
}

static void expect_refused(int fd, size_t size, int err, const char *what)
{
	struct nm_area *a;

	errno = 0;
	a = mfd_area(size, 0, NM_AREA_F_IMPORT_FD, fd);
	if (a || errno != err) {
		fprintf(stderr, "import of %s: %s (errno %d), want errno %d\n",
			what, a ? "accepted" : strerror(errno), errno, err);
		nm_test_failures++;
		if (a)
			nm_area_destroy(a);
	}
}

static void import(void)
{
	size_t fsize = 10 * 4096 + 100;	/* not whole chunks */
	int fd = sealed_memfd(fsize, MFD_ALLOW_SEALING, F_SEAL_SHRINK);
	struct nm_area_info info;
	struct nm_area *a;
	struct nm_pool *p;
	struct nm_buf b0, b;
	unsigned char got[64];
	uint64_t io = 0;
	int pfd[2], closed, ro, tmp;
	char path[64];
	struct statfs sfs;

	/* size 0: the whole file, rounded down to whole chunks */
	a = mfd_area(0, 0, NM_AREA_F_IMPORT_FD, fd);
	REQUIRE(a);
	REQUIRE(nm_area_info(a, &info, sizeof(info)) == 0);
	printf("imported: %s\n", info.detail);
	CHECK_EQ(info.size, 10 * 4096);
	CHECK_EQ(info.nr_chunks, 10);
	CHECK(info.dmabuf_fd >= 0 && info.dmabuf_fd != fd);
	p = nm_pool_create(a, NULL);
	REQUIRE(p);
	REQUIRE(nm_pool_alloc_frag(p, &b0, 64, 0) == 0);
	REQUIRE(nm_pool_alloc_frag(p, &b, 64, 0) == 0);
	CHECK_EQ(b.off, 64);
	REQUIRE(nm_buf_data(&b));
	fill(nm_buf_data(&b), 64, 0x33);
	CHECK_EQ(nm_buf_io_addr(&b, &io), 0);
	CHECK_EQ(pread(fd, got, 64, (off_t)io), 64);
	for (int i = 0; i < 64; i++)
		CHECK_EQ(got[i], pat(0x33, (size_t)i));
	CHECK_EQ(nm_buf_put(&b), 0);
	CHECK_EQ(nm_buf_put(&b0), 0);

	/* GONE on an imported file: let go, never punch someone else's data */
	CHECK(nm_area_revoke(a, NM_REVOKE_GONE) >= 0);
	REQUIRE(nm_area_info(a, &info, sizeof(info)) == 0);
	CHECK_EQ(info.dmabuf_fd, -1);
	CHECK_EQ(pread(fd, got, 64, (off_t)io), 64);
	CHECK_EQ(got[5], pat(0x33, 5));
	CHECK_EQ(nm_pool_destroy(p), 0);
	CHECK_EQ(nm_area_destroy(a), 0);

	/* the area keeps its own dup: the caller may close its fd */
	a = mfd_area(4096, 0, NM_AREA_F_IMPORT_FD, fd);
	REQUIRE(a);
	close(fd);
	REQUIRE(nm_area_info(a, &info, sizeof(info)) == 0);
	CHECK(fcntl(info.dmabuf_fd, F_GETFD) >= 0);
	CHECK_EQ(info.size, 4096);
	CHECK_EQ(nm_area_destroy(a), 0);

	/* refusals */
	fd = sealed_memfd(8192, MFD_ALLOW_SEALING, F_SEAL_SHRINK);
	expect_refused(fd, 3 * 4096, ERANGE, "a size beyond the file");
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	ro = open(path, O_RDONLY | O_CLOEXEC);
	REQUIRE(ro >= 0);
	expect_refused(ro, 0, EACCES, "a read-only fd");
	close(ro);
	close(fd);
	fd = sealed_memfd(8192, MFD_ALLOW_SEALING, 0);
	expect_refused(fd, 0, EPERM, "a memfd not sealed against shrinking");
	close(fd);
	fd = sealed_memfd(8192, 0, 0);
	expect_refused(fd, 0, EPERM, "a memfd that cannot be sealed");
	close(fd);
	REQUIRE(pipe(pfd) == 0);
	expect_refused(pfd[0], 4096, ENOTTY, "a pipe");
	close(pfd[0]);
	close(pfd[1]);
	fd = open("/dev/null", O_RDWR | O_CLOEXEC);
	REQUIRE(fd >= 0);
	expect_refused(fd, 4096, ENOTTY, "/dev/null");
	close(fd);
	tmp = open(".", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (tmp >= 0 && fstatfs(tmp, &sfs) == 0 &&
	    (unsigned long)sfs.f_type != TMPFS_MAGIC) {
		REQUIRE(ftruncate(tmp, 8192) == 0);
		expect_refused(tmp, 0, ENOTTY, "a file on a disk filesystem");
	} else {
		printf("disk-file refusal skipped: no O_TMPFILE on a non-tmpfs cwd\n");
	}
	if (tmp >= 0)
		close(tmp);
	expect_refused(-1, 4096, EBADF, "fd -1");
	closed = dup(0);
	REQUIRE(closed >= 0);
	close(closed);
	expect_refused(closed, 4096, EBADF, "a closed fd");
}

/* NO_CPU_MAP: the memory is the fd's only. */
static void unmapped(void)
{
	struct nm_area *a = mfd_area(4 * 4096, 0, NM_AREA_F_NO_CPU_MAP, -1);
	struct nm_area_info info;
	struct nm_buf b;
	struct nm_pool *p;
	uint64_t io = 0;
	char c = 'x', got = 0;

	REQUIRE(a);
	REQUIRE(nm_area_info(a, &info, sizeof(info)) == 0);
	CHECK(info.cpu_base == NULL);
	CHECK(info.dmabuf_fd >= 0);
	p = nm_pool_create(a, NULL);
	REQUIRE(p);
	REQUIRE(nm_pool_alloc(p, &b) == 0);
	CHECK(nm_buf_data(&b) == NULL);
	CHECK_EQ(nm_buf_place(&b, &c, 1, NULL, NULL), -EOPNOTSUPP);
	CHECK_EQ(nm_buf_io_addr(&b, &io), 0);
	CHECK_EQ(pwrite(info.dmabuf_fd, &c, 1, (off_t)io), 1);
	CHECK_EQ(pread(info.dmabuf_fd, &got, 1, (off_t)io), 1);
	CHECK_EQ(got, 'x');
	CHECK_EQ(nm_pool_put(p, &b), 0);
	CHECK_EQ(nm_pool_destroy(p), 0);
	CHECK_EQ(nm_area_destroy(a), 0);

	/* POPULATE without a mapping allocates the file's pages */
	a = mfd_area(4 * 4096, 0, NM_AREA_F_NO_CPU_MAP | NM_AREA_F_POPULATE, -1);
	REQUIRE(a);
	REQUIRE(nm_area_info(a, &info, sizeof(info)) == 0);
	{
		struct stat st;
		CHECK(fstat(info.dmabuf_fd, &st) == 0 && st.st_blocks * 512 >= 4 * 4096);
	}
	CHECK_EQ(nm_area_destroy(a), 0);
}

/* GONE on an owned memfd: pages punched out even though a peer (here: a
 * dup) still holds the file; the area's fd is closed. */
static void gone(void)
{
	struct nm_area *a = mfd_area(NR * 4096, 0, NM_AREA_F_POPULATE, -1);
	struct nm_area_info info;
	struct nm_pool *p;
	struct nm_buf b;
	struct stat st;
	char got = 1;
	int peer_fd;

	REQUIRE(a);
	REQUIRE(nm_area_info(a, &info, sizeof(info)) == 0);
	peer_fd = dup(info.dmabuf_fd);
	REQUIRE(peer_fd >= 0);
	CHECK(fstat(peer_fd, &st) == 0 && st.st_blocks > 0);	/* populated */
	p = nm_pool_create(a, NULL);
	REQUIRE(p);
	REQUIRE(nm_pool_alloc(p, &b) == 0);
	memset(nm_buf_data(&b), 0x77, b.len);
	CHECK(nm_area_revoke(a, NM_REVOKE_GONE) > 0);
	REQUIRE(nm_area_info(a, &info, sizeof(info)) == 0);
	CHECK_EQ(info.state, NM_AREA_DEAD);
	CHECK_EQ(info.dmabuf_fd, -1);
	CHECK(info.cpu_base == NULL);
	CHECK(nm_buf_data(&b) == NULL);
	CHECK(fstat(peer_fd, &st) == 0 && st.st_blocks == 0);
	CHECK_EQ(pread(peer_fd, &got, 1, 0), 1);
	CHECK_EQ(got, 0);
	CHECK_EQ(nm_pool_put(p, &b), 0);
	CHECK_EQ(nm_pool_destroy(p), 0);
	CHECK_EQ(nm_area_destroy(a), 0);
	close(peer_fd);
}

int main(int argc, char **argv)
{
	if (argc == 3 && !strcmp(argv[1], "--peer"))
		return peer(atoi(argv[2]));
	share_with_peer("/proc/self/exe");
	import();
	unmapped();
	gone();
	return t_done();
}

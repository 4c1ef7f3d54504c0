/* SPDX-License-Identifier: MIT */
/*
 * A real dmabuf: the one the cuda provider exports from GPU memory
 * (cuMemGetHandleForAddressRange), imported by the dmabuf provider.
 *
 *  - import: a real dmabuf (no NM_AREA_F_ALLOW_ANY_FD needed), its size
 *    the exported range's, unreadable by default (no CPU address), IO
 *    addresses its offsets, a pool over it, whole buffers and fragments;
 *  - a CPU mapping where the exporter allows one: asked for with
 *    NM_DMABUF_F_CPU_MAP; whether it is granted is printed, and where it
 *    is, bytes written on the GPU are read through it and bytes written
 *    through it are read on the GPU (each access in a child, so a mapping
 *    that faults kills the child, not the test);
 *  - revocation when the exporter goes away: the cuda area revoked GONE
 *    (its memory freed), then the importer revoked GONE: stale handles
 *    fail with ENODEV, held buffers still go back, nothing is left;
 *  - the fd passed to another process: a second process (this program,
 *    run again) exports, sends the fd over a unix socket (SCM_RIGHTS) and
 *    exits; this one imports it, and revokes once the exporter is gone.
 *
 * Skips without a GPU (fails under NM_TEST_GPU=1), and skips, saying why,
 * where the device or driver cannot export a dmabuf.  /dev/udmabuf and
 * /dev/dma_heap/system are test_provider_dmabuf's.
 */
#include "test_gpu_util.h"
#include <netmem/dmabuf.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#define SIZE (8u << 20)	/* 128 chunks of 64 KiB; a multiple of 2 MiB */
#define FILL 0xa5

static struct nm_area *import(int fd, unsigned int dflags)
{
	NM_OPTS(nm_dmabuf_args, da, .flags = dflags);
	NM_OPTS(nm_area_opts, o, .order = 4, .fd = fd, .name = "gpu-dmabuf",
		.provider_arg = &da);

	return nm_area_create("dmabuf", &o);
}

/* Import @fd unreadable and check what a pool over it gives. */
static struct nm_area *check_import(int fd, size_t size, const char *who)
{
	struct nm_area *a = import(fd, 0);
	struct nm_area_info info;
	struct nm_pool *p;
	struct nm_buf b[4];
	uint64_t io;
	off_t fsize = lseek(fd, 0, SEEK_END);

	if (!a) {
		fprintf(stderr, "%s: import of fd %d: %s\n", who, fd, strerror(errno));
		nm_test_failures++;
		return NULL;
	}
	REQUIRE(nm_area_info(a, &info, sizeof(info)) == 0);
	printf("%s: imported: %s; size %llu (lseek %lld)\n", who, info.detail,
	       (unsigned long long)info.size, (long long)fsize);
	CHECK(!strncmp(info.detail, "dmabuf fd", 9));	/* real, not ALLOW_ANY_FD */
	CHECK(strstr(info.detail, "unreadable") != NULL);
	CHECK(info.cpu_base == NULL);
	CHECK_EQ(info.size, size);
	CHECK_EQ((uint64_t)fsize, (uint64_t)size);
	p = nm_pool_create(a, NULL);
	REQUIRE(p);
	CHECK_EQ(nm_pool_alloc_bulk(p, b, 2), 2);
	REQUIRE(nm_pool_alloc_frag(p, &b[2], 1000, 64) == 0);
	REQUIRE(nm_pool_alloc_frag(p, &b[3], 1000, 64) == 0);
	for (int i = 0; i < 4; i++) {
		CHECK(nm_buf_data(&b[i]) == NULL);
		CHECK_EQ(nm_buf_io_addr(&b[i], &io), 0);
		CHECK_EQ(io, ((uint64_t)nm_buf_chunk_index(&b[i]) << 16) + b[i].off);
	}
	CHECK(b[3].off >= 1000);
	CHECK_EQ(nm_pool_put_bulk(p, b, 4), 4);
	CHECK_EQ(nm_pool_destroy(p), 0);
	return a;
}

/* In a child (a mapping may fault): read @n bytes at @off of @map and
 * compare with @want, or (@write) fill them with @want.  Its exit status:
 * 0 right, 1 wrong, 128+signal. */
static int child_access(volatile unsigned char *map, size_t off, size_t n, int want,
			int write)
{
	pid_t pid;
	int st;

	fflush(NULL);
	pid = fork();
	REQUIRE(pid >= 0);
	if (pid == 0) {
		for (size_t i = 0; i < n; i++) {
			if (write)
				map[off + i] = (unsigned char)want;
			else if (map[off + i] != (unsigned char)want)
				_exit(1);
		}
		_exit(0);
	}
	REQUIRE(waitpid(pid, &st, 0) == pid);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* Ask for a CPU mapping; where granted, check it both ways. */
static void cpu_map(const struct nm_cudrv *cu, int fd, CUdeviceptr dptr)
{
	struct nm_area *a = import(fd, NM_DMABUF_F_CPU_MAP);
	struct nm_area_info info;
	unsigned char got[4096];
	int rc;

	REQUIRE(a);
	REQUIRE(nm_area_info(a, &info, sizeof(info)) == 0);
	printf("CPU mapping asked for: %s\n", info.detail);
	if (!info.cpu_base) {
		/* The exporter said no: the area stays unreadable, and says why. */
		CHECK(strstr(info.detail, "refused mmap") != NULL);
		printf("CPU mapping: refused by the exporter (reported, not a failure)\n");
		CHECK_EQ(nm_area_destroy(a), 0);
		return;
	}
	REQUIRE(cu->MemsetD8(dptr + (1u << 20), 0x3c, 4096) == CUDA_SUCCESS);
	REQUIRE(cu->CtxSynchronize() == CUDA_SUCCESS);
	rc = child_access(info.cpu_base, 1u << 20, 4096, 0x3c, 0);
	printf("CPU mapping: read of GPU-written bytes: %s (%d)\n",
	       rc == 0 ? "equal" : rc == 1 ? "DIFFERENT" : "faulted", rc);
	CHECK_EQ(rc, 0);
	rc = child_access(info.cpu_base, 2u << 20, 4096, 0x7e, 1);
	printf("CPU mapping: write: %s (%d)\n", rc == 0 ? "done" : "faulted", rc);
	if (rc == 0) {
		REQUIRE(cu->MemcpyDtoH(got, dptr + (2u << 20), sizeof(got)) == CUDA_SUCCESS);
		int same = 1;
		for (size_t i = 0; i < sizeof(got); i++)
			same &= got[i] == 0x7e;
		printf("CPU mapping: GPU reads the CPU-written bytes: %s\n", same ? "yes" : "NO");
		CHECK(same);
	}
	CHECK_EQ(rc, 0);
	CHECK_EQ(nm_area_destroy(a), 0);
}

/* The exporter's view gone: the importer revoked GONE, with a buffer held. */
static void revoke_import(struct nm_area *a, const char *who)
{
	struct nm_pool *p = nm_pool_create(a, NULL);
	struct nm_area_info info;
	struct nm_buf b, c;
	uint64_t io;

	REQUIRE(p);
	REQUIRE(nm_pool_alloc(p, &b) == 0);
	CHECK(nm_area_revoke(a, NM_REVOKE_GONE) >= 0);
	REQUIRE(nm_area_info(a, &info, sizeof(info)) == 0);
	CHECK_EQ(info.dmabuf_fd, -1);
	CHECK(info.state != NM_AREA_LIVE);
	CHECK_EQ(nm_buf_io_addr(&b, &io), -ENODEV);
	CHECK(nm_pool_alloc(p, &c) != 0);
	CHECK_EQ(nm_pool_put(p, &b), 0);
	CHECK_EQ(nm_pool_destroy(p), 0);
	CHECK_EQ(nm_area_destroy(a), 0);
	printf("%s: importer revoked GONE with a buffer held: stale handle ENODEV, "
	       "nothing left\n", who);
}

static int send_fd(int sock, int fd)
{
	char c = 'F';
	struct iovec iov = { .iov_base = &c, .iov_len = 1 };
	union { struct cmsghdr h; char b[CMSG_SPACE(sizeof(int))]; } u;
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.b,
			    .msg_controllen = sizeof(u.b) };
	struct cmsghdr *cm = CMSG_FIRSTHDR(&m);

	memset(&u, 0, sizeof(u));
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &fd, sizeof(int));
	return sendmsg(sock, &m, 0) == 1 ? 0 : -errno;
}

static int recv_fd(int sock)
{
	char c;
	struct iovec iov = { .iov_base = &c, .iov_len = 1 };
	union { struct cmsghdr h; char b[CMSG_SPACE(sizeof(int))]; } u;
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.b,
			    .msg_controllen = sizeof(u.b) };
	struct cmsghdr *cm;
	int fd = -1;

	if (recvmsg(sock, &m, MSG_CMSG_CLOEXEC) != 1)
		return -1;
	cm = CMSG_FIRSTHDR(&m);
	if (cm && cm->cmsg_type == SCM_RIGHTS)
		memcpy(&fd, CMSG_DATA(cm), sizeof(int));
	return fd;
}

/* The other process: export, send the fd, wait for the word, exit. */
static int exporter(int sock)
{
	const struct nm_cudrv *cu = t_gpu_require();
	struct nm_area *ga = t_cuda_area(SIZE >> 16, 4, NM_CUDA_F_REQUIRE_DMABUF);
	struct nm_area_info info;
	char c;

	REQUIRE(nm_area_info(ga, &info, sizeof(info)) == 0);
	REQUIRE(cu->MemsetD8(info.io_base, FILL, SIZE) == CUDA_SUCCESS);
	REQUIRE(cu->CtxSynchronize() == CUDA_SUCCESS);
	REQUIRE(send_fd(sock, info.dmabuf_fd) == 0);
	if (read(sock, &c, 1) != 1)
		return 1;
	/* Gone: the process ends with the area and its memory live, as a
	 * crashing exporter would. */
	_exit(0);
}

static void other_process(const char *self)
{
	int sv[2], fd, st;
	char arg[16];
	pid_t pid;
	struct nm_area *a;

	REQUIRE(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);	/* sv[1] inherited */
	snprintf(arg, sizeof(arg), "%d", sv[1]);
	fflush(NULL);
	pid = fork();
	REQUIRE(pid >= 0);
	if (pid == 0) {
		execl("/proc/self/exe", self, "--exporter", arg, (char *)NULL);
		_exit(127);
	}
	close(sv[1]);
	fd = recv_fd(sv[0]);
	CHECK(fd >= 0);
	if (fd < 0) {
		waitpid(pid, &st, 0);
		return;
	}
	printf("other process: got dmabuf fd %d from pid %d over SCM_RIGHTS\n", fd, (int)pid);
	a = check_import(fd, SIZE, "other process");
	close(fd);	/* the area keeps its own */
	/* The exporter goes away. */
	REQUIRE(write(sv[0], "x", 1) == 1);
	REQUIRE(waitpid(pid, &st, 0) == pid);
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	printf("other process: exporter exited (status %d)\n", st);
	close(sv[0]);
	if (a) {
		struct nm_area_info info;

		/* The dmabuf is reference-counted: it outlives the exporting
		 * process; only its owner's word (a revoke) ends the import. */
		REQUIRE(nm_area_info(a, &info, sizeof(info)) == 0);
		CHECK(info.state == NM_AREA_LIVE && info.dmabuf_fd >= 0);
		if (info.dmabuf_fd >= 0)
			printf("other process: after the exporter's exit the import is live, "
			       "lseek size %lld\n", (long long)lseek(info.dmabuf_fd, 0, SEEK_END));
		revoke_import(a, "other process");
	}
}

int main(int argc, char **argv)
{
	const struct nm_cudrv *cu;
	struct nm_area *ga, *a;
	struct nm_area_info gi;
	struct nm_cuda_device_info di;

	if (argc == 3 && !strcmp(argv[1], "--exporter"))
		return exporter(atoi(argv[2]));
	cu = t_gpu_require();
	REQUIRE(nm_cuda_device_info(0, &di, sizeof(di)) == 0);
	printf("device 0: %s, dmabuf_supported %d, export API %d\n", di.name,
	       di.dmabuf_supported, di.export_api);
	ga = t_cuda_area(SIZE >> 16, 4, 0);
	REQUIRE(nm_area_info(ga, &gi, sizeof(gi)) == 0);
	printf("cuda area: %s\n", gi.detail);
	if (gi.dmabuf_fd < 0)
		SKIP("the CUDA area has no dmabuf here: %s", gi.detail);

	a = check_import(gi.dmabuf_fd, SIZE, "same process");
	cpu_map(cu, gi.dmabuf_fd, gi.io_base);

	/* The exporter goes away: GPU memory freed, its fd let go. */
	CHECK(nm_area_revoke(ga, NM_REVOKE_GONE) >= 0);
	REQUIRE(nm_area_info(ga, &gi, sizeof(gi)) == 0);
	printf("cuda area revoked GONE: state %d, its dmabuf fd %d\n", (int)gi.state,
	       gi.dmabuf_fd);
	if (a)
		revoke_import(a, "same process");
	CHECK_EQ(nm_area_destroy(ga), 0);

	other_process(argv[0]);
	return t_done();
}

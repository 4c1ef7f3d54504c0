/* SPDX-License-Identifier: MIT */
/*
 * The stats server (nm_stats_srv_*, netmem.h) as a user sees it: the
 * figures it serves are the pool's and area's (JSON, Prometheus, text),
 * the socket file is owner-only and goes away with the server, a stale
 * socket is replaced and a live one is not, bad arguments give their
 * documented errno, and clients that send nothing, garbage or a megabyte
 * are answered or dropped while the pool's owner keeps allocating (a
 * thread beside the server, which TSan watches).
 */
#include "harness.h"
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <time.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static int dial(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	socklen_t len = sizeof(sa);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	REQUIRE(fd >= 0);
	if (path[0] == '@') {
		memcpy(sa.sun_path + 1, path + 1, strlen(path) - 1);
		len = offsetof(struct sockaddr_un, sun_path) + strlen(path);
	} else {
		snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	}
	if (connect(fd, (struct sockaddr *)&sa, len)) {
		close(fd);
		return -errno;
	}
	return fd;
}

/* Everything @fd says until EOF or @secs, into @buf. */
static size_t slurp(int fd, char *buf, size_t cap, double secs)
{
	double end = now() + secs;
	size_t len = 0;

	while (len + 1 < cap) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		int left = (int)((end - now()) * 1000);
		ssize_t n;

		if (left <= 0 || poll(&p, 1, left) <= 0)
			break;
		n = read(fd, buf + len, cap - 1 - len);
		if (n <= 0)
			break;
		len += n;
	}
	buf[len] = 0;
	return len;
}

/* Ask @path for @req; the answer in @buf (empty when refused). */
static size_t ask(const char *path, const char *req, char *buf, size_t cap)
{
	int fd = dial(path);

	buf[0] = 0;
	if (fd < 0)
		return 0;
	if (write(fd, req, strlen(req)) != (ssize_t)strlen(req)) {
		close(fd);
		return 0;
	}
	if (!strchr(req, '\n'))
		shutdown(fd, SHUT_WR);	/* EOF ends the request */
	size_t n = slurp(fd, buf, cap, 20);
	close(fd);
	return n;
}

struct churn {
	struct nm_pool *pool;
	atomic_bool stop;
	atomic_ulong rounds;
};

/* The pool's owner, as a receive queue would be: alloc and put, never
 * waiting on the server. */
static void *churn_fn(void *arg)
{
	struct churn *c = arg;
	struct nm_buf b[8];

	nm_pool_set_owner(c->pool);
	while (!atomic_load(&c->stop)) {
		int n = nm_pool_alloc_bulk(c->pool, b, 8);
		if (n > 0)
			nm_pool_put_bulk(c->pool, b, n);
		atomic_fetch_add(&c->rounds, 1);
	}
	return NULL;
}

static void bad_args(struct nm_area *area, struct nm_pool *pool)
{
	char longp[200];
	struct {
		struct nm_stats_srv_opts o;
		char tail[8];
	} big = { .o = { .sz = sizeof(big) }, .tail = { 1 } };

	errno = 0;
	NM_OPTS(nm_stats_srv_opts, f, .flags = 1);
	CHECK(!nm_stats_srv_create(&f) && errno == EINVAL);
	NM_OPTS(nm_stats_srv_opts, m, .max_clients = 65);
	CHECK(!nm_stats_srv_create(&m) && errno == EINVAL);
	NM_OPTS(nm_stats_srv_opts, e, .path = "");
	CHECK(!nm_stats_srv_create(&e) && errno == EINVAL);
	NM_OPTS(nm_stats_srv_opts, at, .path = "@");
	CHECK(!nm_stats_srv_create(&at) && errno == EINVAL);
	CHECK(!nm_stats_srv_create(&big.o) && errno == E2BIG);
	memset(longp, 'x', sizeof(longp) - 1);
	longp[0] = '/';
	longp[sizeof(longp) - 1] = 0;
	NM_OPTS(nm_stats_srv_opts, l, .path = longp);
	CHECK(!nm_stats_srv_create(&l) && errno == ENAMETOOLONG);
	NM_OPTS(nm_stats_srv_opts, nodir, .path = "/nonexistent-dir/x.sock");
	CHECK(!nm_stats_srv_create(&nodir) && errno == ENOENT);

	CHECK_EQ(nm_stats_srv_add_pool(NULL, pool, "p", 0), -EINVAL);
	CHECK_EQ(nm_stats_srv_add_area(NULL, area, "a"), -EINVAL);
	CHECK_EQ(nm_stats_srv_add_rx(NULL, NULL, "r"), -EINVAL);
	CHECK_EQ(nm_stats_srv_remove(NULL, pool), -EINVAL);
	CHECK_EQ(nm_stats_srv_destroy(NULL), -EINVAL);
	CHECK(nm_stats_srv_path(NULL) == NULL);
	CHECK_EQ(nm_stats_srv_format(NULL, NM_STATS_JSON, NULL, 0), -EINVAL);
}

int main(void)
{
	struct nm_area *area = t_host_area(64, 0);
	NM_OPTS(nm_pool_opts, po, .name = "t");
	struct nm_pool *pool = nm_pool_create(area, &po);
	char path[100], buf[1 << 16], *big;
	struct nm_stats_srv *srv;
	struct nm_buf held[3];
	struct churn ch = { 0 };
	pthread_t thr;
	struct stat st;
	int fd, idle[4];

	REQUIRE(pool);
	bad_args(area, pool);

	/* A file path: 0600, our own, gone after destroy. */
	snprintf(path, sizeof(path), "/tmp/netmem-test-stat-%d.sock", (int)getpid());
	NM_OPTS(nm_stats_srv_opts, so, .path = path, .timeout_ms = 500, .max_clients = 2);
	srv = nm_stats_srv_create(&so);
	REQUIRE(srv);
	CHECK(!strcmp(nm_stats_srv_path(srv), path));
	REQUIRE(!lstat(path, &st));
	CHECK(S_ISSOCK(st.st_mode));
	CHECK_EQ(st.st_mode & 0777, 0600);
	CHECK_EQ(st.st_uid, geteuid());
	CHECK_EQ(nm_stats_srv_add_pool(srv, pool, "rx", 0), 0);
	CHECK_EQ(nm_stats_srv_add_pool(srv, pool, "rx", 0), -EEXIST);
	CHECK_EQ(nm_stats_srv_add_pool(srv, pool, "rx", -2), -EINVAL);
	CHECK_EQ(nm_stats_srv_add_area(srv, area, "mem"), 0);
	CHECK_EQ(nm_stats_srv_format(srv, (enum nm_stats_fmt)3, buf, sizeof(buf)), -EINVAL);

	/* A second server at a live path is refused; a file that is not a
	 * socket is left alone. */
	errno = 0;
	CHECK(!nm_stats_srv_create(&so) && errno == EADDRINUSE);

	/* The figures are the pool's: 3 chunks held, 3 fast allocs after a
	 * slow one or more. */
	for (int i = 0; i < 3; i++)
		REQUIRE(!nm_pool_alloc(pool, &held[i]));
	ask(path, "json\n", buf, sizeof(buf));
	CHECK(strstr(buf, "\"pools\":[{\"label\":\"rx\",\"queue\":0,\"area\":") != NULL);
	CHECK_EQ(t_json_u(buf, "inflight"), 3);
	CHECK_EQ(t_json_u(buf, "inflight_bytes"), 3 * 4096);
	CHECK_EQ(t_json_u(buf, "alloc_fast") + t_json_u(buf, "alloc_slow"), 3);
	CHECK_EQ(t_json_u(buf, "outstanding"), t_json_u(buf, "held"));
	CHECK(strstr(buf, "\"provider\":\"host\"") != NULL);
	CHECK(strstr(buf, "\"state\":\"live\"") != NULL);
	CHECK(strstr(buf, "\"revoked\":false") != NULL);
	if (!strstr(buf, "\"inflight\":3"))
		fprintf(stderr, "json: %s\n", buf);
	ask(path, "prom\n", buf, sizeof(buf));
	CHECK(strstr(buf, "# TYPE netmem_pool_alloc_fast_total counter\n") != NULL);
	CHECK(strstr(buf, "netmem_pool_inflight{pool=\"rx\",queue=\"0\",area=\"") != NULL);
	CHECK(strstr(buf, "netmem_pool_inflight_bytes{pool=\"rx\"") != NULL);
	CHECK(strstr(buf, "netmem_area_chunks{area=\"mem\",provider=\"host\"") != NULL);
	ask(path, "\n", buf, sizeof(buf));
	CHECK(strstr(buf, "pool rx queue 0") != NULL);
	CHECK(strstr(buf, "in flight 3 (12288 bytes)") != NULL);
	CHECK(nm_stats_srv_format(srv, NM_STATS_TEXT, buf, sizeof(buf)) > 0);
	CHECK(strstr(buf, "in flight 3 (12288 bytes)") != NULL);
	/* truncated as snprintf: the whole length is returned */
	CHECK(nm_stats_srv_format(srv, NM_STATS_JSON, buf, 8) > 8 && strlen(buf) == 7);
	for (int i = 0; i < 3; i++)
		nm_pool_put(pool, &held[i]);

	/* Hostile clients, while the owner thread allocates. */
	ch.pool = pool;
	REQUIRE(!pthread_create(&thr, NULL, churn_fn, &ch));
	ask(path, "gopher://\n", buf, sizeof(buf));
	CHECK(strstr(buf, "error: unknown request") == buf);
	/* a megabyte: answered after 64 bytes, never read to the end */
	big = malloc(1 << 20);
	REQUIRE(big);
	memset(big, 'A', 1 << 20);
	fd = dial(path);
	REQUIRE(fd >= 0);
	fcntl(fd, F_SETFL, O_NONBLOCK);
	{
		size_t sent = 0;
		double end = now() + 20;
		while (sent < (1u << 20) && now() < end) {
			ssize_t n = send(fd, big + sent, (1 << 20) - sent, MSG_NOSIGNAL);
			if (n > 0) {
				sent += n;
				continue;
			}
			if (errno != EAGAIN)
				break;	/* dropped by the server: what we want */
			struct pollfd p = { .fd = fd, .events = POLLOUT };
			poll(&p, 1, 100);
		}
		CHECK(sent < (1u << 20));
	}
	fcntl(fd, F_SETFL, 0);
	slurp(fd, buf, sizeof(buf), 20);
	CHECK(strstr(buf, "error: request too long") != NULL);
	close(fd);
	free(big);
	/* every slot held by clients that say nothing: they are dropped at
	 * their deadline and a real request is answered after them */
	for (int i = 0; i < 4; i++)
		idle[i] = dial(path);
	CHECK(idle[0] >= 0 && idle[1] >= 0);
	ask(path, "json\n", buf, sizeof(buf));
	CHECK(strstr(buf, "\"pools\":[{") != NULL);
	for (int i = 0; i < 2; i++) {
		/* the server closed it: EOF (or a reset), not a hang */
		CHECK_EQ(slurp(idle[i], buf, sizeof(buf), 20), 0);
	}
	for (int i = 0; i < 4; i++)
		if (idle[i] >= 0)
			close(idle[i]);
	/* a client that asks and never reads, and one that closes at once */
	fd = dial(path);
	CHECK(write(fd, "json\n", 5) == 5);
	close(dial(path));
	ask(path, "text\n", buf, sizeof(buf));
	CHECK(strstr(buf, "netmem stats: pid") == buf);
	atomic_store(&ch.stop, true);
	pthread_join(thr, NULL);
	close(fd);
	CHECK(atomic_load(&ch.rounds) > 0);

	CHECK_EQ(nm_stats_srv_remove(srv, pool), 0);
	CHECK_EQ(nm_stats_srv_remove(srv, pool), -ENOENT);
	ask(path, "json\n", buf, sizeof(buf));
	CHECK(strstr(buf, "\"pools\":[]") != NULL);
	CHECK_EQ(nm_stats_srv_destroy(srv), 0);
	CHECK(lstat(path, &st) && errno == ENOENT);

	/* A stale socket of ours (no listener) is replaced. */
	{
		struct sockaddr_un sa = { .sun_family = AF_UNIX };
		int s = socket(AF_UNIX, SOCK_STREAM, 0);
		snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
		REQUIRE(!bind(s, (struct sockaddr *)&sa, sizeof(sa)));
		close(s);
		srv = nm_stats_srv_create(&so);
		CHECK(srv != NULL);
		nm_stats_srv_destroy(srv);
	}
	/* A regular file is not ours to remove. */
	fd = open(path, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
	REQUIRE(fd >= 0);
	close(fd);
	errno = 0;
	CHECK(!nm_stats_srv_create(&so) && errno == EEXIST);
	CHECK(!lstat(path, &st) && S_ISREG(st.st_mode));
	unlink(path);

	/* Abstract name, default opts otherwise. */
	snprintf(path, sizeof(path), "@netmem-test-stat-%d", (int)getpid());
	NM_OPTS(nm_stats_srv_opts, ao, .path = path);
	srv = nm_stats_srv_create(&ao);
	REQUIRE(srv);
	ask(path, "json", buf, sizeof(buf));	/* no newline: EOF ends it */
	CHECK(strstr(buf, "{\"pid\":") == buf);
	nm_stats_srv_destroy(srv);
	/* The default path: ours, in $XDG_RUNTIME_DIR or /tmp. */
	srv = nm_stats_srv_create(NULL);
	REQUIRE(srv);
	CHECK(strstr(nm_stats_srv_path(srv), "/netmem-") != NULL);
	snprintf(path, sizeof(path), "%s", nm_stats_srv_path(srv));
	nm_stats_srv_destroy(srv);
	CHECK(access(path, F_OK));

	nm_pool_destroy(pool);
	nm_area_destroy(area);
	return t_done();
}

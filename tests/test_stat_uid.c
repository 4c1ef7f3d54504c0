/* SPDX-License-Identifier: MIT */
/*
 * Only the receiver's own user reads its live stats.  `netmem rx` runs as
 * root; a forked child that became nobody asks it, once through the
 * default socket file (refused by its 0600 mode: EACCES at connect) and
 * once through an abstract socket, which has no file mode, so the
 * server's SO_PEERCRED check must refuse it.  Root is answered on both,
 * before and after.  Needs root (setuid); skips otherwise.
 */
#include "cli_util.h"
#include <grp.h>
#include <pwd.h>
#include <sys/socket.h>
#include <sys/un.h>

enum { GOT_STATS = 10, REFUSED_CONNECT, REFUSED_SERVER, OTHER };

/* In a child that has become @uid: ask @path for stats.  Exit status:
 * what happened (the enum above). */
static int ask_as(uid_t uid, gid_t gid, const char *path)
{
	pid_t pid = fork();
	int st;

	REQUIRE(pid >= 0);
	if (pid == 0) {
		struct sockaddr_un sa = { .sun_family = AF_UNIX };
		socklen_t len = sizeof(sa);
		char buf[4096];
		size_t n = 0;
		int fd;

		if (setgroups(0, NULL) || setgid(gid) || setuid(uid) || getuid() != uid)
			_exit(OTHER);
		if (path[0] == '@') {
			memcpy(sa.sun_path + 1, path + 1, strlen(path) - 1);
			len = offsetof(struct sockaddr_un, sun_path) + strlen(path);
		} else {
			snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
		}
		fd = socket(AF_UNIX, SOCK_STREAM, 0);
		if (fd < 0)
			_exit(OTHER);
		if (connect(fd, (struct sockaddr *)&sa, len))
			_exit(errno == EACCES ? REFUSED_CONNECT : OTHER);
		if (write(fd, "json\n", 5) != 5) {
			/* refused before the request went out: read what it said */
		}
		n = t_read_into(fd, buf, sizeof(buf), 0, 20);
		if (strstr(buf, "\"pools\":"))
			_exit(GOT_STATS);
		_exit(strstr(buf, "error: permission denied") || !n ? REFUSED_SERVER : OTHER);
	}
	REQUIRE(waitpid(pid, &st, 0) == pid);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* Start `netmem rx` with @extra args; the stats socket's path. */
static pid_t start_rx(const char *bin, const char *extra[2], char *path, size_t plen)
{
	static char log[8192];
	const char *argv[] = { bin, "rx", "--listen", "127.0.0.1:0", "--timeout", "60",
			       extra[0], extra[1], NULL };
	int err_fd;
	pid_t pid = t_spawn(argv, NULL, NULL, &err_fd);
	size_t len;
	const char *l;
	double end = t_now() + 30;

	REQUIRE(t_rx_port(err_fd, log, sizeof(log), 30) > 0);
	len = strlen(log);
	while (!(l = strstr(log, "live stats: netmem stat ")) || !strchr(l, '\n')) {
		REQUIRE(t_now() < end);
		len = t_read_into(err_fd, log, sizeof(log), len, 0.2);
	}
	l += strlen("live stats: netmem stat ");
	snprintf(path, plen, "%.*s", (int)(strchr(l, '\n') - l), l);
	return pid;
}

int main(void)
{
	const char *bin = t_netmem();
	struct passwd *nobody;
	char path[256], abs_name[64];
	pid_t rx;

	if (geteuid() != 0)
		SKIP("needs root to become another user (setuid)");
	nobody = getpwnam("nobody");
	if (!nobody || nobody->pw_uid == 0)
		SKIP("no unprivileged 'nobody' user");

	/* The default socket file: 0600, so nobody cannot even connect. */
	rx = start_rx(bin, (const char *[2]){ NULL, NULL }, path, sizeof(path));
	CHECK_EQ(ask_as(0, 0, path), GOT_STATS);
	CHECK_EQ(ask_as(nobody->pw_uid, nobody->pw_gid, path), REFUSED_CONNECT);
	CHECK_EQ(ask_as(0, 0, path), GOT_STATS);
	kill(rx, SIGTERM);
	CHECK(t_wait(rx, 30) >= 0);

	/* An abstract socket: anyone may connect; the peer check refuses. */
	snprintf(abs_name, sizeof(abs_name), "@netmem-test-uid-%d", (int)getpid());
	rx = start_rx(bin, (const char *[2]){ "--stats-socket", abs_name }, path, sizeof(path));
	CHECK(!strcmp(path, abs_name));
	CHECK_EQ(ask_as(0, 0, path), GOT_STATS);
	CHECK_EQ(ask_as(nobody->pw_uid, nobody->pw_gid, path), REFUSED_SERVER);
	CHECK_EQ(ask_as(0, 0, path), GOT_STATS);
	kill(rx, SIGTERM);
	CHECK(t_wait(rx, 30) >= 0);
	return t_done();
}

/* SPDX-License-Identifier: MIT */
/*
 * stat.c - `netmem stat [PID|SOCKET] [--json|--prom]`: ask a running
 * receiver (`netmem rx`, or any program that called nm_stats_srv_create)
 * for its pools', areas' and receivers' figures, the way
 * `ynl --family netdev --dump page-pool-stats-get` reads the kernel's
 * page pools.
 *
 * Which process: a PID names its socket in $XDG_RUNTIME_DIR or /tmp
 * (netmem-PID.sock); a path or "@NAME" (abstract) names a socket; with
 * neither, the one live netmem-*.sock of this user there.  The server
 * answers its own user only, so another user's receiver is refused.
 * The document (text, one JSON object, or Prometheus text format) is the
 * server's, printed as it comes.  Exit status: 0; 1 when there is no
 * such receiver, it refused or did not answer; 2 for bad arguments.
 */
#include <dirent.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include "txrx.h"
#include "cmds.h"
#include "opts.h"

enum { O_JSON = 1, O_PROM, O_TEXT, O_TIMEOUT, O_HELP };

static const struct nm_opt stat_opts[] = {
	NM_OPT(O_JSON, 'J', "--json", NULL, "one JSON object"),
	NM_OPT(O_PROM, 0, "--prom", NULL, "Prometheus text exposition format (for a textfile collector)"),
	NM_OPT(O_TEXT, 0, "--text", NULL, "lines for people (the default)"),
	NM_OPT(O_TIMEOUT, 0, "--timeout", "SECS", "wait this long for the answer (default 10)"),
	NM_OPT(O_HELP, 'h', "--help", NULL, "this text"),
	{ 0 },
};

const struct nm_cmd nm_cmd_stat = {
	.name = "stat",
	.synopsis = "[PID|SOCKET] [--json|--prom]",
	.summary = "Live figures of a running receiver's pools, areas and queues.",
	.positional = "[PID|SOCKET]",
	.opts = stat_opts,
	.footer = "PID: its socket in $XDG_RUNTIME_DIR or /tmp (netmem-PID.sock); SOCKET: a path,\n"
		  "or @NAME for an abstract one; neither: this user's one running receiver.\n"
		  "Only the receiver's own user is answered.\n"
		  "Exit: 0; 1 when no receiver answered; 2 for bad arguments.\n",
};

/* The directories a default socket lies in, XDG's first. */
static int stat_dirs(const char *dirs[2])
{
	const char *x = getenv("XDG_RUNTIME_DIR");
	int n = 0;

	if (x && x[0] == '/')
		dirs[n++] = x;
	dirs[n++] = "/tmp";
	return n;
}

/* Whether @path is a socket of ours whose process (its name's PID) runs. */
static bool live_sock(const char *path, long pid)
{
	struct stat st;

	return !lstat(path, &st) && S_ISSOCK(st.st_mode) && st.st_uid == geteuid() &&
	       (kill((pid_t)pid, 0) == 0 || errno == EPERM);
}

/* No PID or path given: this user's one live receiver. */
static int find_default(char *path, size_t len)
{
	const char *dirs[2];
	int nd = stat_dirs(dirs), found = 0;
	char cand[512], list[512] = "";

	for (int d = 0; d < nd; d++) {
		DIR *dir = opendir(dirs[d]);
		struct dirent *e;

		if (!dir)
			continue;
		while ((e = readdir(dir))) {
			char *end;
			long pid;

			if (strncmp(e->d_name, "netmem-", 7))
				continue;
			pid = strtol(e->d_name + 7, &end, 10);
			if (pid <= 0 || strcmp(end, ".sock"))
				continue;
			snprintf(cand, sizeof(cand), "%s/%s", dirs[d], e->d_name);
			if (!live_sock(cand, pid) || (found && !strcmp(cand, path)))
				continue;
			if (!found++)
				snprintf(path, len, "%s", cand);
			snprintf(list + strlen(list), sizeof(list) - strlen(list), " %ld", pid);
		}
		closedir(dir);
	}
	if (!found) {
		fprintf(stderr, "netmem stat: no running receiver of yours found in %s%s%s "
			"(netmem rx serves stats unless --no-stats; name a SOCKET otherwise)\n",
			dirs[0], nd > 1 ? " or " : "", nd > 1 ? dirs[1] : "");
		return 1;
	}
	if (found > 1) {
		fprintf(stderr, "netmem stat: %d receivers are running (PIDs%s): name one\n",
			found, list);
		return 2;
	}
	return 0;
}

static int pid_path(const char *arg, char *path, size_t len)
{
	const char *dirs[2];
	int nd = stat_dirs(dirs);

	for (int d = 0; d < nd; d++) {
		snprintf(path, len, "%s/netmem-%s.sock", dirs[d], arg);
		if (!access(path, F_OK))
			return 0;
	}
	fprintf(stderr, "netmem stat: no stats socket for PID %s (netmem-%s.sock in %s%s%s)\n",
		arg, arg, dirs[0], nd > 1 ? " or " : "", nd > 1 ? dirs[1] : "");
	return 1;
}

/* Connect, waiting while the server's slots and backlog are full. */
static int dial(const char *path, double deadline)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	size_t plen = strlen(path);
	socklen_t salen = sizeof(sa);

	if (plen >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	if (path[0] == '@') {
		memcpy(sa.sun_path + 1, path + 1, plen - 1);
		salen = offsetof(struct sockaddr_un, sun_path) + plen;
	} else {
		memcpy(sa.sun_path, path, plen);
	}
	for (;;) {
		int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0), err;

		if (fd < 0)
			return -errno;
		if (!connect(fd, (struct sockaddr *)&sa, salen))
			return fd;
		err = errno;
		close(fd);
		if (err != EAGAIN || nm_now() >= deadline)
			return -err;
		usleep(20000);
	}
}

/* Send @req, copy the answer to stdout.  Return the exit status. */
static int query(const char *path, const char *req, double secs)
{
	double deadline = nm_now() + secs;
	char buf[65536];
	size_t total = 0;
	bool err_doc = false;
	int fd = dial(path, deadline);

	if (fd < 0) {
		fprintf(stderr, "netmem stat: %s: %s%s\n", path, strerror(-fd),
			fd == -EACCES ? " (only the receiver's own user may read its stats)" :
			fd == -ECONNREFUSED || fd == -ENOENT ? " (is the receiver running?)" : "");
		return 1;
	}
	if (send(fd, req, strlen(req), MSG_NOSIGNAL) != (ssize_t)strlen(req)) {
		fprintf(stderr, "netmem stat: %s: %s\n", path, strerror(errno));
		close(fd);
		return 1;
	}
	for (;;) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		int left = (int)((deadline - nm_now()) * 1000);
		ssize_t n;

		if (left <= 0 || poll(&p, 1, left) <= 0) {
			fprintf(stderr, "netmem stat: %s: no answer within %.0f s\n", path, secs);
			close(fd);
			return 1;
		}
		n = read(fd, buf, sizeof(buf));
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (n <= 0)
			break;
		if (!total && n >= 7 && !memcmp(buf, "error: ", 7))
			err_doc = true;
		fwrite(buf, 1, n, err_doc ? stderr : stdout);
		total += n;
	}
	close(fd);
	if (!total) {
		fprintf(stderr, "netmem stat: %s: the server closed without answering\n", path);
		return 1;
	}
	if (fflush(stdout)) {
		fprintf(stderr, "netmem stat: stdout: %s\n", strerror(errno));
		return 1;
	}
	return err_doc ? 1 : 0;
}

int cmd_stat(int argc, char **argv)
{
	const char *target = NULL, *req = "text\n";
	char path[512];
	double secs = 10;
	int rc;

	for (int i = 1; i < argc; i++) {
		const char *val;
		int k = nm_opt_parse(&nm_cmd_stat, argc, argv, &i, &val);

		switch (k) {
		case O_JSON: req = "json\n"; break;
		case O_PROM: req = "prom\n"; break;
		case O_TEXT: req = "text\n"; break;
		case O_TIMEOUT:
			if (nm_parse_secs(val, &secs)) {
				fprintf(stderr, "netmem stat: --timeout '%s': expected seconds > 0\n", val);
				return 2;
			}
			break;
		case O_HELP:
			nm_opt_usage(&nm_cmd_stat, stdout);
			return 0;
		case NM_OPT_POSITIONAL:
			if (target) {
				fprintf(stderr, "netmem stat: one PID or SOCKET, not '%s' too\n", val);
				return 2;
			}
			target = val;
			break;
		default:
			nm_opt_usage(&nm_cmd_stat, stderr);
			return 2;
		}
	}
	if (!target)
		rc = find_default(path, sizeof(path));
	else if (target[strspn(target, "0123456789")] == 0)
		rc = pid_path(target, path, sizeof(path));
	else
		rc = snprintf(path, sizeof(path), "%s", target) >= (int)sizeof(path) ? 2 : 0;
	if (rc)
		return rc;
	return query(path, req, secs);
}

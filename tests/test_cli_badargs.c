/* SPDX-License-Identifier: MIT */
/*
 * Bad arguments to `netmem rx`, `netmem tx`, `netmem bench rx`, `netmem bench pkt` and
 * `netmem bench pool` end at once with a non-zero status (2 for a usage
 * error, 1 for a setup failure such as a refused connect or a port in use)
 * and a message on stderr that names what was wrong; none of them hangs or
 * starts receiving.
 */
#include "cli_util.h"
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

static const char *bin;

/* Run @args (NULL-terminated, after the binary); expect status @want and
 * @needle in stderr. */
static void expect(int want, const char *needle, const char *const args[])
{
	const char *argv[32];
	char log[8192];
	int n = 0, err_fd, rc;
	pid_t pid;

	argv[n++] = bin;
	for (int i = 0; args[i]; i++)
		argv[n++] = args[i];
	argv[n] = NULL;
	pid = t_spawn(argv, NULL, NULL, &err_fd);
	t_read_into(err_fd, log, sizeof(log), 0, 15);
	rc = t_wait(pid, 15);
	close(err_fd);
	if (rc != want || !strstr(log, needle)) {
		fprintf(stderr, "netmem");
		for (int i = 0; args[i]; i++)
			fprintf(stderr, " %s", args[i]);
		fprintf(stderr, ": exit %d (expected %d), stderr%s '%s':\n%s\n", rc, want,
			strstr(log, needle) ? " has" : " lacks", needle, log);
	}
	CHECK_EQ(rc, want);
	CHECK(strstr(log, needle) != NULL);
}

#define E(want, needle, ...) expect(want, needle, (const char *const[]){ __VA_ARGS__, NULL })

/* A port with a listener nobody accepts on (for "in use"), and one that
 * refuses (bound, not listening: nothing else can take it meanwhile). */
static int bound_port(bool do_listen, int *fd)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(a);

	*fd = socket(AF_INET, SOCK_STREAM, 0);
	REQUIRE(*fd >= 0);
	REQUIRE(!bind(*fd, (struct sockaddr *)&a, sizeof(a)));
	if (do_listen)
		REQUIRE(!listen(*fd, 1));
	REQUIRE(!getsockname(*fd, (struct sockaddr *)&a, &len));
	return ntohs(a.sin_port);
}

int main(void)
{
	char busy[32], refused[32];
	int fd_busy, fd_ref;

	bin = t_netmem();
	snprintf(busy, sizeof(busy), "127.0.0.1:%d", bound_port(true, &fd_busy));
	snprintf(refused, sizeof(refused), "127.0.0.1:%d", bound_port(false, &fd_ref));

	/* rx: usage errors */
	E(2, "--listen HOST:PORT is required", "rx");
	E(2, "expected HOST:PORT", "rx", "--listen", "127.0.0.1");
	E(2, "bad port", "rx", "--listen", "127.0.0.1:99999");
	E(2, "bad port", "rx", "--listen", "127.0.0.1:http");
	E(2, "unknown option '--bogus'", "rx", "--listen", "127.0.0.1:0", "--bogus");
	E(2, "unexpected argument 'extra'", "rx", "--listen", "127.0.0.1:0", "extra");
	E(2, "--out needs a value", "rx", "--listen", "127.0.0.1:0", "--out");
	E(2, "no such engine", "rx", "--listen", "127.0.0.1:0", "--engine", "carrier-pigeon");
	E(2, "--chunk-order '42'", "rx", "--listen", "127.0.0.1:0", "--chunk-order", "42");
	E(2, "--queues '0'", "rx", "--listen", "127.0.0.1:0", "--queues", "0");
	E(2, "--queues 'many'", "rx", "--listen", "127.0.0.1:0", "--queues", "many");
	E(2, "--verify 'crc'", "rx", "--listen", "127.0.0.1:0", "--verify", "crc");
	E(2, "--verify 'random:'", "rx", "--listen", "127.0.0.1:0", "--verify", "random:");
	E(2, "--expect goes with --once", "rx", "--listen", "127.0.0.1:0", "--expect", "2");
	E(2, "power of 2", "rx", "--listen", "127.0.0.1:0", "--ring", "100");
	E(2, "larger than a chunk", "rx", "--listen", "127.0.0.1:0", "--buf-size", "1M");
	E(2, "--timeout '-1'", "rx", "--listen", "127.0.0.1:0", "--timeout", "-1");
	E(2, "--out takes one connection", "rx", "--listen", "127.0.0.1:0", "--out",
	  "/dev/null", "--queues", "2");
	E(2, "--provider 'floppy': no such provider", "rx", "--listen", "127.0.0.1:0",
	  "--provider", "floppy");
	/* rx: setup failures */
	E(1, "--out /nonexistent/dir/file", "rx", "--listen", "127.0.0.1:0", "--out",
	  "/nonexistent/dir/file");
	E(1, "Address already in use", "rx", "--listen", busy);

	/* tx */
	E(2, "--connect HOST:PORT is required", "tx", "--bytes", "1M");
	E(2, "give one of --bytes N or --seconds T", "tx", "--connect", refused);
	E(2, "give one of --bytes N or --seconds T", "tx", "--connect", refused, "--bytes", "1M",
	  "--seconds", "1");
	E(2, "--bytes '-5'", "tx", "--connect", refused, "--bytes", "-5");
	E(2, "--bytes '12Q'", "tx", "--connect", refused, "--bytes", "12Q");
	E(2, "--msg-size '0'", "tx", "--connect", refused, "--bytes", "1M", "--msg-size", "0");
	E(2, "--msg-size '5:3'", "tx", "--connect", refused, "--bytes", "1M", "--msg-size", "5:3");
	E(2, "--msg-size '32M'", "tx", "--connect", refused, "--bytes", "1M", "--msg-size", "32M");
	E(2, "--conns '0'", "tx", "--connect", refused, "--bytes", "1M", "--conns", "0");
	E(2, "--pattern random needs a SEED", "tx", "--connect", refused, "--bytes", "1M",
	  "--pattern", "random");
	E(2, "--pattern 'zeros'", "tx", "--connect", refused, "--bytes", "1M", "--pattern", "zeros");
	E(2, "expected HOST:PORT", "tx", "--connect", "localhost", "--bytes", "1M");
	E(2, "bad port", "tx", "--connect", "127.0.0.1:0", "--bytes", "1M");
	E(2, "unknown option '--colour'", "tx", "--connect", refused, "--bytes", "1M", "--colour");
	E(1, "Connection refused", "tx", "--connect", refused, "--bytes", "1M");

	/* bench rx */
	E(2, "--seconds '0'", "bench", "rx", "--seconds", "0");
	E(2, "--impl: unknown 'ftp'", "bench", "rx", "--impl", "uring,ftp");
	E(2, "unknown or incomplete option '--fast'", "bench", "rx", "--fast");
	E(2, "--conns '1025': expected 1 to 1024", "bench", "rx", "--conns", "1025", "--veth");

	/* bench pkt: options are checked before the rig (root, namespaces) */
	E(2, "--size '10'", "bench", "pkt", "--size", "10");
	E(2, "--size '64,1473'", "bench", "pkt", "--size", "64,1473");
	E(2, "--impl: unknown 'dpdk'", "bench", "pkt", "--impl", "xdp,dpdk");
	E(2, "unknown or incomplete option '--fast'", "bench", "pkt", "--fast");

	/* bench pool */
	E(2, "--reps: expected 1 to 25", "bench", "pool", "--reps", "0");
	E(2, "--reps: expected 1 to 25", "bench", "pool", "--reps", "26");
	E(2, "--reps: expected 1 to 25", "bench", "pool", "--reps");
	E(2, "unknown option '--fast'", "bench", "pool", "--fast");

	close(fd_busy);
	close(fd_ref);
	return t_done();
}

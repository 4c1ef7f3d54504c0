/* SPDX-License-Identifier: MIT */
/*
 * The receive tests' helper fails a test whose receive fails; it does not
 * hang.  A child process runs t_send_and_receive() against a receiver that
 * keeps every buffer it gets (a stand-in for a receive bug): the pool runs
 * dry, the receiver stops reading, the sender blocks in send() on a full
 * socket, and the receive gives up at its bound.  The helper must then
 * stop the sender and return, so the child reports a failed check (exit
 * 1) and cleans up.  Before, it joined the blocked sender forever and the
 * suite hung until the runner's timeout.
 */
#include "test_rx_util.h"
#include <sys/wait.h>

static int child(void)
{
	struct nm_pool *pool = t_pool(8, 4);
	struct t_rx t = { .lock = PTHREAD_MUTEX_INITIALIZER, .hold = 1 };
	NM_OPTS(nm_rx_opts, o, .engine = "socket", .pool = pool, .on_data = t_on_data,
		.on_conn = t_on_conn, .on_close = t_on_close, .user = &t);
	struct t_sender s = { .nconn = 2, .seed0 = 42, .maxmsg = 1 << 20,
			      .per_conn = 1ull << 30, .recv_ms = 300 };
	struct nm_rx *rx = nm_rx_create(&o);

	REQUIRE(rx);
	t_send_and_receive(rx, &s, &t);	/* fails: 8 chunks, never given back */
	t_release_held(&t);
	free(t.held);
	nm_rx_destroy(rx);
	t_pool_done(pool);
	printf("child: %d check(s) failed, as it should\n", nm_test_failures);
	fflush(stdout);
	return nm_test_failures ? 1 : 0;
}

int main(void)
{
	int status = 0;
	pid_t pid;

	fflush(stdout);
	pid = fork();
	REQUIRE(pid >= 0);
	if (pid == 0)
		_exit(child());
	REQUIRE(waitpid(pid, &status, 0) == pid);
	CHECK(WIFEXITED(status));
	CHECK_EQ(WEXITSTATUS(status), 1);	/* failed, and returned */
	return t_done();
}

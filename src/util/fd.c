/* SPDX-License-Identifier: MIT */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "fd.h"
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

int nm_fd_retire(int fd)
{
	int nul, err = 0;

	if (fd < 0)
		return -EBADF;
	nul = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (nul < 0)
		return -errno;
	if (dup3(nul, fd, O_CLOEXEC) < 0)
		err = -errno;
	close(nul);
	return err;
}

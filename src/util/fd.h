/* SPDX-License-Identifier: MIT */
/*
 * fd.h - file descriptor helpers shared by the providers.
 */
#ifndef NM_UTIL_FD_H
#define NM_UTIL_FD_H

/*
 * nm_fd_retire - let go of what @fd refers to (a dmabuf, a memfd) without
 * freeing the number: the descriptor is atomically made to refer to
 * /dev/null (dup3), so a thread that read the number before the revoke
 * and is about to use it reaches /dev/null, never a file opened since
 * under the same number.  The caller still closes @fd at teardown.
 * Return 0, or -errno when it could not (the fd is then left as it was,
 * still holding its file: safe, only the memory is let go later).
 */
int nm_fd_retire(int fd);
#endif

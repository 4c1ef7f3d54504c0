/* SPDX-License-Identifier: MIT */
/* providers.h - the built-in providers' ops tables, for builtin.c. */
#ifndef NM_PROVIDERS_H
#define NM_PROVIDERS_H
#include "../core/core.h"

/* Each provider file defines one of these.  They are plain references on
 * purpose: a weak undefined reference does not pull its object out of
 * libnetmem.a, so a statically linked program (the tests, the netmem
 * command) would silently lack the provider.  cuda.c always builds: it
 * loads the driver at run time and refuses cleanly without one. */
extern const struct nm_provider_ops nm_host_ops;
extern const struct nm_provider_ops nm_hugepage_ops;
extern const struct nm_provider_ops nm_memfd_ops;
extern const struct nm_provider_ops nm_dmabuf_ops;
extern const struct nm_provider_ops nm_cuda_ops;
#endif

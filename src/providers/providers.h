/* SPDX-License-Identifier: MIT */
/* providers.h - the built-in providers' tables, for builtin.c. */
#ifndef NM_PROVIDERS_H
#define NM_PROVIDERS_H
#include "../core/core.h"

/* Each provider file defines one of these.  host, hugepage, memfd and
 * dmabuf are plain references: a weak undefined reference does not pull
 * its object out of libnetmem.a, so a statically linked program (the
 * tests, the netmem command) would silently lack the provider.  cuda is
 * weak so the library builds while that file is trimmed away; builtin.c
 * registers only those linked in. */
extern const struct nm_provider_ops nm_host_ops;
extern const struct nm_provider_ops nm_hugepage_ops;
extern const struct nm_provider_ops nm_memfd_ops;
extern const struct nm_provider_ops nm_dmabuf_ops;
extern const struct nm_provider_ops nm_cuda_ops __attribute__((weak));

int nm_provider_register_builtin(const struct nm_provider_ops *ops);
#endif

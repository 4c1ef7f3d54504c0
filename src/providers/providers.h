/* SPDX-License-Identifier: MIT */
/* providers.h - the built-in providers' tables, for builtin.c. */
#ifndef NM_PROVIDERS_H
#define NM_PROVIDERS_H
#include "../core/core.h"

/* Each provider file defines one of these.  All but host are weak here so
 * that the library builds while a provider file is absent (e.g. trimmed
 * for a small system): builtin.c registers only those linked in. */
extern const struct nm_provider_ops nm_host_ops;
extern const struct nm_provider_ops nm_hugepage_ops __attribute__((weak));
extern const struct nm_provider_ops nm_memfd_ops __attribute__((weak));
extern const struct nm_provider_ops nm_dmabuf_ops __attribute__((weak));
extern const struct nm_provider_ops nm_cuda_ops __attribute__((weak));

int nm_provider_register_builtin(const struct nm_provider_ops *ops);
#endif

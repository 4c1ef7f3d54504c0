/* SPDX-License-Identifier: MIT */
/* providers.h - the built-in providers' tables, for builtin.c. */
#ifndef NM_PROVIDERS_H
#define NM_PROVIDERS_H
#include "../core/core.h"

extern const struct nm_provider_ops nm_host_ops;

int nm_provider_register_builtin(const struct nm_provider_ops *ops);
#endif

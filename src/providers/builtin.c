/* SPDX-License-Identifier: MIT */
/*
 * builtin.c - the providers that come with the library: a table, which
 * provider.c walks to register them on first use.  The registry reads it;
 * nothing here calls back into the registry.
 */
#include "providers.h"

const struct nm_provider_ops *const nm_builtin_providers[] = {
	&nm_host_ops, &nm_hugepage_ops, &nm_memfd_ops, &nm_dmabuf_ops,
	&nm_cuda_ops,
};
const unsigned int nm_nr_builtin_providers =
	sizeof(nm_builtin_providers) / sizeof(nm_builtin_providers[0]);

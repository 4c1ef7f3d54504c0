/* SPDX-License-Identifier: MIT */
/* builtin.c - the providers that come with the library. */
#include "providers.h"

void nm_providers_builtin(void)
{
	const struct nm_provider_ops *const builtins[] = {
		&nm_host_ops, &nm_hugepage_ops, &nm_memfd_ops, &nm_dmabuf_ops,
		&nm_cuda_ops,
	};
	for (size_t i = 0; i < sizeof(builtins) / sizeof(builtins[0]); i++)
		if (builtins[i])
			nm_provider_register_builtin(builtins[i]);
}

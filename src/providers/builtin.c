/* SPDX-License-Identifier: MIT */
/* builtin.c - the providers that come with the library. */
#include "providers.h"

void nm_providers_builtin(void)
{
	static const struct nm_provider_ops *const builtins[] = {
		&nm_host_ops,
	};
	for (size_t i = 0; i < sizeof(builtins) / sizeof(builtins[0]); i++)
		nm_provider_register_builtin(builtins[i]);
}

/* SPDX-License-Identifier: MIT */
/*
 * provider.c - the provider registry.  Tables are checked once, here, so
 * the slow paths that call them need not check slots again (DPDK's
 * rte_mempool_register_ops does the same).  Built-in providers are
 * registered on first use, from builtin.c's table.
 */
#include "core.h"
#include <errno.h>
#include <string.h>

#define NM_MAX_PROVIDERS 32

static pthread_mutex_t reg_lock = PTHREAD_MUTEX_INITIALIZER;
static const struct nm_provider_ops *reg[NM_MAX_PROVIDERS];
static int reg_count;
static pthread_once_t builtin_once = PTHREAD_ONCE_INIT;

static int check_ops(const struct nm_provider_ops *ops)
{
	size_t len;

	if (!ops || !ops->name)
		return -EINVAL;
	len = strnlen(ops->name, 32);
	if (len == 0 || len > 31)
		return -EINVAL;
	for (size_t i = 0; i < len; i++) {
		char c = ops->name[i];
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		      c == '_' || c == '-'))
			return -EINVAL;
	}
	if (ops->flags & ~NM_PROV_F_DEVICE)
		return -EINVAL;
	if (!ops->area_init || !ops->area_fini || !ops->alloc_bulk ||
	    !ops->release)
		return -EINVAL;
	return 0;
}

static int do_register(const struct nm_provider_ops *ops)
{
	int err = check_ops(ops);
	if (err)
		return err;
	pthread_mutex_lock(&reg_lock);
	for (int i = 0; i < reg_count; i++) {
		if (reg[i] == ops || !strcmp(reg[i]->name, ops->name)) {
			pthread_mutex_unlock(&reg_lock);
			return -EEXIST;
		}
	}
	if (reg_count == NM_MAX_PROVIDERS) {
		pthread_mutex_unlock(&reg_lock);
		return -ENOSPC;
	}
	reg[reg_count++] = ops;
	pthread_mutex_unlock(&reg_lock);
	return 0;
}

static void register_builtins(void)
{
	for (unsigned int i = 0; i < nm_nr_builtin_providers; i++)
		do_register(nm_builtin_providers[i]);
}

NM_API int nm_provider_register(const struct nm_provider_ops *ops)
{
	pthread_once(&builtin_once, register_builtins);
	return do_register(ops);
}

NM_API const struct nm_provider_ops *nm_provider_find(const char *name)
{
	const struct nm_provider_ops *found = NULL;

	pthread_once(&builtin_once, register_builtins);
	if (!name) {
		errno = EINVAL;
		return NULL;
	}
	pthread_mutex_lock(&reg_lock);
	for (int i = 0; i < reg_count; i++)
		if (!strcmp(reg[i]->name, name))
			found = reg[i];
	pthread_mutex_unlock(&reg_lock);
	if (!found)
		errno = ENOENT;
	return found;
}

NM_API int nm_provider_list(const char **names, int max)
{
	int n;

	pthread_once(&builtin_once, register_builtins);
	if (max < 0 || (max > 0 && !names))
		return -EINVAL;
	pthread_mutex_lock(&reg_lock);
	n = reg_count;
	for (int i = 0; i < reg_count && i < max; i++)
		names[i] = reg[i]->name;
	pthread_mutex_unlock(&reg_lock);
	return n;
}

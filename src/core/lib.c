/* SPDX-License-Identifier: MIT */
/*
 * lib.c - what belongs to the library as a whole: its version, the text of
 * its errnos, and the ABI helpers every object's calls share: options
 * structs (begin with size_t sz; unknown non-zero tail bytes are -E2BIG)
 * and output structs (the caller's size; grown structs only grow).
 */
#include "core.h"
#include <limits.h>
#include <string.h>

#define NM_STR_(x) #x
#define NM_STR(x) NM_STR_(x)

NM_API const char *nm_version(void)
{
	return NM_STR(NETMEM_VERSION_MAJOR) "." NM_STR(NETMEM_VERSION_MINOR) "."
	       NM_STR(NETMEM_VERSION_PATCH);
}

/* One text per errno, true for every call that returns it (the header's
 * doc comments list them): where netmem gives an errno several meanings,
 * the text names them all; where it means what strerror() says, the
 * C library's text is used. */
NM_API const char *nm_strerror(int err)
{
	if (err < 0 && err != INT_MIN)	/* -INT_MIN overflows */
		err = -err;
	switch (err) {
	case 0: return "success";
	case EALREADY: return "already done: a double put (the buffer holds no reference), "
			      "or already revoked, destroyed, closed or pinned";
	case EXDEV: return "the buffer belongs to another pool";
	case EFAULT: return "not a buffer of any area, or memory without a CPU address";
	case ERANGE: return "out of range: a window outside its chunk, more bytes than the "
			    "buffer holds, or a size beyond the file";
	case ENODEV: return "no device: the area was revoked or its memory is gone, or no "
			    "such device";
	case ENOMEM: return "out of buffers or memory";
	case E2BIG: return "unknown non-zero bytes at the end of an options struct";
	case EINVAL: return "invalid argument";
	case ENOENT: return "not found: no such provider, engine, registration, pin or path";
	case EOPNOTSUPP: return "not supported here (by this kernel, driver, device or memory)";
	case ENOSPC: return "limit reached: a table is full, or too many areas, providers, "
			    "pins, registrations or connections";
	case EEXIST: return "already exists: the name is registered, or the path is taken";
	default: return strerror(err);
	}
}

int nm_opts_check(const void *opts, size_t user_sz, size_t known_sz)
{
	const unsigned char *b = opts;

	if (user_sz < sizeof(size_t))
		return -EINVAL;
	for (size_t i = known_sz; i < user_sz; i++)
		if (b[i])
			return -E2BIG;
	return 0;
}

int nm_opts_copy(void *dst, size_t known_sz, const void *src)
{
	size_t usz;
	int err;

	memset(dst, 0, known_sz);
	if (src) {
		memcpy(&usz, src, sizeof(usz));
		err = nm_opts_check(src, usz, known_sz);
		if (err)
			return err;
		memcpy(dst, src, usz < known_sz ? usz : known_sz);
	}
	memcpy(dst, &known_sz, sizeof(known_sz));	/* dst->sz */
	return 0;
}

/* Hand a filled output struct (@src, the library's @src_sz bytes) to the
 * caller's @dst of @dst_sz bytes: as much as both know, zeros where the
 * caller's is longer.  -EINVAL when @dst_sz is below @min_sz, the size of
 * the struct's first version (a pointer's size passed by mistake). */
int nm_out_copy(void *dst, size_t dst_sz, const void *src, size_t src_sz, size_t min_sz)
{
	if (dst_sz < min_sz)
		return -EINVAL;
	memcpy(dst, src, dst_sz < src_sz ? dst_sz : src_sz);
	if (dst_sz > src_sz)
		memset((char *)dst + src_sz, 0, dst_sz - src_sz);
	return 0;
}

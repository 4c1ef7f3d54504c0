/* SPDX-License-Identifier: MIT */
/*
 * `netmem probe`: the JSON is one well-formed object with a features
 * array whose entries have feature, iface, available and reason; the
 * text form is one "feature: yes|no — reason" line per feature; and the
 * answers agree with what this host is known to have (io_uring provided
 * buffer rings: yes on any kernel this project supports; CUDA: whatever
 * nm_cuda_available() says, with its reason).
 */
#include "harness.h"
#include <netmem/cuda.h>
#include <ctype.h>
#include <limits.h>
#include <libgen.h>
#include <unistd.h>

/* A small strict JSON checker: returns the end of one value or NULL. */
static const char *ws(const char *p)
{
	while (*p == ' ' || *p == '\n' || *p == '\t' || *p == '\r')
		p++;
	return p;
}

static const char *value(const char *p);

static const char *string(const char *p)
{
	if (*p++ != '"')
		return NULL;
	while (*p && *p != '"') {
		if ((unsigned char)*p < 0x20)
			return NULL;
		if (*p == '\\') {
			p++;
			if (*p == 'u') {
				for (int i = 1; i <= 4; i++)
					if (!isxdigit((unsigned char)p[i]))
						return NULL;
				p += 4;
			} else if (!strchr("\"\\/bfnrt", *p)) {
				return NULL;
			}
		}
		p++;
	}
	return *p == '"' ? p + 1 : NULL;
}

static const char *value(const char *p)
{
	p = ws(p);
	if (*p == '"')
		return string(p);
	if (*p == '{' || *p == '[') {
		char close = *p == '{' ? '}' : ']';
		p = ws(p + 1);
		if (*p == close)
			return p + 1;
		for (;;) {
			if (close == '}') {
				p = string(ws(p));
				if (!p || *(p = ws(p)) != ':')
					return NULL;
				p++;
			}
			p = value(p);
			if (!p)
				return NULL;
			p = ws(p);
			if (*p == close)
				return p + 1;
			if (*p++ != ',')
				return NULL;
		}
	}
	if (!strncmp(p, "true", 4) || !strncmp(p, "null", 4))
		return p + 4;
	if (!strncmp(p, "false", 5))
		return p + 5;
	if (*p == '-' || isdigit((unsigned char)*p)) {
		char *e;
		strtod(p, &e);
		return e;
	}
	return NULL;
}

static char *run(const char *bin, const char *args)
{
	char cmd[PATH_MAX + 64];
	size_t cap = 1 << 16, len = 0, n;
	char *out = malloc(cap);
	FILE *f;
	int st;

	snprintf(cmd, sizeof(cmd), "%s %s", bin, args);
	f = popen(cmd, "r");
	REQUIRE(f && out);
	while ((n = fread(out + len, 1, cap - 1 - len, f)) > 0) {
		len += n;
		if (len + 1 == cap)
			REQUIRE((out = realloc(out, cap *= 2)));
	}
	out[len] = 0;
	st = pclose(f);
	CHECK_EQ(st, 0);
	return out;
}

/* The JSON object of feature @name (first one), or NULL. */
static const char *feature(const char *json, const char *name)
{
	char key[96];
	snprintf(key, sizeof(key), "{\"feature\":\"%s\",", name);
	return strstr(json, key);
}

static int available(const char *obj)
{
	const char *a = strstr(obj, "\"available\":");
	REQUIRE(a);
	return !strncmp(a + 12, "true", 4);
}

int main(void)
{
	char self[PATH_MAX], bin[PATH_MAX + 16];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	char *json, *text, *line, *save;
	const char *end, *f;
	int lines = 0, nfeat = 0;

	REQUIRE(n > 0);
	self[n] = 0;
	snprintf(bin, sizeof(bin), "%s/../netmem", dirname(self));
	if (access(bin, X_OK))
		SKIP("netmem binary not found at %s", bin);

	json = run(bin, "probe --json");
	end = value(json);
	CHECK(end != NULL);
	if (end)
		CHECK(*ws(end) == 0);
	CHECK(!strncmp(json, "{\"probe\":\"netmem\"", 17));
	CHECK(strstr(json, "\"kernel\":\"") != NULL);
	CHECK(strstr(json, "\"features\":[") != NULL);
	for (f = json; (f = strstr(f, "{\"feature\":\"")); f++) {
		const char *close = strchr(f, '}');
		REQUIRE(close);
		nfeat++;
		/* every entry has all four keys, in order */
		const char *i = strstr(f, "\"iface\":"), *a = strstr(f, "\"available\":"),
			   *r = strstr(f, "\"reason\":\"");
		CHECK(i && a && r && i < a && a < r && r < close);
		CHECK(r && r[10] != '"'); /* a reason is never empty */
	}
	CHECK(nfeat >= 10);

	/* Things this host is known to have or lack. */
	REQUIRE((f = feature(json, "io_uring")));
	CHECK(available(f));
	REQUIRE((f = feature(json, "io_uring_pbuf_ring")));
	CHECK(available(f));
	CHECK(feature(json, "io_uring_pbuf_ring_inc") != NULL);
	CHECK(feature(json, "io_uring_recvsend_bundle") != NULL);
	CHECK(feature(json, "io_uring_zcrx") != NULL);
	CHECK(feature(json, "af_xdp") != NULL);
	CHECK(feature(json, "devmem_tcp_kernel") != NULL);
	CHECK(feature(json, "hugetlb_pages") != NULL);
	CHECK(feature(json, "thp") != NULL);
	REQUIRE((f = feature(json, "cuda")));
	if (nm_cuda_available() > 0) {
		CHECK(available(f));
	} else {
		CHECK(!available(f));
		CHECK(strstr(f, nm_cuda_status()) != NULL || strstr(f, "CUDA") != NULL);
		if (nm_cuda_available() == -EOPNOTSUPP)
			CHECK(strstr(f, "no CUDA driver") != NULL);
	}
	/* Per-interface entries name their interface; loopback is always there. */
	CHECK(strstr(json, "\"feature\":\"af_xdp_zerocopy\",\"iface\":\"lo\"") != NULL ||
	      strstr(json, "\"feature\":\"netdev_netlink\",\"iface\":null,\"available\":false") != NULL);

	/* Text: a kernel line, then "feature: yes|no — reason" lines. */
	text = run(bin, "probe");
	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		if (!lines++) {
			CHECK(!strncmp(line, "kernel: ", 8));
			continue;
		}
		const char *c = strstr(line, ": ");
		CHECK(c && (!strncmp(c, ": yes — ", strlen(": yes — ")) ||
			    !strncmp(c, ": no — ", strlen(": no — "))));
		if (!c)
			fprintf(stderr, "bad line: %s\n", line);
	}
	CHECK_EQ(lines - 1, nfeat);
	CHECK(strstr(json, "io_uring_pbuf_ring") != NULL);

	/* Unknown options are refused. */
	char cmd[PATH_MAX + 64];
	snprintf(cmd, sizeof(cmd), "%s probe --bogus 2>/dev/null", bin);
	CHECK(system(cmd) != 0);
	free(json);
	free(text);
	return t_done();
}

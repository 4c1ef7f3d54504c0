/* SPDX-License-Identifier: MIT */
/*
 * fuzz_cli - the netmem command's argument parsing with argument vectors
 * the fuzzer makes (libFuzzer), and no I/O: `netmem rx` and `netmem tx`
 * up to where they would start (cli_rx.c, cli_tx.c compile the commands'
 * own files in), the option tables of rx, tx and stat (tools/opts.c)
 * walked as a command walks them, and the value parsers of tools/txrx.c
 * (sizes, counts, seconds, HOST:PORT, patterns) with what each promises
 * checked: a size that parses is the number written (times its unit), a
 * count lies in its bounds, seconds are in (0, 86400], an address that
 * parses has the port written.
 *
 * An input: a first byte choosing what to run, then the arguments,
 * separated by NUL bytes.  -h/--help are left out: they print the usage
 * and exit(0), which would end the run.  Host names are not looked up:
 * getaddrinfo() is wrapped (-Wl,--wrap) to take numeric addresses only,
 * so no input sends a DNS query or waits for one.
 */
#include "fuzz_util.h"
#include "txrx.h"
#include "opts.h"
#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <netdb.h>
#include <netinet/in.h>

#define MAXARGS 24
#define MAXARG  128

int fz_rx_parse(int argc, char **argv);
int fz_tx_parse(int argc, char **argv);

int __real_getaddrinfo(const char *node, const char *service,
			const struct addrinfo *hints, struct addrinfo **res);
int __wrap_getaddrinfo(const char *node, const char *service,
		       const struct addrinfo *hints, struct addrinfo **res);
int __wrap_getaddrinfo(const char *node, const char *service,
		       const struct addrinfo *hints, struct addrinfo **res)
{
	struct addrinfo h = hints ? *hints : (struct addrinfo){ 0 };

	h.ai_flags |= AI_NUMERICHOST;
	return __real_getaddrinfo(node, service, &h, res);
}

static char args[MAXARGS][MAXARG];
static char *argv_[MAXARGS + 2];

static int make_argv(const uint8_t *d, size_t n, const char *cmd)
{
	int argc = 0;
	size_t k = 0;

	argv_[argc++] = (char *)cmd;
	while (n && argc <= MAXARGS) {
		char *a = args[argc - 1];

		k = 0;
		while (n && *d && k < MAXARG - 1) {
			a[k++] = (char)*d++;
			n--;
		}
		a[k] = 0;
		while (n && *d) {	/* the rest of an over-long one */
			d++;
			n--;
		}
		if (n) {		/* the NUL */
			d++;
			n--;
		}
		if (!strcmp(a, "-h") || !strcmp(a, "--help"))
			continue;
		argv_[argc++] = a;
	}
	argv_[argc] = NULL;
	return argc;
}

/* Walk a table as a command does: every option, its value, to the end or
 * the first error. */
static void walk(const struct nm_cmd *cmd, int argc)
{
	for (int i = 1; i < argc; i++) {
		const char *val = (const char *)1;
		int at = i, id = nm_opt_parse(cmd, argc, argv_, &i, &val);

		if (id == -EINVAL)
			return;
		CHECK(id == NM_OPT_POSITIONAL || id > 0);
		CHECK(i == at || i == at + 1);
		if (id == NM_OPT_POSITIONAL)
			CHECK(val == argv_[at] && i == at);
		else
			CHECK(nm_opt_name(cmd, id) != NULL);
		CHECK(i < argc);
	}
}

/* An all-digit string's value, or -1 past 2^64 - 1. */
static int digits(const char *s, size_t n, uint64_t *v)
{
	uint64_t x = 0;

	for (size_t i = 0; i < n; i++) {
		if (x > (UINT64_MAX - 9) / 10)
			return -1;
		x = x * 10 + (uint64_t)(s[i] - '0');
	}
	*v = x;
	return 0;
}

static void values(int argc)
{
	for (int i = 1; i < argc; i++) {
		const char *s = argv_[i];
		size_t n = strspn(s, "0123456789");
		uint64_t v, want, lo, hi;
		double secs;
		struct sockaddr_storage ss;
		socklen_t sl;
		char err[160];
		struct nm_pat pat;

		if (!nm_parse_size(s, &v) && n && n <= 15) {
			/* plain digits (exactly representable) with a unit */
			static const char *const units = "kKmMgGtT";
			const char *u = strchr(units, s[n]);
			unsigned int shift = u && s[n] ? 10 * (1 + (unsigned int)(u - units) / 2) : 0;

			if (!digits(s, n, &want) && (!s[n] || u) &&
			    (s[n] == 0 || !strcmp(s + n + 1, "") || !strcmp(s + n + 1, "B") ||
			     !strcmp(s + n + 1, "iB"))) {
				if (shift < 64 && want <= (UINT64_MAX >> shift) && (want << shift) < (1ull << 53))
					CHECK_EQ(v, want << shift);
			}
		}
		lo = i;
		hi = lo + 1000;
		if (!nm_parse_uint(s, lo, hi, &v))
			CHECK(v >= lo && v <= hi);
		if (!nm_parse_secs(s, &secs))
			CHECK(secs > 0 && secs <= 86400 && isfinite(secs));
		for (int passive = 0; passive < 2; passive++) {
			if (nm_parse_hostport(s, passive, &ss, &sl, err, sizeof(err))) {
				CHECK(err[0]);
				continue;
			}
			{
				const char *c = strrchr(s, ':');
				uint64_t port;

				CHECK(c);
				CHECK(ss.ss_family == AF_INET || ss.ss_family == AF_INET6);
				CHECK(sl == (ss.ss_family == AF_INET ? sizeof(struct sockaddr_in)
								    : sizeof(struct sockaddr_in6)));
				port = ntohs(ss.ss_family == AF_INET
					     ? ((struct sockaddr_in *)&ss)->sin_port
					     : ((struct sockaddr_in6 *)&ss)->sin6_port);
				if (strspn(c + 1, "0123456789") == strlen(c + 1) && strlen(c + 1) <= 5 &&
				    strlen(c + 1) && !digits(c + 1, strlen(c + 1), &want))
					CHECK_EQ(port, want);
			}
		}
		memset(&pat, 0, sizeof(pat));
		if (!nm_pat_parse(&pat, s, i + 1 < argc ? argv_[i + 1] : NULL))
			CHECK(pat.kind == NM_PAT_SEQ || pat.kind == NM_PAT_RANDOM);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int argc, r;

	if (!size)
		return 0;
	switch (data[0] % 4) {
	case 0:
		argc = make_argv(data + 1, size - 1, "rx");
		r = fz_rx_parse(argc, argv_);
		CHECK(r == 0 || r == 2);
		break;
	case 1:
		argc = make_argv(data + 1, size - 1, "tx");
		r = fz_tx_parse(argc, argv_);
		CHECK(r == 0 || r == 2);
		break;
	case 2:
		argc = make_argv(data + 1, size - 1, "opts");
		walk(&nm_cmd_rx, argc);
		walk(&nm_cmd_tx, argc);
		walk(&nm_cmd_stat, argc);
		break;
	default:
		argc = make_argv(data + 1, size - 1, "values");
		values(argc);
		break;
	}
	return 0;
}

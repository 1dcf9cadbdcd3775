/*
 * fuzz_proxy.c - libFuzzer target for the PROXY protocol header parser
 * (src/proxy.c).
 *
 * The input is the first bytes of a connection, as a load balancer (or
 * anyone) might send them. proxy_parse() is stateless: a caller that
 * receives the bytes in pieces, split at any points, calls it again on
 * all it has after each piece, so feeding the input in two pieces split
 * at k, or byte by byte, is asking about each prefix in turn. So:
 *
 *   whole    the input, in an exactly sized heap buffer (any read past
 *            len is caught by ASan);
 *   prefixes every prefix, shortest first, up to the first that is
 *            decided (not PROXY_MORE): all before it are MORE, it must
 *            give exactly the whole input's answer (result, *used,
 *            *info, *why), again in an exactly sized copy, and so must
 *            the prefix one byte longer;
 *
 * and on every answer:
 *   - *used is 0 unless OK or LOCAL, never more than len, and on OK or
 *     LOCAL it is exactly where the answer was decided: the header's
 *     last byte, no sooner and no later;
 *   - MORE only on fewer than PROXY_MAX bytes (fewer than PROXY_V1_MAX
 *     for a v1 line);
 *   - BAD says why; *info is zeroed unless OK or LOCAL;
 *   - on OK: version 1 or 2; with addresses, both of one family,
 *     AF_INET or AF_INET6, and each sockaddr canonical (zero past the
 *     family, port and address); without, both all zero; a v1 header
 *     without addresses is an UNKNOWN line;
 *   - an address-carrying header written back from *info (v1: a line
 *     made with inet_ntop; v2: the 16 bytes and the address block)
 *     parses to the same *info, and is the input's own bytes wherever
 *     the form is canonical (v1 TCP4; the v2 address block).
 */

#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proxy.h"
#include "fuzz.h"

struct fz_answer {
	enum proxy_result	 r;
	size_t			 used;
	struct proxy_info	 info;
	const char		*why;
};

static const unsigned char fz_sig[12] = {
	0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a
};

static void	fz_parse(const uint8_t *, size_t, struct fz_answer *);
static void	fz_parse_exact(const uint8_t *, size_t, struct fz_answer *);
static void	fz_same(const struct fz_answer *, const struct fz_answer *);
static int	fz_zero(const void *, size_t);
static void	fz_canonical(const struct sockaddr_storage *);
static void	fz_ok(const uint8_t *, size_t, const struct fz_answer *);
static void	fz_v1_back(const uint8_t *, const struct fz_answer *);
static void	fz_v2_back(const uint8_t *, const struct fz_answer *);

static void
fz_parse(const uint8_t *p, size_t len, struct fz_answer *a)
{
	memset(a, 0xa5, sizeof *a);
	a->why = "unset";
	a->r = proxy_parse(p, len, &a->used, &a->info, &a->why);

	FUZZ_CHECK(a->r == PROXY_MORE || a->r == PROXY_OK ||
	    a->r == PROXY_LOCAL || a->r == PROXY_BAD);
	FUZZ_CHECK(a->used <= len);
	if (a->r == PROXY_OK || a->r == PROXY_LOCAL) {
		FUZZ_CHECK(a->used >= 15);	/* "PROXY UNKNOWN\r\n" */
		FUZZ_CHECK(a->used <= PROXY_MAX);
		FUZZ_CHECK(a->why == NULL);
	} else {
		FUZZ_CHECK(a->used == 0);
		FUZZ_CHECK(fz_zero(&a->info, sizeof a->info));
	}
	if (a->r == PROXY_MORE) {
		FUZZ_CHECK(len < PROXY_MAX);
		FUZZ_CHECK(len < PROXY_V1_MAX || p[0] != 'P');
		FUZZ_CHECK(a->why == NULL);
	}
	if (a->r == PROXY_BAD)
		FUZZ_CHECK(a->why != NULL && a->why[0] != '\0');
	if (a->r == PROXY_LOCAL) {
		FUZZ_CHECK(a->info.version == 2);
		FUZZ_CHECK(a->info.has_addr == 0);
		FUZZ_CHECK(len >= 16 && memcmp(p, fz_sig, 12) == 0);
		FUZZ_CHECK(p[12] == 0x20);
	}
}

/* The same, on an exactly sized heap copy of the first len bytes. */
static void
fz_parse_exact(const uint8_t *p, size_t len, struct fz_answer *a)
{
	uint8_t	*copy;

	FUZZ_CHECK((copy = malloc(len == 0 ? 1 : len)) != NULL);
	if (len != 0)
		memcpy(copy, p, len);
	fz_parse(copy, len, a);
	free(copy);
}

static void
fz_same(const struct fz_answer *a, const struct fz_answer *b)
{
	FUZZ_CHECK(a->r == b->r);
	FUZZ_CHECK(a->used == b->used);
	FUZZ_CHECK(memcmp(&a->info, &b->info, sizeof a->info) == 0);
	FUZZ_CHECK((a->why == NULL) == (b->why == NULL));
	if (a->why != NULL)
		FUZZ_CHECK(strcmp(a->why, b->why) == 0);
}

static int
fz_zero(const void *p, size_t n)
{
	const unsigned char	*c = p;
	size_t			 i;

	for (i = 0; i < n; i++)
		if (c[i] != 0)
			return (0);
	return (1);
}

/* Family, port and address, and zeros everywhere else. */
static void
fz_canonical(const struct sockaddr_storage *ss)
{
	struct sockaddr_storage	 want;
	struct sockaddr_in	*w4 = (struct sockaddr_in *)&want;
	struct sockaddr_in6	*w6 = (struct sockaddr_in6 *)&want;

	memset(&want, 0, sizeof want);
	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *sin = (const void *)ss;

		w4->sin_family = AF_INET;
		w4->sin_port = sin->sin_port;
		w4->sin_addr = sin->sin_addr;
	} else {
		const struct sockaddr_in6 *sin6 = (const void *)ss;

		FUZZ_CHECK(ss->ss_family == AF_INET6);
		w6->sin6_family = AF_INET6;
		w6->sin6_port = sin6->sin6_port;
		w6->sin6_addr = sin6->sin6_addr;
	}
	FUZZ_CHECK(memcmp(ss, &want, sizeof want) == 0);
}

/* An OK answer for the input p (len bytes). */
static void
fz_ok(const uint8_t *p, size_t len, const struct fz_answer *a)
{
	const struct proxy_info	*in = &a->info;

	(void)len;
	FUZZ_CHECK(in->version == 1 || in->version == 2);
	FUZZ_CHECK(in->has_addr == 0 || in->has_addr == 1);
	if (in->version == 1) {
		FUZZ_CHECK(a->used <= PROXY_V1_MAX);
		FUZZ_CHECK(p[a->used - 2] == '\r' && p[a->used - 1] == '\n');
		FUZZ_CHECK(memchr(p, '\n', a->used - 1) == NULL);
	} else
		FUZZ_CHECK(memcmp(p, fz_sig, 12) == 0 && p[12] == 0x21);
	if (!in->has_addr) {
		FUZZ_CHECK(fz_zero(&in->src, sizeof in->src));
		FUZZ_CHECK(fz_zero(&in->dst, sizeof in->dst));
		if (in->version == 1)
			FUZZ_CHECK(memcmp(p, "PROXY UNKNOWN", 13) == 0);
		return;
	}
	FUZZ_CHECK(in->src.ss_family == AF_INET ||
	    in->src.ss_family == AF_INET6);
	FUZZ_CHECK(in->dst.ss_family == in->src.ss_family);
	fz_canonical(&in->src);
	fz_canonical(&in->dst);
	if (in->version == 1)
		fz_v1_back(p, a);
	else
		fz_v2_back(p, a);
}

static uint16_t
fz_port(const struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_INET)
		return (ntohs(((const struct sockaddr_in *)ss)->sin_port));
	return (ntohs(((const struct sockaddr_in6 *)ss)->sin6_port));
}

static const void *
fz_addr(const struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_INET)
		return (&((const struct sockaddr_in *)ss)->sin_addr);
	return (&((const struct sockaddr_in6 *)ss)->sin6_addr);
}

/* A v1 line written back from *info reads as the same. */
static void
fz_v1_back(const uint8_t *p, const struct fz_answer *a)
{
	const struct proxy_info	*in = &a->info;
	struct fz_answer	 b;
	char			 s[INET6_ADDRSTRLEN], d[INET6_ADDRSTRLEN];
	char			 line[PROXY_V1_MAX + 16];
	int			 v4 = in->src.ss_family == AF_INET, n;

	FUZZ_CHECK(memcmp(p, v4 ? "PROXY TCP4 " : "PROXY TCP6 ", 11) == 0);
	FUZZ_CHECK(inet_ntop(in->src.ss_family, fz_addr(&in->src), s,
	    sizeof s) != NULL);
	FUZZ_CHECK(inet_ntop(in->dst.ss_family, fz_addr(&in->dst), d,
	    sizeof d) != NULL);
	n = snprintf(line, sizeof line, "PROXY %s %s %s %u %u\r\n",
	    v4 ? "TCP4" : "TCP6", s, d, (unsigned int)fz_port(&in->src),
	    (unsigned int)fz_port(&in->dst));
	FUZZ_CHECK(n > 0 && (size_t)n <= PROXY_V1_MAX);
	fz_parse_exact((const uint8_t *)line, (size_t)n, &b);
	FUZZ_CHECK(b.r == PROXY_OK);
	FUZZ_CHECK(b.used == (size_t)n);
	FUZZ_CHECK(memcmp(&b.info, in, sizeof *in) == 0);
	/* IPv4 has one written form: the input must be it. */
	if (v4) {
		FUZZ_CHECK(a->used == (size_t)n);
		FUZZ_CHECK(memcmp(p, line, (size_t)n) == 0);
	}
}

/* A v2 header written back from *info: the same block, the same info. */
static void
fz_v2_back(const uint8_t *p, const struct fz_answer *a)
{
	const struct proxy_info	*in = &a->info;
	struct fz_answer	 b;
	uint8_t			 hdr[16 + 36];
	uint16_t		 sport, dport;
	size_t			 alen, asz;

	asz = in->src.ss_family == AF_INET ? 4 : 16;
	alen = 2 * asz + 4;
	memcpy(hdr, fz_sig, 12);
	hdr[12] = 0x21;
	hdr[13] = in->src.ss_family == AF_INET ? 0x11 : 0x21;
	hdr[14] = 0;
	hdr[15] = (uint8_t)alen;
	memcpy(hdr + 16, fz_addr(&in->src), asz);
	memcpy(hdr + 16 + asz, fz_addr(&in->dst), asz);
	sport = htons(fz_port(&in->src));
	dport = htons(fz_port(&in->dst));
	memcpy(hdr + 16 + 2 * asz, &sport, 2);
	memcpy(hdr + 18 + 2 * asz, &dport, 2);

	FUZZ_CHECK(p[13] == hdr[13]);
	FUZZ_CHECK(memcmp(p + 16, hdr + 16, alen) == 0);
	fz_parse_exact(hdr, 16 + alen, &b);
	FUZZ_CHECK(b.r == PROXY_OK);
	FUZZ_CHECK(b.used == 16 + alen);
	FUZZ_CHECK(memcmp(&b.info, in, sizeof *in) == 0);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz_answer	whole, part, again;
	size_t			n;

	fz_parse(data, size, &whole);
	if (whole.r == PROXY_OK)
		fz_ok(data, size, &whole);

	/* Prefixes: MORE until decided, then the whole input's answer. */
	for (n = 0; n <= size; n++) {
		fz_parse(data, n, &part);
		if (part.r != PROXY_MORE)
			break;
	}
	if (n > size) {
		FUZZ_CHECK(whole.r == PROXY_MORE);
		return (0);
	}
	fz_same(&part, &whole);
	fz_parse_exact(data, n, &again);
	fz_same(&again, &whole);
	if (n > 0) {
		fz_parse_exact(data, n - 1, &again);
		FUZZ_CHECK(again.r == PROXY_MORE);
	}
	if (n < size) {
		fz_parse(data, n + 1, &again);
		fz_same(&again, &whole);
	}
	/* A header is decided at its last byte: *used is exact. */
	if (whole.r == PROXY_OK || whole.r == PROXY_LOCAL)
		FUZZ_CHECK(whole.used == n);
	return (0);
}

/*
 * proxy.c - the PROXY protocol header, versions 1 and 2, read strictly
 * as HAProxy's "The PROXY protocol" (doc/proxy-protocol.txt) defines it.
 *
 * proxy_parse() looks at the first bytes of a connection, however few
 * have come, and says at once when they cannot be the start of a valid
 * header: a client that sends no header is refused on its first byte,
 * and a header is never waited on past the point where it went wrong.
 * Only a prefix of some valid header is answered PROXY_MORE. Every
 * answer depends on the bytes given and nothing else, so feeding the
 * same bytes whole or piecemeal gives the same answer.
 *
 * Choices the spec leaves open:
 *  - v1 "UNKNOWN": the rest of the line is ignored, as the spec says,
 *    but it must be printable US-ASCII ended by CRLF within 107 bytes.
 *  - v1 addresses: inet_pton() must take them in the family named; an
 *    IPv4 address must also be written as inet_ntop() writes it (no
 *    leading zeros, which the spec forbids). IPv6 may be in any form
 *    inet_pton() reads (upper or lower case, "::", a dotted tail).
 *  - v2 PROXY with AF_UNSPEC or an UNSPEC transport: accepted without
 *    addresses (has_addr 0). With UDP (DGRAM) or AF_UNIX: also accepted
 *    without addresses, the fallback to UNSPEC that the spec asks of a
 *    receiver for valid combinations it does not support; but the
 *    length must cover the address block of the family announced.
 *  - v2 LOCAL: the family byte and the block are ignored (the spec says
 *    so), only the length is checked against the bound.
 *  - v2 TLVs after a known address block must be well formed, each
 *    within the header, and a CRC32c TLV, if present, must be 4 bytes
 *    and match (the spec's MUST for a receiver that supports it). Their
 *    contents are otherwise skipped. After an UNSPEC block, where the
 *    addresses end is not known, the whole block is skipped unread.
 *  - v2 headers longer than PROXY_V2_MAX bytes are refused.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <stdint.h>
#include <string.h>

#include "proxy.h"

#define PROXY_V2_HDR		16	/* signature, ver/cmd, fam, len */
#define PROXY_V2_LOCAL		0x0
#define PROXY_V2_PROXY		0x1
#define PROXY_V2_AF_UNSPEC	0x0
#define PROXY_V2_AF_INET	0x1
#define PROXY_V2_AF_INET6	0x2
#define PROXY_V2_AF_UNIX	0x3
#define PROXY_V2_UNSPEC		0x0
#define PROXY_V2_STREAM		0x1
#define PROXY_V2_DGRAM		0x2
#define PROXY_V2_TLV_CRC32C	0x03

static const unsigned char	proxy_v2_sig[12] = {
	0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a
};

static enum proxy_result	proxy_v1(const unsigned char *, size_t,
				    size_t *, struct proxy_info *,
				    const char **);
static enum proxy_result	proxy_v1_unknown(const unsigned char *,
				    size_t, size_t *, const char **);
static enum proxy_result	proxy_v1_tcp(const unsigned char *, size_t,
				    int, size_t *, struct proxy_info *,
				    const char **);
static int			proxy_v1_eol(const unsigned char *, size_t,
				    size_t, const char **);
static enum proxy_result	proxy_v1_more(size_t, const char **);
static int			proxy_v1_field(const unsigned char *, size_t,
				    size_t, int, struct proxy_info *,
				    const char **);
static int			proxy_v1_char(unsigned char, size_t, int);
static enum proxy_result	proxy_v2(const unsigned char *, size_t,
				    size_t *, struct proxy_info *,
				    const char **);
static int			proxy_v2_tlvs(const unsigned char *, size_t,
				    size_t, const char **);
static uint32_t			proxy_crc32c(const unsigned char *, size_t,
				    size_t);

/*
 * Reads the header at the front of buf (len bytes so far). On PROXY_OK
 * and PROXY_LOCAL, *used is its length and the caller's own data starts
 * after it; *info is filled on PROXY_OK (and says version 2 on LOCAL).
 * Otherwise *used is 0, *info is zeroed, and on PROXY_BAD *why says
 * what is wrong (*why is NULL on every other answer).
 */
enum proxy_result
proxy_parse(const void *buf, size_t len, size_t *used,
    struct proxy_info *info, const char **why)
{
	const unsigned char	*p = buf;
	struct proxy_info	 tmp;
	enum proxy_result	 r;
	const char		*w = NULL;
	size_t			 u = 0;

	memset(&tmp, 0, sizeof tmp);
	if (len == 0)
		r = PROXY_MORE;
	else if (p[0] == 'P')
		r = proxy_v1(p, len, &u, &tmp, &w);
	else if (p[0] == proxy_v2_sig[0])
		r = proxy_v2(p, len, &u, &tmp, &w);
	else {
		w = "not a PROXY header";
		r = PROXY_BAD;
	}

	if (r == PROXY_OK || r == PROXY_LOCAL) {
		*used = u;
		memcpy(info, &tmp, sizeof *info);	/* padding too */
	} else {
		*used = 0;
		memset(info, 0, sizeof *info);
	}
	*why = r == PROXY_BAD ? w : NULL;
	return (r);
}

/* "PROXY ", then "TCP4 ", "TCP6 " or "UNKNOWN", then the rest. */
static enum proxy_result
proxy_v1(const unsigned char *p, size_t len, size_t *used,
    struct proxy_info *info, const char **why)
{
	const unsigned char	*q = p + 6;
	const char		*word;
	size_t			 n, wl;

	n = len < 5 ? len : 5;
	if (memcmp(p, "PROXY", n) != 0) {
		*why = "not a PROXY header";
		return (PROXY_BAD);
	}
	if (len < 6)
		return (PROXY_MORE);
	if (p[5] != ' ') {
		*why = "v1: PROXY not followed by one space";
		return (PROXY_BAD);
	}
	if (len == 6)
		return (PROXY_MORE);

	if (q[0] == 'U') {
		word = "UNKNOWN";
		wl = 7;
	} else {
		word = "TCP";
		wl = 3;
	}
	n = len - 6 < wl ? len - 6 : wl;
	if (memcmp(q, word, n) != 0) {
		*why = "v1: the protocol is not TCP4, TCP6 or UNKNOWN";
		return (PROXY_BAD);
	}
	if (n < wl)
		return (PROXY_MORE);
	info->version = 1;
	if (wl == 7)
		return (proxy_v1_unknown(p, len, used, why));

	if (len == 9)
		return (PROXY_MORE);
	if (q[3] != '4' && q[3] != '6') {
		*why = "v1: the protocol is not TCP4, TCP6 or UNKNOWN";
		return (PROXY_BAD);
	}
	if (len == 10)
		return (PROXY_MORE);
	if (q[4] != ' ') {
		*why = "v1: the protocol not followed by one space";
		return (PROXY_BAD);
	}
	return (proxy_v1_tcp(p, len, q[3] == '4' ? AF_INET : AF_INET6, used,
	    info, why));
}

/*
 * The end of a line whose CR is at p[i]: 1 if the LF follows, 0 if it
 * may yet, -1 if it cannot (with *why set).
 */
static int
proxy_v1_eol(const unsigned char *p, size_t len, size_t i, const char **why)
{
	if (i + 1 >= PROXY_V1_MAX) {
		*why = "v1: no CRLF within 107 bytes";
		return (-1);
	}
	if (i + 1 >= len)
		return (0);
	if (p[i + 1] != '\n') {
		*why = "v1: CR not followed by LF";
		return (-1);
	}
	return (1);
}

/* The end of a line that ran out of bytes before its CRLF. */
static enum proxy_result
proxy_v1_more(size_t len, const char **why)
{
	if (len >= PROXY_V1_MAX) {
		*why = "v1: no CRLF within 107 bytes";
		return (PROXY_BAD);
	}
	return (PROXY_MORE);
}

/* "PROXY UNKNOWN": nothing, or a space and any text, then CRLF. */
static enum proxy_result
proxy_v1_unknown(const unsigned char *p, size_t len, size_t *used,
    const char **why)
{
	size_t	i, n = len < PROXY_V1_MAX ? len : PROXY_V1_MAX;
	int	eol;

	for (i = 13; i < n; i++) {
		if (p[i] == '\r') {
			if ((eol = proxy_v1_eol(p, len, i, why)) <= 0)
				return (eol == 0 ? PROXY_MORE : PROXY_BAD);
			*used = i + 2;
			return (PROXY_OK);
		}
		if (i == 13 && p[i] != ' ') {
			*why = "v1: UNKNOWN not followed by a space or CRLF";
			return (PROXY_BAD);
		}
		if (p[i] == '\n') {
			*why = "v1: a line ended by LF alone";
			return (PROXY_BAD);
		}
		if (p[i] < 0x20 || p[i] > 0x7e) {
			*why = "v1: not US-ASCII text";
			return (PROXY_BAD);
		}
	}
	return (proxy_v1_more(len, why));
}

/* May c be in field f (0, 1: addresses; 2, 3: ports) of a TCP line? */
static int
proxy_v1_char(unsigned char c, size_t f, int family)
{
	if (c >= '0' && c <= '9')
		return (1);
	if (f >= 2)
		return (0);
	if (c == '.')
		return (1);
	return (family == AF_INET6 && (c == ':' || (c >= 'a' && c <= 'f') ||
	    (c >= 'A' && c <= 'F')));
}

/*
 * "PROXY TCP4 " or "PROXY TCP6 " read: the source and destination
 * addresses and ports, single spaces between, CRLF. Each field is
 * checked as it ends, and each byte as it comes.
 */
static enum proxy_result
proxy_v1_tcp(const unsigned char *p, size_t len, int family, size_t *used,
    struct proxy_info *info, const char **why)
{
	size_t	i, f = 0, start = 11, max;
	size_t	n = len < PROXY_V1_MAX ? len : PROXY_V1_MAX;
	size_t	addrmax = family == AF_INET ? 15 : 45;
	int	eol;

	for (i = start; i < n; i++) {
		if (p[i] == ' ' || p[i] == '\r') {
			if (i == start) {
				*why = p[i] == ' ' ? "v1: not one space "
				    "between fields" : "v1: a space before CRLF";
				return (PROXY_BAD);
			}
			if (proxy_v1_field(p + start, i - start, f, family,
			    info, why) == -1)
				return (PROXY_BAD);
			if (p[i] == ' ') {
				if (f == 3) {
					*why = "v1: more than four fields";
					return (PROXY_BAD);
				}
				f++;
				start = i + 1;
				continue;
			}
			if (f != 3) {
				*why = "v1: fewer than four fields";
				return (PROXY_BAD);
			}
			if ((eol = proxy_v1_eol(p, len, i, why)) <= 0)
				return (eol == 0 ? PROXY_MORE : PROXY_BAD);
			info->has_addr = 1;
			*used = i + 2;
			return (PROXY_OK);
		}
		if (p[i] == '\n') {
			*why = "v1: a line ended by LF alone";
			return (PROXY_BAD);
		}
		if (!proxy_v1_char(p[i], f, family)) {
			*why = f >= 2 ? "v1: a port that is not a number" :
			    family == AF_INET ? "v1: not an IPv4 address" :
			    "v1: not an IPv6 address";
			return (PROXY_BAD);
		}
		max = f >= 2 ? 5 : addrmax;
		if (i - start >= max) {
			*why = f >= 2 ? "v1: a port too long" :
			    "v1: an address too long";
			return (PROXY_BAD);
		}
		if (f >= 2 && i - start == 1 && p[start] == '0') {
			*why = "v1: a port with a leading zero";
			return (PROXY_BAD);
		}
	}
	return (proxy_v1_more(len, why));
}

/*
 * Field f of a TCP line, n bytes at s, of the characters it may hold:
 * an address the family's inet_pton() takes, or a port up to 65535.
 */
static int
proxy_v1_field(const unsigned char *s, size_t n, size_t f, int family,
    struct proxy_info *info, const char **why)
{
	struct sockaddr_storage	*ss = f % 2 == 0 ? &info->src : &info->dst;
	struct sockaddr_in	*sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6	*sin6 = (struct sockaddr_in6 *)ss;
	char			 str[46], back[46];
	unsigned long		 port = 0;
	size_t			 i;

	if (f >= 2) {
		for (i = 0; i < n; i++)
			port = port * 10 + (unsigned long)(s[i] - '0');
		if (port > 65535) {
			*why = "v1: a port above 65535";
			return (-1);
		}
		if (family == AF_INET)
			sin->sin_port = htons((uint16_t)port);
		else
			sin6->sin6_port = htons((uint16_t)port);
		return (0);
	}

	memcpy(str, s, n);	/* n <= 45: proxy_v1_tcp saw to it */
	str[n] = '\0';
	if (family == AF_INET) {
		/*
		 * POSIX lets inet_pton() take "001.2.3.4"; glibc, musl and
		 * the BSDs refuse it, but the spec forbids it everywhere.
		 */
		sin->sin_family = AF_INET;
		if (inet_pton(AF_INET, str, &sin->sin_addr) != 1 ||
		    inet_ntop(AF_INET, &sin->sin_addr, back, sizeof back) ==
		    NULL || strcmp(str, back) != 0) {
			*why = "v1: not an IPv4 address";
			return (-1);
		}
	} else {
		sin6->sin6_family = AF_INET6;
		if (inet_pton(AF_INET6, str, &sin6->sin6_addr) != 1) {
			*why = "v1: not an IPv6 address";
			return (-1);
		}
	}
	return (0);
}

/* The binary header: 16 bytes, then as many as its length field says. */
static enum proxy_result
proxy_v2(const unsigned char *p, size_t len, size_t *used,
    struct proxy_info *info, const char **why)
{
	struct sockaddr_in	*src4 = (struct sockaddr_in *)&info->src;
	struct sockaddr_in	*dst4 = (struct sockaddr_in *)&info->dst;
	struct sockaddr_in6	*src6 = (struct sockaddr_in6 *)&info->src;
	struct sockaddr_in6	*dst6 = (struct sockaddr_in6 *)&info->dst;
	const unsigned char	*a = p + PROXY_V2_HDR;
	size_t			 n, blen, alen = 0;
	unsigned int		 cmd, fam, proto;

	n = len < sizeof proxy_v2_sig ? len : sizeof proxy_v2_sig;
	if (memcmp(p, proxy_v2_sig, n) != 0) {
		*why = "not a PROXY header";
		return (PROXY_BAD);
	}
	if (len < 13)
		return (PROXY_MORE);
	if (p[12] >> 4 != 2) {
		*why = "v2: version is not 2";
		return (PROXY_BAD);
	}
	if ((cmd = p[12] & 0xf) != PROXY_V2_LOCAL && cmd != PROXY_V2_PROXY) {
		*why = "v2: command is neither LOCAL nor PROXY";
		return (PROXY_BAD);
	}
	if (len < 14)
		return (PROXY_MORE);
	fam = p[13] >> 4;
	proto = p[13] & 0xf;
	if (cmd == PROXY_V2_PROXY && fam > PROXY_V2_AF_UNIX) {
		*why = "v2: unknown address family";
		return (PROXY_BAD);
	}
	if (cmd == PROXY_V2_PROXY && proto > PROXY_V2_DGRAM) {
		*why = "v2: unknown transport protocol";
		return (PROXY_BAD);
	}
	if (len < PROXY_V2_HDR)
		return (PROXY_MORE);
	blen = (size_t)p[14] << 8 | p[15];
	if (PROXY_V2_HDR + blen > PROXY_V2_MAX) {
		*why = "v2: header longer than 4096 bytes";
		return (PROXY_BAD);
	}
	info->version = 2;
	if (cmd == PROXY_V2_LOCAL) {
		if (len < PROXY_V2_HDR + blen)
			return (PROXY_MORE);
		*used = PROXY_V2_HDR + blen;
		return (PROXY_LOCAL);
	}

	if (fam != PROXY_V2_AF_UNSPEC && proto != PROXY_V2_UNSPEC)
		alen = fam == PROXY_V2_AF_INET ? 12 :
		    fam == PROXY_V2_AF_INET6 ? 36 : 216;
	if (blen < alen) {
		*why = "v2: length too short for the addresses";
		return (PROXY_BAD);
	}
	if (len < PROXY_V2_HDR + blen)
		return (PROXY_MORE);
	if (alen > 0 && proxy_v2_tlvs(p, PROXY_V2_HDR + alen,
	    PROXY_V2_HDR + blen, why) == -1)
		return (PROXY_BAD);
	*used = PROXY_V2_HDR + blen;
	if (proto != PROXY_V2_STREAM)
		return (PROXY_OK);	/* no address: see the top */

	if (fam == PROXY_V2_AF_INET) {
		src4->sin_family = dst4->sin_family = AF_INET;
		memcpy(&src4->sin_addr, a, 4);
		memcpy(&dst4->sin_addr, a + 4, 4);
		memcpy(&src4->sin_port, a + 8, 2);
		memcpy(&dst4->sin_port, a + 10, 2);
		info->has_addr = 1;
	} else if (fam == PROXY_V2_AF_INET6) {
		src6->sin6_family = dst6->sin6_family = AF_INET6;
		memcpy(&src6->sin6_addr, a, 16);
		memcpy(&dst6->sin6_addr, a + 16, 16);
		memcpy(&src6->sin6_port, a + 32, 2);
		memcpy(&dst6->sin6_port, a + 34, 2);
		info->has_addr = 1;
	}
	return (PROXY_OK);
}

/*
 * The TLVs of the header p, from off to end: each whole within it, and
 * a CRC32c TLV (at most one) 4 bytes long and matching. 0 or -1.
 */
static int
proxy_v2_tlvs(const unsigned char *p, size_t off, size_t end,
    const char **why)
{
	const unsigned char	*v;
	size_t			 vlen, crc = 0;
	uint32_t		 want;

	while (off < end) {
		if (end - off < 3) {
			*why = "v2: a TLV cut short";
			return (-1);
		}
		vlen = (size_t)p[off + 1] << 8 | p[off + 2];
		if (vlen > end - off - 3) {
			*why = "v2: a TLV runs past the header";
			return (-1);
		}
		if (p[off] == PROXY_V2_TLV_CRC32C) {
			if (vlen != 4) {
				*why = "v2: a CRC32c TLV not 4 bytes long";
				return (-1);
			}
			if (crc != 0) {
				*why = "v2: two CRC32c TLVs";
				return (-1);
			}
			crc = off + 3;
		}
		off += 3 + vlen;
	}
	if (crc == 0)
		return (0);
	v = p + crc;
	want = (uint32_t)v[0] << 24 | (uint32_t)v[1] << 16 |
	    (uint32_t)v[2] << 8 | v[3];
	if (proxy_crc32c(p, end, crc) != want) {
		*why = "v2: CRC32c does not match";
		return (-1);
	}
	return (0);
}

/*
 * CRC32c (Castagnoli, RFC 4960 appendix B) of the n bytes at p, with
 * the 4 bytes at hole read as zeros: the checksum's own place.
 */
static uint32_t
proxy_crc32c(const unsigned char *p, size_t n, size_t hole)
{
	uint32_t	crc = 0xffffffff;
	size_t		i;
	int		k;

	for (i = 0; i < n; i++) {
		crc ^= i >= hole && i < hole + 4 ? 0 : p[i];
		for (k = 0; k < 8; k++)
			crc = (crc >> 1) ^ (0x82f63b78 & (0 - (crc & 1)));
	}
	return (~crc);
}

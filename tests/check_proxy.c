/* check_proxy.c - unit tests for the PROXY protocol header (proxy.c). */

#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proxy.h"

/* Captured from HAProxy 2.6 (Debian 12), "send-proxy", then "hello4". */
static const char hap_v1[] =
    "PROXY TCP4 127.0.0.1 127.0.0.1 46564 47103\r\nhelloV1";

/* HAProxy 2.6 "send-proxy-v2": 127.0.0.1:41234 -> 127.0.0.1:47111. */
static const unsigned char hap_v2_v4[] = {
	0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51,
	0x55, 0x49, 0x54, 0x0a, 0x21, 0x11, 0x00, 0x0c,
	0x7f, 0x00, 0x00, 0x01, 0x7f, 0x00, 0x00, 0x01,
	0xa1, 0x12, 0xb8, 0x07,
	'h', 'e', 'l', 'l', 'o', '4'
};

/* The same, [::1]:40002 -> [::1]:47101. */
static const unsigned char hap_v2_v6[] = {
	0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51,
	0x55, 0x49, 0x54, 0x0a, 0x21, 0x21, 0x00, 0x24,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1,
	0x9c, 0x42, 0xb7, 0xfd,
	'h', 'e', 'l', 'l', 'o', '6'
};

/* Its health check ("check check-send-proxy"): LOCAL, AF_UNSPEC. */
static const unsigned char hap_v2_local[] = {
	0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51,
	0x55, 0x49, 0x54, 0x0a, 0x20, 0x00, 0x00, 0x00
};

/*
 * "send-proxy-v2 proxy-v2-options crc32c,unique-id", 127.0.0.1:41235 ->
 * 127.0.0.1:47113: a CRC32c TLV (HAProxy's own checksum) and a
 * unique-id TLV, then "tlv".
 */
static const unsigned char hap_v2_tlv[] = {
	0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51,
	0x55, 0x49, 0x54, 0x0a, 0x21, 0x11, 0x00, 0x3f,
	0x7f, 0x00, 0x00, 0x01, 0x7f, 0x00, 0x00, 0x01,
	0xa1, 0x13, 0xb8, 0x09,
	0x03, 0x00, 0x04, 0xbb, 0x7d, 0xe4, 0xed,
	0x05, 0x00, 0x29,
	'7', 'F', '0', '0', '0', '0', '0', '1', ':', 'A', '1', '1', '3', '_',
	'7', 'F', '0', '0', '0', '0', '0', '1', ':', 'B', '8', '0', '9', '_',
	'6', 'B', '1', '2', '8', '1', '8', '1', '_', '0', '0', '0', '1',
	't', 'l', 'v'
};
#define HAP_V2_TLV_LEN	79	/* without "tlv" */
#define HAP_V2_CRC_AT	31	/* the checksum's first byte */

static const unsigned char v2_sig[12] = {
	0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a
};

/* 1.2.3.4:1000 -> 5.6.7.8:443, as a v2 address block. */
static const unsigned char block_v4[12] = {
	1, 2, 3, 4, 5, 6, 7, 8, 0x03, 0xe8, 0x01, 0xbb
};

/* [2001:db8::1]:1000 -> [2001:db8::2]:443. */
static const unsigned char block_v6[36] = {
	0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1,
	0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2,
	0x03, 0xe8, 0x01, 0xbb
};

static unsigned char	big[PROXY_V2_MAX + 64];

static void
make_sa(struct sockaddr_storage *ss, const char *ip, uint16_t port)
{
	struct sockaddr_in	*sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6	*sin6 = (struct sockaddr_in6 *)ss;
	struct in_addr		 a4;

	memset(ss, 0, sizeof *ss);
	/* Not into ss: musl's inet_pton leaves bytes behind when it fails. */
	if (inet_pton(AF_INET, ip, &a4) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_addr = a4;
		sin->sin_port = htons(port);
		return;
	}
	ck_assert_int_eq(inet_pton(AF_INET6, ip, &sin6->sin6_addr), 1);
	sin6->sin6_family = AF_INET6;
	sin6->sin6_port = htons(port);
}

/* ss is ip:port, byte for byte (the parser zero-fills the rest). */
static void
assert_sa(const struct sockaddr_storage *ss, const char *ip, uint16_t port)
{
	struct sockaddr_storage	want;

	make_sa(&want, ip, port);
	ck_assert_int_eq(ss->ss_family, want.ss_family);
	ck_assert_mem_eq(ss, &want, sizeof want);
}

/*
 * A v2 header into out: ver_cmd, fam, the length field lenf, then the
 * body (blen bytes, which may differ from lenf). Returns its size.
 */
static size_t
v2(unsigned char *out, unsigned int vc, unsigned int fam, size_t lenf,
    const void *body, size_t blen)
{
	memcpy(out, v2_sig, sizeof v2_sig);
	out[12] = (unsigned char)vc;
	out[13] = (unsigned char)fam;
	out[14] = (unsigned char)(lenf >> 8);
	out[15] = (unsigned char)lenf;
	if (blen != 0)
		memcpy(out + 16, body, blen);
	return (16 + blen);
}

/* Parses with *used and *info filled with junk first, to see them set. */
static enum proxy_result
parse(const void *p, size_t len, size_t *used, struct proxy_info *info,
    const char **why)
{
	enum proxy_result	r;

	*used = 12345;
	memset(info, 0xa5, sizeof *info);
	*why = "junk";
	r = proxy_parse(p, len, used, info, why);
	if (r == PROXY_BAD) {
		ck_assert_ptr_nonnull(*why);
		ck_assert_int_gt((int)strlen(*why), 0);
	} else
		ck_assert_ptr_null(*why);
	if (r == PROXY_BAD || r == PROXY_MORE) {
		ck_assert_uint_eq(*used, 0);
		ck_assert_int_eq(info->has_addr, 0);
		ck_assert_int_eq(info->version, 0);
	} else
		ck_assert_uint_le(*used, len);
	return (r);
}

/*
 * Every proper prefix of the header (hlen bytes at p) asks for more;
 * the whole of it, and it with the len - hlen bytes after it, give
 * want and exactly the same *used and *info.
 */
static void
assert_bytewise(const void *p, size_t hlen, size_t len,
    enum proxy_result want)
{
	struct proxy_info	 whole, part;
	const char		*why;
	size_t			 used, u, n;

	ck_assert_int_eq(parse(p, len, &used, &whole, &why), want);
	ck_assert_uint_eq(used, hlen);
	for (n = 0; n < hlen; n++) {
		ck_assert_msg(parse(p, n, &u, &part, &why) == PROXY_MORE,
		    "%zu of %zu bytes: not MORE (%s)", n, hlen,
		    why != NULL ? why : "accepted");
	}
	for (n = hlen; n <= len; n++) {
		ck_assert_int_eq(parse(p, n, &u, &part, &why), want);
		ck_assert_uint_eq(u, hlen);
		ck_assert_mem_eq(&part, &whole, sizeof whole);
	}
}

/* ---- v1 ---------------------------------------------------------------- */

START_TEST(test_v1_tcp4)
{
	const char		*s = "PROXY TCP4 192.168.0.1 192.168.0.11 "
	    "56324 443\r\nGET / HTTP/1.1\r\n";
	struct proxy_info	 info;
	const char		*why;
	size_t			 used;

	ck_assert_int_eq(parse(s, strlen(s), &used, &info, &why), PROXY_OK);
	ck_assert_uint_eq(used, strlen(s) - strlen("GET / HTTP/1.1\r\n"));
	ck_assert_int_eq(info.version, 1);
	ck_assert_int_eq(info.has_addr, 1);
	assert_sa(&info.src, "192.168.0.1", 56324);
	assert_sa(&info.dst, "192.168.0.11", 443);
}
END_TEST

START_TEST(test_v1_tcp6)
{
	const char		*s = "PROXY TCP6 2001:db8::1 2001:DB8::Ff "
	    "65535 0\r\n";
	struct proxy_info	 info;
	const char		*why;
	size_t			 used;

	ck_assert_int_eq(parse(s, strlen(s), &used, &info, &why), PROXY_OK);
	ck_assert_uint_eq(used, strlen(s));
	ck_assert_int_eq(info.version, 1);
	ck_assert_int_eq(info.has_addr, 1);
	assert_sa(&info.src, "2001:db8::1", 65535);
	assert_sa(&info.dst, "2001:db8::ff", 0);
}
END_TEST

/* The spec's longest TCP6 line, 104 bytes, and a dotted IPv6 tail. */
START_TEST(test_v1_tcp6_longest)
{
	const char		*s = "PROXY TCP6 "
	    "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff "
	    "ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe 65535 65535\r\n";
	const char		*m = "PROXY TCP6 ::ffff:192.0.2.1 ::1 1 2\r\n";
	struct proxy_info	 info;
	const char		*why;
	size_t			 used;

	ck_assert_uint_eq(strlen(s), 104);
	ck_assert_int_eq(parse(s, strlen(s), &used, &info, &why), PROXY_OK);
	ck_assert_uint_eq(used, 104);
	assert_sa(&info.src, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 65535);
	assert_sa(&info.dst, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe", 65535);

	ck_assert_int_eq(parse(m, strlen(m), &used, &info, &why), PROXY_OK);
	assert_sa(&info.src, "::ffff:192.0.2.1", 1);
	assert_sa(&info.dst, "::1", 2);
}
END_TEST

START_TEST(test_v1_unknown)
{
	static const char	*lines[] = {
		"PROXY UNKNOWN\r\n",
		"PROXY UNKNOWN \r\n",
		"PROXY UNKNOWN ::1 ::2 1 2\r\n",
		"PROXY UNKNOWN anything at all, it is ignored ~!\r\n",
	};
	struct proxy_info	 info;
	const char		*why;
	size_t			 used, i;
	char			 buf[128];

	for (i = 0; i < sizeof lines / sizeof lines[0]; i++) {
		snprintf(buf, sizeof buf, "%sDATA", lines[i]);
		ck_assert_int_eq(parse(buf, strlen(buf), &used, &info, &why),
		    PROXY_OK);
		ck_assert_uint_eq(used, strlen(lines[i]));
		ck_assert_int_eq(info.version, 1);
		ck_assert_int_eq(info.has_addr, 0);
		ck_assert_int_eq(info.src.ss_family, 0);
	}
}
END_TEST

/* The spec's worst case: 107 bytes with the CRLF, and not one more. */
START_TEST(test_v1_107)
{
	struct proxy_info	 info;
	const char		*why;
	char			 buf[160];
	size_t			 used;

	memset(buf, 'x', sizeof buf);
	memcpy(buf, "PROXY UNKNOWN ", 14);
	memcpy(buf + 105, "\r\nDATA", 6);
	ck_assert_int_eq(parse(buf, 111, &used, &info, &why), PROXY_OK);
	ck_assert_uint_eq(used, PROXY_V1_MAX);

	/* One byte longer: the CR is the 107th byte. */
	memset(buf, 'x', sizeof buf);
	memcpy(buf, "PROXY UNKNOWN ", 14);
	memcpy(buf + 106, "\r\nDATA", 6);
	ck_assert_int_eq(parse(buf, 106, &used, &info, &why), PROXY_MORE);
	ck_assert_int_eq(parse(buf, 107, &used, &info, &why), PROXY_BAD);
	ck_assert_int_eq(parse(buf, 112, &used, &info, &why), PROXY_BAD);

	/* No CR at all within 107 bytes. */
	memset(buf, 'x', sizeof buf);
	memcpy(buf, "PROXY UNKNOWN ", 14);
	ck_assert_int_eq(parse(buf, 106, &used, &info, &why), PROXY_MORE);
	ck_assert_int_eq(parse(buf, 107, &used, &info, &why), PROXY_BAD);
	ck_assert_int_eq(parse(buf, sizeof buf, &used, &info, &why),
	    PROXY_BAD);
}
END_TEST

START_TEST(test_v1_haproxy)
{
	struct proxy_info	 info;
	const char		*why;
	size_t			 used;

	ck_assert_int_eq(parse(hap_v1, strlen(hap_v1), &used, &info, &why),
	    PROXY_OK);
	ck_assert_uint_eq(used, strlen(hap_v1) - strlen("helloV1"));
	assert_sa(&info.src, "127.0.0.1", 46564);
	assert_sa(&info.dst, "127.0.0.1", 47103);
}
END_TEST

/* Lines that are not v1 PROXY headers, whole. */
static const char *v1_bad[] = {
	"PROXY  TCP4 1.2.3.4 5.6.7.8 1 2\r\n",
	"PROXY TCP4  1.2.3.4 5.6.7.8 1 2\r\n",
	"PROXY TCP4 1.2.3.4  5.6.7.8 1 2\r\n",
	"PROXY TCP4 1.2.3.4 5.6.7.8  1 2\r\n",
	"PROXY TCP4 1.2.3.4 5.6.7.8 1  2\r\n",
	"PROXY TCP4 1.2.3.4 5.6.7.8 1 2 \r\n",
	"PROXY TCP4 1.2.3.4\t5.6.7.8 1 2\r\n",
	"PROXY TCP4 1.2.3.4 5.6.7.8 1 2\n",
	"PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r",	/* + "X" below */
	"PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r\r\n",
	"PROXY TCP4 1.2.3.4 5.6.7.8 1 2\n\r",
	"PROXY TCP4 1.2.3.256 5.6.7.8 1 2\r\n",
	"PROXY TCP4 1.2.3 5.6.7.8 1 2\r\n",
	"PROXY TCP4 1.2.3.4.5 5.6.7.8 1 2\r\n",
	"PROXY TCP4 01.2.3.4 5.6.7.8 1 2\r\n",
	"PROXY TCP4 1.2.3.4 5.6.7.08 1 2\r\n",
	"PROXY TCP4 1.2.3.4. 5.6.7.8 1 2\r\n",
	"PROXY TCP4 0x1.2.3.4 5.6.7.8 1 2\r\n",
	"PROXY TCP4 ::1 5.6.7.8 1 2\r\n",
	"PROXY TCP4 1.2.3.4 ::1 1 2\r\n",
	"PROXY TCP6 1.2.3.4 ::1 1 2\r\n",
	"PROXY TCP6 ::1 1.2.3.4 1 2\r\n",
	"PROXY TCP6 fe80::1%eth0 ::1 1 2\r\n",
	"PROXY TCP6 ::1::2 ::1 1 2\r\n",
	"PROXY TCP6 12345::1 ::1 1 2\r\n",
	"PROXY TCP6 [::1] ::1 1 2\r\n",
	"PROXY TCP6 ::g ::1 1 2\r\n",
	"PROXY TCP6 0000:0000:0000:0000:0000:0000:0000:0000:0 ::1 1 2\r\n",
	"PROXY TCP6 0000:0000:0000:0000:0000:0000:000.000.000.0000 ::1 1 2\r\n",
	"PROXY TCP4 1.2.3.4 5.6.7.8 65536 2\r\n",
	"PROXY TCP4 1.2.3.4 5.6.7.8 1 99999\r\n",
	"PROXY TCP4 1.2.3.4 5.6.7.8 123456 2\r\n",
	"PROXY TCP4 1.2.3.4 5.6.7.8 01 2\r\n",
	"PROXY TCP4 1.2.3.4 5.6.7.8 1 00\r\n",
	"PROXY TCP4 1.2.3.4 5.6.7.8 +1 2\r\n",
	"PROXY TCP4 1.2.3.4 5.6.7.8 -1 2\r\n",
	"PROXY TCP4 1.2.3.4 5.6.7.8 1 0x2\r\n",
	"PROXY TCP4 1.2.3.4 5.6.7.8 1\r\n",
	"PROXY TCP4 1.2.3.4 5.6.7.8\r\n",
	"PROXY TCP4 1.2.3.4 5.6.7.8 1 2 3\r\n",
	"PROXY TCP5 1.2.3.4 5.6.7.8 1 2\r\n",
	"PROXY UDP4 1.2.3.4 5.6.7.8 1 2\r\n",
	"PROXY TCP 1.2.3.4 5.6.7.8 1 2\r\n",
	"PROXY tcp4 1.2.3.4 5.6.7.8 1 2\r\n",
	"proxy TCP4 1.2.3.4 5.6.7.8 1 2\r\n",
	"PROXYTCP4 1.2.3.4 5.6.7.8 1 2\r\n",
	"PROXY\r\n",
	"PROXY \r\n",
	"PROXY TCP4\r\n",
	"PROXY TCP4 \r\n",
	"PROXY TCP4 1.2.3.4 \r\n",
	"PROXY UNKNOWNX\r\n",
	"PROXY UNKNOWN\n",
	"PROXY UNKNOWN\r",	/* + "X" below */
	"PROXY UNKNOWN x\ny\r\n",
	"PROXY UNKNOWN \x01\r\n",
	"PROXY UNKNOWN \x7f\r\n",
	"PROXY UNKNOWN \xc3\xa9\r\n",
	"PROXY UNKNOW\r\n",
	"GET / HTTP/1.1\r\n",
	"SSH-2.0-OpenSSH_9.2\r\n",
	"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03",
	" PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r\n",
};

START_TEST(test_v1_bad)
{
	struct proxy_info	 info;
	const char		*why;
	size_t			 used;
	char			 buf[256];

	snprintf(buf, sizeof buf, "%sX", v1_bad[_i]);
	ck_assert_msg(parse(buf, strlen(buf), &used, &info, &why) ==
	    PROXY_BAD, "accepted or MORE: \"%s\"", v1_bad[_i]);
}
END_TEST

/*
 * Refused at the first byte that cannot belong to a header: the prefix
 * before it asks for more, the prefix with it is refused.
 */
static const struct {
	const char	*before;
	char		 bad;
} v1_early[] = {
	{ "", 'G' },
	{ "", '\x16' },
	{ "", 'S' },
	{ "", ' ' },
	{ "PROX", 'Z' },
	{ "PROXY", '\r' },
	{ "PROXY ", ' ' },
	{ "PROXY ", 'X' },
	{ "PROXY T", 'X' },
	{ "PROXY TCP", '5' },
	{ "PROXY TCP4", '\r' },
	{ "PROXY TCP4 ", ' ' },
	{ "PROXY TCP4 1.2.3.4", ':' },
	{ "PROXY TCP4 1.2.3.4", '\r' },
	{ "PROXY TCP4 1.2.3.4", '\n' },
	{ "PROXY TCP4 1.2.3.4 ", ' ' },
	{ "PROXY TCP4 1.2.3.4.5", ' ' },
	{ "PROXY TCP4 1.2.3.4 5.6.7.8 0", '1' },
	{ "PROXY TCP4 1.2.3.4 5.6.7.8 1", '\r' },
	{ "PROXY TCP4 1.2.3.4 5.6.7.8 65536", ' ' },
	{ "PROXY TCP4 1.2.3.4 5.6.7.8 12345", '6' },
	{ "PROXY TCP4 1.2.3.4 5.6.7.8 1 2", ' ' },
	{ "PROXY TCP4 1.2.3.4 5.6.7.8 1 2", '\n' },
	{ "PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r", '\r' },
	{ "PROXY TCP4 255.255.255.255", '0' },
	{ "PROXY TCP6 ::1", 'g' },
	{ "PROXY TCP6 ::1", '%' },
	{ "PROXY TCP6 ::1::2", ' ' },
	{ "PROXY UNKNOWN", 'X' },
	{ "PROXY UNKNOWN", '\n' },
	{ "PROXY UNKNOWN ", '\0' },
	{ "PROXY UNKNOWN\r", 'X' },
};

START_TEST(test_v1_early)
{
	struct proxy_info	 info;
	const char		*why;
	size_t			 used, n = strlen(v1_early[_i].before);
	char			 buf[128];

	memcpy(buf, v1_early[_i].before, n);
	buf[n] = v1_early[_i].bad;
	ck_assert_msg(parse(buf, n, &used, &info, &why) == PROXY_MORE,
	    "\"%s\": not MORE", v1_early[_i].before);
	ck_assert_msg(parse(buf, n + 1, &used, &info, &why) == PROXY_BAD,
	    "\"%s\" + 0x%02x: not BAD", v1_early[_i].before,
	    (unsigned char)v1_early[_i].bad);
}
END_TEST

START_TEST(test_v1_bytewise)
{
	static const char	*lines[] = {
		"PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\r\n",
		"PROXY TCP4 0.0.0.0 255.255.255.255 0 65535\r\n",
		"PROXY TCP6 2001:db8::1 ::ffff:10.0.0.1 1 2\r\n",
		"PROXY UNKNOWN\r\n",
		"PROXY UNKNOWN ffff:f::f ffff:f::f 65535 65535\r\n",
	};
	char	buf[160];
	size_t	i;

	for (i = 0; i < sizeof lines / sizeof lines[0]; i++) {
		snprintf(buf, sizeof buf, "%s\r\nPROXY TCP4 x\r\n", lines[i]);
		assert_bytewise(buf, strlen(lines[i]), strlen(buf), PROXY_OK);
	}
	assert_bytewise(hap_v1, strlen(hap_v1) - 7, strlen(hap_v1), PROXY_OK);
}
END_TEST

/* ---- v2 ---------------------------------------------------------------- */

START_TEST(test_v2_haproxy_v4)
{
	struct proxy_info	 info;
	const char		*why;
	size_t			 used;

	ck_assert_int_eq(parse(hap_v2_v4, sizeof hap_v2_v4, &used, &info,
	    &why), PROXY_OK);
	ck_assert_uint_eq(used, 28);
	ck_assert_int_eq(info.version, 2);
	ck_assert_int_eq(info.has_addr, 1);
	assert_sa(&info.src, "127.0.0.1", 41234);
	assert_sa(&info.dst, "127.0.0.1", 47111);
	assert_bytewise(hap_v2_v4, 28, sizeof hap_v2_v4, PROXY_OK);
}
END_TEST

START_TEST(test_v2_haproxy_v6)
{
	struct proxy_info	 info;
	const char		*why;
	size_t			 used;

	ck_assert_int_eq(parse(hap_v2_v6, sizeof hap_v2_v6, &used, &info,
	    &why), PROXY_OK);
	ck_assert_uint_eq(used, 52);
	ck_assert_int_eq(info.version, 2);
	ck_assert_int_eq(info.has_addr, 1);
	assert_sa(&info.src, "::1", 40002);
	assert_sa(&info.dst, "::1", 47101);
	assert_bytewise(hap_v2_v6, 52, sizeof hap_v2_v6, PROXY_OK);
}
END_TEST

START_TEST(test_v2_local)
{
	struct proxy_info	 info;
	unsigned char		 buf[64];
	const char		*why;
	size_t			 used, n;

	ck_assert_int_eq(parse(hap_v2_local, sizeof hap_v2_local, &used,
	    &info, &why), PROXY_LOCAL);
	ck_assert_uint_eq(used, 16);
	ck_assert_int_eq(info.version, 2);
	ck_assert_int_eq(info.has_addr, 0);
	assert_bytewise(hap_v2_local, 16, sizeof hap_v2_local, PROXY_LOCAL);

	/* LOCAL skips its block, whatever the family byte says. */
	n = v2(buf, 0x20, 0x11, 12, block_v4, 12);
	memcpy(buf + n, "DATA", 4);
	assert_bytewise(buf, 28, n + 4, PROXY_LOCAL);
	n = v2(buf, 0x20, 0xff, 3, "abc", 3);
	assert_bytewise(buf, 19, n, PROXY_LOCAL);
}
END_TEST

START_TEST(test_v2_tlvs)
{
	static const unsigned char	tlv[] = {
		0x04, 0x00, 0x00,			/* NOOP, empty */
		0x02, 0x00, 0x03, 'a', '.', 'b',	/* AUTHORITY */
		0x20, 0x00, 0x05, 0x01, 0, 0, 0, 0,	/* SSL, no subs */
		0xe0, 0x00, 0x01, 0x7f			/* custom */
	};
	struct proxy_info	 info;
	unsigned char		 body[64], buf[128];
	const char		*why;
	size_t			 used, n;

	memcpy(body, block_v4, 12);
	memcpy(body + 12, tlv, sizeof tlv);
	n = v2(buf, 0x21, 0x11, 12 + sizeof tlv, body, 12 + sizeof tlv);
	memcpy(buf + n, "DATA", 4);
	ck_assert_int_eq(parse(buf, n + 4, &used, &info, &why), PROXY_OK);
	ck_assert_uint_eq(used, n);
	assert_sa(&info.src, "1.2.3.4", 1000);
	assert_sa(&info.dst, "5.6.7.8", 443);
	assert_bytewise(buf, n, n + 4, PROXY_OK);

	memcpy(body, block_v6, 36);
	memcpy(body + 36, tlv, sizeof tlv);
	n = v2(buf, 0x21, 0x21, 36 + sizeof tlv, body, 36 + sizeof tlv);
	ck_assert_int_eq(parse(buf, n, &used, &info, &why), PROXY_OK);
	ck_assert_uint_eq(used, n);
	assert_sa(&info.src, "2001:db8::1", 1000);
	assert_sa(&info.dst, "2001:db8::2", 443);

	/* Without TLVs (the block alone), in IPv6. */
	n = v2(buf, 0x21, 0x21, 36, block_v6, 36);
	assert_bytewise(buf, n, n, PROXY_OK);
}
END_TEST

/* HAProxy's own CRC32c is verified: the header holds, a change does not. */
START_TEST(test_v2_crc32c)
{
	struct proxy_info	 info;
	unsigned char		 buf[sizeof hap_v2_tlv];
	const char		*why;
	size_t			 used;

	ck_assert_int_eq(parse(hap_v2_tlv, sizeof hap_v2_tlv, &used, &info,
	    &why), PROXY_OK);
	ck_assert_uint_eq(used, HAP_V2_TLV_LEN);
	assert_sa(&info.src, "127.0.0.1", 41235);
	assert_sa(&info.dst, "127.0.0.1", 47113);
	assert_bytewise(hap_v2_tlv, HAP_V2_TLV_LEN, sizeof hap_v2_tlv,
	    PROXY_OK);

	/* A byte of the unique id, of the checksum, of a port changed. */
	memcpy(buf, hap_v2_tlv, sizeof buf);
	buf[60] ^= 1;
	ck_assert_int_eq(parse(buf, sizeof buf, &used, &info, &why),
	    PROXY_BAD);
	ck_assert_str_eq(why, "v2: CRC32c does not match");
	memcpy(buf, hap_v2_tlv, sizeof buf);
	buf[HAP_V2_CRC_AT + 3] ^= 0x80;
	ck_assert_int_eq(parse(buf, sizeof buf, &used, &info, &why),
	    PROXY_BAD);
	memcpy(buf, hap_v2_tlv, sizeof buf);
	buf[25] ^= 0x01;
	ck_assert_int_eq(parse(buf, sizeof buf, &used, &info, &why),
	    PROXY_BAD);
	/* Only bytes after the header are not covered. */
	memcpy(buf, hap_v2_tlv, sizeof buf);
	buf[HAP_V2_TLV_LEN] ^= 0xff;
	ck_assert_int_eq(parse(buf, sizeof buf, &used, &info, &why),
	    PROXY_OK);
}
END_TEST

/* PROXY without addresses we take: AF_UNSPEC, UNSPEC transport, UDP, UNIX. */
START_TEST(test_v2_no_addr)
{
	static const struct {
		unsigned int	fam;
		size_t		len;
	} ok[] = {
		{ 0x00, 0 }, { 0x00, 7 }, { 0x01, 0 }, { 0x10, 0 },
		{ 0x10, 5 }, { 0x20, 2 }, { 0x30, 0 },
		{ 0x12, 12 }, { 0x12, 15 }, { 0x22, 36 },
		{ 0x31, 216 }, { 0x32, 216 }, { 0x31, 219 }
	};
	struct proxy_info	 info;
	unsigned char		 body[256];
	const char		*why;
	size_t			 used, i, n;

	memset(body, 0x41, sizeof body);
	for (i = 0; i < sizeof ok / sizeof ok[0]; i++) {
		n = v2(big, 0x21, ok[i].fam, ok[i].len, body, ok[i].len);
		/* A TLV header after a known block: NOOP, 0 bytes. */
		if (ok[i].len == 15 || ok[i].len == 219)
			memcpy(big + n - 3, "\x04\x00\x00", 3);
		memcpy(big + n, "DATA", 4);
		ck_assert_msg(parse(big, n + 4, &used, &info, &why) ==
		    PROXY_OK, "family 0x%02x, %zu bytes: %s", ok[i].fam,
		    ok[i].len, why != NULL ? why : "not OK");
		ck_assert_uint_eq(used, n);
		ck_assert_int_eq(info.version, 2);
		ck_assert_int_eq(info.has_addr, 0);
		ck_assert_int_eq(info.src.ss_family, 0);
		assert_bytewise(big, n, n + 4, PROXY_OK);
	}
}
END_TEST

START_TEST(test_v2_bad_header)
{
	static const struct {
		unsigned int	vc, fam;
		size_t		at;	/* bytes seen when refused */
	} bad[] = {
		{ 0x11, 0x11, 13 },	/* version 1 */
		{ 0x31, 0x11, 13 },	/* version 3 */
		{ 0x01, 0x11, 13 },
		{ 0xf1, 0x11, 13 },
		{ 0x22, 0x11, 13 },	/* command 2 */
		{ 0x2f, 0x11, 13 },
		{ 0x12, 0x11, 13 },
		{ 0x21, 0x41, 14 },	/* family 4 */
		{ 0x21, 0xf1, 14 },
		{ 0x21, 0x13, 14 },	/* transport 3 */
		{ 0x21, 0x1f, 14 },
		{ 0x21, 0x03, 14 },
	};
	struct proxy_info	 info;
	unsigned char		 buf[64];
	const char		*why;
	size_t			 used, n, k;

	for (k = 0; k < sizeof bad / sizeof bad[0]; k++) {
		n = v2(buf, bad[k].vc, bad[k].fam, 12, block_v4, 12);
		ck_assert_int_eq(parse(buf, bad[k].at - 1, &used, &info,
		    &why), PROXY_MORE);
		ck_assert_msg(parse(buf, bad[k].at, &used, &info, &why) ==
		    PROXY_BAD, "0x%02x 0x%02x", bad[k].vc, bad[k].fam);
		ck_assert_int_eq(parse(buf, n, &used, &info, &why),
		    PROXY_BAD);
	}
}
END_TEST

/* Each byte of the signature, wrong: refused when it comes. */
START_TEST(test_v2_signature)
{
	struct proxy_info	 info;
	unsigned char		 buf[64];
	const char		*why;
	size_t			 used, n;

	n = v2(buf, 0x21, 0x11, 12, block_v4, 12);
	buf[_i] ^= 0x20;
	if (_i > 0)
		ck_assert_int_eq(parse(buf, (size_t)_i, &used, &info, &why),
		    PROXY_MORE);
	ck_assert_int_eq(parse(buf, (size_t)_i + 1, &used, &info, &why),
	    PROXY_BAD);
	ck_assert_int_eq(parse(buf, n, &used, &info, &why), PROXY_BAD);
	ck_assert_str_eq(why, "not a PROXY header");
}
END_TEST

START_TEST(test_v2_truncated)
{
	struct proxy_info	 info;
	unsigned char		 buf[64];
	const char		*why;
	size_t			 used, n;

	/* Cut anywhere: more is wanted, and nothing is taken. */
	n = v2(buf, 0x21, 0x11, 12, block_v4, 12);
	for (; n > 0; n--)
		ck_assert_int_eq(parse(buf, n - 1, &used, &info, &why),
		    PROXY_MORE);

	/* A length too short for the family's addresses. */
	n = v2(buf, 0x21, 0x11, 11, block_v4, 11);
	ck_assert_int_eq(parse(buf, 16, &used, &info, &why), PROXY_BAD);
	ck_assert_int_eq(parse(buf, n + 1, &used, &info, &why), PROXY_BAD);
	n = v2(buf, 0x21, 0x21, 35, block_v6, 35);
	ck_assert_int_eq(parse(buf, n, &used, &info, &why), PROXY_BAD);
	n = v2(buf, 0x21, 0x21, 12, block_v4, 12);
	ck_assert_int_eq(parse(buf, n, &used, &info, &why), PROXY_BAD);
	n = v2(buf, 0x21, 0x31, 36, block_v6, 36);
	ck_assert_int_eq(parse(buf, n, &used, &info, &why), PROXY_BAD);
	n = v2(buf, 0x21, 0x12, 0, NULL, 0);
	ck_assert_int_eq(parse(buf, n, &used, &info, &why), PROXY_BAD);
}
END_TEST

/* PROXY_V2_MAX bytes in all are taken; one more is refused at once. */
START_TEST(test_v2_bound)
{
	struct proxy_info	 info;
	const char		*why;
	size_t			 used, blen = PROXY_V2_MAX - 16, n;
	unsigned char		 body[PROXY_V2_MAX];

	memset(body, 0, sizeof body);
	memcpy(body, block_v4, 12);
	body[12] = 0x04;			/* NOOP over the rest */
	body[13] = (unsigned char)((blen - 15) >> 8);
	body[14] = (unsigned char)(blen - 15);
	n = v2(big, 0x21, 0x11, blen, body, blen);
	ck_assert_uint_eq(n, PROXY_V2_MAX);
	ck_assert_int_eq(parse(big, n - 1, &used, &info, &why), PROXY_MORE);
	ck_assert_int_eq(parse(big, n, &used, &info, &why), PROXY_OK);
	ck_assert_uint_eq(used, PROXY_V2_MAX);
	assert_sa(&info.src, "1.2.3.4", 1000);

	/* One byte more, for PROXY and LOCAL alike: refused on 16 bytes. */
	v2(big, 0x21, 0x11, blen + 1, body, 0);
	ck_assert_int_eq(parse(big, 15, &used, &info, &why), PROXY_MORE);
	ck_assert_int_eq(parse(big, 16, &used, &info, &why), PROXY_BAD);
	v2(big, 0x20, 0x00, blen + 1, body, 0);
	ck_assert_int_eq(parse(big, 16, &used, &info, &why), PROXY_BAD);
	v2(big, 0x20, 0x00, 0xffff, body, 0);
	ck_assert_int_eq(parse(big, 16, &used, &info, &why), PROXY_BAD);
	v2(big, 0x21, 0x00, 0xffff, body, 0);
	ck_assert_int_eq(parse(big, 16, &used, &info, &why), PROXY_BAD);
}
END_TEST

START_TEST(test_v2_bad_tlv)
{
	static const struct {
		const char	*tlv;
		size_t		 len;
	} bad[] = {
		{ "\x04", 1 },				/* cut short */
		{ "\x04\x00", 2 },
		{ "\x04\x00\x00\x04", 4 },		/* a byte left over */
		{ "\x04\x00\x01", 3 },			/* value missing */
		{ "\x02\x00\x05" "abcd", 7 },		/* one byte short */
		{ "\x02\xff\xff" "abcd", 7 },
		{ "\x03\x00\x03" "abc", 6 },		/* CRC32c of 3 */
		{ "\x03\x00\x05" "abcde", 8 },
		{ "\x03\x00\x04" "\0\0\0\0", 7 },	/* wrong CRC */
	};
	struct proxy_info	 info;
	unsigned char		 body[128], buf[160];
	const char		*why;
	size_t			 used, n, k;

	for (k = 0; k < sizeof bad / sizeof bad[0]; k++) {
		memcpy(body, block_v4, 12);
		memcpy(body + 12, bad[k].tlv, bad[k].len);
		n = v2(buf, 0x21, 0x11, 12 + bad[k].len, body,
		    12 + bad[k].len);
		ck_assert_int_eq(parse(buf, n - 1, &used, &info, &why),
		    PROXY_MORE);
		ck_assert_msg(parse(buf, n, &used, &info, &why) == PROXY_BAD,
		    "TLV %zu accepted", k);
		/* The same block behind AF_UNSPEC is not read at all. */
		n = v2(buf, 0x21, 0x00, 12 + bad[k].len, body,
		    12 + bad[k].len);
		ck_assert_int_eq(parse(buf, n, &used, &info, &why), PROXY_OK);
	}

	/* Two CRC32c TLVs: refused even if one were right. */
	memcpy(body, hap_v2_tlv + 16, HAP_V2_TLV_LEN - 16);
	memcpy(body + HAP_V2_TLV_LEN - 16, "\x03\x00\x04\0\0\0\0", 7);
	n = v2(buf, 0x21, 0x11, HAP_V2_TLV_LEN - 16 + 7, body,
	    HAP_V2_TLV_LEN - 16 + 7);
	ck_assert_int_eq(parse(buf, n, &used, &info, &why), PROXY_BAD);
	ck_assert_str_eq(why, "v2: two CRC32c TLVs");
}
END_TEST

/* Whatever the bytes, PROXY_MAX of them are enough to decide. */
START_TEST(test_never_more_at_max)
{
	struct proxy_info	 info;
	const char		*why;
	size_t			 used;

	memset(big, 'x', sizeof big);
	memcpy(big, "PROXY UNKNOWN ", 14);
	ck_assert_int_ne(parse(big, PROXY_MAX, &used, &info, &why),
	    PROXY_MORE);
	v2(big, 0x21, 0x11, PROXY_V2_MAX - 16, block_v4, 12);
	ck_assert_int_ne(parse(big, PROXY_MAX, &used, &info, &why),
	    PROXY_MORE);
	ck_assert_int_eq(parse(big, 0, &used, &info, &why), PROXY_MORE);
}
END_TEST

static Suite *
proxy_suite(void)
{
	Suite	*s = suite_create("proxy");
	TCase	*tc;

	tc = tcase_create("v1");
	tcase_add_test(tc, test_v1_tcp4);
	tcase_add_test(tc, test_v1_tcp6);
	tcase_add_test(tc, test_v1_tcp6_longest);
	tcase_add_test(tc, test_v1_unknown);
	tcase_add_test(tc, test_v1_107);
	tcase_add_test(tc, test_v1_haproxy);
	tcase_add_loop_test(tc, test_v1_bad, 0,
	    (int)(sizeof v1_bad / sizeof v1_bad[0]));
	tcase_add_loop_test(tc, test_v1_early, 0,
	    (int)(sizeof v1_early / sizeof v1_early[0]));
	tcase_add_test(tc, test_v1_bytewise);
	suite_add_tcase(s, tc);

	tc = tcase_create("v2");
	tcase_add_test(tc, test_v2_haproxy_v4);
	tcase_add_test(tc, test_v2_haproxy_v6);
	tcase_add_test(tc, test_v2_local);
	tcase_add_test(tc, test_v2_tlvs);
	tcase_add_test(tc, test_v2_crc32c);
	tcase_add_test(tc, test_v2_no_addr);
	tcase_add_test(tc, test_v2_bad_header);
	tcase_add_loop_test(tc, test_v2_signature, 0, 12);
	tcase_add_test(tc, test_v2_truncated);
	tcase_add_test(tc, test_v2_bound);
	tcase_add_test(tc, test_v2_bad_tlv);
	tcase_add_test(tc, test_never_more_at_max);
	suite_add_tcase(s, tc);

	return (s);
}

int
main(void)
{
	SRunner	*sr;
	int	 failed;

	sr = srunner_create(proxy_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return (failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE);
}

/* check_addr.c - unit tests for address parsing, formatting and keys. */

#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"

static const char *
use_name(enum addr_use use)
{
	switch (use) {
	case ADDR_LISTEN:
		return ("listen");
	case ADDR_CONNECT:
		return ("connect");
	case ADDR_BIND:
		return ("bind");
	case ADDR_SENDTO:
		return ("sendto");
	}
	return ("?");
}

static void
make_sa(struct sockaddr_storage *ss, const char *ip, uint16_t port)
{
	struct sockaddr_in	*sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6	*sin6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof *ss);
	if (inet_pton(AF_INET, ip, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons(port);
		return;
	}
	ck_assert_int_eq(inet_pton(AF_INET6, ip, &sin6->sin6_addr), 1);
	sin6->sin6_family = AF_INET6;
	sin6->sin6_port = htons(port);
}

/* addr_parse: accepted forms. */

static const struct {
	const char	*str;
	enum addr_use	 use;
	const char	*host;
	uint16_t	 port;
	int		 is_auto;
	int		 is_name;
} good[] = {
	/* PORT alone: the default host by use. */
	{ "7878", ADDR_LISTEN, "0.0.0.0", 7878, 0, 0 },
	{ "9999", ADDR_BIND, "0.0.0.0", 9999, 0, 0 },
	{ "7878", ADDR_CONNECT, "127.0.0.1", 7878, 0, 0 },
	{ "9999", ADDR_SENDTO, "127.0.0.1", 9999, 0, 0 },
	{ "1", ADDR_LISTEN, "0.0.0.0", 1, 0, 0 },
	{ "65535", ADDR_BIND, "0.0.0.0", 65535, 0, 0 },
	{ "65535", ADDR_CONNECT, "127.0.0.1", 65535, 0, 0 },
	{ "1", ADDR_SENDTO, "127.0.0.1", 1, 0, 0 },
	/* A bound port of 0: the system chooses (issue 11, defect 2). */
	{ "0", ADDR_BIND, "0.0.0.0", 0, 0, 0 },
	{ "127.0.0.1:0", ADDR_BIND, "127.0.0.1", 0, 0, 0 },
	{ "0.0.0.0:0", ADDR_BIND, "0.0.0.0", 0, 0, 0 },
	{ "[::1]:0", ADDR_BIND, "::1", 0, 0, 0 },

	/* IP:PORT. */
	{ "1.2.3.4:80", ADDR_LISTEN, "1.2.3.4", 80, 0, 0 },
	{ "1.2.3.4:80", ADDR_CONNECT, "1.2.3.4", 80, 0, 0 },
	{ "1.2.3.4:80", ADDR_BIND, "1.2.3.4", 80, 0, 0 },
	{ "1.2.3.4:80", ADDR_SENDTO, "1.2.3.4", 80, 0, 0 },
	{ "192.168.1.100:8888", ADDR_SENDTO, "192.168.1.100", 8888, 0, 0 },
	{ "127.0.0.1:9999", ADDR_BIND, "127.0.0.1", 9999, 0, 0 },
	{ "0.0.0.0:65535", ADDR_LISTEN, "0.0.0.0", 65535, 0, 0 },
	{ "255.255.255.255:1", ADDR_SENDTO, "255.255.255.255", 1, 0, 0 },

	/* [IPv6]:PORT. */
	{ "[::1]:80", ADDR_LISTEN, "::1", 80, 0, 0 },
	{ "[::1]:80", ADDR_CONNECT, "::1", 80, 0, 0 },
	{ "[::1]:80", ADDR_BIND, "::1", 80, 0, 0 },
	{ "[::1]:80", ADDR_SENDTO, "::1", 80, 0, 0 },
	{ "[::]:7878", ADDR_LISTEN, "::", 7878, 0, 0 },
	{ "[2001:db8::1]:53", ADDR_SENDTO, "2001:db8::1", 53, 0, 0 },
	{ "[::ffff:1.2.3.4]:5", ADDR_BIND, "::ffff:1.2.3.4", 5, 0, 0 },

	/* HOST:PORT, connect and sendto only. */
	{ "server:7878", ADDR_CONNECT, "server", 7878, 0, 1 },
	{ "localhost:53", ADDR_SENDTO, "localhost", 53, 0, 1 },
	{ "example.com:443", ADDR_CONNECT, "example.com", 443, 0, 1 },
	{ "host-1.example:1", ADDR_SENDTO, "host-1.example", 1, 0, 1 },
	{ "a1:65535", ADDR_CONNECT, "a1", 65535, 0, 1 },

	/* auto forms. */
	{ "auto", ADDR_BIND, "", 0, 1, 0 },
	{ "127.0.0.1:auto", ADDR_BIND, "127.0.0.1", 0, 1, 0 },
	{ "0.0.0.0:auto", ADDR_BIND, "0.0.0.0", 0, 1, 0 },
	{ "192.168.1.100:auto", ADDR_SENDTO, "192.168.1.100", 0, 1, 0 },
	{ "127.0.0.1:auto", ADDR_SENDTO, "127.0.0.1", 0, 1, 0 }
};

START_TEST(test_parse_good)
{
	struct addr_spec	 spec;
	const char		*why = NULL;
	int			 rc;

	memset(&spec, 0xa5, sizeof spec);
	rc = addr_parse(&spec, good[_i].str, good[_i].use, &why);
	ck_assert_msg(rc == 0, "\"%s\" for %s refused: %s", good[_i].str,
	    use_name(good[_i].use), why != NULL ? why : "(no reason)");
	ck_assert_str_eq(spec.host, good[_i].host);
	ck_assert_uint_eq(spec.port, good[_i].port);
	ck_assert_int_eq(spec.is_auto, good[_i].is_auto);
	ck_assert_int_eq(spec.is_name, good[_i].is_name);
}
END_TEST

/* addr_parse: refused forms. */

static const struct {
	const char	*str;
	enum addr_use	 use;
} bad[] = {
	/* Ports, alone and after an address, for every use. */
	{ "0", ADDR_LISTEN }, { "0", ADDR_CONNECT },
	{ "0", ADDR_SENDTO }, { "65536", ADDR_BIND },
	{ "65536", ADDR_LISTEN }, { "65536", ADDR_CONNECT },
	{ "65536", ADDR_BIND }, { "65536", ADDR_SENDTO },
	{ "abc", ADDR_LISTEN }, { "abc", ADDR_BIND },
	{ "", ADDR_LISTEN }, { "", ADDR_CONNECT },
	{ "", ADDR_BIND }, { "", ADDR_SENDTO },
	{ "-1", ADDR_LISTEN }, { "-1", ADDR_CONNECT },
	{ "-1", ADDR_BIND }, { "-1", ADDR_SENDTO },
	{ "80x", ADDR_LISTEN }, { "80x", ADDR_CONNECT },
	{ "80x", ADDR_BIND }, { "80x", ADDR_SENDTO },
	{ "99999", ADDR_LISTEN },
	{ "4294967376", ADDR_LISTEN },		/* 2^32 + 80 */
	{ "18446744073709551696", ADDR_CONNECT },	/* 2^64 + 80 */
	{ "1.2.3.4:0", ADDR_LISTEN }, { "1.2.3.4:0", ADDR_CONNECT },
	{ "1.2.3.4:65536", ADDR_BIND }, { "1.2.3.4:0", ADDR_SENDTO },
	{ "1.2.3.4:65536", ADDR_LISTEN }, { "1.2.3.4:65536", ADDR_SENDTO },
	{ "1.2.3.4:abc", ADDR_BIND }, { "1.2.3.4:abc", ADDR_CONNECT },
	{ "1.2.3.4:-1", ADDR_SENDTO }, { "1.2.3.4:80x", ADDR_LISTEN },
	{ "1.2.3.4:", ADDR_LISTEN }, { "1.2.3.4:", ADDR_CONNECT },
	{ "1.2.3.4:", ADDR_BIND }, { "1.2.3.4:", ADDR_SENDTO },
	{ "[::1]:0", ADDR_LISTEN }, { "[::1]:65536", ADDR_SENDTO },
	{ "[::1]:x", ADDR_BIND },
	{ "server:0", ADDR_CONNECT }, { "server:65536", ADDR_SENDTO },
	{ "server:", ADDR_CONNECT },

	/* Unbracketed IPv6 with a port. */
	{ "::1:80", ADDR_LISTEN }, { "::1:80", ADDR_CONNECT },
	{ "::1:80", ADDR_BIND }, { "::1:80", ADDR_SENDTO },
	{ "2001:db8::1:53", ADDR_SENDTO },

	/* Broken brackets and empty hosts. */
	{ ":80", ADDR_LISTEN }, { ":80", ADDR_CONNECT },
	{ ":80", ADDR_BIND }, { ":80", ADDR_SENDTO },
	{ "[::1]", ADDR_LISTEN }, { "[::1]", ADDR_CONNECT },
	{ "[::1]", ADDR_BIND }, { "[::1]", ADDR_SENDTO },
	{ "[::1", ADDR_LISTEN }, { "[::1", ADDR_CONNECT },
	{ "[::1:80", ADDR_SENDTO },
	{ "[::1]:", ADDR_LISTEN }, { "[::1]:", ADDR_CONNECT },
	{ "[::1]80", ADDR_BIND },
	{ "[]:80", ADDR_LISTEN }, { "[]:80", ADDR_CONNECT },
	{ "[not-an-ip]:80", ADDR_LISTEN },

	/* Host names where only IPs make sense. */
	{ "server:7878", ADDR_LISTEN }, { "server:7878", ADDR_BIND },
	{ "localhost:53", ADDR_LISTEN }, { "localhost:53", ADDR_BIND },

	/* Malformed IPv4: never an IP, and digits and dots are no name. */
	{ "1.2.3.256:80", ADDR_LISTEN }, { "1.2.3.256:80", ADDR_BIND },
	{ "1.2.3.256:80", ADDR_CONNECT }, { "1.2.3.256:80", ADDR_SENDTO },
	{ "1.2.3:80", ADDR_CONNECT }, { "1.2.3:80", ADDR_LISTEN },
	{ "1.2.3.4.5:80", ADDR_SENDTO }, { "1.2.3.4.5:80", ADDR_BIND },
	{ "999.1.1.1:80", ADDR_CONNECT },
	{ "1..3.4:80", ADDR_SENDTO },

	/* auto where it does not belong. */
	{ "auto", ADDR_LISTEN }, { "auto", ADDR_CONNECT },
	{ "auto", ADDR_SENDTO },
	{ "1.2.3.4:auto", ADDR_LISTEN }, { "1.2.3.4:auto", ADDR_CONNECT },
	{ "1.2.3.256:auto", ADDR_BIND }
};

START_TEST(test_parse_bad)
{
	struct addr_spec	 spec;
	const char		*why = NULL;
	int			 rc;

	memset(&spec, 0, sizeof spec);
	rc = addr_parse(&spec, bad[_i].str, bad[_i].use, &why);
	ck_assert_msg(rc == -1, "\"%s\" for %s accepted (host \"%s\" "
	    "port %u auto %d name %d)", bad[_i].str, use_name(bad[_i].use),
	    spec.host, spec.port, spec.is_auto, spec.is_name);
	ck_assert_msg(why != NULL && why[0] != '\0',
	    "\"%s\" for %s: no reason given", bad[_i].str,
	    use_name(bad[_i].use));
	ck_assert_ptr_null(strchr(why, '\n'));
}
END_TEST

/* A host name too long for the spec is refused, not truncated. */
START_TEST(test_parse_long_host)
{
	struct addr_spec	 spec;
	const char		*why = NULL;
	char			 str[ADDR_HOSTLEN + 16];

	memset(str, 'a', ADDR_HOSTLEN + 4);
	strcpy(str + ADDR_HOSTLEN + 4, ":80");
	ck_assert_int_eq(addr_parse(&spec, str, ADDR_CONNECT, &why), -1);
	ck_assert_ptr_nonnull(why);
}
END_TEST

/* The reason is static: it survives another parse. */
START_TEST(test_parse_why_static)
{
	struct addr_spec	 spec;
	const char		*why1 = NULL, *why2 = NULL;
	char			 copy[256];

	ck_assert_int_eq(addr_parse(&spec, "1.2.3.4:0", ADDR_LISTEN, &why1),
	    -1);
	ck_assert_ptr_nonnull(why1);
	ck_assert_uint_lt(strlen(why1), sizeof copy);
	strcpy(copy, why1);
	ck_assert_int_eq(addr_parse(&spec, "auto", ADDR_LISTEN, &why2), -1);
	ck_assert_int_eq(addr_parse(&spec, "1.2.3.4:80", ADDR_BIND, &why2),
	    0);
	ck_assert_str_eq(why1, copy);
}
END_TEST

/* addr_numeric. */

START_TEST(test_numeric_v4)
{
	struct addr_spec	 spec;
	struct sockaddr_storage	 ss;
	struct sockaddr_in	*sin = (struct sockaddr_in *)&ss;
	socklen_t		 len = 0;
	const char		*why;

	ck_assert_int_eq(addr_parse(&spec, "192.168.1.100:8888", ADDR_SENDTO,
	    &why), 0);
	memset(&ss, 0xa5, sizeof ss);
	ck_assert_int_eq(addr_numeric(&spec, &ss, &len), 0);
	ck_assert_int_eq(ss.ss_family, AF_INET);
	ck_assert_uint_eq(len, sizeof(struct sockaddr_in));
	ck_assert_uint_eq(sin->sin_port, htons(8888));
	ck_assert_uint_eq(sin->sin_addr.s_addr, htonl(0xc0a80164));
}
END_TEST

START_TEST(test_numeric_default_hosts)
{
	struct addr_spec	 spec;
	struct sockaddr_storage	 ss;
	struct sockaddr_in	*sin = (struct sockaddr_in *)&ss;
	socklen_t		 len = 0;
	const char		*why;

	ck_assert_int_eq(addr_parse(&spec, "7878", ADDR_LISTEN, &why), 0);
	ck_assert_int_eq(addr_numeric(&spec, &ss, &len), 0);
	ck_assert_int_eq(ss.ss_family, AF_INET);
	ck_assert_uint_eq(sin->sin_addr.s_addr, htonl(INADDR_ANY));
	ck_assert_uint_eq(sin->sin_port, htons(7878));

	ck_assert_int_eq(addr_parse(&spec, "9999", ADDR_SENDTO, &why), 0);
	ck_assert_int_eq(addr_numeric(&spec, &ss, &len), 0);
	ck_assert_int_eq(ss.ss_family, AF_INET);
	ck_assert_uint_eq(sin->sin_addr.s_addr, htonl(INADDR_LOOPBACK));
	ck_assert_uint_eq(sin->sin_port, htons(9999));
	ck_assert_uint_eq(len, sizeof(struct sockaddr_in));
}
END_TEST

START_TEST(test_numeric_v6)
{
	struct addr_spec	 spec;
	struct sockaddr_storage	 ss;
	struct sockaddr_in6	*sin6 = (struct sockaddr_in6 *)&ss;
	struct in6_addr		 want;
	socklen_t		 len = 0;
	const char		*why;

	ck_assert_int_eq(addr_parse(&spec, "[2001:db8::1]:53", ADDR_CONNECT,
	    &why), 0);
	memset(&ss, 0xa5, sizeof ss);
	ck_assert_int_eq(addr_numeric(&spec, &ss, &len), 0);
	ck_assert_int_eq(ss.ss_family, AF_INET6);
	ck_assert_uint_eq(len, sizeof(struct sockaddr_in6));
	ck_assert_uint_eq(sin6->sin6_port, htons(53));
	inet_pton(AF_INET6, "2001:db8::1", &want);
	ck_assert_mem_eq(&sin6->sin6_addr, &want, sizeof want);
}
END_TEST

START_TEST(test_numeric_auto)
{
	struct addr_spec	 spec;
	struct sockaddr_storage	 ss;
	struct sockaddr_in	*sin = (struct sockaddr_in *)&ss;
	socklen_t		 len = 0;
	const char		*why;

	ck_assert_int_eq(addr_parse(&spec, "127.0.0.1:auto", ADDR_BIND,
	    &why), 0);
	ck_assert_int_eq(addr_numeric(&spec, &ss, &len), 0);
	ck_assert_int_eq(ss.ss_family, AF_INET);
	ck_assert_uint_eq(sin->sin_port, 0);
	ck_assert_uint_eq(sin->sin_addr.s_addr, htonl(INADDR_LOOPBACK));
}
END_TEST

START_TEST(test_numeric_name)
{
	struct addr_spec	 spec;
	struct sockaddr_storage	 ss;
	socklen_t		 len = 0;
	const char		*why;

	ck_assert_int_eq(addr_parse(&spec, "server:7878", ADDR_CONNECT,
	    &why), 0);
	ck_assert_int_eq(spec.is_name, 1);
	ck_assert_int_eq(addr_numeric(&spec, &ss, &len), -1);

	ck_assert_int_eq(addr_parse(&spec, "localhost:53", ADDR_SENDTO,
	    &why), 0);
	ck_assert_int_eq(addr_numeric(&spec, &ss, &len), -1);
}
END_TEST

/* addr_fmt. */

static const struct {
	const char	*ip;
	uint16_t	 port;
	const char	*want;
} fmts[] = {
	{ "1.2.3.4", 5, "1.2.3.4:5" },
	{ "127.0.0.1", 5000, "127.0.0.1:5000" },
	{ "0.0.0.0", 0, "0.0.0.0:0" },
	{ "255.255.255.255", 65535, "255.255.255.255:65535" },
	{ "::1", 5, "[::1]:5" },
	{ "::", 7878, "[::]:7878" },
	{ "2001:db8::1", 53, "[2001:db8::1]:53" },
	{ "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 65535,
	    "[ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff]:65535" }
};

START_TEST(test_fmt)
{
	struct sockaddr_storage	 ss;
	char			 buf[ADDR_STRLEN];
	const char		*p;

	make_sa(&ss, fmts[_i].ip, fmts[_i].port);
	memset(buf, 'X', sizeof buf);
	p = addr_fmt((struct sockaddr *)&ss, buf, sizeof buf);
	ck_assert_ptr_eq(p, buf);
	ck_assert_str_eq(buf, fmts[_i].want);
}
END_TEST

/* The longest IPv6 text with a scope id and port fits in ADDR_STRLEN. */
START_TEST(test_fmt_longest)
{
	struct sockaddr_storage	 ss;
	struct sockaddr_in6	*sin6 = (struct sockaddr_in6 *)&ss;
	char			 buf[ADDR_STRLEN + 8];
	const char		*p;

	make_sa(&ss, "ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255", 65535);
	sin6->sin6_scope_id = 0xffffffffU;
	memset(buf, 'X', sizeof buf);
	p = addr_fmt((struct sockaddr *)&ss, buf, ADDR_STRLEN);
	ck_assert_ptr_eq(p, buf);
	ck_assert_uint_lt(strlen(buf), ADDR_STRLEN);
	ck_assert_int_eq(buf[0], '[');
	ck_assert_ptr_nonnull(strstr(buf, "]:65535"));
	ck_assert_int_eq(buf[ADDR_STRLEN], 'X');
}
END_TEST

/* A short buffer is never overrun and stays a string. */
START_TEST(test_fmt_short_buffer)
{
	struct sockaddr_storage	 ss;
	char			 buf[32];

	make_sa(&ss, "2001:db8:1:2:3:4:5:6", 65535);
	memset(buf, 'X', sizeof buf);
	ck_assert_ptr_eq(addr_fmt((struct sockaddr *)&ss, buf, 8), buf);
	ck_assert_uint_lt(strlen(buf), 8);
	ck_assert_int_eq(buf[8], 'X');
	ck_assert_int_eq(buf[31], 'X');
}
END_TEST

/* addr_key_make. */

static void
key_of(struct addr_key *key, const struct sockaddr_storage *ss, int junk)
{
	memset(key, junk, sizeof *key);
	addr_key_make(key, (const struct sockaddr *)ss);
}

START_TEST(test_key_garbage_v4)
{
	struct sockaddr_storage	 a, b;
	struct sockaddr_in	*sin = (struct sockaddr_in *)&a;
	struct addr_key		 ka, kb;

	/* Built field by field over garbage... */
	memset(&a, 0xa5, sizeof a);
	sin->sin_family = AF_INET;
	sin->sin_port = htons(5000);
	inet_pton(AF_INET, "127.0.0.1", &sin->sin_addr);
	/* ...and over zeroes. */
	make_sa(&b, "127.0.0.1", 5000);
	ck_assert_mem_ne(&a, &b, sizeof a);

	key_of(&ka, &a, 0xff);
	key_of(&kb, &b, 0x00);
	ck_assert_mem_eq(&ka, &kb, sizeof ka);
	ck_assert_uint_eq(ka.family, AF_INET);
	ck_assert_uint_eq(ka.port, htons(5000));
}
END_TEST

START_TEST(test_key_garbage_v6)
{
	struct sockaddr_storage	 a, b;
	struct sockaddr_in6	*sin6 = (struct sockaddr_in6 *)&a;
	struct addr_key		 ka, kb;

	memset(&a, 0x5a, sizeof a);
	sin6->sin6_family = AF_INET6;
	sin6->sin6_port = htons(53);
	sin6->sin6_flowinfo = 0;
	sin6->sin6_scope_id = 0;
	inet_pton(AF_INET6, "2001:db8::1", &sin6->sin6_addr);
	make_sa(&b, "2001:db8::1", 53);
	ck_assert_mem_ne(&a, &b, sizeof a);

	key_of(&ka, &a, 0x00);
	key_of(&kb, &b, 0xff);
	ck_assert_mem_eq(&ka, &kb, sizeof ka);
	ck_assert_uint_eq(ka.family, AF_INET6);
	ck_assert_uint_eq(ka.port, htons(53));
}
END_TEST

START_TEST(test_key_mapped)
{
	struct sockaddr_storage	 v4, v6;
	struct addr_key		 k4, k6;

	make_sa(&v4, "10.1.2.3", 4242);
	memset(&v6, 0x33, sizeof v6);
	{
		struct sockaddr_in6	*sin6 = (struct sockaddr_in6 *)&v6;

		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(4242);
		sin6->sin6_flowinfo = 0;
		sin6->sin6_scope_id = 0;
		inet_pton(AF_INET6, "::ffff:10.1.2.3", &sin6->sin6_addr);
	}
	key_of(&k4, &v4, 0x11);
	key_of(&k6, &v6, 0x22);
	ck_assert_mem_eq(&k4, &k6, sizeof k4);
	ck_assert_uint_eq(k6.family, AF_INET);
}
END_TEST

static const struct {
	const char	*ip1;
	uint16_t	 port1;
	const char	*ip2;
	uint16_t	 port2;
} keys_differ[] = {
	{ "127.0.0.1", 5000, "127.0.0.1", 5001 },
	{ "127.0.0.1", 5000, "127.0.0.2", 5000 },
	{ "127.0.0.1", 5000, "1.0.0.127", 5000 },
	{ "127.0.0.1", 0x1388, "127.0.0.1", 0x8813 },	/* swapped bytes */
	{ "::1", 53, "::1", 54 },
	{ "::1", 53, "::2", 53 },
	{ "2001:db8::1", 53, "2001:db8::1:0", 53 },
	{ "1.2.3.4", 80, "::1.2.3.4", 80 },		/* compatible, not mapped */
	{ "1.2.3.4", 80, "::ffff:1.2.3.5", 80 },
	{ "0.0.0.0", 1, "::", 1 }
};

START_TEST(test_key_differ)
{
	struct sockaddr_storage	 a, b;
	struct addr_key		 ka, kb;

	make_sa(&a, keys_differ[_i].ip1, keys_differ[_i].port1);
	make_sa(&b, keys_differ[_i].ip2, keys_differ[_i].port2);
	key_of(&ka, &a, 0);
	key_of(&kb, &b, 0);
	ck_assert_msg(memcmp(&ka, &kb, sizeof ka) != 0,
	    "%s:%u and %s:%u share a key", keys_differ[_i].ip1,
	    keys_differ[_i].port1, keys_differ[_i].ip2,
	    keys_differ[_i].port2);
}
END_TEST

/*
 * The scope id is not in the key (issue 11, defect 3): the reply to a
 * link-local client comes back in a frame that has none, and must find
 * the flow the client's datagram made.
 */
START_TEST(test_key_scope)
{
	struct sockaddr_storage	 a, b;
	struct addr_key		 ka, kb;

	make_sa(&a, "fe80::1", 53);
	make_sa(&b, "fe80::1", 53);
	((struct sockaddr_in6 *)&a)->sin6_scope_id = 2;
	((struct sockaddr_in6 *)&b)->sin6_scope_id = 0;
	key_of(&ka, &a, 0);
	key_of(&kb, &b, 0);
	ck_assert_mem_eq(&ka, &kb, sizeof ka);
	ck_assert_uint_eq(ka.scope, 0);
}
END_TEST

/* addr_unmap. */

START_TEST(test_unmap_mapped)
{
	struct sockaddr_storage	 ss;
	struct sockaddr_in	*sin = (struct sockaddr_in *)&ss;

	make_sa(&ss, "::ffff:10.1.2.3", 4242);
	ck_assert_int_eq(addr_unmap(&ss), 1);
	ck_assert_int_eq(ss.ss_family, AF_INET);
	ck_assert_uint_eq(sin->sin_port, htons(4242));
	ck_assert_uint_eq(sin->sin_addr.s_addr, htonl(0x0a010203));
	ck_assert_uint_eq(addr_len((struct sockaddr *)&ss),
	    sizeof(struct sockaddr_in));

	make_sa(&ss, "::ffff:0.0.0.0", 1);
	ck_assert_int_eq(addr_unmap(&ss), 1);
	ck_assert_int_eq(ss.ss_family, AF_INET);
	ck_assert_uint_eq(sin->sin_port, htons(1));
	ck_assert_uint_eq(sin->sin_addr.s_addr, 0);
}
END_TEST

START_TEST(test_unmap_others)
{
	static const char	*ips[] = {
		"::1", "::", "2001:db8::1", "::1.2.3.4", "::fffe:1.2.3.4",
		"1::ffff:1.2.3.4", "10.1.2.3"
	};
	struct sockaddr_storage	 ss, copy;
	size_t			 i;

	for (i = 0; i < sizeof ips / sizeof ips[0]; i++) {
		make_sa(&ss, ips[i], 99);
		memcpy(&copy, &ss, sizeof ss);
		ck_assert_msg(addr_unmap(&ss) == 0, "%s unmapped", ips[i]);
		ck_assert_mem_eq(&ss, &copy, sizeof ss);
	}
}
END_TEST

/* The unmapped address keys like the original sockaddr_in. */
START_TEST(test_unmap_key)
{
	struct sockaddr_storage	 a, b;
	struct addr_key		 ka, kb;

	make_sa(&a, "::ffff:192.0.2.1", 777);
	make_sa(&b, "192.0.2.1", 777);
	ck_assert_int_eq(addr_unmap(&a), 1);
	key_of(&ka, &a, 0x77);
	key_of(&kb, &b, 0x00);
	ck_assert_mem_eq(&ka, &kb, sizeof ka);
}
END_TEST

/* addr_len. */

START_TEST(test_len)
{
	struct sockaddr_storage	ss;

	make_sa(&ss, "1.2.3.4", 1);
	ck_assert_uint_eq(addr_len((struct sockaddr *)&ss),
	    sizeof(struct sockaddr_in));
	make_sa(&ss, "::1", 1);
	ck_assert_uint_eq(addr_len((struct sockaddr *)&ss),
	    sizeof(struct sockaddr_in6));
}
END_TEST

/* --allow ranges: what matches, what does not, and what is refused. */
static const struct {
	const char	*cidr;
	const char	*ip;
	int		 match;
} cidr_cases[] = {
	{ "127.0.0.0/8", "127.0.0.1", 1 },
	{ "127.0.0.0/8", "127.255.255.255", 1 },
	{ "127.0.0.0/8", "128.0.0.1", 0 },
	{ "192.168.4.0/22", "192.168.7.9", 1 },
	{ "192.168.4.0/22", "192.168.8.1", 0 },
	{ "10.1.2.3", "10.1.2.3", 1 },
	{ "10.1.2.3", "10.1.2.4", 0 },
	{ "0.0.0.0/0", "203.0.113.9", 1 },
	{ "0.0.0.0/0", "::1", 0 },
	{ "::1", "::1", 1 },
	{ "::1/128", "::2", 0 },
	{ "2001:db8::/32", "2001:db8:ffff::1", 1 },
	{ "2001:db8::/33", "2001:db8:8000::1", 0 },
	{ "127.0.0.0/8", "::ffff:127.0.0.1", 1 },	/* mapped peer */
	{ "::/0", "127.0.0.1", 0 },
};

static void
cidr_sockaddr(const char *ip, struct sockaddr_storage *ss)
{
	struct sockaddr_in	*sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6	*sin6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0xa5, sizeof *ss);	/* padding must not matter */
	if (inet_pton(AF_INET, ip, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons(4000);
		return;
	}
	ck_assert_int_eq(inet_pton(AF_INET6, ip, &sin6->sin6_addr), 1);
	sin6->sin6_family = AF_INET6;
	sin6->sin6_port = htons(4000);
	sin6->sin6_scope_id = 0;
}

START_TEST(test_cidr_match)
{
	struct addr_cidr	c;
	struct sockaddr_storage	ss;
	const char		*why = NULL;

	ck_assert_msg(addr_cidr_parse(&c, cidr_cases[_i].cidr, &why) == 0,
	    "%s refused: %s", cidr_cases[_i].cidr, why);
	cidr_sockaddr(cidr_cases[_i].ip, &ss);
	ck_assert_msg(addr_cidr_match(&c, (struct sockaddr *)&ss) ==
	    cidr_cases[_i].match, "%s in %s: expected %d",
	    cidr_cases[_i].ip, cidr_cases[_i].cidr, cidr_cases[_i].match);
}
END_TEST

static const char *cidr_bad[] = {
	"", "/8", "10.0.0.0/", "10.0.0.0/33", "::/129", "10.0.0.1/8",
	"10.0.0.0/x", "10.0.0.0/8x", "host.example/8", "10.0.0/8",
	"2001:db8::1/32", "10.0.0.0/-1",
};

START_TEST(test_cidr_bad)
{
	struct addr_cidr	c;
	const char		*why = NULL;

	ck_assert_msg(addr_cidr_parse(&c, cidr_bad[_i], &why) == -1,
	    "'%s' accepted", cidr_bad[_i]);
	ck_assert_ptr_nonnull(why);
}
END_TEST

static Suite *
addr_suite(void)
{
	Suite	*s;
	TCase	*tc;

	s = suite_create("addr");

	tc = tcase_create("parse");
	tcase_add_loop_test(tc, test_parse_good, 0,
	    (int)(sizeof good / sizeof good[0]));
	tcase_add_loop_test(tc, test_parse_bad, 0,
	    (int)(sizeof bad / sizeof bad[0]));
	tcase_add_test(tc, test_parse_long_host);
	tcase_add_test(tc, test_parse_why_static);
	suite_add_tcase(s, tc);

	tc = tcase_create("numeric");
	tcase_add_test(tc, test_numeric_v4);
	tcase_add_test(tc, test_numeric_default_hosts);
	tcase_add_test(tc, test_numeric_v6);
	tcase_add_test(tc, test_numeric_auto);
	tcase_add_test(tc, test_numeric_name);
	suite_add_tcase(s, tc);

	tc = tcase_create("fmt");
	tcase_add_loop_test(tc, test_fmt, 0,
	    (int)(sizeof fmts / sizeof fmts[0]));
	tcase_add_test(tc, test_fmt_longest);
	tcase_add_test(tc, test_fmt_short_buffer);
	suite_add_tcase(s, tc);

	tc = tcase_create("key");
	tcase_add_test(tc, test_key_garbage_v4);
	tcase_add_test(tc, test_key_garbage_v6);
	tcase_add_test(tc, test_key_mapped);
	tcase_add_loop_test(tc, test_key_differ, 0,
	    (int)(sizeof keys_differ / sizeof keys_differ[0]));
	tcase_add_test(tc, test_key_scope);
	suite_add_tcase(s, tc);

	tc = tcase_create("unmap");
	tcase_add_test(tc, test_unmap_mapped);
	tcase_add_test(tc, test_unmap_others);
	tcase_add_test(tc, test_unmap_key);
	tcase_add_test(tc, test_len);
	tcase_add_loop_test(tc, test_cidr_match, 0,
	    sizeof cidr_cases / sizeof cidr_cases[0]);
	tcase_add_loop_test(tc, test_cidr_bad, 0,
	    sizeof cidr_bad / sizeof cidr_bad[0]);
	suite_add_tcase(s, tc);

	return (s);
}

int
main(void)
{
	SRunner	*sr;
	int	 failed;

	sr = srunner_create(addr_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return (failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE);
}

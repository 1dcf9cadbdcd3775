/*
 * fuzz_addr.c - libFuzzer target for the address parser (src/addr.c).
 *
 * The input, up to its first NUL, is an address argument as a user
 * would write it. It goes through addr_parse() for every enum addr_use;
 * a spec it accepts must obey the rules of addr.h, and one that names
 * an IP literal goes on through addr_numeric(), addr_fmt() (also into
 * buffers too small for it), addr_key_make(), addr_len() and
 * addr_unmap(), and what addr_fmt() writes must parse back to the same
 * address. addr_resolve() is left out: it would ask the resolver.
 *
 * The same string goes through addr_cidr_parse() (--allow); a range it
 * accepts must contain its own address, in IPv4-mapped form too, with
 * any host bit changed, and must not contain it with a prefix bit
 * changed.
 *
 * The input's first bytes are also laid over a sockaddr_storage, as a
 * peer's address might arrive, for addr_fmt(), addr_key_make() and
 * addr_cidr_match().
 */

#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "fuzz.h"

static const enum addr_use fz_uses[] = {
	ADDR_LISTEN, ADDR_CONNECT, ADDR_BIND, ADDR_SENDTO
};

static void	fz_fmt(const struct sockaddr *, size_t);
static void	fz_key(const struct sockaddr_storage *);
static void	fz_spec(const struct addr_spec *, enum addr_use);
static void	fz_cidr(const struct addr_cidr *);
static void	fz_sockaddr(const uint8_t *, size_t, const struct addr_cidr *);

/* addr_fmt() into a buffer of exactly size bytes: NUL-ended inside. */
static void
fz_fmt(const struct sockaddr *sa, size_t size)
{
	char		*buf;
	const char	*s;

	FUZZ_CHECK((buf = malloc(size)) != NULL);
	s = addr_fmt(sa, buf, size);
	FUZZ_CHECK(s == buf);
	FUZZ_CHECK(memchr(buf, '\0', size) != NULL);
	free(buf);
}

/* The key is canonical: the same client keys alike, mapped or not. */
static void
fz_key(const struct sockaddr_storage *ss)
{
	struct sockaddr_storage	copy;
	struct addr_key		k1, k2;

	addr_key_make(&k1, (const struct sockaddr *)ss);
	addr_key_make(&k2, (const struct sockaddr *)ss);
	FUZZ_CHECK(memcmp(&k1, &k2, sizeof k1) == 0);
	if (ss->ss_family != AF_INET && ss->ss_family != AF_INET6) {
		FUZZ_CHECK(k1.family == 0);
		return;
	}
	FUZZ_CHECK(k1.family == AF_INET || k1.family == AF_INET6);
	FUZZ_CHECK(k1.pad == 0);
	FUZZ_CHECK(k1.scope == 0);	/* never in the key: see addr.h */

	memcpy(&copy, ss, sizeof copy);
	if (addr_unmap(&copy)) {
		FUZZ_CHECK(copy.ss_family == AF_INET);
		FUZZ_CHECK(k1.family == AF_INET);
	}
	addr_key_make(&k2, (const struct sockaddr *)&copy);
	FUZZ_CHECK(memcmp(&k1, &k2, sizeof k1) == 0);
}

/* A spec addr_parse() accepted for use. */
static void
fz_spec(const struct addr_spec *spec, enum addr_use use)
{
	struct sockaddr_storage	 ss, ss2;
	struct addr_spec	 again;
	socklen_t		 len = 0, len2 = 0;
	const char		*why = NULL;
	char			 str[ADDR_STRLEN];

	FUZZ_CHECK(memchr(spec->host, '\0', sizeof spec->host) != NULL);
	FUZZ_CHECK(spec->is_auto == 0 || spec->is_auto == 1);
	FUZZ_CHECK(spec->is_name == 0 || spec->is_name == 1);
	if (spec->is_auto) {
		FUZZ_CHECK(use == ADDR_BIND || use == ADDR_SENDTO);
		FUZZ_CHECK(spec->port == 0);
		FUZZ_CHECK(!spec->is_name);
		/* Only a bind may be "auto" alone, with no IP. */
		if (spec->host[0] == '\0')
			FUZZ_CHECK(use == ADDR_BIND);
	} else {
		/* Only a bound port may be 0: the system picks one. */
		FUZZ_CHECK(spec->port != 0 || use == ADDR_BIND);
		FUZZ_CHECK(spec->host[0] != '\0');
	}
	if (spec->is_name) {
		FUZZ_CHECK(use == ADDR_CONNECT || use == ADDR_SENDTO);
		FUZZ_CHECK(addr_numeric(spec, &ss, &len) == -1);
		return;
	}
	if (spec->host[0] == '\0') {
		FUZZ_CHECK(addr_numeric(spec, &ss, &len) == -1);
		return;
	}

	/* An IP literal, checked by the parser: it must convert. */
	FUZZ_CHECK(addr_numeric(spec, &ss, &len) == 0);
	FUZZ_CHECK(ss.ss_family == AF_INET || ss.ss_family == AF_INET6);
	FUZZ_CHECK(len == addr_len((struct sockaddr *)&ss));
	FUZZ_CHECK(ntohs(((struct sockaddr_in *)&ss)->sin_port) ==
	    spec->port);

	addr_fmt((struct sockaddr *)&ss, str, sizeof str);
	FUZZ_CHECK(memchr(str, '\0', sizeof str) != NULL);
	FUZZ_CHECK(strlen(str) + 1 < sizeof str);	/* never cut short */
	fz_fmt((struct sockaddr *)&ss, 1);
	fz_fmt((struct sockaddr *)&ss, strlen(str));
	fz_fmt((struct sockaddr *)&ss, strlen(str) + 1);
	fz_key(&ss);

	/* What addr_fmt() writes reads back as the same address. */
	if (spec->is_auto)
		return;		/* port 0 of auto: "IP:0" means another thing */
	why = NULL;
	FUZZ_CHECK(addr_parse(&again, str, use, &why) == 0);
	FUZZ_CHECK(!again.is_name && !again.is_auto);
	FUZZ_CHECK(again.port == spec->port);
	FUZZ_CHECK(addr_numeric(&again, &ss2, &len2) == 0);
	FUZZ_CHECK(len2 == len);
	FUZZ_CHECK(memcmp(&ss, &ss2, len) == 0);
}

/* A range addr_cidr_parse() accepted. */
static void
fz_cidr(const struct addr_cidr *c)
{
	struct sockaddr_storage	 ss;
	struct sockaddr_in	*sin = (struct sockaddr_in *)&ss;
	struct sockaddr_in6	*sin6 = (struct sockaddr_in6 *)&ss;
	unsigned int		 max, bit;

	FUZZ_CHECK(c->family == AF_INET || c->family == AF_INET6);
	max = c->family == AF_INET ? 32 : 128;
	FUZZ_CHECK(c->prefix <= max);
	/* An IPv4-mapped range is kept as the IPv4 range it names. */
	if (c->family == AF_INET6)
		FUZZ_CHECK(c->prefix < 96 || memcmp(c->addr,
		    "\0\0\0\0\0\0\0\0\0\0\xff\xff", 12) != 0);

	/* Its own address, and the same with each bit flipped in turn. */
	for (bit = 0; bit <= max; bit++) {
		memset(&ss, 0, sizeof ss);
		if (c->family == AF_INET) {
			sin->sin_family = AF_INET;
			sin->sin_port = htons(7000);
			memcpy(&sin->sin_addr, c->addr, 4);
			if (bit < max)
				((uint8_t *)&sin->sin_addr)[bit / 8] ^=
				    (uint8_t)(0x80 >> (bit % 8));
		} else {
			sin6->sin6_family = AF_INET6;
			sin6->sin6_port = htons(7000);
			memcpy(&sin6->sin6_addr, c->addr, 16);
			if (bit < max)
				sin6->sin6_addr.s6_addr[bit / 8] ^=
				    (uint8_t)(0x80 >> (bit % 8));
			/*
			 * An IPv4-mapped peer is judged as IPv4, so no
			 * IPv6 range holds it, whatever its bits say.
			 */
			if (IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr)) {
				FUZZ_CHECK(addr_cidr_match(c,
				    (struct sockaddr *)&ss) == 0);
				continue;
			}
		}
		/* bit == max: nothing flipped. */
		FUZZ_CHECK(addr_cidr_match(c, (struct sockaddr *)&ss) ==
		    (bit == max || bit >= c->prefix));
	}

	/* An IPv4 range holds the IPv4-mapped form of its address. */
	if (c->family == AF_INET) {
		memset(&ss, 0, sizeof ss);
		sin6->sin6_family = AF_INET6;
		sin6->sin6_addr.s6_addr[10] = 0xff;
		sin6->sin6_addr.s6_addr[11] = 0xff;
		memcpy(&sin6->sin6_addr.s6_addr[12], c->addr, 4);
		FUZZ_CHECK(addr_cidr_match(c, (struct sockaddr *)&ss) == 1);
	}
}

/* Raw bytes as a sockaddr: family from the first byte, then the rest. */
static void
fz_sockaddr(const uint8_t *data, size_t size, const struct addr_cidr *c)
{
	struct sockaddr_storage	ss;
	char			str[ADDR_STRLEN];
	size_t			n;

	memset(&ss, 0, sizeof ss);
	n = size - 1 < sizeof(struct sockaddr_in6) ?
	    size - 1 : sizeof(struct sockaddr_in6);
	memcpy(&ss, data + 1, n);
	switch (data[0] % 3) {
	case 0:
		ss.ss_family = AF_INET;
		break;
	case 1:
		ss.ss_family = AF_INET6;
		break;
	default:
		break;	/* whatever the bytes say */
	}
	addr_fmt((struct sockaddr *)&ss, str, sizeof str);
	FUZZ_CHECK(memchr(str, '\0', sizeof str) != NULL);
	fz_fmt((struct sockaddr *)&ss, 1 + data[0] % sizeof str);
	(void)addr_len((struct sockaddr *)&ss);
	fz_key(&ss);
	if (c != NULL)
		(void)addr_cidr_match(c, (struct sockaddr *)&ss);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct addr_spec	 spec;
	struct addr_cidr	 cidr;
	const char		*why;
	char			*s;
	size_t			 i;
	int			 rc, have_cidr;

	/* Exactly sized and NUL-ended, so an overread is caught. */
	FUZZ_CHECK((s = malloc(size + 1)) != NULL);
	if (size != 0)
		memcpy(s, data, size);
	s[size] = '\0';

	for (i = 0; i < sizeof fz_uses / sizeof fz_uses[0]; i++) {
		why = NULL;
		rc = addr_parse(&spec, s, fz_uses[i], &why);
		FUZZ_CHECK(rc == 0 || rc == -1);
		if (rc == 0)
			fz_spec(&spec, fz_uses[i]);
		else
			FUZZ_CHECK(why != NULL && why[0] != '\0');
	}

	why = NULL;
	rc = addr_cidr_parse(&cidr, s, &why);
	FUZZ_CHECK(rc == 0 || rc == -1);
	if ((have_cidr = (rc == 0)))
		fz_cidr(&cidr);
	else
		FUZZ_CHECK(why != NULL && why[0] != '\0');
	free(s);

	if (size > 0)
		fz_sockaddr(data, size, have_cidr ? &cidr : NULL);
	return (0);
}

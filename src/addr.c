/* addr.c - parse, format and key socket addresses. */
#include "config.h"

#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <netdb.h>

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"

static int	addr_parse_port(const char *, unsigned long, uint16_t *);
static int	addr_is_dotted(const char *);

/* A port is min..65535 in plain decimal; anything else is refused. */
static int
addr_parse_port(const char *s, unsigned long min, uint16_t *port)
{
	unsigned long	v = 0;

	if (*s == '\0' || strlen(s) > 5)
		return (-1);
	for (; *s != '\0'; s++) {
		if (!isdigit((unsigned char)*s))
			return (-1);
		v = v * 10 + (unsigned long)(*s - '0');
	}
	if (v < min || v > 65535)
		return (-1);
	*port = (uint16_t)v;
	return (0);
}

/* Digits and dots only: meant as IPv4, never a host name. */
static int
addr_is_dotted(const char *s)
{
	for (; *s != '\0'; s++)
		if (!isdigit((unsigned char)*s) && *s != '.')
			return (0);
	return (1);
}

/*
 * Parses PORT, IP:PORT, [IPv6]:PORT, HOST:PORT, auto and IP:auto, as far
 * as the use allows. On error returns -1 and points *why at the reason.
 */
int
addr_parse(struct addr_spec *spec, const char *s, enum addr_use use,
    const char **why)
{
	const char	*colon, *portstr;
	struct in6_addr	 in6;
	struct in_addr	 in4;
	size_t		 hostlen;
	int		 names_ok, auto_ok;

	memset(spec, 0, sizeof *spec);
	names_ok = (use == ADDR_CONNECT || use == ADDR_SENDTO);
	auto_ok = (use == ADDR_BIND || use == ADDR_SENDTO);

	if (strcmp(s, "auto") == 0) {
		if (use != ADDR_BIND) {
			*why = use == ADDR_SENDTO ?
			    "auto needs an IP here: IP:auto" :
			    "auto is not allowed here";
			return (-1);
		}
		spec->is_auto = 1;
		return (0);
	}

	if (s[0] == '[') {
		const char *close = strchr(s, ']');

		if (close == NULL) {
			*why = "missing ']' after the IPv6 address";
			return (-1);
		}
		if (close[1] != ':') {
			*why = "expected [IPv6]:PORT";
			return (-1);
		}
		hostlen = (size_t)(close - s - 1);
		if (hostlen == 0 || hostlen >= sizeof spec->host) {
			*why = "not an IPv6 address";
			return (-1);
		}
		memcpy(spec->host, s + 1, hostlen);
		if (inet_pton(AF_INET6, spec->host, &in6) != 1) {
			*why = "not an IPv6 address";
			return (-1);
		}
		portstr = close + 2;
	} else if ((colon = strrchr(s, ':')) != NULL) {
		if (strchr(s, ':') != colon) {
			*why = "an IPv6 address needs brackets: [IPv6]:PORT";
			return (-1);
		}
		hostlen = (size_t)(colon - s);
		if (hostlen == 0) {
			*why = "empty host before ':'";
			return (-1);
		}
		if (hostlen >= sizeof spec->host) {
			*why = "host name too long";
			return (-1);
		}
		memcpy(spec->host, s, hostlen);
		portstr = colon + 1;
		if (inet_pton(AF_INET, spec->host, &in4) != 1) {
			if (!names_ok || addr_is_dotted(spec->host)) {
				*why = "not an IP address";
				return (-1);
			}
			spec->is_name = 1;
		}
	} else {
		/* PORT alone: the default address for this use. */
		snprintf(spec->host, sizeof spec->host, "%s",
		    (use == ADDR_LISTEN || use == ADDR_BIND) ?
		    "0.0.0.0" : "127.0.0.1");
		spec->host_default = 1;
		portstr = s;
	}

	if (strcmp(portstr, "auto") == 0) {
		if (!auto_ok || spec->is_name) {
			*why = spec->is_name ?
			    "auto needs an IP address, not a host name" :
			    "auto is not allowed here";
			return (-1);
		}
		spec->is_auto = 1;
		return (0);
	}
	/* A bound port may be 0: the system picks one (said at start). */
	if (addr_parse_port(portstr, use == ADDR_BIND ? 0 : 1,
	    &spec->port) != 0) {
		*why = use == ADDR_BIND ?
		    "port must be a number from 0 to 65535" :
		    "port must be a number from 1 to 65535";
		return (-1);
	}
	return (0);
}

/* Fills a sockaddr from a spec whose host is an IP literal. */
int
addr_numeric(const struct addr_spec *spec, struct sockaddr_storage *ss,
    socklen_t *len)
{
	struct sockaddr_in	*sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6	*sin6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof *ss);
	if (spec->is_name)
		return (-1);
	if (inet_pton(AF_INET, spec->host, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons(spec->port);
		*len = sizeof *sin;
		return (0);
	}
	if (inet_pton(AF_INET6, spec->host, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(spec->port);
		*len = sizeof *sin6;
		return (0);
	}
	return (-1);
}

/*
 * Resolves a spec to its first address, blocking: for start-up only
 * (the link resolves --tcp-connect asynchronously at every attempt).
 */
int
addr_resolve(const struct addr_spec *spec, int family,
    struct sockaddr_storage *ss, socklen_t *len, const char **why)
{
	struct addrinfo	 hints, *res;
	char		 port[8];
	int		 error;

	if (!spec->is_name) {
		if (addr_numeric(spec, ss, len) != 0) {
			*why = "not an IP address";
			return (-1);
		}
		return (0);
	}
	memset(&hints, 0, sizeof hints);
	hints.ai_family = family;
	hints.ai_socktype = SOCK_DGRAM;
	snprintf(port, sizeof port, "%u", spec->port);
	if ((error = getaddrinfo(spec->host, port, &hints, &res)) != 0) {
		*why = gai_strerror(error);
		return (-1);
	}
	memset(ss, 0, sizeof *ss);
	memcpy(ss, res->ai_addr, res->ai_addrlen);
	*len = res->ai_addrlen;
	freeaddrinfo(res);
	return (0);
}

/* "192.0.2.1:53" or "[2001:db8::1]:53"; never fails, returns buf. */
const char *
addr_fmt(const struct sockaddr *sa, char *buf, size_t len)
{
	char	host[INET6_ADDRSTRLEN];

	switch (sa->sa_family) {
	case AF_INET: {
		const struct sockaddr_in *sin = (const void *)sa;

		inet_ntop(AF_INET, &sin->sin_addr, host, sizeof host);
		snprintf(buf, len, "%s:%u", host, ntohs(sin->sin_port));
		break;
	}
	case AF_INET6: {
		const struct sockaddr_in6 *sin6 = (const void *)sa;

		inet_ntop(AF_INET6, &sin6->sin6_addr, host, sizeof host);
		if (sin6->sin6_scope_id != 0)
			snprintf(buf, len, "[%s%%%u]:%u", host,
			    (unsigned int)sin6->sin6_scope_id,
			    ntohs(sin6->sin6_port));
		else
			snprintf(buf, len, "[%s]:%u", host,
			    ntohs(sin6->sin6_port));
		break;
	}
	default:
		snprintf(buf, len, "(family %d)", sa->sa_family);
		break;
	}
	return (buf);
}

socklen_t
addr_len(const struct sockaddr *sa)
{
	return (sa->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6) :
	    sizeof(struct sockaddr_in));
}

/* Zero-filled first, so padding never makes one client two keys. */
void
addr_key_make(struct addr_key *key, const struct sockaddr *sa)
{
	memset(key, 0, sizeof *key);
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *sin = (const void *)sa;

		key->family = AF_INET;
		key->port = sin->sin_port;
		memcpy(key->addr, &sin->sin_addr, 4);
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *sin6 = (const void *)sa;

		key->port = sin6->sin6_port;
		if (IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr)) {
			key->family = AF_INET;
			memcpy(key->addr, &sin6->sin6_addr.s6_addr[12], 4);
		} else {
			key->family = AF_INET6;
			memcpy(key->addr, &sin6->sin6_addr, 16);
		}
	}
}

/* Turns ::ffff:a.b.c.d into a plain sockaddr_in; returns 1 if it did. */
int
addr_unmap(struct sockaddr_storage *ss)
{
	struct sockaddr_in6	sin6;
	struct sockaddr_in	*sin = (struct sockaddr_in *)ss;

	if (ss->ss_family != AF_INET6)
		return (0);
	memcpy(&sin6, ss, sizeof sin6);
	if (!IN6_IS_ADDR_V4MAPPED(&sin6.sin6_addr))
		return (0);
	memset(ss, 0, sizeof *ss);
	sin->sin_family = AF_INET;
	sin->sin_port = sin6.sin6_port;
	memcpy(&sin->sin_addr, &sin6.sin6_addr.s6_addr[12], 4);
	return (1);
}

/*
 * Parses IP/PREFIX or a bare IP (all bits) for --allow. Host bits beyond
 * the prefix are refused: 10.0.0.1/8 is more likely a typo than a range.
 */
int
addr_cidr_parse(struct addr_cidr *c, const char *s, const char **why)
{
	char		 host[INET6_ADDRSTRLEN];
	const char	*slash = strchr(s, '/');
	size_t		 len = slash != NULL ? (size_t)(slash - s) : strlen(s);
	unsigned long	 prefix, max;
	char		*end;
	unsigned int	 i;

	memset(c, 0, sizeof *c);
	if (len == 0 || len >= sizeof host) {
		*why = "not an IP address or IP/PREFIX";
		return (-1);
	}
	memcpy(host, s, len);
	host[len] = '\0';
	if (inet_pton(AF_INET, host, c->addr) == 1) {
		c->family = AF_INET;
		max = 32;
	} else if (inet_pton(AF_INET6, host, c->addr) == 1) {
		c->family = AF_INET6;
		max = 128;
	} else {
		*why = "not an IP address or IP/PREFIX";
		return (-1);
	}
	prefix = max;
	if (slash != NULL) {
		if (!isdigit((unsigned char)slash[1])) {
			*why = "prefix length must be a number";
			return (-1);
		}
		prefix = strtoul(slash + 1, &end, 10);
		if (*end != '\0' || prefix > max) {
			*why = "prefix length out of range";
			return (-1);
		}
	}
	/* Peers in ::ffff:a.b.c.d are judged as IPv4: so is such a range. */
	if (c->family == AF_INET6 && memcmp(c->addr,
	    "\0\0\0\0\0\0\0\0\0\0\xff\xff", 12) == 0) {
		if (prefix < 96) {
			*why = "an IPv4-mapped range needs a prefix of 96 or more";
			return (-1);
		}
		memmove(c->addr, c->addr + 12, 4);
		memset(c->addr + 4, 0, 12);
		c->family = AF_INET;
		prefix -= 96;
		max = 32;
	}
	c->prefix = (uint8_t)prefix;
	for (i = 0; i < max / 8; i++) {
		unsigned int	keep = prefix >= (i + 1) * 8 ? 8 :
		    prefix > i * 8 ? prefix - i * 8 : 0;
		uint8_t		mask = keep == 0 ? 0 : (uint8_t)(0xff << (8 - keep));

		if (c->addr[i] & (uint8_t)~mask) {
			*why = "address has bits set beyond the prefix";
			return (-1);
		}
	}
	return (0);
}

/* Is sa inside c? An IPv4-mapped IPv6 peer is judged as IPv4. */
int
addr_cidr_match(const struct addr_cidr *c, const struct sockaddr *sa)
{
	struct addr_key	key;
	unsigned int	bits = c->prefix, i;

	addr_key_make(&key, sa);
	if (key.family != c->family)
		return (0);
	for (i = 0; bits >= 8; i++, bits -= 8)
		if (key.addr[i] != c->addr[i])
			return (0);
	if (bits > 0 && ((key.addr[i] ^ c->addr[i]) &
	    (uint8_t)(0xff << (8 - bits))) != 0)
		return (0);
	return (1);
}

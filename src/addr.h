/* addr.h - parse, format and key socket addresses. */
#ifndef UOT_ADDR_H
#define UOT_ADDR_H

#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <stdint.h>

/* What an address argument is for; decides defaults and allowed forms. */
enum addr_use {
	ADDR_LISTEN,	/* --tcp-listen: [IP:]PORT, default IP 0.0.0.0 */
	ADDR_CONNECT,	/* --tcp-connect: [HOST:]PORT, default 127.0.0.1 */
	ADDR_BIND,	/* --udp-bind: [IP:]PORT, auto, IP:auto; default 0.0.0.0 */
	ADDR_SENDTO	/* --udp-sendto: [HOST:]PORT, IP:auto; default 127.0.0.1 */
};

#define ADDR_HOSTLEN	256
/* "[v6addr%scope]:65535" fits; used for log lines. */
#define ADDR_STRLEN	(46 + 1 + 16 + 2 + 1 + 5 + 1)

/* An address as the user wrote it, checked but not yet resolved. */
struct addr_spec {
	char		host[ADDR_HOSTLEN];	/* IP literal or host name */
	uint16_t	port;			/* 0 when is_auto */
	int		is_auto;		/* "auto" or "IP:auto" */
	int		is_name;		/* host is not an IP literal */
	int		host_default;		/* PORT alone: host is implied */
};

/*
 * Canonical flow key: zero-filled, then family, port and address bytes,
 * so one client always hashes alike whatever sockaddr it came in.
 * IPv4-mapped IPv6 addresses are keyed as IPv4. The IPv6 scope id is
 * not in the key: a frame's address carries none, and the reply to a
 * link-local client must find its flow.
 */
struct addr_key {
	uint8_t		family;		/* AF_INET or AF_INET6 */
	uint8_t		pad;
	uint16_t	port;		/* network byte order */
	uint32_t	scope;		/* always 0: see above */
	uint8_t		addr[16];
};

/* An address range, for --allow: family, prefix length, address bytes. */
struct addr_cidr {
	uint8_t		family;
	uint8_t		prefix;		/* bits that must match */
	uint8_t		addr[16];
};

/* addr.c */
int		 addr_parse(struct addr_spec *, const char *, enum addr_use,
		     const char **);
int		 addr_numeric(const struct addr_spec *, struct sockaddr_storage *,
		     socklen_t *);
int		 addr_resolve(const struct addr_spec *, int,
		     struct sockaddr_storage *, socklen_t *, const char **);
const char	*addr_fmt(const struct sockaddr *, char *, size_t);
void		 addr_key_make(struct addr_key *, const struct sockaddr *);
socklen_t	 addr_len(const struct sockaddr *);
int		 addr_unmap(struct sockaddr_storage *);
int		 addr_cidr_parse(struct addr_cidr *, const char *,
		    const char **);
int		 addr_cidr_match(const struct addr_cidr *,
		    const struct sockaddr *);

#endif

/*
 * proxy.h - the PROXY protocol header (HAProxy, versions 1 and 2) that a
 * load balancer puts before a connection's own bytes to say who the
 * client is. Pure: no libevent, no allocation, no state between calls,
 * so the parser can be fuzzed and fed any way the bytes arrive.
 */
#ifndef UOT_PROXY_H
#define UOT_PROXY_H

#include <sys/types.h>
#include <sys/socket.h>
#include <stddef.h>

/* The longest v1 line, CRLF included ("PROXY UNKNOWN" and two IPv6). */
#define PROXY_V1_MAX	107
/*
 * The longest v2 header accepted, its 16 fixed bytes included. HAProxy's
 * send-proxy-v2 sends 28 bytes (IPv4) or 52 (IPv6) unless TLVs are asked
 * for with proxy-v2-options; the longest of those (unique-id, authority,
 * the SSL ones) add a few hundred. Anything longer is refused.
 */
#define PROXY_V2_MAX	4096
/* Bytes enough to decide: with this many, the answer is never MORE. */
#define PROXY_MAX	PROXY_V2_MAX

enum proxy_result {
	PROXY_MORE,	/* a header may be starting: read more, call again */
	PROXY_OK,	/* a header of *used bytes; who is in *info */
	PROXY_LOCAL,	/* v2 LOCAL (a balancer's health check): *used bytes */
	PROXY_BAD	/* not a valid header: *why says what, for a log line */
};

struct proxy_info {
	/*
	 * 0 for v1 UNKNOWN, and for v2 PROXY with an address family or
	 * transport this program does not take (AF_UNSPEC, UDP, AF_UNIX):
	 * use the connection's own addresses, as the spec says.
	 */
	int			 has_addr;
	struct sockaddr_storage	 src;		/* the client, as the balancer saw it */
	struct sockaddr_storage	 dst;		/* the address it connected to */
	int			 version;	/* 1 or 2 */
};

/* proxy.c */
enum proxy_result	 proxy_parse(const void *, size_t, size_t *,
			     struct proxy_info *, const char **);

#endif

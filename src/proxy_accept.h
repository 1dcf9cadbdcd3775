/*
 * proxy_accept.h - the listen side behind a load balancer
 * (--proxy-protocol): an accepted connection's PROXY header is read
 * first, exactly, and the client it names is the peer from then on,
 * for --allow, limits, logs and counters. The balancer's own health
 * checks come and go without a line in the log.
 */
#ifndef UOT_PROXY_ACCEPT_H
#define UOT_PROXY_ACCEPT_H

#include <sys/types.h>
#include <sys/socket.h>
#include <stdint.h>

/* How long the header may take; how many may be awaited at once. */
#define PROXY_ACCEPT_TIMEOUT_S		5
#define PROXY_ACCEPT_PENDING_MAX	128

struct event_base;
struct proxy_accept;

/* The header was read: the callee owns fd; sa is the client. */
typedef void (*proxy_accept_fn)(int, const struct sockaddr *, void *);

struct proxy_accept_stats {
	uint64_t	clients;	/* headers read, the peer handed on */
	uint64_t	checks;		/* LOCAL, or closed before a byte */
	uint64_t	refused;	/* malformed, too slow, pushed out */
};

/* proxy_accept.c */
struct proxy_accept	*proxy_accept_new(struct event_base *, proxy_accept_fn,
			    void *);
void			 proxy_accept_free(struct proxy_accept *);
void			 proxy_accept_start(struct proxy_accept *, int,
			    const struct sockaddr *);
const struct proxy_accept_stats *proxy_accept_stats(const struct proxy_accept *);

#endif

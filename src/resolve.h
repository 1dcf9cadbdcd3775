/*
 * resolve.h - getaddrinfo(3) off the event loop: the system's resolver
 * (hosts file, DNS, and every name-service module the host is set up
 * with) without blocking, answered through the loop.
 */
#ifndef UOT_RESOLVE_H
#define UOT_RESOLVE_H

#include <sys/types.h>
#include <sys/socket.h>
#include <netdb.h>

struct event_base;
struct resolve;

/* The answer: 0 and a list the callee frees (freeaddrinfo), or EAI_*. */
typedef void	(*resolve_cb)(int, struct addrinfo *, void *);

/* resolve.c */
struct resolve	*resolve_start(struct event_base *, const char *,
		    const char *, const struct addrinfo *, resolve_cb, void *);
void		 resolve_cancel(struct resolve *);

#endif

/* listen.h - accept TCP peers, and keep accepting when out of descriptors. */
#ifndef UOT_LISTEN_H
#define UOT_LISTEN_H

#include <sys/types.h>
#include <sys/socket.h>

struct event_base;
struct listener;

/* Called with each accepted connection; the callee owns fd. */
typedef void (*listener_acceptfn)(int, const struct sockaddr *, void *);

/* listen.c */
struct listener	*listener_new(struct event_base *, const struct sockaddr *,
		    socklen_t, int, int, listener_acceptfn, void *);
void		 listener_free(struct listener *);
void		 listener_pause(struct listener *);
const char	*listener_name(const struct listener *);

#endif

/*
 * tls_accept.h - the listen side's TLS gate: an accepted connection is
 * handed on only once its handshake is done, so a stranger without the
 * right certificate, or one who never finishes, never becomes a peer
 * and never counts against --max-peers.
 */
#ifndef UOT_TLS_ACCEPT_H
#define UOT_TLS_ACCEPT_H

#include <sys/types.h>
#include <sys/socket.h>
#include <stdint.h>

/* Handshakes under way at most; a new one pushes out the oldest. */
#define TLS_ACCEPT_PENDING_MAX	128

struct event_base;
struct tls_accept;
struct tls_conn;
struct tls_ctx;

/* A peer has authenticated: the callee owns fd and the session. */
typedef void (*tls_accept_fn)(int, const struct sockaddr *, struct tls_conn *,
    void *);

/* tls_accept.c */
struct tls_accept	*tls_accept_new(struct event_base *, struct tls_ctx *,
			    tls_accept_fn, void *);
void			 tls_accept_free(struct tls_accept *);
void			 tls_accept_start(struct tls_accept *, int,
			    const struct sockaddr *);
uint64_t		 tls_accept_refused(const struct tls_accept *);

#endif

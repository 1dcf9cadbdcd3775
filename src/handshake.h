/*
 * handshake.h - a TLS handshake over a connected socket, driven by the
 * event loop, with a deadline: both sides' links begin with one.
 */
#ifndef UOT_HANDSHAKE_H
#define UOT_HANDSHAKE_H

struct event_base;
struct handshake;
struct tls_conn;

enum handshake_result {
	HANDSHAKE_OK,
	HANDSHAKE_FAILED,	/* tls_conn_error() says why */
	HANDSHAKE_TIMED_OUT
};

/* The outcome; the callee may free the handshake from here. */
typedef void (*handshake_donefn)(struct handshake *, enum handshake_result,
    void *);

/* handshake.c */
struct handshake	*handshake_start(struct event_base *, int,
			    struct tls_conn *, unsigned int, handshake_donefn,
			    void *);
void			 handshake_free(struct handshake *);

#endif

/*
 * handshake.c - runs a TLS handshake on the loop: a step each time the
 * socket is readable (or writable, while records wait), until it is
 * done, fails, or its deadline passes. The socket and the session stay
 * the caller's.
 */
#include "config.h"

#include <stdlib.h>

#include <event2/event.h>

#include "handshake.h"
#include "tls.h"

struct handshake {
	struct event		*readable;	/* always, while under way */
	struct event		*writable;	/* while records wait to go */
	struct event		*deadline;
	struct tls_conn		*conn;
	int			 fd;
	handshake_donefn	 done;
	void			*arg;
};

static void
handshake_iocb(evutil_socket_t fd, short events, void *arg)
{
	struct handshake	*h = arg;

	(void)events;
	switch (tls_handshake(h->conn, fd)) {
	case TLS_DONE:
		h->done(h, HANDSHAKE_OK, h->arg);
		return;
	case TLS_FAIL:
		h->done(h, HANDSHAKE_FAILED, h->arg);
		return;
	case TLS_AGAIN:
		break;
	}
	if (tls_conn_want_write(h->conn) && event_add(h->writable, NULL) != 0)
		h->done(h, HANDSHAKE_FAILED, h->arg);
}

static void
handshake_deadlinecb(evutil_socket_t fd, short events, void *arg)
{
	struct handshake	*h = arg;

	(void)fd;
	(void)events;
	h->done(h, HANDSHAKE_TIMED_OUT, h->arg);
}

/*
 * Starts the handshake on the next turn of the loop (so done is never
 * called from in here). Returns NULL when out of memory.
 */
struct handshake *
handshake_start(struct event_base *base, int fd, struct tls_conn *conn,
    unsigned int timeout_s, handshake_donefn done, void *arg)
{
	struct handshake	*h;
	struct timeval		 tv = { (time_t)timeout_s, 0 };

	if ((h = calloc(1, sizeof *h)) == NULL)
		return (NULL);
	h->conn = conn;
	h->fd = fd;
	h->done = done;
	h->arg = arg;
	if ((h->readable = event_new(base, fd, EV_READ | EV_PERSIST,
	    handshake_iocb, h)) == NULL ||
	    (h->writable = event_new(base, fd, EV_WRITE, handshake_iocb, h)) ==
	    NULL ||
	    event_add(h->readable, NULL) != 0 ||
	    (h->deadline = evtimer_new(base, handshake_deadlinecb, h)) ==
	    NULL ||
	    evtimer_add(h->deadline, &tv) != 0) {
		handshake_free(h);
		return (NULL);
	}
	event_active(h->writable, EV_WRITE, 0);
	return (h);
}

void
handshake_free(struct handshake *h)
{
	if (h == NULL)
		return;
	if (h->readable != NULL)
		event_free(h->readable);
	if (h->writable != NULL)
		event_free(h->writable);
	if (h->deadline != NULL)
		event_free(h->deadline);
	free(h);
}

/*
 * resolve.c - getaddrinfo(3) in a worker thread, one per lookup, so that
 * names resolve the way every other program on the host resolves them
 * (nsswitch.conf: files, DNS, mDNS, LDAP, ...) without blocking the loop.
 *
 * A lookup is shared by the loop and its thread and freed by whichever
 * lets go last. The thread reports by closing its end of a pipe, whose
 * other end the loop watches. A cancel frees that event before it
 * returns, so the callback can never run afterwards, and a thread still
 * inside getaddrinfo() when the process exits holds nothing that is not
 * reachable from it.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/socket.h>

#include <errno.h>
#include <netdb.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/util.h>

#include "log.h"
#include "resolve.h"

struct resolve {
	pthread_mutex_t	 lock;
	int		 refs;		/* the loop's and the thread's */
	int		 done;		/* the thread has its answer */

	char		*host;
	char		*port;
	struct addrinfo	 hints;
	int		 error;
	struct addrinfo	*res;

	int		 rfd, wfd;	/* wfd closed: the answer is in */
	struct event	*ev;		/* loop side, on rfd */
	resolve_cb	 cb;
	void		*arg;
};

static void	*resolve_main(void *);
static void	 resolve_donecb(evutil_socket_t, short, void *);
static void	 resolve_unref(struct resolve *);

/*
 * Starts looking up host:port. A numeric host is answered at once, from
 * inside this call, and so is a failure to start: both return NULL.
 * Otherwise cb runs later from the loop, unless resolve_cancel() came
 * first.
 */
struct resolve *
resolve_start(struct event_base *base, const char *host, const char *port,
    const struct addrinfo *hints, resolve_cb cb, void *arg)
{
	struct resolve	*r;
	struct addrinfo	 numeric, *res;
	pthread_attr_t	 attr;
	pthread_t	 thread;
	int		 fds[2] = { -1, -1 }, error;

	numeric = *hints;
	numeric.ai_flags |= AI_NUMERICHOST;
	if (getaddrinfo(host, port, &numeric, &res) == 0) {
		cb(0, res, arg);
		return (NULL);
	}

	if ((r = calloc(1, sizeof *r)) == NULL)
		goto fail;
	r->rfd = r->wfd = -1;
	if ((r->host = strdup(host)) == NULL ||
	    (r->port = strdup(port)) == NULL ||
	    pthread_mutex_init(&r->lock, NULL) != 0) {
		free(r->host);
		free(r->port);
		free(r);
		goto fail;
	}
	r->hints = *hints;
	r->hints.ai_addr = NULL;
	r->hints.ai_canonname = NULL;
	r->hints.ai_next = NULL;
	r->cb = cb;
	r->arg = arg;
	r->refs = 1;
	if (pipe(fds) != 0)
		goto fail_r;
	r->rfd = fds[0];
	r->wfd = fds[1];
	if (evutil_make_socket_closeonexec(r->rfd) != 0 ||
	    evutil_make_socket_closeonexec(r->wfd) != 0 ||
	    (r->ev = event_new(base, r->rfd, EV_READ, resolve_donecb, r)) ==
	    NULL || event_add(r->ev, NULL) != 0)
		goto fail_r;

	/* Detached: nobody waits for a lookup that may hang. */
	if (pthread_attr_init(&attr) != 0)
		goto fail_r;
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	r->refs = 2;
	error = pthread_create(&thread, &attr, resolve_main, r);
	pthread_attr_destroy(&attr);
	if (error != 0) {
		r->refs = 1;
		errno = error;
		goto fail_r;
	}
	return (r);

fail_r:
	resolve_cancel(r);
fail:
	log_warn("resolve %s", host);
	cb(EAI_SYSTEM, NULL, arg);
	return (NULL);
}

/* The loop lets go: the callback will not run. NULL is fine. */
void
resolve_cancel(struct resolve *r)
{
	if (r == NULL)
		return;
	if (r->ev != NULL) {
		event_free(r->ev);
		r->ev = NULL;
	}
	if (r->rfd != -1) {
		close(r->rfd);
		r->rfd = -1;
	}
	pthread_mutex_lock(&r->lock);
	if (r->wfd != -1 && r->refs == 1) {
		/* The thread never started. */
		close(r->wfd);
		r->wfd = -1;
	}
	pthread_mutex_unlock(&r->lock);
	resolve_unref(r);
}

static void
resolve_unref(struct resolve *r)
{
	int	last;

	pthread_mutex_lock(&r->lock);
	last = --r->refs == 0;
	pthread_mutex_unlock(&r->lock);
	if (!last)
		return;
	if (r->res != NULL)
		freeaddrinfo(r->res);
	pthread_mutex_destroy(&r->lock);
	free(r->host);
	free(r->port);
	free(r);
}

/* The worker: the one blocking call, then tell the loop and let go. */
static void *
resolve_main(void *arg)
{
	struct resolve	*r = arg;
	struct addrinfo	*res = NULL;
	int		 error;

	error = getaddrinfo(r->host, r->port, &r->hints, &res);
	pthread_mutex_lock(&r->lock);
	r->error = error;
	r->res = error == 0 ? res : NULL;
	r->done = 1;
	close(r->wfd);		/* wakes the loop, if it still listens */
	r->wfd = -1;
	pthread_mutex_unlock(&r->lock);
	resolve_unref(r);
	return (NULL);
}

/* In the loop: hand the answer over, then let go. */
static void
resolve_donecb(evutil_socket_t fd, short events, void *arg)
{
	struct resolve	*r = arg;
	struct addrinfo	*res;
	resolve_cb	 cb = r->cb;
	void		*cbarg = r->arg;
	int		 error;

	(void)fd;
	(void)events;
	pthread_mutex_lock(&r->lock);
	if (!r->done) {
		/* Not from the thread: wait on. */
		pthread_mutex_unlock(&r->lock);
		event_add(r->ev, NULL);
		return;
	}
	error = r->error;
	res = r->res;
	r->res = NULL;
	pthread_mutex_unlock(&r->lock);
	resolve_cancel(r);
	cb(error, res, cbarg);
}
